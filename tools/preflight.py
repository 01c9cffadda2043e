"""The pre-workshop check: run it on the room's machine or image, the day before.

    python -m tools.preflight                   everything below, on every lesson
    python -m tools.preflight 00_setup.ipynb    only the notebooks named
    python -m tools.preflight --no-browser      leave out the real-browser run
    python -m tools.preflight --browser-only    only the real-browser run
    python -m tools.preflight --hub             also check what a JupyterHub's nbgitpuller link needs (run it in a
                                                learner's server on the hub)
    python -m tools.preflight --agenda          only the agenda: words, minutes, blocks (runs nothing;
                                                --times report.json takes run times from a --json report)

1. versions and the device that helpers picks;
2. each notebook executed as the tests do (tools/notebooks.py's execute), with its time against the budget, and the
   kernel's peak memory (RSS) and CPU seconds, for sizing a shared server (docs/INSTRUCTOR.md); its outputs
   compared with the committed ones (tools/outputs.py): numbers alone differing is this machine's rounding
   (expected off the reference's CPU), any other difference fails;
3. the learner versions in notebooks/student/ regenerated in memory and compared with the committed ones;
4. where a Chromium and the optional `playwright` package are installed: each notebook and its learner version
   opened in a real JupyterLab (on a temporary copy of the workshop, so nothing is saved into it), Run All Cells, and
   a check that every cell ran, no error or stderr output is shown, and the progress bars came up as widgets; a
   screenshot of each goes to --screenshots. Without a browser this step is skipped with a message saying what to
   install;
5. with --hub: that nbgitpuller is installed and that this server reaches the repository and its branch.

Ends with the agenda tables in markdown, ready to paste into docs/INSTRUCTOR.md: measured figures per notebook, and
per lesson the words of its core path and of its optional part, its exercise minutes (the lesson's own estimates)
and run time, and the minutes its core path needs (read aloud at 130 words a minute + exercises + run time).
Exits 1 when a check fails (a time over budget is reported, not a failure: times depend on the machine).
"""

import argparse
import json
import os
import pathlib
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import nbformat

from tools import notebooks as tools
from tools import outputs

ROOT = tools.ROOT
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Minutes a learner needs per exercise, by a rough rule: reading the task, writing a few lines, a hint or two.
# Each exercise's heading gives its time estimate as "(about N minutes)" or a range "(about N–M minutes)"; the agenda
# adds them up, a range at its upper end (a room plans for the slower learners).
ESTIMATE = re.compile(r"\(about (?:\d+\s*[–-]\s*)?(\d+) min")


def versions():
    import ipywidgets
    import jupyterlab
    import nbconvert

    import helpers

    print(helpers.describe_environment())
    for module in (jupyterlab, ipywidgets, nbconvert):
        print(f"{module.__name__:<10} {module.__version__}")
    return str(helpers.get_device())


class KernelMeter:
    """Peak resident memory and CPU seconds of the kernels this process starts, polled from a thread (psutil)."""

    def __init__(self, interval=0.1):
        import psutil

        self.me, self.interval, self.peak_rss, self.cpu = psutil.Process(), interval, 0, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)

    def poll(self):
        while not self.stop.is_set():
            for child in self.me.children(recursive=True):
                try:
                    self.peak_rss = max(self.peak_rss, child.memory_info().rss)
                    times = child.cpu_times()
                    self.cpu[child.pid] = times.user + times.system
                except Exception:  # the kernel exited between the listing and the reading
                    pass
            self.stop.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def cpu_seconds(self):
        return sum(self.cpu.values())


ALOUD_WORDS_PER_MIN = 130  # prose read aloud
# Walking the room through code already written: an estimate, not a measurement (live-coding is slower: live-code
# only what docs/INSTRUCTOR.md's notes say). Comment-only and blank lines are not counted.
CODE_LINES_PER_MIN = 10
QUESTIONS_MIN = 10  # per block, for questions and the room's predictions; a block is a multiple of 15 minutes


def prose(nb):
    """(core markdown, optional markdown) of a lesson, split at its first "Going further" / "Optional" heading."""
    core, optional = [], []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        found = None if optional else tools.OPTIONAL.search(cell.source)  # where the core path ends
        if found:
            core.append(cell.source[: found.start()])
            optional.append(cell.source[found.start() :])
        else:
            (optional if optional else core).append(cell.source)
    return core, optional


def words(texts):
    return sum(len(text.split()) for text in texts)


def exercise_minutes(nb, part=None):
    """The sum of the lesson's own time estimates for its exercises: all, or only the "core" or "optional" part."""
    core, optional = prose(nb)
    texts = {"core": core, "optional": optional}.get(part, core + optional)
    return sum(int(m) for text in texts for m in ESTIMATE.findall(text))


def core_code_lines(nb):
    """Lines of code on the core path an instructor walks through: not the setup cell, blanks or comments."""
    cells = [c.source for c in nb.cells[: tools.optional_start(nb)] if c.cell_type == "code"][1:]
    return sum(bool(line.strip()) and not line.lstrip().startswith("#") for src in cells for line in src.splitlines())


def lesson_plan(path, run_seconds=None):
    """Words, exercise minutes and run time of one lesson, and the minutes its core path needs in the room."""
    nb = nbformat.read(path, as_version=4)
    core, optional = prose(nb)
    run_s = run_seconds if run_seconds is not None else tools.budget(path)[0]  # unknown: the budget, a bound
    plan = {
        "notebook": path.name,
        "core_words": words(core),
        "optional_words": words(optional),
        "core_exercise_min": exercise_minutes(nb, "core"),
        "optional_exercise_min": exercise_minutes(nb, "optional"),
        "run_s": run_s,
        "run_measured": run_seconds is not None,
        "core_code_lines": core_code_lines(nb),
    }
    plan["walk_min"] = -(-plan["core_code_lines"] // CODE_LINES_PER_MIN)
    plan["core_min"] = plan["walk_min"] + round(
        plan["core_words"] / ALOUD_WORDS_PER_MIN + plan["core_exercise_min"] + run_s / 60
    )
    plan["block_min"] = -(-(plan["core_min"] + QUESTIONS_MIN) // 15) * 15
    return plan


def plan_table(plans):
    """The agenda in markdown: what each lesson's core path needs, and the block that holds it."""
    lines = [
        f"| notebook | core words | optional words | read aloud (min, {ALOUD_WORDS_PER_MIN} words/min) | core "
        f"exercises (min) | optional exercises (min) | core code lines | code walk-through (min, {CODE_LINES_PER_MIN} "
        f"lines/min, estimate) | run (s) | core path (min) | block (min, + {QUESTIONS_MIN} for questions) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in plans:
        run = f"{p['run_s']:.0f}" if p["run_measured"] else f"≤ {p['run_s']:.0f}"
        lines.append(
            f"| {p['notebook']} | {p['core_words']} | {p['optional_words']} | "
            f"{p['core_words'] / ALOUD_WORDS_PER_MIN:.0f} | {p['core_exercise_min']} | {p['optional_exercise_min']} | "
            f"{p['core_code_lines']} | {p['walk_min']} | {run} | {p['core_min']} | {p['block_min']} |"
        )
    keys = ("core_words", "optional_words", "core_exercise_min", "core_code_lines", "walk_min")
    total = [sum(p[key] for p in plans) for key in keys]
    hours = sum(p["block_min"] for p in plans) / 60
    lines.append(
        f"| **total** | {total[0]} | {total[1]} | {total[0] / ALOUD_WORDS_PER_MIN:.0f} | {total[2]} | | {total[3]} | "
        f"{total[4]} | | "
        f"{sum(p['core_min'] for p in plans)} | {sum(p['block_min'] for p in plans)} ({hours:.1f} h) |"
    )
    return "\n".join(lines)


def exercises(nb):
    """Exercises to write plus predictions to make."""
    marks = (tools.SOLUTION, tools.PREDICTION)
    return sum(len(mark.findall(c.source)) for c in nb.cells if c.cell_type == "code" for mark in marks)


def compare_outputs(path, nb):
    """Print how a fresh run's outputs compare with the committed ones; returns the cells that differ where no
    machine may (tools/outputs.py: a cell compared exactly, or a warning or error). Trained numbers and sampled text
    in the other cells differ on a CPU or GPU other than the reference's: expected."""
    committed = nbformat.read(path, as_version=4)
    found = outputs.differences(committed, nb)
    real = outputs.unexpected(found, committed)
    if not found:
        note = ""
    elif real:
        note = ": a real change (review it, or re-run the notebook if it was edited): " + ", ".join(map(str, real))
    else:
        note = ": in trained numbers or samples only, expected on a CPU or GPU other than the reference's"
    print(f"{'':<32} outputs: {outputs.summary(found)}{note}")
    for difference in found:
        print(f"{'':<36}{difference}")
    return outputs.cells(real)


def run_notebooks(paths):
    rows = []
    for path in paths:
        with KernelMeter() as meter:
            try:
                nb, times = tools.execute(path)
                error = None
            except Exception as exc:  # a failing cell: report it and go on with the next notebook
                times, error = [], f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:200]}"
        in_budget = tools.report(path, times) if not error else False
        if error:
            print(f"{path.name:<32} FAILED {error}")
        other_outputs = [] if error else compare_outputs(path, nb)
        rows.append(
            {
                "notebook": path.name,
                "seconds": round(sum(t for _, t in times), 1),
                "budget": tools.budget(path)[0],
                "in_budget": in_budget,
                "peak_rss_mib": round(meter.peak_rss / 2**20),
                "cpu_seconds": round(meter.cpu_seconds, 1),
                "exercises": exercises(nbformat.read(path, as_version=4)),
                "exercise_minutes": exercise_minutes(nbformat.read(path, as_version=4)),
                "error": error,
                "other_outputs": other_outputs,
            }
        )
    return rows


def students_in_sync(paths):
    """Regenerate each learner version in memory and compare its cells with the committed file."""
    ok = True
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if not tools.has_exercises(nb):
            continue
        want = tools.student_version(nb, path.name)
        committed = tools.STUDENT / path.name
        have = nbformat.read(committed, as_version=4) if committed.exists() else None
        same = have is not None and [(c.cell_type, c.source) for c in want.cells] == [
            (c.cell_type, c.source) for c in have.cells
        ]
        print(f"student/{path.name:<32} {'in sync' if same else 'OUT OF SYNC: run python -m tools.notebooks student'}")
        ok &= same
    return ok


def budget_advice(rows):
    """What to do when a notebook ran over its budget (the budgets are for a quiet 2-core machine)."""
    over = [r["notebook"] for r in rows if not r["in_budget"] and not r["error"]]
    if not over:
        return
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    busy = f" This machine's load is {load:.1f} on {cores} cores right now." if load is not None else ""
    print(
        f"\nOver budget: {', '.join(over)}. The budgets are for a quiet 2-core machine.{busy}\n"
        "- If anything else was running (other users, a test suite, a browser), rerun on a quiet machine first.\n"
        "- If it stays over: nothing fails, learners only wait longer. In the room, start the slow training cells\n"
        "  while you explain the cells before them, and leave the lesson's optional part (its 'Going further'\n"
        "  section, which no core cell needs) for after the workshop.\n"
        "- On a shared server, check the cores per learner (docs/INSTRUCTOR.md, Room sizing: python -m tools.room)."
    )


def hub_checks(repository_url=None, branch=None):
    """What the nbgitpuller link needs on the hub: nbgitpuller installed, and the repository's branch reachable."""
    import importlib.util

    import helpers

    ok = importlib.util.find_spec("nbgitpuller") is not None
    print("nbgitpuller                      " + ("installed" if ok else "MISSING: add `pip install nbgitpuller` to the "
          "learners' image (a server extension: without it the link answers 404)"))
    url, branch = repository_url or f"https://github.com/{helpers.REPOSITORY}", branch or helpers.BRANCH
    try:
        found = subprocess.run(["git", "ls-remote", "--heads", url, branch], capture_output=True, text=True,
                               timeout=30, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.TimeoutExpired) as error:
        found = subprocess.CompletedProcess([], 1, "", str(error))
    if found.returncode != 0:
        why = (found.stderr.strip().splitlines() or ["no answer"])[-1]
        print(f"repository                       UNREACHABLE: {url} ({why}). The hub's servers need the network to "
              "reach it (outbound HTTPS to github.com), and the repository must be public.")
        return False
    if not found.stdout.strip():
        print(f"repository                       NO BRANCH {branch!r} in {url}: push it, or pass --branch to tools.hub")
        return False
    print(f"repository                       {url} ({branch}) reachable")
    return ok


def learner_names(paths):
    """The notebooks the browser opens: each lesson, then its learner version where it has one."""
    names = [p.name for p in paths]
    return names + [f"student/{p.name}" for p in paths if (tools.STUDENT / p.name).exists()]


def find_browser():
    for name in (os.environ.get("WORKSHOP_CHROMIUM"), *BROWSERS):
        found = name and shutil.which(name)
        if found:
            # Debian's /usr/bin/chromium is a shell wrapper; playwright wants the binary itself.
            real = pathlib.Path("/usr/lib/chromium/chromium")
            return str(real) if found == "/usr/bin/chromium" and real.exists() else found
    return None


def lab_copy(folder):
    """The workshop copied to `folder`, with JupyterLab settings that render every cell and show no news."""
    for part in ("helpers", "data", "notebooks"):
        ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
        shutil.copytree(ROOT / part, folder / part, ignore=ignore)
    settings = {
        "notebook-extension/tracker": {"windowingMode": "none"},  # cells off screen stay in the page, to be checked
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        file = folder / ".lab-settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))


# Counts the progress-bar widgets that ever appear (the workshop's bars close when their run ends).
WATCH_WIDGETS = """() => {
  window.widgetsSeen = 0;
  const seen = new WeakSet();
  setInterval(() => document.querySelectorAll('.widget-hprogress, .widget-vprogress').forEach(bar => {
    if (!seen.has(bar)) { seen.add(bar); window.widgetsSeen += 1; }
  }), 100);
}"""


def browser_run(paths, executable, screenshots, timeout=600):
    from playwright.sync_api import sync_playwright

    screenshots.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        lab_copy(folder)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        token = secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items() if k not in ("WORKSHOP_PROGRESS", "MPLBACKEND")}  # bars on
        env.update(JUPYTERLAB_SETTINGS_DIR=str(folder / ".lab-settings"), JUPYTERLAB_WORKSPACES_DIR=str(folder))
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--port-retries=0"]
        command += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}"]
        command += ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        log = open(folder / "lab.log", "w")  # noqa: SIM115  (closed below, after the server)
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_server(server, port, token, folder / "lab.log")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
                for name in learner_names(paths):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    rows.append(run_in_lab(page, port, token, name, screenshots, timeout))
                    page.close()
                    shut_down_kernels(port, token)  # one kernel at a time, as on a learner's laptop
                browser.close()
        finally:
            server.terminate()
            server.wait(30)
            log.close()
    return rows


def wait_for_server(server, port, token, log, seconds=180):
    for _ in range(seconds):
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited: {log.read_text()[-1000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5)
            return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"JupyterLab did not answer on port {port} within {seconds} s")


def menu(page, top, item):
    if page.locator(".jp-Dialog .jp-mod-accept").count():  # a late "Select Kernel": take the default
        page.click(".jp-Dialog .jp-mod-accept")
    page.click(f".lm-MenuBar-itemLabel:text-is('{top}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def shut_down_kernels(port, token):
    api = f"http://127.0.0.1:{port}/api/kernels"
    headers = {"Authorization": f"token {token}"}
    for kernel in json.load(urllib.request.urlopen(urllib.request.Request(api, headers=headers))):
        urllib.request.urlopen(urllib.request.Request(f"{api}/{kernel['id']}", headers=headers, method="DELETE"))


def run_in_lab(page, port, token, name, screenshots, timeout):
    """Open one notebook, clear it, Run All Cells, wait for the last cell; report what the page shows."""
    stem = name.removesuffix(".ipynb").replace("/", "-")  # student/02_x.ipynb: student-02_x
    # A workspace of its own, reset: only this notebook open, so every selector below sees only its cells.
    page.goto(f"http://127.0.0.1:{port}/lab/workspaces/preflight-{stem}/tree/notebooks/{name}?reset&token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=60_000)
    start = time.perf_counter()
    while not page.locator(".jp-StatusBar-Widget", has_text="| Idle").count():  # "Python 3 (ipykernel) | Idle"
        if page.locator(".jp-Dialog .jp-mod-accept").count():  # "Select Kernel": take the default, Python 3
            page.click(".jp-Dialog .jp-mod-accept")
        if time.perf_counter() - start > 60:
            page.screenshot(path=str(screenshots / f"{stem}.png"))
            raise RuntimeError(f"{name}: the kernel did not start within 180 s (see the screenshot)")
        page.wait_for_timeout(500)
    page.evaluate(WATCH_WIDGETS)
    menu(page, "Edit", "Clear Outputs of All Cells")  # the saved prompts [1]: ... must not pass for a finished run
    start = time.perf_counter()
    menu(page, "Run", "Run All Cells")
    prompts, finished, retried = [], False, False
    while time.perf_counter() - start < timeout:
        page.wait_for_timeout(500)
        prompts = [p.strip() for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]
        if not retried and time.perf_counter() - start > 20 and all(p == "[ ]:" for p in prompts):
            menu(page, "Run", "Run All Cells")  # the first click came before the kernel took requests
            retried = True
        errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count()
        finished = bool(prompts) and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
        if finished or (errors and "[*]:" not in prompts):
            break
    seconds = time.perf_counter() - start
    explorers = step_explorers(page, screenshots / stem) if finished else []
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
    broken_widgets = page.get_by_text("Error displaying widget").count()
    widgets = page.evaluate("window.widgetsSeen")
    page.screenshot(path=str(screenshots / f"{stem}.png"))
    ran = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in prompts)
    row = {
        "notebook": name,
        "seconds": round(seconds, 1),
        "cells_run": f"{ran}/{len(prompts)}",
        "stderr_or_errors": [s[:200] for s in stderr],
        "progress_widgets": widgets,
        "broken_widgets": broken_widgets,
        "explorers_redrawn_s": explorers,
    }
    row["ok"] = finished and not stderr and not broken_widgets and None not in explorers
    status = "ok" if row["ok"] else "FAILED"
    times = ", ".join("never" if t is None else f"{t:.2f} s" for t in explorers)
    redraws = f"explorers redrawn in {times}  " if explorers else ""
    print(
        f"{name:<32} {seconds:6.1f} s in the browser  cells {row['cells_run']}  progress widgets seen {widgets}  "
        f"{redraws}"
        f"{status}{'  ' + stderr[0][:200] if stderr else ''}",
        flush=True,
    )
    return row


def step_explorers(page, screenshot_stem, wait_s=10):
    """Move the first control of each explorer (helpers.explore) once, as a learner would: seconds until its
    figure was redrawn in the page (kernel round trip included), or None if it never was. A screenshot of each."""
    cells = page.locator(".jp-CodeCell").filter(has=page.locator(".widget-slider, .widget-dropdown, .widget-checkbox"))
    redrawn = []
    for i in range(cells.count()):
        cell = cells.nth(i)
        cell.scroll_into_view_if_needed()
        image = cell.locator(".jp-OutputArea-output img").first
        before = image.get_attribute("src")
        control = cell.locator(".noUi-handle, select, input[type=checkbox]").first
        start = time.perf_counter()
        if control.evaluate("e => e.tagName") == "SELECT":
            options = control.locator("option").all_inner_texts()
            control.select_option(label=options[-1] if control.input_value() != options[-1] else options[0])
        elif control.get_attribute("type") == "checkbox":
            control.click()
        else:  # a slider's handle: one step, away from the end it may sit at
            control.focus()
            at_end = control.get_attribute("aria-valuenow") == control.get_attribute("aria-valuemax")
            page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
        while image.get_attribute("src") == before and time.perf_counter() - start < wait_s:
            page.wait_for_timeout(20)
        redrawn.append(None if image.get_attribute("src") == before else round(time.perf_counter() - start, 2))
        cell.screenshot(path=f"{screenshot_stem}-explorer-{i + 1}.png")
    return redrawn


def agenda(rows):
    lines = [
        "| notebook | run time here (s) | budget (s) | peak kernel memory (MiB) | kernel CPU (s) | exercises | "
        "exercise time (min, the lesson's estimates) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['notebook']} | {r['seconds']} | {r['budget']:.0f} | {r['peak_rss_mib']} | {r['cpu_seconds']} | "
            f"{r['exercises']} | {r['exercise_minutes']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="names in notebooks/ or paths; default: every lesson")
    parser.add_argument("--no-browser", action="store_true", help="leave out the real-browser run")
    parser.add_argument("--browser-only", action="store_true", help="only the real-browser run")
    parser.add_argument("--screenshots", type=pathlib.Path, default=pathlib.Path(tempfile.gettempdir()) / "preflight")
    parser.add_argument("--json", type=pathlib.Path, help="also write every figure measured to this JSON file")
    parser.add_argument("--agenda", action="store_true", help="only print the agenda (words, minutes); runs nothing")
    parser.add_argument("--times", type=pathlib.Path, help="with --agenda: run times from a --json report")
    parser.add_argument("--hub", action="store_true", help="also check nbgitpuller and that the repository answers")
    args = parser.parse_args(argv)
    paths = tools.lessons(args.notebooks)
    ok, report = True, {}
    if args.agenda:
        times = {}
        if args.times:
            times = {r["notebook"]: r["seconds"] for r in json.loads(args.times.read_text())["notebooks"]}
        print(plan_table([lesson_plan(path, times.get(path.name)) for path in paths]))
        return 0

    if not args.browser_only:
        print("== versions and device")
        report["device"] = versions()
        print("\n== notebooks, executed as the tests do")
        report["notebooks"] = run_notebooks(paths)
        ok &= not any(r["error"] or r["other_outputs"] for r in report["notebooks"])
        budget_advice(report["notebooks"])
        print("\n== learner versions")
        ok &= students_in_sync(paths)

    if args.hub:
        print("\n== JupyterHub: what the nbgitpuller link needs")
        ok &= hub_checks()

    print("\n== real browser")
    executable = None if args.no_browser else find_browser()
    try:
        import playwright  # noqa: F401
    except ImportError:
        executable, missing = None, "the playwright package is not installed (pip install playwright)"
    else:
        missing = f"no Chromium found (looked for {', '.join(BROWSERS)}; or set WORKSHOP_CHROMIUM to its path)"
    if args.no_browser:
        print("skipped (--no-browser)")
    elif executable is None:
        print(f"skipped: {missing}. It is optional: install both to check JupyterLab itself.")
    else:
        report["browser"] = browser_run(paths, executable, args.screenshots)
        ok &= all(r["ok"] for r in report["browser"])
        print(f"screenshots in {args.screenshots}")

    if "notebooks" in report:
        print("\n== agenda (paste into docs/INSTRUCTOR.md)\n")
        print(agenda(report["notebooks"]))
        times = {r["notebook"]: r["seconds"] for r in report["notebooks"]}
        print("\n" + plan_table([lesson_plan(path, times.get(path.name)) for path in paths]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(f"\npreflight: {'all checks passed' if ok else 'SOME CHECKS FAILED (see above)'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
