"""Point the Colab badges and the setup cells at another repository (for a fork), in one go.

    python tools/set_repository.py OWNER/NAME [BRANCH]

Rewrites helpers/__init__.py (REPOSITORY, BRANCH), every notebook's badge and REPO_URL, and the README.
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
    sys.path.insert(0, str(ROOT))
    import helpers

    old, new = helpers.REPOSITORY, argv[0]
    old_branch, branch = helpers.BRANCH, argv[1] if len(argv) > 1 else helpers.BRANCH

    def rewrite(text):
        text = text.replace(f"github/{old}/blob/{old_branch}/", f"github/{new}/blob/{branch}/")
        return text.replace(f"https://github.com/{old}", f"https://github.com/{new}")

    init = ROOT / "helpers" / "__init__.py"
    source = init.read_text().replace(f'REPOSITORY = "{old}"', f'REPOSITORY = "{new}"')
    init.write_text(source.replace(f'BRANCH = "{old_branch}"', f'BRANCH = "{branch}"'))
    readme = ROOT / "README.md"
    readme.write_text(rewrite(readme.read_text()))
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            cell.source = rewrite(cell.source)
        nbformat.write(nb, path)
    print(f"now pointing at {new} ({branch})")


if __name__ == "__main__":
    main(sys.argv[1:])
