"""Find learner code that reads autograd's answers instead of deriving them.

The scan reads code, not comments or strings: `.grad`, `.backward(`, `retain_grad`, `torch.autograd`
(attribute or import), `getattr(x, "grad")`, and the checker's private `_references`.
"""

import ast

FORBIDDEN_ATTRIBUTES = {"grad": "`.grad`", "backward": "`.backward(`", "retain_grad": "`retain_grad`",
                        "autograd": "`torch.autograd`", "_references": "the checker's private references"}


def autograd_use(source: str) -> str | None:
    """'line 3 reads `.grad`' for the first use of autograd in `source`, or None."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return None  # it fails on its own when run
    found = [use for node in ast.walk(tree) if (use := _use(node))]
    return min(found)[1] if found else None


def _use(node) -> tuple[int, str] | None:
    """(line, description) if this syntax node uses autograd."""
    if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
        return node.lineno, f"line {node.lineno} uses {FORBIDDEN_ATTRIBUTES[node.attr]}"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [getattr(node, "module", None) or ""] + [alias.name for alias in node.names]
        if any("autograd" in name for name in names):
            return node.lineno, f"line {node.lineno} imports `torch.autograd`"
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in FORBIDDEN_ATTRIBUTES):
        return node.lineno, f"line {node.lineno} uses {FORBIDDEN_ATTRIBUTES[node.args[1].value]}"
    return None


def _without_magics(source: str) -> str:
    # IPython magics and shell escapes are not Python; blank them, keeping line numbers.
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def scan_notebook(notebook) -> dict:
    """{grade_id of a graded cell: reason} for every graded cell at or after learner code that reads
    autograd. Locked cells are the course's own (nbgrader restores them) and are not scanned."""
    findings, offense = {}, None
    for index, cell in enumerate(notebook.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if offense is None and not meta.get("locked"):
            found = autograd_use(cell.source)
            if found:
                where = meta.get("grade_id") or f"cell {index + 1}"
                offense = (f"{where} {found}; this course's answers must be derived by hand, "
                           f"so checks after it earn no points")
        if meta.get("grade") and offense:
            findings[meta["grade_id"]] = offense
    return findings
