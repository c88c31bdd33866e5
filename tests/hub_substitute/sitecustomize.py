"""Loaded by every Python process of the paper-path tests (PYTHONPATH=tests/hub_substitute): the
offline guard of tests/offline (any attempt to reach another machine is logged and fails), and
``datasets.load_dataset`` replaced, as soon as ``datasets`` is imported, by the substitute built
from the mini files (``rwku_hub.load_dataset``)."""
import importlib.abc
import importlib.util
import runpy
import sys
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[1] / "offline" / "sitecustomize.py"))


class _PatchDatasets(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "datasets":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("datasets")
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            import rwku_hub
            module.load_dataset = rwku_hub.load_dataset

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchDatasets())
