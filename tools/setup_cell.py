# Setup: the same cell opens every notebook (its one source is tools/setup_cell.py).
import os
import pathlib
import shutil
import subprocess
import sys

REPO_URL = "https://github.com/transformer-fundamentals/transformer-fundamentals"
BRANCH = "main"
here = pathlib.Path.cwd()
if "google.colab" in sys.modules:  # Colab starts empty: fetch the repository once, keep Colab's own torch
    here = pathlib.Path(os.environ.get("WORKSHOP_COLAB_DIR", "/content")) / REPO_URL.rsplit("/", 1)[-1]
    if not (here / "helpers" / "__init__.py").exists():
        # Clone beside it, then rename: an interrupted clone is never taken for a finished one.
        partial = here.with_name(here.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(here, ignore_errors=True)  # what an interrupted clone by an older version of this cell left
        clone = subprocess.run(
            ["git", "clone", "--quiet", "--depth=1", "--branch", BRANCH, REPO_URL, str(partial)],
            capture_output=True,
            text=True,
        )
        if clone.returncode != 0:  # a short message, not a traceback through subprocess
            raise RuntimeError(
                f"git could not clone {REPO_URL} (branch {BRANCH}):\n{clone.stderr.strip()}\n"
                "Is this runtime online? The first run needs the network to reach the repository. If it is, check "
                "that the repository is public and has that branch; a fork sets both with "
                "tools/set_repository.py OWNER/NAME BRANCH."
            )
        partial.rename(here)
root = next((p for p in (here, *here.parents) if (p / "helpers" / "__init__.py").exists()), None)
if root is None:
    raise RuntimeError(f"helpers/ not found in {here} or above it: start Jupyter inside the workshop's folder")
if str(root) not in sys.path:
    sys.path.insert(0, str(root))

import helpers
import matplotlib.pyplot as plt
import torch

device = helpers.setup_notebook(seed=0)
