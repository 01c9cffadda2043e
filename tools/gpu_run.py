"""Run every notebook once on a GPU and report, per notebook, its time and that every assert held.

    python -m tools.gpu_run                      every lesson on CUDA (WORKSHOP_DEVICE=cuda)
    python -m tools.gpu_run --device cpu 00_setup.ipynb   the same check on another device (mps, cpu)
    python -m tools.gpu_run --json gpu_run.json  also write the results as JSON

Each notebook runs top to bottom in a fresh kernel through tools/notebooks.py's execute, from a temporary copy
beside it (nothing is saved into the lesson), with one cell added at the end that prints the device the notebook
used and, on CUDA, its peak GPU memory. An assert that fails stops its notebook, and the report names the cell.
The committed outputs are a CPU run: on a GPU the random draws differ, so only the asserts are checked, not the
printed numbers. Exits 1 when any notebook fails or ran on another device than asked.
"""

import argparse
import json
import os
import pathlib
import re
import sys
import time

import nbformat
from nbclient.exceptions import CellExecutionError

from tools import notebooks as tools  # execute, the notebook list

PROBE = (
    "import torch as _torch\n"
    "print('gpu_run:', device.type, _torch.cuda.max_memory_allocated() if device.type == 'cuda' else 0)"
)
ASSERT = re.compile(r"^\s*assert\b", re.M)


def run_one(path, device):
    """Execute a copy of `path` on `device`; returns a dict with seconds, asserts, device used and any error."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    asserts = sum(len(ASSERT.findall(c.source)) for c in nb.cells if c.cell_type == "code")
    copy = path.with_name(f".gpu_run_{path.name}")
    nbformat.write(nb, copy)
    os.environ["WORKSHOP_DEVICE"] = device  # helpers.get_device() follows it; the kernel inherits it
    row = {"notebook": path.name, "asserts": asserts, "device": None, "peak_gpu_mib": None, "error": None}
    start = time.perf_counter()
    try:
        executed, times = tools.execute(copy, timeout=600)
        row["seconds"] = round(sum(t for _, t in times), 1)
        probe = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
        _, used, peak = probe.split()
        row["device"], row["peak_gpu_mib"] = used, round(int(peak) / 2**20, 1)
    except CellExecutionError as error:
        row["seconds"] = round(time.perf_counter() - start, 1)
        row["error"] = f"{error.ename}: {error.evalue}"[:300]
        source = str(error).split("------------------\n", 2)  # nbclient quotes the failing cell between rules
        row["cell"] = source[1].splitlines()[0] if len(source) > 2 else ""
    finally:
        copy.unlink(missing_ok=True)
    row["ok"] = row["error"] is None and row["device"] == device
    return row


def table(rows, device):
    lines = [
        f"| notebook | seconds on {device} | asserts | all held | peak GPU memory |",
        "|---|---:|---:|---|---:|",
    ]
    for r in rows:
        held = "yes" if r["ok"] else f"NO: {r['error'] or 'ran on ' + str(r['device'])}"
        held += f" (cell `{r['cell']}`)" if r.get("cell") else ""
        peak = f"{r['peak_gpu_mib']} MiB" if r["peak_gpu_mib"] else "-"
        lines.append(f"| {r['notebook']} | {r['seconds']} | {r['asserts']} | {held} | {peak} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=["cuda", "mps", "cpu"])
    parser.add_argument("--json", type=pathlib.Path, help="also write the rows to this JSON file")
    parser.add_argument("notebooks", nargs="*", help="names or paths; default: every lesson in notebooks/")
    args = parser.parse_args(argv)
    paths = tools.lessons(args.notebooks)
    rows = []
    for path in paths:
        rows.append(run_one(path, args.device))
        print(f"{path.name:<32} {rows[-1]['seconds']:6.1f} s  {'ok' if rows[-1]['ok'] else 'FAILED'}", flush=True)
    print()
    print(table(rows, args.device))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
