import json
import shutil
from pathlib import Path

import pytest

from rwku_core.data import MINI_DIR


@pytest.fixture
def mini_copy(tmp_path):
    """A writable copy of two mini targets in the official layout (tests corrupt it)."""
    root = tmp_path / "RWKU" / "Target"
    for name in ("1_Stephen_King", "14_Taylor_Swift"):
        shutil.copytree(MINI_DIR / "Target" / name, root / name)
    return tmp_path / "RWKU"


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, obj):
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")


SMOKE_ROOT = Path(__file__).resolve().parents[1] / "_build" / "smoke"   # book root of the smoke build


@pytest.fixture(scope="session")
def smoke_book():
    """The whole book at the smoke profile on the default model, built the way CI does: papermill
    executes every chapter (a cell error fails), Jupyter Book renders with warnings as errors.
    Built offline (``offline_env``): HF_HUB_OFFLINE=1 and every network attempt recorded.
    Built in its own root (_build/smoke) so a developer's `make book` output is left alone."""
    import subprocess
    import sys

    from rwku_core.data import REPO_ROOT
    NETWORK_LOG.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "rwku_core.book", "--profile", "smoke", "--root", str(SMOKE_ROOT)],
                   cwd=REPO_ROOT, check=True, env=offline_env())
    return SMOKE_ROOT


NETWORK_LOG = SMOKE_ROOT.parent / "smoke_network_attempts.log"
OFFLINE = Path(__file__).resolve().parent / "offline"


def offline_env() -> dict:
    """The environment of an offline run: HF_HUB_OFFLINE=1, and every Python process (the driver,
    the kernels, Jupyter Book) loads tests/offline/sitecustomize.py, which makes any attempt to reach
    another machine fail and writes it to NETWORK_LOG."""
    import os
    path = os.pathsep.join(p for p in (str(OFFLINE), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": path, "RWKU_NETWORK_LOG": str(NETWORK_LOG)}
