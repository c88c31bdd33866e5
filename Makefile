# The two README commands: `make book` (the main job) and `make test`. Each sets up .venv itself.
MODEL ?= smollm2-135m-instruct
MODELS ?= $(MODEL)        # several: make book MODELS="smollm2-135m-instruct gemma3-270m"
PROFILE ?= default
DEVICE ?= cpu
DTYPE ?=
PY = .venv/bin/python
BOOK_ARGS = --model $(MODELS) --profile $(PROFILE) --device $(DEVICE) $(if $(DTYPE),--dtype $(DTYPE))

.PHONY: setup book test html benchmarks clean

setup:
	@bash scripts/setup.sh

book: setup
	$(PY) -m rwku_core.book $(BOOK_ARGS)

html: setup
	$(PY) -m rwku_core.book $(BOOK_ARGS) --chapters --no-html && \
	$(PY) -c "from rwku_core.book import build_html; build_html()"

test: setup
	$(PY) -m pytest -q --durations=10

benchmarks: setup
	$(PY) benchmarks/report.py --run

clean:
	rm -rf _build && find book -mindepth 1 -maxdepth 1 -type d ! -name _static_root -exec rm -rf {} +
