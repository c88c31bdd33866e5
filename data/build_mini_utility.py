"""Copy the mini utility sets (data/utility_src/*.json) into every mini target folder.

The official layout stores the five utility sets inside each target folder with that target's
``subject``; the mini set uses the same items for every target. Run after editing utility_src:

    python data/build_mini_utility.py
"""
import json
from pathlib import Path

HERE = Path(__file__).parent
FILES = ["retain_mmlu.json", "retain_bbh.json", "truthful.json", "triviaqa.json", "fluency.json"]

for folder in sorted((HERE / "rwku_mini" / "Target").iterdir()):
    intro = folder / "intro.json"
    if not intro.exists():
        continue
    subject = json.loads(intro.read_text(encoding="utf-8"))[0]["target"]
    for name in FILES:
        records = json.loads((HERE / "utility_src" / name).read_text(encoding="utf-8"))
        for r in records:
            r["subject"] = subject
        (folder / name).write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{folder.name}: {', '.join(FILES)}")
