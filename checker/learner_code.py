"""Code the learner wrote: called from a lesson's own cells without ever showing them a traceback
from the course (an unfinished or failing answer gives one sentence and placeholders instead), and
read back from the kernel's input history.

    dx, dw, db = call("lin_grad", lin_grad, x, w, b, dout, outputs=3)
    typed_in_number("dz")   # "0.5" if the learner's latest `dz = ...` is a number typed in
"""

import ast
import inspect


def call(name: str, function, *args, outputs: int = 1):
    """`function(*args)`, or `None` (a tuple of `outputs` Nones) after printing why it cannot be used:
    still a placeholder, not a function, an exception inside it, or the wrong number of results."""
    nothing = None if outputs == 1 else (None,) * outputs
    if function is None or function is Ellipsis:
        print(f"{name} is still a placeholder: write it above, run its cell, then run this one again.")
        return nothing
    if not callable(function):
        print(f"{name} is {type(function).__name__}, not a function: define it with `def {name}(...):`.")
        return nothing
    try:
        result = function(*args)
    except Exception as error:  # the learner's bug: name it in one line, keep the lesson running
        print(f"{name}{_signature(function)} raised {type(error).__name__}: {error}")
        return nothing
    if outputs > 1 and not (isinstance(result, (tuple, list)) and len(result) == outputs):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"one {type(result).__name__}"
        print(f"{name} must return {outputs} values (a tuple), but it returned {got}.")
        return nothing
    return tuple(result) if outputs > 1 else result


def _signature(function) -> str:
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"


def typed_in_number(name: str) -> str | None:
    """The source of the learner's latest assignment to `name`, if it is a number typed in (`0.5`,
    `-2.7 * 2`, `torch.tensor(1.4)`) rather than an expression of the lesson's variables; else None.
    Reads IPython's input history, so outside a kernel it finds nothing."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    history = shell.user_ns.get("In", []) if shell is not None else []
    for source in reversed(history):
        value = _last_assignment(source, name)
        if value is not None:
            return ast.get_source_segment(source, value) if _is_literal(value) else None
    return None


def _last_assignment(source: str, name: str):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    assignments = [node for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   and any(isinstance(target, ast.Name) and target.id == name for target in node.targets)]
    # ast.walk goes breadth first: the last one in the source is the one with the greatest position
    return max(assignments, key=lambda node: (node.lineno, node.col_offset)).value if assignments else None


def _is_literal(node) -> bool:
    """A number, arithmetic on numbers, or a call such as torch.tensor(...) or float(...) of them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, complex)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_literal(node.left) and _is_literal(node.right)
    if isinstance(node, ast.Call):
        return bool(node.args) and all(_is_literal(a) for a in node.args) and not node.keywords
    return False
