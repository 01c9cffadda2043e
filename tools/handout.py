"""The hand-out: a branch learners pull that holds the learner versions but not the lessons' worked solutions.

    python -m tools.handout build   [--branch handout] [--push REMOTE]   the committed workshop without solutions
    python -m tools.handout release [--branch handout] [--push REMOTE]   the same with the solutions, after the session

`build` commits HEAD's tree minus every lesson that has a learner version (notebooks/NN_*.ipynb beside
notebooks/student/NN_*.ipynb) onto the branch; `helpers.checks.solution()` reads its answers from those lessons, so
in the hand-out it answers "not released yet" and the checkers give their hints without pointing at a solution.
`release` commits HEAD's whole tree onto the branch. Each is a new commit on top of the branch, so a learner's
`git pull` (or the nbgitpuller link again) fast-forwards and keeps their own edits. Neither touches the working tree
or the current branch; only committed files go in. Point the badges and links at the branch first:
`python tools/set_repository.py OWNER/NAME handout` (docs/INSTRUCTOR.md, "The hand-out").
"""

import argparse
import os
import subprocess
import sys
import tempfile

from tools.notebooks import ROOT


def git(*args, env=None):
    result = subprocess.run(["git", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def solutions(tree="HEAD"):
    """The lessons whose learner version is in the tree: what the hand-out leaves out."""
    files = set(git("ls-tree", "-r", "--name-only", tree, "--", "notebooks").splitlines())
    return sorted(f"notebooks/{p.split('/')[-1]}" for p in files if p.startswith("notebooks/student/"))


def commit(branch, release):
    """A commit on `branch` (created if missing) holding HEAD's tree, without the solutions unless `release`."""
    head = git("rev-parse", "HEAD")
    with tempfile.TemporaryDirectory() as tmp:  # a private index: the working tree and the real index stay as they are
        env = {**os.environ, "GIT_INDEX_FILE": os.path.join(tmp, "index")}
        git("read-tree", head, env=env)
        left_out = [] if release else solutions(head)
        if left_out:
            git("rm", "--cached", "--quiet", "--", *left_out, env=env)
        tree = git("write-tree", env=env)
    parent = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    what = "with the worked solutions" if release else f"without the worked solutions ({len(left_out)} lessons)"
    message = f"{'Release' if release else 'Hand-out'}: the workshop at {head[:12]}, {what}"
    new = git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
    git("update-ref", f"refs/heads/{branch}", new)
    print(f"{branch}: {message}")
    return left_out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "release"])
    parser.add_argument("--branch", default="handout", help="the branch learners pull (default: handout)")
    parser.add_argument("--push", metavar="REMOTE", help="then push the branch there (e.g. origin)")
    args = parser.parse_args(argv)
    commit(args.branch, args.command == "release")
    if args.push:
        git("push", args.push, f"refs/heads/{args.branch}:refs/heads/{args.branch}")
        print(f"pushed {args.branch} to {args.push}")
    else:
        print(f"publish it with: git push origin {args.branch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
