"""The links that hand the workshop to a room: nbgitpuller for a JupyterHub, and the Binder badge.

    python -m tools.hub https://hub.example.org [--branch BRANCH] [--notebook 02_attention.ipynb] [--app lab]

prints the nbgitpuller link for that hub: a learner who opens it is logged in, the repository (helpers.REPOSITORY,
branch helpers.BRANCH unless given) is cloned into their home folder (or updated, keeping their own edits), and the
notebook opens in JupyterLab. The hub needs nbgitpuller installed in the learners' image (docs/INSTRUCTOR.md).
"""

import argparse
import sys
import urllib.parse

import helpers


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
        raise ValueError(f"hub: expected the hub's address, like https://hub.example.org, got {hub!r}")
    if app not in ("lab", "tree"):
        raise ValueError(f"app: expected 'lab' (JupyterLab) or 'tree' (the classic file view), got {app!r}")
    path = f"{folder(repository)}/notebooks/{notebook}"
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
    parser.add_argument("--branch", help=f"default: helpers.BRANCH ({helpers.BRANCH})")
    parser.add_argument("--notebook", default="00_setup.ipynb", help="the notebook to open (default 00_setup.ipynb)")
    parser.add_argument("--app", default="lab", choices=["lab", "tree"])
    args = parser.parse_args(argv)
    print(nbgitpuller_link(args.hub, args.branch, args.notebook, args.app))


if __name__ == "__main__":
    sys.exit(main())
