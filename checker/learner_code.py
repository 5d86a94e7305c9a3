"""Code the learner wrote: called from a lesson's own cells without ever showing them a traceback
from the course (an unfinished or failing answer gives one sentence and placeholders instead), and
read back from the kernel's input history.

    dx, dw, db = call("lin_grad", lin_grad, x, w, b, dout, outputs=3)
    typed_in_number("dz")   # "0.5" if the learner's latest `dz = ...` is a number typed in
    broken_rule("04_makemore_atomic_backprop")  # a sentence if a cell they ran breaks the lesson's rules
"""

import ast
import contextlib
import inspect
import json
import os
from pathlib import Path

from .environment import graded
from .rules import is_course_cell, offenses, rule_for


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


_graded_history: list | None = None  # set by the grader while it judges a notebook's answers


@contextlib.contextmanager
def graded_history(sources: list[str]):
    """`sources`: the cells so far, each through `as_python`. In the grader (checker/grading/judge.py): the notebook's cells so far stand for the kernel's
    history, so `typed_in_number` reads what the learner submitted. Broken rules are ApplyRules'
    business there, so `broken_rule` says nothing."""
    global _graded_history
    _graded_history = list(sources)  # already as IPython runs them (as_python), once per cell
    try:
        yield
    finally:
        _graded_history = None


def as_python(source: str) -> str:
    """A cell's source as IPython runs it (magics become calls), for reading it as Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # not even IPython can read it: the scan still sees the raw text
        return source


def _history() -> list[str]:
    """The cells this kernel has run, oldest first, as Python (IPython keeps them transformed)."""
    if _graded_history is not None:
        return list(_graded_history)
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    return list(shell.user_ns.get("In", [])) if shell is not None else []


_course_cells_cache: dict = {}


def _course_cells(folder: Path) -> list[str]:
    """The course's own (locked) cells of the notebooks in `folder`, the kernel's working folder:
    JupyterLab, nbval and nbgrader all start a notebook's kernel beside it."""
    key = tuple((p, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.ipynb")))
    if key not in _course_cells_cache:
        cells = []
        for path, _ in key:
            try:
                cells += [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                          for c in json.loads(path.read_text()).get("cells", [])
                          if c.get("cell_type") == "code" and is_course_cell(c)]
            except (OSError, ValueError, KeyError, TypeError):  # not a notebook we can read: skip it
                continue
        _course_cells_cache.clear()
        _course_cells_cache[key] = cells
    return _course_cells_cache[key]


def is_course_source(source: str) -> bool:
    """Whether `source` (as typed, or as IPython runs it) is one of the course's own cells of the
    lesson beside the kernel: its errors are the course's to explain, not the learner's to debug."""
    source = source.strip()
    return bool(source) and any(source in (c.strip(), as_python(c).strip()) for c in _course_cells(Path(os.getcwd())))


def broken_rule(lesson: str) -> str | None:
    """A sentence if a cell the learner ran in this kernel breaks the lesson's rules (checker/rules.py),
    as the grader will find it; None if none does, if the lesson's notebook is not beside the kernel
    (then the learner's cells cannot be told from the course's, and nobody is accused), or in a graded
    kernel (environment.graded)."""
    if graded() or _graded_history is not None:  # the grader decides, from the submitted notebook
        return None
    course = _course_cells(Path(os.getcwd()))
    if not course:
        return None
    history = _history()
    found = offenses(course, history, lesson)
    if not found:
        return None
    index, finding = found[0]
    return (f"line {finding.line} of a cell you ran, `{_quoted_line(history[index], finding.line)}`, {finding.what}: "
            f"{rule_for(lesson).what}, so when graded every check from that cell on scores 0. Take it out, then "
            f"restart the kernel and run the lesson again (a kernel remembers every cell it ran).")


def _quoted_line(source: str, line: int, width: int = 70) -> str:
    """Line `line` of a cell, its comment dropped and cut at a word if long: what a sentence quotes."""
    import io
    import tokenize

    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else next((s for s in lines if s.strip()), "")
    try:
        comments = [t for t in tokenize.generate_tokens(io.StringIO(text + "\n").readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        comments = []
    if comments:
        text = text[:comments[0].start[1]]
    text = " ".join(text.split())
    if len(text) > width:
        text = text[:width].rsplit(" ", 1)[0] + " …"
    return text


def typed_in_number(name: str) -> str | None:
    """The source of the learner's latest assignment to `name`, if it is a number typed in (`0.5`,
    `-2.7 * 2`, `torch.tensor(1.4)`) rather than an expression of the lesson's variables; else None.
    Reads IPython's input history, so outside a kernel it finds nothing."""
    for source in reversed(_history()):
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


NUMBER_CONSTRUCTORS = frozenset({"float", "int", "complex", "tensor", "as_tensor", "Tensor", "scalar_tensor",
                                 "array", "asarray", "FloatTensor", "DoubleTensor"})


def _is_literal(node) -> bool:
    """A number, arithmetic on numbers, or a call such as torch.tensor(...) or float(...) of them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, complex)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_literal(node.left) and _is_literal(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):  # torch.tensor([[0.1, -0.2], ...])
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Call):  # a constructor of numbers, not a method of the lesson's tensors (x.sum(0))
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        return (callee in NUMBER_CONSTRUCTORS and bool(node.args) and all(_is_literal(a) for a in node.args)
                and not node.keywords)
    return False
