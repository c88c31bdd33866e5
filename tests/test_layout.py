"""The package's two sides (README, "Layout"): modules that compute (load a model, train, evaluate)
and modules that only render stored runs (tables, figures, verdicts). They meet in one place,
``rwku_core.experiments`` (a chapter's run list) and the store (``rwku_core.results``). Checked by
reading the imports of the source files, and by importing the rendering side in a fresh process."""
import subprocess
import sys

from rwku_core import provenance

RENDER = ("rwku_core.results", "rwku_core.schema", "rwku_core.stats", "rwku_core.findings", "rwku_core.tables",
          "rwku_core.plots", "rwku_core.paper", "rwku_core.profiles", "rwku_core.leakage")
COMPUTE = ("rwku_core.models", "rwku_core.generation", "rwku_core.evaluate", "rwku_core.filtering",
           "rwku_core.train", "rwku_core.runner", "rwku_core.corpora", "rwku_core.memory", "rwku_core.arch",
           "rwku_core.experiments", "rwku_core.sweep", "rwku_core.quantize", "rwku_core.lens", "rwku_core.attacks",
           "rwku_core.methods")     # methods: every method module


def _compute(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in COMPUTE)


def test_no_render_module_imports_a_compute_module():
    for module in RENDER:
        reached = provenance.closure((module,))          # every rwku_core module it imports, transitively
        bad = sorted(m for m in reached if _compute(m))
        assert not bad, f"{module} imports compute modules: {bad}"


def test_the_check_sees_a_compute_import():
    """The closure reader does see the imports a compute module makes (so the test above can fail)."""
    assert "rwku_core.generation" in provenance.closure(("rwku_core.evaluate",))
    assert any(_compute(m) for m in provenance.closure(("rwku_core.experiments",)))


def test_the_rendering_side_loads_without_torch():
    code = ("import sys; import rwku_core, " + ", ".join(RENDER) + "; "
            "heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]; "
            "assert not heavy, heavy; print(rwku_core.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == __import__("rwku_core").__version__
