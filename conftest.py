"""Settings for the notebook kernels that nbval starts (they inherit this process's environment), and the one rule
that --nbval-lax would drop: a notebook cell that writes to stderr (a warning) fails, compared or not."""

import os

import pytest

# The committed outputs are a CPU run without progress bars: check against the same.
os.environ.setdefault("WORKSHOP_PROGRESS", "0")
os.environ.setdefault("WORKSHOP_DEVICE", "cpu")
# The kernel should draw with Jupyter's inline backend, as when a learner runs the notebook.
os.environ.pop("MPLBACKEND", None)

# The learner versions have no outputs to compare: each runs inside its lesson's nbval run (tests/student_cells.py).
collect_ignore = ["notebooks/student"]


def pytest_collection_modifyitems(session, config, items):
    from tests.student_cells import interleave

    items[:] = interleave(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    from nbval.plugin import IPyNbCell

    if isinstance(item, IPyNbCell):  # learner versions too (tests/student_cells.py)
        stderr = "".join(out.get("text", "") for out in item.test_outputs or [] if out.get("name") == "stderr")
        if stderr:
            item.raise_cell_error("the cell wrote to stderr (a warning?): fix the cause, don't hide it", stderr)
    return result
