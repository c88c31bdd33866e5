"""Wall time of a book build, per run list and per chapter, read from the build's log.

`make book` prints one ``[sweep] n/N <unit>: computing (S s so far)`` line per unit of the compute
phase and one ``[book] <model>/<chapter>: done in S s`` line per chapter of the render phase. This
script turns a saved log into the table the README records: the compute time of each run list (a
unit two lists share counts in the first, as ``rwku_core.sweep.time_by_list``), the attacks' share
of the attacked units (from their ``[attack]`` lines, when the log carries time stamps), and each
chapter's own execution time.

    make book 2>&1 | python -u -c "import sys,time; t=time.time(); [print(f'{time.time()-t:8.1f} {l}', end='', flush=True) for l in sys.stdin]" > build.log
    python benchmarks/build_times.py build.log [--profile default] [--model smollm2-135m-instruct]

Lines may start with a time stamp (seconds since the start, as above); without stamps the unit
times come from the "so far" counters and the attack split is left out.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

UNIT = re.compile(r"\[sweep\] (\d+)/(\d+) (\S+): computing \((\d+) s so far\)")
FINISHED = re.compile(r"\[sweep\] shard \S+ finished in (\d+) s")
CHAPTER = re.compile(r"\[book\] (\S+)/(\S+): done in (\d+) s")
STAMP = re.compile(r"^\s*(\d+\.\d)\s")


def parse(lines):
    """(unit seconds {id: s}, attack seconds {id: s}, chapter seconds [(model/chapter, s)])."""
    starts, end, chapters, attack = [], None, [], {}
    current, first_attack, last_t = None, None, None
    for line in lines:
        stamp = STAMP.match(line)
        t = float(stamp.group(1)) if stamp else None
        for part in line.split("\r"):          # progress bars share a line with the next message
            m = UNIT.search(part)
            if m:
                if current and first_attack is not None and t is not None:
                    attack[current] = t - first_attack
                current, first_attack = m.group(3), None
                starts.append((m.group(3), int(m.group(4))))
            elif "[attack]" in part and first_attack is None and last_t is not None:
                first_attack = last_t        # the attacks start when the line before (the last evaluation) ended
            elif FINISHED.search(part):
                end = int(FINISHED.search(part).group(1))
                if current and first_attack is not None and t is not None:
                    attack[current] = t - first_attack
                current = None
            elif CHAPTER.search(part):
                c = CHAPTER.search(part)
                chapters.append((f"{c.group(1)}/{c.group(2)}", int(c.group(3))))
        if "[attack]" not in line and t is not None:
            last_t = t
    units = {}
    for (uid, s0), nxt in zip(starts, starts[1:] + [(None, end)]):
        if nxt[1] is not None:
            units[uid] = nxt[1] - s0
    return units, attack, chapters


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--model", default="smollm2-135m-instruct", help="the model whose Plan names the run lists")
    ap.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                    help="the build's --set options (the run lists depend on them)")
    args = ap.parse_args(argv)
    units, attack, chapters = parse(Path(args.log).read_text(errors="replace").split("\n"))
    from rwku_core import sweep
    from rwku_core.experiments import Plan
    from rwku_core.profiles import get_profile, parse_setting
    overrides = dict(parse_setting(x) for x in args.settings)
    prof = get_profile(args.profile, overrides)
    plan = Plan(args.model, args.profile, prof["data"], prof["targets"], overrides=overrides)
    print(f"compute phase: {sum(units.values())} s over {len(units)} units")
    print("by run list: " + sweep.time_by_list(plan, units))
    if attack:
        print(f"attacks inside {len(attack)} attacked units: {sum(attack.values()):.0f} s "
              f"({sum(attack.values()) / len(attack):.0f} s a unit)")
    print("| chapter | executed in |")
    print("|---|---|")
    for name, s in chapters:
        print(f"| {name} | {s} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
