"""The links that hand the workshop to a room: nbgitpuller for a JupyterHub, and the Binder badge.

    python -m tools.hub https://hub.example.org [--repository OWNER/NAME] [--branch BRANCH]
                        [--notebook 02_attention.ipynb] [--app lab]

prints the nbgitpuller link for that hub: a learner who opens it is logged in, the repository (helpers.REPOSITORY
and helpers.BRANCH unless given) is cloned into their home folder (or updated, keeping their own edits), and the
notebook opens in JupyterLab: its learner version (notebooks/student/) where it has one. The hub needs nbgitpuller
installed in the learners' image (docs/INSTRUCTOR.md).
"""

import argparse
import pathlib
import re
import sys
import urllib.parse

import helpers

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"


def learner_path(notebook):
    """The path under notebooks/ a learner opens: the learner version where there is one (exercises without their
    solutions), else the lesson itself (00_setup has no exercises). A name that is in neither is refused."""
    name = notebook.removeprefix("student/")
    for path in (f"student/{name}", name):
        if (NOTEBOOKS / path).is_file():
            return path
    known = ", ".join(sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    raise ValueError(f"notebook: no {notebook!r} in notebooks/; the lessons are {known}")


def repository_url(repository=None):
    return f"https://github.com/{repository or helpers.REPOSITORY}"


def folder(repository=None):
    """Where nbgitpuller clones the repository, relative to the learner's home: the repository's name."""
    return (repository or helpers.REPOSITORY).rsplit("/", 1)[-1]


def nbgitpuller_link(hub, branch=None, notebook="00_setup.ipynb", app="lab", repository=None):
    """nbgitpuller's documented link: HUB/hub/user-redirect/git-pull?repo=...&branch=...&urlpath=..., each value
    URL-encoded (as its link generator does, '/' included)."""
    parts = urllib.parse.urlsplit(hub)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"hub: expected the hub's full address with https:// (the address learners log in at), like "
            f"https://hub.example.org, got {hub!r}"
        )
    if app not in ("lab", "tree"):
        raise ValueError(f"app: expected 'lab' (JupyterLab) or 'tree' (the classic file view), got {app!r}")
    if repository is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        raise ValueError(f"repository: expected OWNER/NAME on GitHub, like someone/my-fork, got {repository!r}")
    path = f"{folder(repository)}/notebooks/{learner_path(notebook)}"
    query = {
        "repo": repository_url(repository),
        "branch": branch or helpers.BRANCH,
        "urlpath": f"lab/tree/{path}" if app == "lab" else f"tree/{path}",
    }
    encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="")
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{encoded}"


def binder_link(branch=None, notebook="00_setup.ipynb", repository=None):
    """mybinder.org's link: a CPU-only image built from binder/ opening the notebook in JupyterLab."""
    urlpath = urllib.parse.quote(f"lab/tree/notebooks/{notebook}", safe="")
    return f"https://mybinder.org/v2/gh/{repository or helpers.REPOSITORY}/{branch or helpers.BRANCH}?urlpath={urlpath}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("hub", help="the hub's address, e.g. https://hub.example.org")
    parser.add_argument("--repository", help=f"OWNER/NAME on GitHub, e.g. a fork (default {helpers.REPOSITORY})")
    parser.add_argument("--branch", help=f"default: helpers.BRANCH ({helpers.BRANCH})")
    parser.add_argument("--notebook", default="00_setup.ipynb", help="the notebook to open (default 00_setup.ipynb)")
    parser.add_argument("--app", default="lab", choices=["lab", "tree"])
    args = parser.parse_args(argv)
    try:
        print(nbgitpuller_link(args.hub, args.branch, args.notebook, args.app, args.repository))
    except ValueError as error:
        parser.error(str(error))  # a message and exit status 2, no traceback


if __name__ == "__main__":
    sys.exit(main())
