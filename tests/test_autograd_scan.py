"""The scan finds autograd in code, never in comments or strings."""

import nbformat
import pytest

from checker.grading.autograd_scan import autograd_use, rule_for, scan_notebook


@pytest.mark.parametrize("source, found", [
    ("dW = W.grad", "line 1 uses `.grad`"),
    ("x = 1\nloss.backward()", "line 2 uses `.backward(`"),
    ("h.retain_grad()", "line 1 uses `retain_grad`"),
    ("g = torch.autograd(loss)", "line 1 uses `torch.autograd`"),
    ("from torch.autograd import grad", "line 1 imports `torch.autograd`"),
    ("import torch.autograd as ag", "line 1 imports `torch.autograd`"),
    ("d = getattr(W, 'grad')", "line 1 uses `.grad`"),
    ("d = ex._references['W'].expected", "line 1 uses the checker's private references"),
    ("_, f = torch.func.vjp(torch.tanh, x); dx = f(dh)", "line 1 uses `torch.func.vjp`"),
    ("from torch.func import jacrev", "line 1 imports `torch.func`"),
    ("dx = torch.ops.aten.tanh_backward(dh, h)", "line 1 uses `torch.ops` (PyTorch's own backward kernels)"),
])
def test_finds_autograd(source, found):
    assert autograd_use(source) == found


@pytest.mark.parametrize("source", [
    "dW = h.T @ dlogits  # not W.grad, by hand",
    "print('call loss.backward() in the video')",
    "dgrad = 2 * x",
    "%timeit x.sum()",
    "this is not python (",
])
def test_ignores_comments_strings_and_names(source):
    assert autograd_use(source) is None


def test_checks_from_the_first_offense_on_are_flagged():
    def code(source, **nbgrader):
        cell = nbformat.v4.new_code_cell(source)
        if nbgrader:
            cell.metadata["nbgrader"] = nbgrader
        return cell

    nb = nbformat.v4.new_notebook(cells=[
        code("setup(); W.grad", locked=True),  # the course's own cells are trusted
        code("a = 1", solution=True, grade_id="answer_a"),
        code("check(a)", grade=True, grade_id="check_a", locked=True),
        code("b = W.grad"),  # a cell the learner added
        code("check(b)", grade=True, grade_id="check_b", locked=True),
        code("c = 2", solution=True, grade_id="answer_c"),
        code("check(c)", grade=True, grade_id="check_c", locked=True),
    ])
    findings = scan_notebook(nb)
    assert set(findings) == {"check_b", "check_c"}
    assert findings["check_b"].startswith("cell 4 line 1 uses `.grad`")


@pytest.mark.parametrize("lesson, source, found", [
    # the scalar engine: the learner's own .grad and .backward() are the lesson; torch is not allowed
    ("02_scalar_autograd_engine", "self.grad += out.grad\nout.backward()", None),
    ("02_scalar_autograd_engine", "import torch", "line 1 imports `torch`"),
    ("02_scalar_autograd_engine", "x = 1\ny = torch.tensor(2.0)", "line 2 uses PyTorch"),
    # the capstone: subclassing torch.autograd.Function is the lesson; reading gradients is not
    ("08_capstone_autograd_function", "class Tanh(torch.autograd.Function):\n    pass", None),
    ("08_capstone_autograd_function", "from torch.autograd import Function", None),
    ("08_capstone_autograd_function", "g = torch.autograd.grad(y, x)", "line 1 uses `.grad`"),
    ("08_capstone_autograd_function", "y.backward()", "line 1 uses `.backward(`"),
    ("08_capstone_autograd_function", "import functorch", "line 1 imports `functorch`"),
    # every other lesson: the default rule
    ("04_makemore_atomic_backprop", "from torch.autograd import Function", "line 1 imports `torch.autograd`"),
])
def test_lessons_that_use_autograds_vocabulary_have_their_own_rule(lesson, source, found):
    assert autograd_use(source, rule_for(lesson)) == found
