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


# ---- the two halves: the probe in the kernel, the judge in the grader

KEY = "capstone:functions_exercise"


def tanh_slip(ctx, dy):
    (y,) = ctx.saved_tensors
    return (1 - y) * dy


def no_dloss(ctx, dloss):
    probs, targets = ctx.saved_tensors
    return (probs - F.one_hot(targets, probs.shape[1])) / probs.shape[0], None


def in_place(ctx, dloss):
    probs, targets = ctx.saved_tensors
    probs[torch.arange(probs.shape[0]), targets] -= 1
    return probs / probs.shape[0] * dloss


def noisy(ctx, dy):  # not reentrant: another answer each time it runs
    (y,) = ctx.saved_tensors
    ctx.calls = getattr(ctx, "calls", 0) + 1
    return (1 - y ** 2) * dy + ctx.calls * 1e-9 * dy.abs().sum()


def bias_not_summed(ctx, dout):  # Linear: dout for the bias, never summed over the batch
    x, weight = ctx.saved_tensors
    return dout @ weight.T, x.T @ dout, dout


def gain_not_summed(ctx, dout):  # batchnorm: dout * bnraw for the gain, never summed over the batch
    bnraw, bnvar_inv, gain = ctx.saved_tensors
    n = dout.shape[0]
    dx = gain * bnvar_inv / n * (n * dout - dout.sum(0) - n / (n - 1) * bnraw * (dout * bnraw).sum(0))
    return dx, dout * bnraw, dout.sum(0, keepdim=True)


FUNCTIONS = {  # name: (Function, how it is built from the solution's)
    "right Tanh": ("Tanh", lambda s: s["Tanh"]),
    "right Linear": ("Linear", lambda s: s["Linear"]),
    "right BatchNorm1dBessel": ("BatchNorm1dBessel", lambda s: s["BatchNorm1dBessel"]),
    "right CrossEntropy": ("CrossEntropy", lambda s: s["CrossEntropy"]),
    "tanh slip": ("Tanh", lambda s: variant(s["Tanh"], backward=tanh_slip)),
    "not reentrant": ("Tanh", lambda s: variant(s["Tanh"], backward=noisy)),
    "no dloss": ("CrossEntropy", lambda s: variant(s["CrossEntropy"], backward=no_dloss)),
    "in place": ("CrossEntropy", lambda s: variant(s["CrossEntropy"], backward=in_place)),
    "wrong forward": ("Linear", lambda s: variant(s["Linear"], forward=lambda ctx, x, w, b: (
        ctx.save_for_backward(x, w), x @ w - b)[1])),
    "wrong shape": ("Linear", lambda s: variant(s["Linear"], forward=lambda ctx, x, w, b: (
        ctx.save_for_backward(x, w), (x @ w + b)[:2])[1])),
    "bias not summed": ("Linear", lambda s: variant(s["Linear"], backward=bias_not_summed)),
    "gain not summed": ("BatchNorm1dBessel", lambda s: variant(s["BatchNorm1dBessel"], backward=gain_not_summed)),
    "placeholder": ("Linear", lambda s: None),
    "an int": ("Linear", lambda s: 3),
    "two gradients": ("Linear", lambda s: variant(s["Linear"], backward=lambda ctx, d: (d, d))),
    "raises": ("Linear", lambda s: variant(s["Linear"], backward=lambda ctx, d: ctx.saved_tensors[5])),
    "numpy forward": ("Linear", lambda s: variant(s["Linear"], forward=lambda ctx, x, w, b: (x @ w + b).numpy())),
    "a huge output": ("Tanh", lambda s: variant(s["Tanh"], forward=lambda ctx, x: x.new_zeros(5000) + x.sum())),
}


@pytest.mark.parametrize("answer", FUNCTIONS)
def test_the_grader_says_what_the_lab_says(monkeypatch, solution, answer):
    from course import through_the_grader

    monkeypatch.setenv(makemore.SEED_ENV_VAR, "4242")
    ex = capstone.functions_exercise()
    name, make = FUNCTIONS[answer]
    function = make(solution)
    lab = ex.rows(name, function)
    assert repr(ex.rows(name, through_the_grader(capstone, KEY, name, function))) == repr(lab)
    assert all(row.passed for row in lab) == answer.startswith("right"), lab
    if answer == "not reentrant":
        assert "different result each time" in {r.label: r for r in lab}["gradcheck"].reason


@pytest.mark.parametrize("grader", [False, True], ids=["lab", "grader"])
def test_a_gradient_never_summed_over_the_batch_is_wrong_and_named(monkeypatch, solution, grader):
    """Autograd sums a gradient its input broadcasts to, silently; the check does not: each gradient
    must have its input's shape, in JupyterLab and in the grader alike."""
    from course import through_the_grader

    monkeypatch.setenv(makemore.SEED_ENV_VAR, "4242")
    ex = capstone.functions_exercise()
    expected = {
        "bias not summed": ("Linear", "dbias", "Linear.backward returned a gradient of shape (6, 3) for bias, which "
                            "has shape (3,): sum over the batch dimension (`.sum(0)`), so that it has its input's shape"),
        "gain not summed": ("BatchNorm1dBessel", "dgain", "BatchNorm1dBessel.backward returned a gradient of shape "
                            "(8, 5) for gain, which has shape (1, 5): sum over the batch dimension "
                            "(`.sum(0, keepdim=True)`), so that it has its input's shape"),
    }
    for answer, (name, label, sentence) in expected.items():
        function = FUNCTIONS[answer][1](solution)
        yours = through_the_grader(capstone, KEY, name, function) if grader else function
        rows = {r.label: r for r in ex.rows(name, yours)}
        assert rows[label].status is Status.WRONG and rows[label].reason.startswith(sentence), rows[label]
        assert [k for k, r in rows.items() if not r.passed] == [label], rows  # gradcheck alone cannot see it
        check = ex.result(name, yours, record=False)
        assert check.status is Status.WRONG and check.reason.startswith(f"{label}: {sentence}"), check
    for name in ("Linear", "BatchNorm1dBessel"):
        right = through_the_grader(capstone, KEY, name, solution[name]) if grader else solution[name]
        assert ex.result(name, right, record=False).passed


def test_the_gradcheck_verdict_is_torch_gradchecks(solution):
    """The judge's own gradcheck (from the Jacobians the probe hands out) agrees with torch's."""
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    for function in (solution["Tanh"], variant(solution["Tanh"], backward=tanh_slip),
                     variant(solution["Tanh"], backward=noisy),
                     variant(solution["Tanh"], backward=lambda ctx, dy: 1 - ctx.saved_tensors[0] ** 2)):
        try:
            theirs = torch.autograd.gradcheck(function.apply, (x,), eps=capstone.GRADCHECK_EPS,
                                              atol=capstone.GRADCHECK_ATOL, rtol=capstone.GRADCHECK_RTOL)
        except Exception:
            theirs = False
        assert capstone.gradcheck_report("Tanh", function, {"x": x}).passed == theirs


def test_the_probe_holds_no_reference_and_hands_none_out(monkeypatch, solution):
    from course import checker_frames_holding_answers

    monkeypatch.setenv(makemore.SEED_ENV_VAR, "4242")
    ex = capstone.functions_exercise()
    found = []

    def spying(ctx, *grads):
        found.extend(checker_frames_holding_answers())
        return tuple(torch.zeros_like(t) if t.is_floating_point() else None for t in ctx.saved_tensors)[:1] + \
            (None,) * (len(ctx.needs_input_grad) - 1)
    for name in NAMES:
        spy = variant(solution[name], backward=spying)
        assert ex.rows(name, spy) and found  # in JupyterLab the exercise is there to see
        found.clear()
        handed_out = capstone.probe(KEY, name, spy)
        assert found == [], found
        answers = {round(v, 5) for r in ex._exercises[name]._references.values() for v in r.expected.flatten().tolist()}
        numbers = {round(v, 5) for t in handed_out.get("grads", {}).values() for v in t.flatten().tolist()}
        assert answers.isdisjoint(numbers - {0.0}), name


def test_a_graded_kernel_gets_a_hand_in(monkeypatch):
    from checker.environment import GRADED_ENV_VAR
    from checker.handout import HandIn

    monkeypatch.setenv(GRADED_ENV_VAR, "1")
    ex = capstone.functions_exercise()
    assert type(ex) is HandIn and ex.ready()
