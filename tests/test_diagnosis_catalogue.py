"""A catalogue of real wrong answers to Exercises 1-3, each with the hint it must produce, and the
promise that a right answer never gets a hint."""

import re

import pytest
import torch
import torch.nn.functional as F

from checker import Status, compare
from checker.lessons import makemore


@pytest.fixture(scope="module")
def lesson():
    setup = makemore.MakemoreSetup()
    T = makemore.forward(setup.params, setup.Xb, setup.Yb)
    G = makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32)
    return dict(setup=setup, T=T, G=G, n=setup.batch_size, Xb=setup.Xb, Yb=setup.Yb,
                ex1=makemore.exercise1(setup), ex2=makemore.exercise2(setup), ex3=makemore.exercise3(setup))


def onehot_rows(L, value):
    z = torch.zeros_like(L["T"]["logprobs"])
    z[range(L["n"]), L["Yb"]] = value
    return z


def dC_assigned(L):
    dC = torch.zeros_like(L["setup"].params["C"])
    demb = L["G"]["emb"]
    for k in range(L["Xb"].shape[0]):
        for j in range(L["Xb"].shape[1]):
            dC[L["Xb"][k, j]] = demb[k, j]  # = where += is needed
    return dC


def biased_dhprebn(L):
    T, n, dh = L["T"], L["n"], L["ex3"].given["dhpreact"]
    scale = L["setup"].params["bngain"] * T["bnvar_inv"] / n
    return scale * (n * dh - dh.sum(0) - T["bnraw"] * (dh * T["bnraw"]).sum(0))


# (exercise, gradient, a wrong answer, words the hint must contain)
CATALOGUE = [
    ("ex1", "dlogprobs", lambda L: onehot_rows(L, -1.0), "did you forget the 1/n"),
    ("ex1", "dlogprobs", lambda L: onehot_rows(L, 1.0 / L["n"]), "sign is flipped"),
    ("ex1", "dprobs", lambda L: L["G"]["probs"] / L["n"], "a 1/n was applied twice"),
    ("ex1", "dcounts_sum_inv", lambda L: L["T"]["counts"] * L["G"]["probs"], "sum the gradient over dim 1 with keepdim=True"),
    ("ex1", "dcounts", lambda L: L["T"]["counts_sum_inv"] * L["G"]["probs"], "only the gradient through probs"),
    ("ex1", "dcounts", lambda L: torch.ones_like(L["T"]["counts"]) * L["G"]["counts_sum"], "only the gradient through counts_sum"),
    # (forgetting the max path instead is harmless: dlogit_maxes is zero in exact arithmetic)
    ("ex1", "dlogits", lambda L: F.one_hot(L["T"]["logits"].max(1).indices, 27) * L["G"]["logit_maxes"],
     "only the gradient through logit_maxes"),
    ("ex1", "dh", lambda L: L["setup"].params["W2"] @ L["G"]["logits"].T, "the dimensions are swapped"),
    ("ex1", "dW2", lambda L: L["G"]["logits"].T @ L["T"]["h"], "the dimensions are swapped"),
    ("ex1", "db2", lambda L: L["G"]["logits"].clone(), "sum the gradient over dim 0"),
    ("ex1", "dhpreact", lambda L: 2 * L["G"]["hpreact"], "× 2"),
    ("ex1", "dbngain", lambda L: L["T"]["bnraw"] * L["G"]["hpreact"], "sum the gradient over dim 0 with keepdim=True"),
    ("ex1", "dbndiff2", lambda L: (1.0 / L["n"]) * torch.ones_like(L["T"]["bndiff2"]) * L["G"]["bnvar"], "Bessel"),
    ("ex1", "dbndiff", lambda L: L["T"]["bnvar_inv"] * L["G"]["bnraw"], "only the gradient through bnraw"),
    ("ex1", "dbnmeani", lambda L: L["G"]["bndiff"].sum(0, keepdim=True), "sign is flipped"),
    ("ex1", "dbndiff", lambda L: 2 * L["T"]["bndiff"] * L["G"]["bndiff2"], "only the gradient through bndiff2"),
    ("ex1", "dhprebn", lambda L: L["G"]["bndiff"].clone(), "only the gradient through bndiff"),
    ("ex1", "dhprebn", lambda L: torch.ones_like(L["T"]["hprebn"]) * L["G"]["bnmeani"] / L["n"],
     "only the gradient through bnmeani"),
    ("ex1", "dW1", lambda L: L["G"]["hprebn"].T @ L["T"]["embcat"], "the dimensions are swapped"),
    ("ex1", "dembcat", lambda L: torch.zeros(32, 30), "all zeros"),
    ("ex1", "dC", dC_assigned, "values are wrong, in rows"),
    ("ex1", "dbnvar", lambda L: 0.5 * L["G"]["bnvar"], "÷ 2"),
    ("ex1", "dbnvar_inv", lambda L: L["G"]["bnvar_inv"] * L["n"] / (L["n"] - 1), "× 32/31: Bessel"),
    ("ex1", "dlogprobs", lambda L: onehot_rows(L, -1.0 / L["n"]) * 3.7, "× 3.7 everywhere: a constant factor"),
    ("ex1", "dprobs", lambda L: torch.where(torch.arange(27) == 3, torch.tensor(float("nan")), L["G"]["probs"]), "NaN"),
    ("ex2", "dlogits", lambda L: L["G"]["logits"] * L["n"], "did you forget the 1/n"),
    ("ex2", "dlogits", lambda L: F.softmax(L["T"]["logits"], 1) / L["n"], "32 of its 864 values are wrong"),
    ("ex3", "dhprebn", biased_dhprebn, "biased variance"),
    ("ex3", "dbnbias", lambda L: L["ex3"].given["dhpreact"].sum(0), "keep the summed dimension with keepdim=True"),
]


@pytest.mark.parametrize("exercise, label, wrong, hint", CATALOGUE,
                         ids=[f"{e}-{g}-{i}" for i, (e, g, *_) in enumerate(CATALOGUE)])  # ASCII ids: mutmut selects tests by id
def test_each_mistake_gets_its_hint(lesson, exercise, label, wrong, hint):
    check = lesson[exercise].result(label, wrong(lesson))
    assert not check.passed
    assert hint in check.reason, check.reason


@pytest.mark.parametrize("exercise, label, wrong, hint", CATALOGUE,
                         ids=[f"{e}-{g}-{i}" for i, (e, g, *_) in enumerate(CATALOGUE)])
def test_each_mistake_has_a_name_the_same_for_every_learner(lesson, exercise, label, wrong, hint):
    """What the class report counts (Check.mistake): no numbers of this batch in it, and the hint's
    own words, so two learners with one slip are counted together."""
    check = lesson[exercise].result(label, wrong(lesson))
    if check.status is not Status.WRONG:  # a shape it cannot check: the report counts it as such
        assert check.status is Status.INVALID and check.mistake == ""
        return
    import re

    from checker.diagnose import NO_KNOWN_MISTAKE, SIZE_ONE_DIMENSIONS, SOME_VALUES_WRONG

    named = (SOME_VALUES_WRONG, SIZE_ONE_DIMENSIONS, NO_KNOWN_MISTAKE)
    assert check.mistake and (check.mistake in check.reason or check.mistake in named), (check.mistake, check.reason)
    n = str(lesson[exercise].batch_size)
    assert not re.search(rf"\d\.\d|\b({n}|{int(n) - 1})\b|index|rows? \d", check.mistake), check.mistake


def test_every_known_slip_of_the_exercises_is_in_the_catalogue(lesson):
    """Each slip an exercise knows by name (a forgotten branch, Bessel's n-1) gets its hint for a
    wrong answer of the catalogue: a slip added without a catalogue entry fails here."""
    given = {}
    for exercise, label, wrong, _ in CATALOGUE:
        given.setdefault((exercise, label), []).append(lesson[exercise].result(label, wrong(lesson)).reason)
    for exercise in ("ex1", "ex2", "ex3"):
        for name, reference in lesson[exercise]._references.items():
            for hint in reference.mistakes:
                if (exercise, name) == ("ex1", "logits") and "only the gradient through norm_logits" in hint:
                    continue  # that slip is a right answer: dlogit_maxes is zero in exact arithmetic
                assert any(hint in reason for reason in given.get((exercise, f"d{name}"), [])), (exercise, name, hint)


def test_keepdim_difference_is_a_hint_when_shapes_are_strict(lesson):
    G = lesson["G"]
    check = compare("dbnbias", G["bnbias"].view(-1).clone(), G["bnbias"])
    assert check.status is Status.WRONG and "keepdim=True" in check.reason


def square_truth():
    return torch.randn(6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(5))


def test_transposed_values_of_a_square_gradient():
    truth = square_truth()
    check = compare("dW", truth.T.float().contiguous(), truth.float(), truth)
    assert "it equals the right gradient transposed" in check.reason


def test_a_square_gradient_wrong_another_way_is_not_called_transposed():
    truth = square_truth()
    check = compare("dW", (2 * truth).float(), truth.float(), truth)
    assert "transposed" not in check.reason and "it is the right gradient × 2" in check.reason


@pytest.fixture(scope="module")
def truths(lesson):
    """Exercise 1's float64 gradients, keyed by tensor name."""
    return makemore.autograd_gradients(lesson["setup"].params, lesson["Xb"], lesson["Yb"], torch.float64)


def noisy(truth, factor, relative_noise):
    """factor × truth, with every element also off by up to `relative_noise` of the largest."""
    noise = torch.randn(truth.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    return (factor * truth + relative_noise * factor * truth.abs().max() * noise / noise.abs().max()).float()


def test_a_constant_factor_is_named_only_when_it_fits_to_rounding(lesson, truths):
    named = "it is the right gradient × 2:"
    assert named in lesson["ex1"].result("dhpreact", noisy(truths["hpreact"], 2, 1e-5)).reason
    assert named not in lesson["ex1"].result("dhpreact", noisy(truths["hpreact"], 2, 1e-3)).reason  # other errors too


# A right answer's whole reason: the verdict and the two errors, and a shape note at most.
RIGHT = re.compile(r"(bit-identical to PyTorch's autograd|(at least as accurate as autograd|as accurate as autograd|"
                   r"correct to float32 rounding, a little less accurate than autograd) \(yours \S+ from the float64 "
                   r"truth, PyTorch's \S+\))(\. Note: [^;]*)?")


def test_right_answers_never_get_a_hint(lesson, truths):
    """Autograd's own answer, the float64 truth rounded to float32, and that one float32 step
    further: right answers, most not bit-identical, whose reason is the verdict alone."""
    inexact = 0
    for exercise in ("ex1", "ex2", "ex3"):
        ex = lesson[exercise]
        for label in ex.gradient_names:
            rounded = truths[label[1:]].float()
            for answer in (lesson["G"][label[1:]].clone(), rounded, torch.nextafter(rounded, torch.zeros_like(rounded))):
                check = ex.result(label, answer)
                assert check.passed and RIGHT.fullmatch(check.reason), (label, check.reason)
                inexact += not check.exact
    assert inexact > 40


def test_difference_plot_never_raises(lesson, capsys):
    import matplotlib

    matplotlib.use("Agg")
    ex = lesson["ex1"]
    ex.plot("dW1", lesson["G"]["W1"] * 1.1)   # a heatmap
    ex.plot("dW1", None)                       # not done: the sentence instead
    ex.plot("demb", lesson["G"]["emb"])        # 3-D: the check instead
    out = capsys.readouterr().out
    assert "not done yet" in out and "demb" in out


def test_the_max_path_of_dlogits_cannot_be_graded_and_the_lesson_says_so(lesson):
    """dlogit_maxes is zero up to float32 rounding, so dlogits passes with or without the max path:
    the lesson says so where that gradient appears."""
    from course import SOLUTIONS, nbgrader_meta, read

    G, T = lesson["G"], lesson["T"]
    assert G["logit_maxes"].abs().max() < 1e-8
    with_max = G["norm_logits"] + F.one_hot(T["logits"].max(1).indices, 27) * G["logit_maxes"]
    for dlogits in (G["norm_logits"].clone(), with_max):
        assert lesson["ex1"].result("dlogits", dlogits, record=False).passed
    notebook = read(SOLUTIONS / "04_makemore_atomic_backprop" / "makemore_atomic_backprop.ipynb")
    text = next(c.source for c in notebook.cells if nbgrader_meta(c).get("grade_id") == "md_015")
    assert "This second path cannot be graded" in text and "passes the check all the same" in text
