"""Load a script of the repository (tools/*.py, data/make_tiny_stories.py) as a module: they are scripts, not a
package, so the tests import them by path."""

import importlib.util
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_script(path):
    """The module of the script at `path` (relative to the repository root); its folder goes on sys.path,
    since tools/preflight.py and tools/gpu_run.py import tools/notebooks.py as `notebooks`."""
    path = ROOT / path
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
