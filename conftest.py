"""Settings for the notebook kernels that nbval starts (they inherit this process's environment)."""

import os

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
