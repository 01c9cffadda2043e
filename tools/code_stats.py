"""How much of a module is the maths and how much is checking its arguments, counted with the AST.

    python -m tools.code_stats                     every module of helpers/ (_validate.py included), and the total
    python -m tools.code_stats helpers/data.py     any modules
    python -m tools.code_stats --show [MODULE ...]  print each line counted as validation

Prints, per module: executable lines, validation lines and their share; then the same for all of them together.

An *executable line* is a physical line inside a statement, docstrings excluded: every line of a simple
statement (a call spread over 4 lines counts 4), and the header lines of a compound one (`def`, `if`, `for`,
`with`, `try`, decorators included); blank lines and comment-only lines between statements are not counted.

A *validation line* is an executable line that only checks arguments:
- every line of a `raise` statement;
- every line of an `if` (test, body and any `elif`/`else`) whose every branch only validates (raises, or calls a
  check), e.g. `if d_model % n_heads: raise ValueError(...)`;
- every line of a statement whose value is a call to a check, a function whose name starts with `check_` or
  `_check` (`check_positive_int(d_model, "d_model")`, `self._check_mask(mask)`, `x, y = check_batch(batch)`);
- every line of a function whose name starts with `check_` or `_check` defined in the module, and of `assert`s.
A call into a check counts where it is written, its body where the check is defined (`helpers/_validate.py`
holds the shared checks): so the total counts both, and moving a check into _validate.py does not lower it.
"""

import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# tests/test_tools.py keeps each module a learner reads at most MAX_SHARE validation, and all of helpers/ (HELPERS,
# _validate.py included) at most MAX_TOTAL_SHARE.
MODULES = ["helpers/layers.py", "helpers/training.py", "helpers/encoder_decoder.py", "helpers/language_model.py"]
MAX_SHARE = 0.10
HELPERS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "helpers").glob("*.py"))
MAX_TOTAL_SHARE = 0.195  # a ratchet at what was reached (19.4%; issue 26 asked <= 20%): lower it as checks go


def _is_check_name(name):
    return name.startswith(("check_", "_check"))


def _is_check_call(stmt):
    """A statement whose value is a call to a check (`check_x(...)`, `x, y = check_batch(...)`, `return ...`)."""
    if not (isinstance(stmt, (ast.Expr, ast.Assign, ast.Return)) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return _is_check_name(name)


def _only_validates(stmts):
    """True when every statement raises, calls a check, or is an `if` that only validates."""
    return bool(stmts) and all(
        isinstance(s, (ast.Raise, ast.Assert)) or _is_check_call(s) or (isinstance(s, ast.If) and _validating_if(s))
        for s in stmts
    )


def _validating_if(node):
    return _only_validates(node.body) and (not node.orelse or _only_validates(node.orelse))


def _is_docstring(stmt):
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _lines(node):
    return set(range(node.lineno, node.end_lineno + 1))


def count(path):
    """(executable lines, validation lines) of the Python file at `path`."""
    executable, validation = line_numbers(path)
    return len(executable), len(validation)


def line_numbers(path):
    """(set of executable line numbers, set of validation line numbers) of the Python file at `path`."""
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    executable, validation = set(), set()

    def visit(stmts, validating=False):
        for i, stmt in enumerate(stmts):
            if _is_docstring(stmt) and (i == 0 or stmt is stmts[0]):
                continue
            body_fields = [f for f in ("body", "orelse", "finalbody", "handlers") if getattr(stmt, f, None)]
            if not body_fields or isinstance(stmt, ast.Lambda):
                lines = _lines(stmt)
            else:  # a compound statement: its header (decorators included), then its bodies
                first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
                lines = set(range(first, stmt.body[0].lineno)) - {n.lineno for n in stmt.body}
            executable.update(lines)
            here = (
                validating
                or isinstance(stmt, (ast.Raise, ast.Assert))
                or _is_check_call(stmt)
                or (isinstance(stmt, ast.If) and _validating_if(stmt))
                or (isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_check_name(stmt.name))
            )
            if here:
                validation.update(lines)
            for field in body_fields:
                children = getattr(stmt, field)
                if field == "handlers":
                    for handler in children:
                        executable.add(handler.lineno)
                        if here:
                            validation.add(handler.lineno)
                        visit(handler.body, here)
                else:
                    if field == "orelse" and children and not isinstance(children[0], ast.If):
                        executable.add(children[0].lineno - 1)  # the `else:` line
                        if here:
                            validation.add(children[0].lineno - 1)
                    visit(children, here)

    visit(tree.body)
    return executable, validation & executable


def show(path):
    """Print each validation line of `path` with its number, to see what the count counts."""
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    for n in sorted(line_numbers(ROOT / path)[1]):
        print(f"{path}:{n}: {lines[n - 1]}")


def count_all(paths):
    """(executable lines, validation lines) summed over `paths`."""
    counts = [count(ROOT / path) for path in paths]
    return sum(total for total, _ in counts), sum(checks for _, checks in counts)


def report(paths):
    print(f"{'module':<32} {'executable':>10} {'validation':>10} {'share':>6}")
    for path in paths:
        total, checks = count(ROOT / path)
        print(f"{str(path):<32} {total:>10} {checks:>10} {checks / total:>6.0%}")
    total, checks = count_all(paths)
    print(f"{'all of them':<32} {total:>10} {checks:>10} {checks / total:>6.1%}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--show"]:
        for path in args[1:] or MODULES:
            show(path)
    else:
        report(args or HELPERS)
