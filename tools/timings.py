"""How long each exercise took a room, from the checkers' own records (docs/INSTRUCTOR.md, "Exercise timings").

    python -m tools.timings FOLDER_OR_FILE ...

Each file is one learner's record, written by the checkers while WORKSHOP_TIMINGS=FILE was set: one line per
verdict, 'unix seconds, checker, pass|fail', tab-separated. Per exercise, a learner's time is from their first check
(usually the untouched stub, run as they reach the exercise) to their first ✅; prints, per exercise, how many
learners checked it, how many passed, and the median and range of their minutes, as a markdown table.
"""

import argparse
import collections
import pathlib
import statistics
import sys


def read(path):
    """{checker: (first check, first pass or None)} of one learner's file."""
    first, passed = {}, {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) != 3 or fields[2] not in ("pass", "fail") or not fields[0].isdigit():
            raise ValueError(f"{path}:{number}: expected 'seconds<TAB>checker<TAB>pass|fail', got {line!r}")
        seconds, name = int(fields[0]), fields[1]
        first.setdefault(name, seconds)
        if fields[2] == "pass":
            passed.setdefault(name, seconds)
    return {name: (start, passed.get(name)) for name, start in first.items()}


def summary(paths):
    """Rows (checker, learners, passed, median minutes, min minutes, max minutes), in the order first seen."""
    minutes, learners = collections.defaultdict(list), collections.Counter()
    for path in paths:
        for name, (start, done) in read(path).items():
            learners[name] += 1
            if done is not None:
                minutes[name].append((done - start) / 60)
    rows = []
    for name in learners:
        times = minutes[name]
        figures = (statistics.median(times), min(times), max(times)) if times else (None, None, None)
        rows.append((name, learners[name], len(times), *figures))
    return rows


def table(rows):
    lines = ["| exercise (checker) | learners | passed | minutes to first ✅, median | range |"]
    lines.append("|---|---:|---:|---:|---|")
    for name, learners, passed, median, low, high in rows:
        figures = f"{median:.0f} | {low:.0f}–{high:.0f}" if passed else "– | –"
        lines.append(f"| {name} | {learners} | {passed} | {figures} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=pathlib.Path, help="learners' files, or folders of them")
    args = parser.parse_args(argv)
    files = []
    for path in args.paths:
        if not path.exists():
            parser.error(f"no such file or folder: {path}")
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    if not files:
        parser.error("no timing files found")
    try:
        print(table(summary(files)))
    except (ValueError, UnicodeDecodeError) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
