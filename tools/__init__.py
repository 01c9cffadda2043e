"""The maintainers' tools, a package run from the repository root: `python -m tools.notebooks run ...`."""
