"""The capstone's checks of whole torch.autograd.Function classes: gradcheck explained, references
from autograd, hints for known slips, one sentence for anything else, and the grader's own seed."""

import pytest
import torch
import torch.nn.functional as F

from checker import CheckFailed, Status
from checker.grading import verify
from checker.lessons import capstone, makemore, training
from course import SOLUTIONS, solutions_by_id

NOTEBOOK = SOLUTIONS / "08_capstone_autograd_function" / "capstone_autograd_function.ipynb"
NAMES = ("Tanh", "Linear", "BatchNorm1dBessel", "CrossEntropy")


@pytest.fixture(scope="module")
def solution():
    """The four Function classes of the solution notebook, by name."""
    namespace = {"torch": torch, "F": F}
    for code in solutions_by_id(NOTEBOOK).values():
        exec(code, namespace)
    return {name: namespace[name] for name in NAMES}


@pytest.fixture(scope="module")
def ex():
    return capstone.functions_exercise(seed=makemore.DEFAULT_SEED)


def variant(base, **methods):
    """A copy of the Function `base` with some of its methods replaced (static, as they must be)."""
    return type(base.__name__, (base,), {k: staticmethod(f) for k, f in methods.items()})


def test_the_solution_passes_every_row(ex, solution):
    for name in NAMES:
        rows = ex.rows(name, solution[name])
        assert [r.label for r in rows][:2] == ["forward", "gradcheck"] and all(r.passed for r in rows), rows
        assert ex.result(name, solution[name]).passed
    assert ex.summary().correct == 4


def test_references_are_autograd_through_the_plain_formulas(ex):
    case = ex.cases["BatchNorm1dBessel"]
    leaves = {k: v.clone().requires_grad_() for k, v in case.inputs.items()}
    expected = torch.autograd.grad(case.reference(**leaves), list(leaves.values()), case.upstream)
    for name, grad in zip(leaves, expected):
        assert ex._exercises["BatchNorm1dBessel"].result(f"d{name}", grad).exact
    assert case.reference(**case.inputs).shape == (8, 5) and case.inputs["gain"].shape == (1, 5)


def test_gradcheck_names_the_wrong_input_and_where(solution):
    def bad_weight(ctx, dout):
        x, weight = ctx.saved_tensors
        return dout @ weight.T, 2 * x.T @ dout, dout.sum(0)

    inputs = {"x": torch.randn(5, 4), "weight": torch.randn(4, 3), "bias": torch.randn(3)}
    assert capstone.gradcheck_report("Linear", solution["Linear"], inputs).passed
    check = capstone.gradcheck_report("Linear", variant(solution["Linear"], backward=bad_weight), inputs)
    assert check.status is Status.WRONG and check.maxdiff > 0.01
    assert "gradcheck fails for weight (input 1): the largest difference is at d output[" in check.reason


def test_known_slips_get_their_hint(ex, solution):
    def tanh_slip(ctx, dy):
        (y,) = ctx.saved_tensors
        return (1 - y) * dy

    def no_dloss(ctx, dloss):
        probs, targets = ctx.saved_tensors
        return (probs - F.one_hot(targets, probs.shape[1])) / probs.shape[0], None

    def biased(ctx, dout):
        bnraw, bnvar_inv, gain = ctx.saved_tensors
        n = dout.shape[0]
        dx = gain * bnvar_inv / n * (n * dout - dout.sum(0) - bnraw * (dout * bnraw).sum(0))
        return dx, (dout * bnraw).sum(0, keepdim=True), dout.sum(0, keepdim=True)

    def in_place(ctx, dloss):
        probs, targets = ctx.saved_tensors
        probs[torch.arange(probs.shape[0]), targets] -= 1
        return probs / probs.shape[0] * dloss, None

    rows = {r.label: r for r in ex.rows("Tanh", variant(solution["Tanh"], backward=tanh_slip))}
    assert not rows["gradcheck"].passed and "1 - y**2" in rows["dx"].reason
    rows = {r.label: r for r in ex.rows("CrossEntropy", variant(solution["CrossEntropy"], backward=no_dloss))}
    assert "do not scale with grad_output" in rows["gradcheck"].reason
    assert "multiply by grad_output" in rows["dlogits"].reason
    rows = {r.label: r for r in ex.rows("BatchNorm1dBessel", variant(solution["BatchNorm1dBessel"], backward=biased))}
    assert "Bessel's correction" in rows["dx"].reason
    check = ex.result("CrossEntropy", variant(solution["CrossEntropy"], backward=in_place))
    assert check.status is Status.INVALID and "probs.clone()" in check.reason


def test_a_broken_class_gets_one_sentence_never_an_exception(ex, solution):
    linear = solution["Linear"]

    class NotStatic(torch.autograd.Function):
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, dy):
            return dy

    cases = {
        None: "replace the placeholder `Linear = None`",
        3: "Linear is an int (3), but it must be a class",
        torch.zeros(2): "Linear is a Tensor",
        type("Linear", (torch.autograd.Function,), {}): "has no forward method of its own",
        NotStatic: "must be a static method",
        variant(linear, backward=lambda ctx, d: (d, d)): "returned 2 gradients, but forward takes 3 inputs (x, weight, bias)",
        variant(linear, backward=lambda ctx, d: [d, d, d]): "returned a list; return a tuple",
        variant(linear, backward=lambda ctx, d: (d @ ctx.saved_tensors[1].T, 1.0, d.sum(0))): "returned a float for weight",
        variant(linear, backward=lambda ctx, d: (d @ ctx.saved_tensors[1].T, d.T @ ctx.saved_tensors[0], d.sum(0))):
            "returned a gradient of shape (3, 4) for weight, which has shape (4, 3)",
        variant(linear, backward=lambda ctx, d: ctx.saved_tensors[5]): "Linear.backward raised IndexError",
        variant(linear, forward=lambda ctx, x, w: x @ w): "Linear.forward raised TypeError",
        variant(linear, forward=lambda ctx, x, w, b: (x @ w + b).float().numpy()): "returned a numpy array; it must return one tensor",
    }
    for function, sentence in cases.items():
        check = ex.result("Linear", function)
        assert check.status in (Status.INVALID, Status.NOT_DONE) and sentence in check.reason, (sentence, check)
    assert ex.result("Softmax", linear).status is Status.INVALID


def test_check_shows_the_report_on_stdout_and_raises_unless_correct(ex, solution, capsys):
    ex.check("Tanh", solution["Tanh"])
    with pytest.raises(CheckFailed, match="Linear is not done yet"):
        ex.check("Linear", None)
    out, err = capsys.readouterr()
    assert err == "" and "Tanh on the checker's inputs: 3/3 correct" in out and "not done yet" in out
    assert not ex.ready() and "Linear" in capsys.readouterr().out


def test_the_grader_draws_other_inputs_and_its_hidden_check_runs_the_class(monkeypatch, solution):
    monkeypatch.setenv(makemore.SEED_ENV_VAR, "12345")
    graded = capstone.functions_exercise()
    default = capstone.functions_exercise(seed=makemore.DEFAULT_SEED)
    assert not torch.equal(graded.cases["Linear"].inputs["x"], default.cases["Linear"].inputs["x"])
    verify.hidden_check("capstone:functions_exercise", "Linear", solution["Linear"])
    # a backward that returns the default seed's answers as numbers fails with the grader's seed
    answers = [r.expected for r in default._exercises["Tanh"]._references.values()]
    literal = variant(solution["Tanh"], backward=lambda ctx, dy: answers[0].to(dy.dtype))
    with pytest.raises(AssertionError, match="the grader.s own check of Tanh"):  # the pristine copy's CheckFailed
        verify.hidden_check("capstone:functions_exercise", "Tanh", literal)


def test_the_mlp_from_the_solution_functions_matches_pytorch(solution):
    setup = makemore.MakemoreSetup(n_hidden=training.N_HIDDEN)
    mlp = capstone.mlp_exercise(setup)
    params = training.copy_parameters(setup.params, requires_grad=True)
    C, W1, b1, W2, b2, bngain, bnbias = params.values()
    hidden = solution["BatchNorm1dBessel"].apply(solution["Linear"].apply(C[setup.Xb].view(32, -1), W1, b1), bngain, bnbias)
    loss = solution["CrossEntropy"].apply(solution["Linear"].apply(solution["Tanh"].apply(hidden), W2, b2), setup.Yb)
    loss.backward()
    for name, p in params.items():
        assert mlp.result(f"d{name}", p.grad).passed, name
    assert capstone.train_steps() == capstone.FAST_TRAIN_STEPS  # tests run in fast mode (conftest.py)
