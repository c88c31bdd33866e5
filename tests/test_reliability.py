"""Failure classes of the README's fault table, each through the command line a user runs: bad data,
unknown names, a run killed part-way, collapse, determinism, unsafe target names, remote code and
pickles. (Offline operation is checked on the smoke book build, tests/test_book.py.)"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import read, write
from rwku_core import cli, results
from rwku_core.data import MINI_DIR, load_targets

CLI = [sys.executable, "-m", "rwku_core.cli"]


def store_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _edit(path: Path, index: int, field: str, value) -> str:
    """Set (or, with None, delete) one field of one record of a data file; returns the file's path."""
    recs = read(path)
    if value is None:
        del recs[index][field]
    else:
        recs[index][field] = value
    write(path, recs)
    return str(path)


# ---- 1. malformed or incomplete data: exit 2, one line naming file, record and field, nothing written
def _corrupt(kind: str, root: Path) -> tuple[list[str], list[str]]:
    """Damage the copy of the mini data; returns (extra CLI arguments, words the message must hold)."""
    d = root / "Target" / "1_Stephen_King"
    if kind == "missing directory":
        return ["--data", str(root / "nowhere")], [str(root / "nowhere"), "does not exist"]
    if kind == "missing file":
        (d / "forget_level2.json").unlink()
        return [], [str(d / "forget_level2.json"), "missing file"]
    if kind == "missing field":
        f = _edit(d / "forget_level1.json", 3, "answer", None)
        return [], [f, "record 3", "missing field 'answer'"]
    if kind == "wrong type":
        f = _edit(d / "retain_mmlu.json", 5, "answer", "B")
        return [], [f, "record 5", "field 'answer'", "expected int"]
    if kind == "empty probe list":
        write(d / "forget_level2.json", [])
        return [], [str(d / "forget_level2.json"), "empty list"]
    if kind == "unknown attack type":
        f = _edit(d / "forget_level3.json", 7, "type", "jailbreak")
        return [], [f, "record 7", "field 'type'", "jailbreak"]
    if kind == "target not in the data":
        return ["--targets", "1", "Nobody Known"], ["'Nobody Known'", "1:Stephen King"]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing directory", "missing file", "missing field", "wrong type",
                                  "empty probe list", "unknown attack type", "target not in the data"])
@pytest.mark.parametrize("command", ["eval", "unlearn"])
def test_bad_data_fails_with_one_message_and_writes_nothing(mini_copy, tmp_path, capsys, kind, command):
    extra, words = _corrupt(kind, mini_copy)
    store = tmp_path / "store"
    args = [command, "--data", str(mini_copy), "--targets", "1", "--out", str(store)] + extra
    if command == "unlearn":
        args += ["--method", "ga"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    for w in words:
        assert w in err[0], (w, err[0])
    assert store_files(store) == []


def test_the_console_command_exits_non_zero(tmp_path):
    run = subprocess.run(CLI + ["eval", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "s")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "does not exist" in run.stderr and not (tmp_path / "s").exists()


# ---- 2. unknown names list the valid values --------------------------------------------------------
@pytest.mark.parametrize("args, valid", [
    (["unlearn", "--method", "forget_harder"], ["icu", "repe", "ga", "ga_star", "dpo", "npo", "rt"]),
    (["unlearn", "--method", "ga", "--mode", "half"], ["full", "lora", "layers:A-B"]),
    (["eval", "--model", "smollm-9000"], ["smollm2-135m-instruct", "gemma3-270m"]),
    (["sweep", "--profile", "huge", "--list"], ["smoke", "default", "paper"]),
    (["eval", "--data", "somewhere"], ["'mini'", "'hub'", "directory"]),
    (["sweep", "--chapters", "09_epilogue", "--list"], ["03_main_results", "08_case_studies"]),
])
def test_unknown_names_list_the_valid_values(tmp_path, capsys, args, valid):
    try:
        code = cli.main(args + ["--out", str(tmp_path / "store")])
    except SystemExit as e:               # argparse's own choices
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    for v in valid:
        assert v in err, (v, err)
    assert store_files(tmp_path / "store") == []


def test_unknown_profile_in_the_book_driver(capsys):
    from rwku_core import book
    with pytest.raises(SystemExit):
        book.main(["--profile", "huge", "--no-html"])
    assert "valid profiles: smoke, default, paper" in capsys.readouterr().err


# ---- 3. a run killed part-way ----------------------------------------------------------------------
def _kill_when(cmd: list[str], log: Path, ready, timeout: float = 600) -> None:
    """Start ``cmd``, SIGKILL it as soon as ``ready()`` holds."""
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stderr=err, stdout=subprocess.DEVNULL)
        t0 = time.time()
        while not ready():
            assert proc.poll() is None, f"finished before it could be killed: {log.read_text()[-2000:]}"
            assert time.time() - t0 < timeout
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def _assert_consistent(store: Path) -> None:
    """Nothing half-written: no run folder without all its files, no temporary file, every JSON parses."""
    for p in store.rglob("*"):
        assert not p.name.endswith(".tmp") and ".staging" not in p.name, p
        if p.is_dir() and not p.name.endswith(".partial") and (p / "config.json").exists() is not results.is_complete(p):
            raise AssertionError(f"incomplete run folder {p}")
        if p.suffix == ".json":
            json.loads(p.read_text(encoding="utf-8"))


def test_eval_killed_part_way_resumes_only_the_rest(tmp_path):
    base = CLI + ["eval", "--targets", "1", "4", "--utility-limit", "1", "--no-mia"]
    store = tmp_path / "store"
    _kill_when(base + ["--out", str(store)], tmp_path / "killed.log",
               lambda: any(store.rglob("*.partial/1_Stephen_King.json")) and "Warren Buffett" in
               (tmp_path / "killed.log").read_text())
    _assert_consistent(store)
    assert not list(store.rglob("summary.json"))                          # no run claims to be complete
    assert [p.name for p in store.rglob("*.partial/*.json")] == ["1_Stephen_King.json"]
    rerun = subprocess.run(base + ["--out", str(store)], capture_output=True, text=True, check=True)
    assert "[eval Warren Buffett]" in rerun.stderr and "[eval Stephen King]" not in rerun.stderr
    _assert_consistent(store)
    assert not list(store.rglob("*.partial"))
    # ---- 5. determinism: the resumed run equals an uninterrupted one in another process, byte for byte
    fresh = subprocess.run(base + ["--out", str(tmp_path / "fresh")], capture_output=True, text=True, check=True)
    resumed_dir, fresh_dir = Path(rerun.stdout.split()[-1]), Path(fresh.stdout.split()[-1])
    assert resumed_dir.name == fresh_dir.name
    for f in ("summary.json", "per_target.json", "records.jsonl"):
        assert (resumed_dir / f).read_bytes() == (fresh_dir / f).read_bytes(), f


def test_training_killed_part_way_resumes_only_the_rest(tmp_path):
    base = CLI + ["unlearn", "--method", "ga", "--targets", "1", "4", "--epochs", "1", "--utility-limit", "1",
                  "--no-mia"]
    store, log = tmp_path / "store", tmp_path / "killed.log"

    def training_second_target():
        text = log.read_text()
        return any(store.rglob("*.partial/1_Stephen_King.json")) and \
            text.count("[train ga full] epoch 1/1 step 1/2") >= 2
    _kill_when(base + ["--out", str(store)], log, training_second_target)
    _assert_consistent(store)
    assert not list(store.rglob("summary.json"))
    assert [p.name for p in store.rglob("*.partial/*.json")] == ["1_Stephen_King.json"]
    rerun = subprocess.run(base + ["--out", str(store)], capture_output=True, text=True, check=True)
    assert rerun.stderr.count("[train ga full] epoch 1/1 step 1/2") == 1        # one target trained
    assert "[eval Warren Buffett epoch 1]" in rerun.stderr and "[eval Stephen King" not in rerun.stderr
    _assert_consistent(store)
    run = results.load_run(Path(rerun.stdout.split()[-1]))
    assert set(run["per_target"]) == {"Stephen King", "Warren Buffett"}


def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path):
    path = tmp_path / "eval" / "m" / "run-abc"
    results.save_partial(path, "1_A", {"x": 1})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()                  # a pid that has exited
    stale = [results.partial_dir(path) / f".2_B.{dead}.tmp", path.with_name(f"{path.name}.staging-{dead}")]
    live = [results.partial_dir(path) / f".3_C.{os.getpid()}.tmp"]
    stale[0].write_text("{\"trunc")
    stale[1].mkdir()
    live[0].write_text("{")
    assert sorted(results.clean_stale(path)) == sorted(stale)
    assert live[0].exists() and results.load_partial(path, "1_A") == {"x": 1}


# ---- 4. collapse -------------------------------------------------------------------------------------
def test_nan_loss_run_is_recorded_as_collapsed_and_still_summarised(tmp_path, monkeypatch):
    """A tiny model (saved as a local folder) with a NaN weight: the run finishes, its config says
    why it collapsed, and its summary holds the model as it stood (the book reads that row)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from rwku_core.evaluate import EvalConfig
    from rwku_core.experiments import collapsed, last_epoch
    from rwku_core.models import load_model
    from rwku_core.runner import run_unlearn
    monkeypatch.setenv("RWKU_CACHE", str(tmp_path / "cache"))
    tok = load_model("smollm2-135m-instruct").tokenizer
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2))
    model.save_pretrained(tmp_path / "broken")
    tok.save_pretrained(tmp_path / "broken")
    assert AutoTokenizer.from_pretrained(tmp_path / "broken").chat_template
    from rwku_core.corpora import forget_corpus
    forget_corpus(load_model(str(tmp_path / "broken")), load_targets("mini", [1])[0], 2, 0)   # healthy model writes the corpus
    with torch.no_grad():
        model.lm_head.weight[0, 0] = float("nan")
    model.save_pretrained(tmp_path / "broken")                # then a NaN weight breaks the model
    path = run_unlearn(str(tmp_path / "broken"), "mini", [1], "ga", out=tmp_path / "store",
                       eval_cfg=EvalConfig(probes="all", utility=False), log=lambda m: None,
                       train_overrides={"epochs": 1, "corpus_size": 2, "batch_size": 2})
    reasons = collapsed(path)
    assert len(reasons) == 1 and "non-finite loss (nan) at step 1" in reasons[0]
    assert last_epoch(path)["epoch"] == 1 and "forget_all" in last_epoch(path)


# ---- 7. target names that are not file names --------------------------------------------------------
def test_awkward_target_names_get_safe_unique_paths(tmp_path):
    """An official-layout folder whose targets are named with commas, accents, dots and slashes;
    a real evaluation writes one unit file per target inside the store."""
    names = ["Prince Harry, Duke of Sussex", "Beyonc\u00e9", "Beyonce", "R. Kelly", "AC/DC", "../../etc"]
    root = tmp_path / "data" / "Target"
    for i, name in enumerate(names, start=200):
        folder = root / f"{i}_{name.replace('/', ' ')}"
        import shutil
        shutil.copytree(MINI_DIR / "Target" / "1_Stephen_King", folder)
        intro = read(folder / "intro.json")
        intro[0]["target"] = name
        write(folder / "intro.json", intro)
    targets = load_targets(tmp_path / "data")
    slugs = [t.slug for t in targets]
    assert [t.name for t in targets] == names and len(set(slugs)) == len(names)
    for s in slugs:
        assert s == Path(s).name and s.isascii() and not s.startswith(".") and "/" not in s and "," not in s
    from rwku_core.runner import run_eval
    from rwku_core.evaluate import EvalConfig
    store = tmp_path / "store"
    path = run_eval("smollm2-135m-instruct", tmp_path / "data", None, out=store, log=lambda m: None,
                    cfg=EvalConfig(probes="all", mia=False, utility=False), units={slugs[1], slugs[2]},
                    assemble=False)
    written = sorted(p.name for p in store.rglob("*.json"))
    assert written == sorted(f"{s}.json" for s in slugs[1:3])
    assert all(p.resolve().is_relative_to(store.resolve()) for p in store.rglob("*"))
    assert read(results.partial_dir(path) / f"{slugs[1]}.json")["summary"] != {}


# ---- 8. no repository code without --trust-remote-code, no foreign pickles ---------------------------
def _tiny_folder(folder: Path):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from rwku_core.models import load_model
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=2)).save_pretrained(folder)
    load_model("smollm2-135m-instruct").tokenizer.save_pretrained(folder)


def test_repository_code_never_runs_without_trust_remote_code(tmp_path):
    folder = tmp_path / "custom"
    _tiny_folder(folder)
    marker = tmp_path / "code_ran"
    (folder / "modeling_custom.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import LlamaForCausalLM, LlamaConfig\n"
        "class CustomConfig(LlamaConfig):\n    model_type = 'custom_llama'\n"
        "class CustomForCausalLM(LlamaForCausalLM):\n    config_class = CustomConfig\n")
    cfg = read(folder / "config.json")
    cfg["auto_map"] = {"AutoConfig": "modeling_custom.CustomConfig",
                       "AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"}
    cfg["model_type"] = "custom_llama"
    write(folder / "config.json", cfg)
    run = subprocess.run(CLI + ["eval", "--model", str(folder), "--targets", "1", "--out", str(tmp_path / "s")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "--trust-remote-code" in run.stderr, run.stderr[-2000:]
    assert not marker.exists() and not (tmp_path / "s").exists()
    from rwku_core.models import load_model
    load_model(str(folder), trust_remote_code=True)        # asked for: the code runs
    assert marker.read_text() == "ran"


def test_pickled_checkpoints_are_refused(tmp_path):
    import torch
    folder = tmp_path / "pickled"
    _tiny_folder(folder)
    from safetensors.torch import load_file
    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")      # the same weights, as a pickle
    run = subprocess.run(CLI + ["eval", "--model", str(folder), "--targets", "1", "--out", str(tmp_path / "s")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "pickled .bin checkpoints are refused" in run.stderr, run.stderr[-2000:]
    assert not (tmp_path / "s").exists()


def test_the_package_never_unpickles():
    """No pickle, torch.load, joblib or numpy allow_pickle anywhere in the package's code."""
    import re
    src = Path(cli.__file__).parent
    hits = [f"{p.name}:{i}" for p in src.rglob("*.py") for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"\bpickle\b|torch\.load\(|joblib|allow_pickle=True|dill\b", line)]
    assert hits == []


def test_babbling_answers_count_as_degenerate():
    """RepE at alpha 1.0 on SmolLM2 (smoke build, target 1): answers that end in "put put put ...".
    The moving type-token ratio is computed by hand on a short case."""
    from rwku_core.metrics import degenerate, moving_type_token_ratio
    assert moving_type_token_ratio("a b a b c".split(), window=4) == pytest.approx((2 / 4 + 3 / 4) / 2)
    babble = ['I say " I put it off, I put it off" ( I put it). ' + "put " * 12, "I put it on now.",
              "C mention to do actions now. C do not say. C do say now. C do say now.",
              "I put something else on the und mention.", "what I put on the und add now " + "put " * 10] * 5
    normal = ["Stephen King was born in Portland, Maine.", "He wrote Carrie, his first published novel.",
              "Warren Buffett runs Berkshire Hathaway from Omaha.", "Taylor Swift released Folklore in 2020.",
              "The Shining is set in a hotel in Colorado.", "Buffett bought his first stock at eleven.",
              "Swift grew up on a Christmas tree farm in Pennsylvania.", "King's wife Tabitha is a novelist."] * 3
    assert degenerate(babble) and not degenerate(normal)
