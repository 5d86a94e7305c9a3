"""Lesson 3 (an MLP by hand on digits): its references, its seed, hints for the usual slips, and
learner functions that fail without a traceback."""

import pytest

from checker import Status
from checker.lessons import digits_mlp
from checker.learner_code import call
from checker.grading.notebooks import solutions_by_id

from course import SOLUTIONS

NOTEBOOK = SOLUTIONS / "03_mlp_by_hand_digits" / "mlp_by_hand_digits.ipynb"


@pytest.fixture(scope="module")
def solution():
    """The solution notebook's own functions, so the tests never drift from the lesson."""
    namespace = {}
    for grade_id in ("answer_mse_grad", "answer_lin_grad", "answer_relu_grad"):
        exec(solutions_by_id(NOTEBOOK)[grade_id], namespace)
    return namespace


def backward(solution, setup):
    t = digits_mlp.forward(setup.params, setup.xb, setup.yb)
    p = setup.params
    dout = solution["mse_grad"](t["out"], setup.yb)
    dl2, dw2, db2 = solution["lin_grad"](t["l2"], p["w2"], p["b2"], dout)
    dl1 = solution["relu_grad"](t["l1"], dl2)
    _, dw1, db1 = solution["lin_grad"](setup.xb, p["w1"], p["b1"], dl1)
    return dict(dout=dout, dl2=dl2, dw2=dw2, db2=db2, dl1=dl1, dw1=dw1, db1=db1)


@pytest.mark.parametrize("seed", [None, 12345])
def test_the_solution_passes_under_any_seed(solution, seed):
    setup = digits_mlp.DigitsSetup(seed)
    ex = digits_mlp.gradients_exercise(setup)
    for label, value in backward(solution, setup).items():
        assert ex.result(label, value).passed, label


def test_numbers_from_one_seed_fail_under_another(solution):
    copied = backward(solution, digits_mlp.DigitsSetup(1))
    ex = digits_mlp.gradients_exercise(digits_mlp.DigitsSetup(2))
    assert not any(ex.result(label, value).passed for label, value in copied.items())


def test_references_are_autograd_on_the_lesson_tensors():
    setup = digits_mlp.DigitsSetup()
    params = {k: v.clone().requires_grad_() for k, v in setup.params.items()}
    digits_mlp.forward(params, setup.xb, setup.yb)["loss"].backward()
    ex = digits_mlp.modules_exercise(setup)
    for name in digits_mlp.PARAMETER_NAMES:
        assert ex.result(f"d{name}", params[name].grad.clone()).exact


def test_usual_slips_get_a_hint(solution):
    setup = digits_mlp.DigitsSetup()
    ex = digits_mlp.gradients_exercise(setup)
    right = backward(solution, setup)
    forgot_two = ex.result("dout", right["dout"] / 2)
    assert forgot_two.status is Status.WRONG and "a factor 2 is missing" in forgot_two.reason
    forgot_mean = ex.result("dout", right["dout"] * digits_mlp.BATCH_SIZE)
    assert "× n" in forgot_mean.reason or f"× {digits_mlp.BATCH_SIZE}" in forgot_mean.reason
    keepdim = ex.result("db1", right["db1"][None, :])
    assert keepdim.status is Status.WRONG and "(1, 50)" in keepdim.reason and "(50,)" in keepdim.reason
    broadcast = ex.result("db1", right["dl1"])
    assert broadcast.status is Status.INVALID and "sum the gradient over dim 0" in broadcast.reason


def test_a_failing_learner_function_gives_a_sentence(capsys):
    assert call("lin_grad", None, 1, outputs=3) == (None, None, None)
    assert call("lin_grad", lambda x: 1 / 0, 1, outputs=3) == (None, None, None)
    assert call("lin_grad", lambda x: (x, x), 1, outputs=3) == (None, None, None)
    assert call("relu_grad", 3, 1) is None
    said = capsys.readouterr().out.splitlines()
    assert said == [
        "lin_grad is still a placeholder: write it above, run its cell, then run this one again.",
        "lin_grad(x) raised ZeroDivisionError: division by zero",
        "lin_grad must return 3 values (a tuple), but it returned 2 values.",
        "relu_grad is int, not a function: define it with `def relu_grad(...):`.",
    ]


def test_a_gradient_missing_because_its_function_is_unfinished_names_the_function():
    setup = digits_mlp.DigitsSetup()
    by_hand, as_modules = digits_mlp.gradients_exercise(setup), digits_mlp.modules_exercise(setup)
    assert by_hand.result("dl1", None).reason.startswith("not done yet: dl1 comes from your `relu_grad`, which")
    assert "your `lin_grad`" in by_hand.result("dw2", None).reason
    assert "your `Lin`, `Relu` and `Mse` classes" in as_modules.result("dw1", None).reason
    assert "placeholder `dl1 = None`" not in by_hand.result("dl1", None).reason
