"""Point the Colab badges and the setup cells at another repository (for a fork), in one go.

    python tools/set_repository.py OWNER/NAME [BRANCH]      (or python -m tools.set_repository ...)

Rewrites helpers/__init__.py (REPOSITORY, BRANCH), the setup cell's REPO_URL and BRANCH (what Colab clones:
tools/setup_cell.py and every notebook's first code cell, learner versions included), every notebook's badge, and
the README.
tests/test_notebooks_meta.py checks that they all agree.
"""

import pathlib
import re
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main(argv):
    if not argv or not re.fullmatch(r"[\w.-]+/[\w.-]+", argv[0]):
        sys.exit(__doc__)
    init = ROOT / "helpers" / "__init__.py"  # read, not imported: this script needs neither torch nor the path
    old = re.search(r'^REPOSITORY = "(.*)"$', init.read_text(), re.M)[1]
    old_branch = re.search(r'^BRANCH = "(.*)"$', init.read_text(), re.M)[1]
    new, branch = argv[0], argv[1] if len(argv) > 1 else old_branch

    def rewrite(text):
        text = text.replace(f"github/{old}/blob/{old_branch}/", f"github/{new}/blob/{branch}/")
        text = text.replace(f"mybinder.org/v2/gh/{old}/{old_branch}?", f"mybinder.org/v2/gh/{new}/{branch}?")
        text = re.sub(r'^BRANCH = ".*"$', f'BRANCH = "{branch}"', text, flags=re.M)  # the setup cell's
        return text.replace(f"https://github.com/{old}", f"https://github.com/{new}")

    source = init.read_text().replace(f'REPOSITORY = "{old}"', f'REPOSITORY = "{new}"')
    init.write_text(source.replace(f'BRANCH = "{old_branch}"', f'BRANCH = "{branch}"'))
    for text_file in (ROOT / "README.md", ROOT / "tools" / "setup_cell.py"):
        text_file.write_text(rewrite(text_file.read_text()))
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            cell.source = rewrite(cell.source)
        nbformat.write(nb, path)
    print(f"now pointing at {new} ({branch})")


if __name__ == "__main__":
    main(sys.argv[1:])
