"""Find learner code that reads autograd's answers instead of deriving them.

The scan reads code, not comments or strings: `.grad`, `.backward(`, `retain_grad`, `torch.autograd`
(attribute or import), `getattr(x, "grad")`, and the checker's private `_references`.

Two lessons use autograd's vocabulary on purpose and get their own rule (RULES, by lesson folder):
the scalar engine, whose learner writes their own `.grad` and `.backward()` in pure Python, so
`torch` is what is forbidden there; and the capstone, whose answers subclass
`torch.autograd.Function`, so importing `torch.autograd` is allowed but reading gradients is not.
"""

import ast
from dataclasses import dataclass, field

PRIVATE = {"_references": "the checker's private references"}
AUTOGRAD_ATTRIBUTES = {"grad": "`.grad`", "backward": "`.backward(`", "retain_grad": "`retain_grad`",
                       # torch.func's transforms compute gradients too
                       **{name: f"`torch.func.{name}`" for name in ("vjp", "jvp", "jacrev", "jacfwd", "hessian")},
                       "ops": "`torch.ops` (PyTorch's own backward kernels)"}
FUNCTIONAL_MODULES = ("autograd", "torch.func", "functorch")


@dataclass(frozen=True)
class Rule:
    """What an answer cell of a lesson may not use. `what` says it in the feedback."""

    attributes: dict  # attribute name -> how to name it in a message
    modules: tuple = ()  # imports whose name contains one of these
    names: dict = field(default_factory=dict)  # bare names, e.g. {"torch": "..."}
    what: str = "this course's answers must be derived by hand"


DEFAULT_RULE = Rule({**AUTOGRAD_ATTRIBUTES, "autograd": "`torch.autograd`", **PRIVATE}, modules=FUNCTIONAL_MODULES)
RULES = {
    "02_scalar_autograd_engine": Rule(PRIVATE, modules=("torch",), names={"torch": "PyTorch"},
                                      what="the engine is yours, in pure Python"),
    "08_capstone_autograd_function": Rule({**AUTOGRAD_ATTRIBUTES, **PRIVATE}, modules=FUNCTIONAL_MODULES[1:],
                                          what="a Function's backward must be derived by hand"),
}


def rule_for(lesson: str | None) -> Rule:
    return RULES.get(lesson, DEFAULT_RULE)


def autograd_use(source: str, rule: Rule = DEFAULT_RULE) -> str | None:
    """'line 3 reads `.grad`' for the first use of autograd in `source`, or None."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return None  # it fails on its own when run
    found = [use for node in ast.walk(tree) if (use := _use(node, rule))]
    return min(found)[1] if found else None


def _use(node, rule: Rule) -> tuple[int, str] | None:
    """(line, description) if this syntax node uses what `rule` forbids."""
    if isinstance(node, ast.Attribute) and node.attr in rule.attributes:
        return node.lineno, f"line {node.lineno} uses {rule.attributes[node.attr]}"
    if isinstance(node, ast.Name) and node.id in rule.names:
        return node.lineno, f"line {node.lineno} uses {rule.names[node.id]}"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [getattr(node, "module", None) or ""] + [alias.name for alias in node.names]
        for module in rule.modules:
            if any(module in name for name in names):
                return node.lineno, f"line {node.lineno} imports `{next(n for n in names if module in n)}`"
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in rule.attributes):
        return node.lineno, f"line {node.lineno} uses {rule.attributes[node.args[1].value]}"
    return None


def _without_magics(source: str) -> str:
    # IPython magics and shell escapes are not Python; blank them, keeping line numbers.
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def scan_notebook(notebook, lesson: str | None = None) -> dict:
    """{grade_id of a graded cell: reason} for every graded cell at or after learner code that reads
    autograd (by the rule of `lesson`, the lesson's folder name). Locked cells are the course's own
    (nbgrader restores them) and are not scanned."""
    rule = rule_for(lesson)
    findings, offense = {}, None
    for index, cell in enumerate(notebook.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if offense is None and not meta.get("locked"):
            found = autograd_use(cell.source, rule)
            if found:
                where = meta.get("grade_id") or f"cell {index + 1}"
                offense = f"{where} {found}; {rule.what}, so checks after it earn no points"
        if meta.get("grade") and offense:
            findings[meta["grade_id"]] = offense
    return findings
