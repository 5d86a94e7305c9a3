"""When an answer cell raises, the lesson runs on, and what needed its answer says why in one sentence.

Every code cell after a lesson's first carries the `raises-exception` tag, so JupyterLab's Run All
goes on past a cell that raises (tests/test_notebooks.py). What comes after it then meets either a
name that was never assigned (`dh = dlogits @ W2` raised, so `dh` does not exist) or a stale value
(the placeholder `dh = None`, or an earlier run's answer). This module remembers, for every name a
cell assigns, the error of the latest run of that cell, so that:

- a check of such a name says "your answer cell above raised RuntimeError: ..." (Exercise.result);
- a course cell that meets the missing name says the same in one sentence, not a NameError
  traceback (`set_custom_exc`); the learner's own cells keep Python's traceback: it is their code.

It lives in the learner's kernel only: a graded kernel judges nothing (checker/grading/).
"""

import ast
import re

from .errors import _RED, _RESET

# name -> "RuntimeError: mat1 and mat2 shapes cannot be multiplied (32x27 and 64x27)"
_raised: dict[str, str] = {}
_running: list[str] = [""]  # the source of the cell being run
# Set on the shell once hooked: the grader's private copy of the checker (grading/verify.py) must
# not hook it a second time.
_MARK = "_backprop_ninja_answer_cells"


def raised(name: str) -> str | None:
    """The error the latest run of the cell that assigns `name` raised, or None if it ran through."""
    return _raised.get(name)


def assigned_names(source: str) -> set[str]:
    """The names a cell binds outside its functions and classes (`dh = ...`, `dh += ...`, `a, b = ...`,
    inside an `if` or a `for` too, and `def f`, `class C`). A cell that does not parse (a
    SyntaxError raised before anything ran) is read line by line."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(re.findall(r"^\s*(?:def\s+|class\s+)?([A-Za-z_]\w*)\s*(?:[-+*/@]?=(?!=)|\(|:)", source, re.MULTILINE)) \
            - {"if", "for", "while", "with", "try", "else", "elif", "except", "finally", "print", "return"}
    names, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)  # its body binds names of its own
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        todo.extend(ast.iter_child_nodes(node))
    return names


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _before(info) -> None:
    _running[0] = info.raw_cell or ""


def _after(result) -> None:
    error = result.error_before_exec or result.error_in_exec
    for name in assigned_names(result.info.raw_cell or ""):
        if error is None:
            _raised.pop(name, None)
        else:
            _raised[name] = _one_line(error)


def _name_error(shell, etype, value, tb, tb_offset=None):
    """A NameError in a course cell, or of a name whose answer cell raised: one sentence. Shown here
    (IPython shows what an exception's `_render_traceback_` returns), since IPython 9 only asks a
    custom handler for the lines and shows none of them."""
    name = getattr(value, "name", None)
    from .learner_code import is_course_source

    if name in _raised:
        said = f"{name} is not defined, because your answer cell above raised {_raised[name]}. " \
               f"Fix that cell and run it again, then this one."
    elif name and is_course_source(_running[0]):
        said = f"{name} is not defined yet: run the cells above this one first (its answer cell assigns it)."
    else:
        said = None  # the learner's own code: Python's traceback
    if said is not None:
        value._render_traceback_ = lambda: [f"{_RED}NameError{_RESET}: {said}"]
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    return None


def install() -> None:
    """Put the hooks on the running IPython shell, once; nothing outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, _MARK, False):
        return
    shell.events.register("pre_run_cell", _before)
    shell.events.register("post_run_cell", _after)
    shell.set_custom_exc((NameError,), _name_error)
    setattr(shell, _MARK, True)
