"""Settings for the notebook kernels that nbval starts (they inherit this process's environment)."""

import os

# The committed outputs are a CPU run without progress bars: check against the same.
os.environ.setdefault("WORKSHOP_PROGRESS", "0")
os.environ.setdefault("WORKSHOP_DEVICE", "cpu")
# The kernel should draw with Jupyter's inline backend, as when a learner runs the notebook.
os.environ.pop("MPLBACKEND", None)

# The learner versions have no outputs to compare: tests/test_student_notebooks.py runs them instead.
collect_ignore = ["notebooks/student"]
