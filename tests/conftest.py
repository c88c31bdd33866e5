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
