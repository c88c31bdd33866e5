# The two README commands: `make book` (the main job) and `make test`. Each sets up .venv itself.
MODEL ?= smollm2-135m-instruct
MODELS ?= $(MODEL)        # several: make book MODELS="smollm2-135m-instruct gemma3-270m"
PROFILE ?= default
DEVICE ?= cpu
DTYPE ?=
# REPOSITORY=OWNER/NAME: the GitHub repository whose BRANCH holds the executed book/ notebooks (launch buttons)
REPOSITORY ?=
BRANCH ?= main
PY = .venv/bin/python
BOOK_ARGS = --model $(MODELS) --profile $(PROFILE) --device $(DEVICE) $(if $(DTYPE),--dtype $(DTYPE)) \
            $(if $(REPOSITORY),--repository $(REPOSITORY) --branch $(BRANCH))

.PHONY: setup book test html benchmarks clean

setup:
	@bash scripts/setup.sh

book: setup
	$(PY) -m rwku_core.book $(BOOK_ARGS)

html: setup
	$(PY) -m rwku_core.book $(BOOK_ARGS) --chapters --no-html && \
	$(PY) -c "from rwku_core.book import build_html, launch_config as L; r = '$(REPOSITORY)'; \
	build_html(config=L('.', r, '$(BRANCH)') if r else None)"

test: setup
	$(PY) -m pytest -q --durations=10

benchmarks: setup
	$(PY) benchmarks/report.py --run

clean:
	rm -rf _build && find book -mindepth 1 -maxdepth 1 -type d ! -name _static_root -exec rm -rf {} +
