"""A room of learners on one server, simulated and measured: K kernels press Run All at the same moment.

    python -m tools.room K NOTEBOOK ...   K learners run each notebook at once (NOTEBOOK: a path, a name or "02")
    python -m tools.room --curve          K = 1, 2, 4, 8 (then 16, 32 while memory allows) for 02, 05 and 07,
                                          ending with a markdown table for docs/INSTRUCTOR.md (--out FILE too)

The curve also measures, once, the memory of one idle JupyterLab server (each learner on a hub has their own, beside
their kernels) and gives per row what one learner's server and kernel hold together: the floor of the per-user
memory limit a hub sets.

Each learner is a kernel of its own running the whole notebook (nbclient, as tools/notebooks.py runs it), the way a
JupyterHub gives every learner a server. Per learner: seconds from its first cell to its last, the slowest cell,
the kernel's peak memory (RSS) and CPU seconds, the torch threads it computed with, whether every cell ran without
an error (so every assert held), and whether its outputs equal the committed ones (tools/outputs.py, strict nbval's
rules; a difference in numbers only is another CPU's rounding, anything else a real change). Then the
machine: memory in use at its peak (and before the start) and how busy its CPUs were. Every kernel it starts is
shut down when it ends, also on Ctrl-C or SIGTERM. Exits 1 when a learner failed or printed other than numbers.
A benchmark, not a test: run it on a machine with nothing else running.
"""

import argparse
import asyncio
import atexit
import copy
import dataclasses
import os
import pathlib
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tools import notebooks, outputs

ROOT = notebooks.ROOT
CURVE_NOTEBOOKS = ("02", "05", "07")
CURVE_KS = (1, 2, 4, 8)
# Appended to each learner's copy, after the lesson: how many threads torch computed with in that kernel.
THREADS_PROBE = "import torch\nprint(torch.get_num_threads())"


@dataclasses.dataclass
class Learner:
    number: int
    path: pathlib.Path
    pid: int | None = None
    connection_file: str | None = None
    seconds: float = 0.0
    slowest: tuple = (None, 0.0)  # (cell index, seconds)
    peak_rss: int = 0
    cpu_seconds: float = 0.0
    threads: int | None = None
    error: str | None = None
    differences: list = dataclasses.field(default_factory=list)  # tools.outputs.Difference, one per cell and key
    unexpected: list = dataclasses.field(default_factory=list)  # those no machine may show
    client: NotebookClient | None = dataclasses.field(default=None, repr=False)

    @property
    def ok(self):
        """Every cell ran and no output differs where no machine may (tools.outputs.unexpected)."""
        return self.error is None and not self.unexpected


def run_learner(learner, patterns, timeout, stop):
    """One learner (in a thread of its own): a fresh kernel, Run All, outputs compared with the committed ones."""
    reference = nbformat.read(learner.path, as_version=4)
    nb = copy.deepcopy(reference)
    nb.cells.append(nbformat.v4.new_code_cell(THREADS_PROBE))
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(learner.path.parent)}}
    )

    def started(**_):  # nbclient's hook, once the kernel is up: remember it, to measure it and to clean it up
        learner.pid, learner.connection_file = client.km.provisioner.pid, client.km.connection_file
        if stop.is_set():  # the room was interrupted while this kernel started: nbclient shuts it down
            raise RuntimeError("interrupted")

    client.on_notebook_start, learner.client = started, client
    times, original = [], client.async_execute_cell

    async def timed(cell, cell_index, **kwargs):
        start = time.perf_counter()
        try:
            return await original(cell, cell_index, **kwargs)
        finally:
            if cell_index < len(reference.cells):
                times.append((cell_index, time.perf_counter() - start))

    client.async_execute_cell = timed
    env = {**os.environ, "WORKSHOP_PROGRESS": "0"}  # as tools/notebooks.py and the tests run the notebooks
    env.pop("MPLBACKEND", None)
    try:
        # A loop of this thread's own, closed at the end; no stderr: not K kernels' start-up warnings.
        asyncio.run(client.async_execute(env=env, stderr=subprocess.DEVNULL))
    except CellExecutionError as exc:
        learner.error = f"cell {times[-1][0] if times else '?'}: {exc.ename}: {exc.evalue}"[:300]
    except Exception as exc:  # a timeout, a dead kernel: say which, and go on with the others
        learner.error = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
    learner.seconds = sum(t for _, t in times)
    learner.slowest = max(times, key=lambda it: it[1]) if times else (None, 0.0)
    probe = nb.cells[-1].get("outputs") or []
    text = "".join(o.get("text", "") for o in probe).strip()
    learner.threads = int(text) if text.isdigit() else None
    learner.differences = outputs.differences(reference, nb, patterns)
    learner.unexpected = outputs.unexpected(learner.differences, reference)


class Meter:
    """Polls every kernel's RSS and CPU seconds, and the machine's memory in use and CPU time (psutil)."""

    def __init__(self, learners, interval=0.2):
        self.learners, self.interval, self.processes = learners, interval, {}
        memory = psutil.virtual_memory()
        self.baseline = self.peak = memory.total - memory.available
        self.total = memory.total
        self.cpu_start, self.wall_start = psutil.cpu_times(), time.perf_counter()

    def sample(self):
        for learner in self.learners:
            if learner.pid is None:
                continue
            try:
                process = self.processes.setdefault(learner.pid, psutil.Process(learner.pid))
                learner.peak_rss = max(learner.peak_rss, process.memory_info().rss)
                times = process.cpu_times()
                learner.cpu_seconds = times.user + times.system
            except psutil.Error:  # the kernel has just exited
                pass
        memory = psutil.virtual_memory()
        self.peak = max(self.peak, memory.total - memory.available)

    def run(self):
        while not self.stop.wait(self.interval):
            self.sample()

    def __enter__(self):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.sample()

    def machine(self):
        end = psutil.cpu_times()
        total = sum(end) - sum(self.cpu_start)
        idle = (end.idle + getattr(end, "iowait", 0)) - (self.cpu_start.idle + getattr(self.cpu_start, "iowait", 0))
        return {
            "cores": psutil.cpu_count(),
            "seconds": round(time.perf_counter() - self.wall_start, 1),
            "cpu_busy_percent": round(100 * (1 - idle / total)) if total > 0 else 0,
            "memory_before_gib": round(self.baseline / 2**30, 2),
            "memory_peak_gib": round(self.peak / 2**30, 2),
            "memory_total_gib": round(self.total / 2**30, 1),
        }


def clean_up(learners):
    """Kill what is left of every kernel started (its whole process group) and remove its connection file; nbclient
    shuts a kernel down itself when Run All ends, so this only acts after an interruption."""
    for learner in learners:
        if learner.client is not None:  # nbclient's exit hook would wait on a kernel killed here
            atexit.unregister(learner.client._cleanup_kernel)
        km = getattr(learner.client, "km", None)
        if learner.pid is None and km is not None:  # started, not yet running cells
            learner.pid, learner.connection_file = getattr(km.provisioner, "pid", None), km.connection_file
        if learner.pid is not None:
            try:
                kernel = psutil.Process(learner.pid)
                if kernel.ppid() == os.getpid():  # still ours (a pid is reused once its process is gone)
                    os.killpg(os.getpgid(kernel.pid), signal.SIGKILL)  # kernels start in a session of their own
                    kernel.wait(10)
            except (psutil.Error, ProcessLookupError, PermissionError):
                pass
        if learner.connection_file:
            pathlib.Path(learner.connection_file).unlink(missing_ok=True)


def run_room(path, k, timeout=600):
    """K learners at once on one notebook; returns (learners, machine figures).

    Each learner runs in a thread (nbclient then leaves the signals alone, which it takes over in the main thread):
    on Ctrl-C or SIGTERM the main thread kills every kernel, waits for the learners to end, and re-raises.
    """
    learners = [Learner(number, pathlib.Path(path)) for number in range(1, k + 1)]
    patterns, stop = outputs.sanitize_patterns(), threading.Event()
    threads = [
        threading.Thread(target=run_learner, args=(one, patterns, timeout, stop), daemon=True) for one in learners
    ]
    with Meter(learners) as meter:
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # a join without a timeout would hold Ctrl-C back
        except KeyboardInterrupt:
            stop.set()
            clean_up(learners)
            deadline = time.monotonic() + 10  # a learner waiting on a killed kernel's start would wait a minute
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            raise
        finally:
            clean_up(learners)
    return learners, meter.machine()


def learner_row(learner):
    cell, slow = learner.slowest
    if learner.error:
        verdict = f"FAILED: {learner.error}"
    else:
        verdict = ("ok: every cell ran, " if learner.ok else "") + outputs.summary(learner.differences)
    return (
        f"| {learner.path.name} | {learner.number} | {learner.seconds:.1f} | #{cell}: {slow:.1f} | "
        f"{learner.peak_rss / 2**20:.0f} | {learner.cpu_seconds:.1f} | {learner.threads} | {verdict} |"
    )


def report(learners, machine):
    """Per learner a markdown row, then the machine's figures."""
    lines = [
        "| notebook | learner | run time (s) | slowest cell (s) | peak RSS (MiB) | kernel CPU (s) | torch threads "
        "| result |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        *(learner_row(learner) for learner in learners),
        "",
        f"machine: {machine['cores']} cores {machine['cpu_busy_percent']}% busy over {machine['seconds']} s; memory in "
        f"use {machine['memory_peak_gib']} GiB at the peak ({machine['memory_before_gib']} GiB before, "
        f"{machine['memory_total_gib']} GiB in all)",
    ]
    return "\n".join(lines)


def jupyter_server_mib():
    """The memory (RSS, MiB) of one idle JupyterLab server, as each learner on a hub has, without kernels."""
    from tools.preflight import wait_for_server

    with tempfile.TemporaryDirectory() as folder, open(pathlib.Path(folder) / "lab.log", "w") as log:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        token = secrets.token_hex(16)
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--port-retries=0",
                   f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}"]
        command += ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_server(server, port, token, pathlib.Path(folder) / "lab.log")
            time.sleep(2)  # let it settle after its first answer
            return psutil.Process(server.pid).memory_info().rss / 2**20
        finally:
            server.terminate()
            server.wait(30)


def curve_row(learners, machine, server_mib):
    """One line of the curve: K learners on one notebook; server_mib: one learner's idle JupyterLab server."""
    k, seconds = len(learners), [one.seconds for one in learners]
    per_learner = (machine["memory_peak_gib"] - machine["memory_before_gib"]) / k
    slowest = max(one.slowest[1] for one in learners)
    peak_rss, cpu = max(one.peak_rss for one in learners) / 2**20, max(one.cpu_seconds for one in learners)
    threads = sorted({one.threads for one in learners}, key=str)
    ran = sum(one.error is None for one in learners)
    same = sum(one.error is None and not one.differences for one in learners)
    return (
        f"| {learners[0].path.name} | {k} | {statistics.median(seconds):.1f} | {max(seconds):.1f} | {slowest:.1f} | "
        f"{peak_rss:.0f} | {per_learner * 1024:.0f} | {machine['memory_peak_gib']:.1f} | "
        f"{machine['cpu_busy_percent']} | {cpu:.1f} | {threads} | {ran}/{k} | {same}/{k} | "
        f"{server_mib + peak_rss:.0f} |"
    )


CURVE_HEADER = (
    "| notebook | K | run time, median (s) | run time, slowest learner (s) | slowest cell (s) | peak RSS per kernel "
    "(MiB) | memory added per learner (MiB) | machine memory in use (GiB) | CPUs busy (%) | kernel CPU, max (s) | "
    "torch threads | ran without error | same outputs | per-user memory limit, at least (MiB: server + kernel) |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
)


def next_k_fits(k, machine, margin=0.8):
    """Whether 2K learners are expected to fit in memory, by what K added (a projection, printed with the table)."""
    added = max(machine["memory_peak_gib"] - machine["memory_before_gib"], 0.0) / k
    return machine["memory_before_gib"] + 2 * k * added < margin * machine["memory_total_gib"]


def curve(paths, ks=CURVE_KS, max_k=32, timeout=600, out=None):
    rows, ok, start = [], True, time.perf_counter()
    server_mib = jupyter_server_mib()
    for path in paths:
        k_list, k = list(ks), None
        while k_list:
            k = k_list.pop(0)
            learners, machine = run_room(path, k, timeout)
            rows.append(curve_row(learners, machine, server_mib))
            print(rows[-1], flush=True)
            ok &= all(learner.ok for learner in learners)
            if not k_list and 2 * k <= max_k and next_k_fits(k, machine):
                k_list.append(2 * k)
    machine = psutil.virtual_memory().total / 2**30
    table = (
        f"Measured with `python -m tools.room --curve` on {psutil.cpu_count()} cores and {machine:.0f} GiB, "
        f"{time.strftime('%Y-%m-%d')}, in {time.perf_counter() - start:.0f} s; one learner's idle JupyterLab server: "
        f"{server_mib:.0f} MiB.\n\n"
        + CURVE_HEADER
        + "\n"
        + "\n".join(rows)
    )
    print("\n" + table)
    if out:
        pathlib.Path(out).write_text(table + "\n")
    return ok


def find_notebook(name):
    """A path, a file name in notebooks/, or the lesson's number ("02")."""
    path = pathlib.Path(name)
    if path.suffix == ".ipynb" and path.exists():
        return path.resolve()
    found = sorted(notebooks.NOTEBOOKS.glob(f"{name}*.ipynb" if "." not in name else name))
    if len(found) != 1:
        raise argparse.ArgumentTypeError(
            f"notebook {name!r}: expected a path, a name in notebooks/ or a lesson number like 02, found "
            f"{len(found)} matches"
        )
    return found[0]


def positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"K: expected a whole number of learners, 1 or more, got {text!r}")
    return int(text)


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("k", nargs="?", type=positive, help="learners at once")
    parser.add_argument("notebooks", nargs="*", type=find_notebook)
    parser.add_argument("--curve", action="store_true", help="K = 1, 2, 4, 8, ... for 02, 05 and 07")
    parser.add_argument(
        "--ks", nargs="+", type=positive, default=list(CURVE_KS), help="the curve's K (default 1 2 4 8)"
    )
    parser.add_argument("--max-k", type=positive, default=32, help="the curve doubles K up to this, memory allowing")
    parser.add_argument("--timeout", type=positive, default=600, help="seconds one cell may take (default 600)")
    parser.add_argument("--out", help="--curve: also write the table to this file")
    args = parser.parse_args(argv)
    if args.curve:
        if args.k is not None:
            parser.error("--curve takes no K: it chooses them (--ks to change)")
        args.notebooks = [find_notebook(n) for n in CURVE_NOTEBOOKS]
    elif args.k is None or not args.notebooks:
        parser.error("give K and at least one notebook, or --curve")
    return args


def main(argv=None):
    args = parse(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill between two rooms ends as Ctrl-C does
    try:
        if args.curve:
            return 0 if curve(args.notebooks, args.ks, args.max_k, args.timeout, args.out) else 1
        ok = True
        for path in args.notebooks:
            learners, machine = run_room(path, args.k, args.timeout)
            print(report(learners, machine), flush=True)
            ok &= all(learner.ok for learner in learners)
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("interrupted: every kernel started was shut down", file=sys.stderr)
        return 130


if __name__ == "__main__":
    code = main()
    if code == 130:  # every kernel is dead; learner threads still unwinding from them must not hold the exit up
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
