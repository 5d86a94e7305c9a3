"""Lesson 3's evaluation: the references against hand-worked numbers and a brute force, right answers
in other styles pass, and the usual slips are named."""

from fractions import Fraction

import pytest
import torch

from checker import Status
from checker.lessons import digits_evaluation as evaluation
from checker.lessons import digits_mlp


def brute_force_auc(scores, labels) -> Fraction:
    """P(positive above negative), a tie half, as an exact fraction over every pair."""
    positives = [s for s, l in zip(scores.tolist(), labels.tolist()) if l]
    negatives = [s for s, l in zip(scores.tolist(), labels.tolist()) if not l]
    wins = sum(Fraction(1) if p > n else Fraction(1, 2) if p == n else Fraction(0) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def test_the_worked_example_is_eight_ninths_and_the_ties_example_as_worked_by_hand():
    cases = evaluation.samples(0)
    worked, ties = cases["worked example"], cases["ties"]
    assert evaluation.roc_area(worked.scores, worked.labels) == pytest.approx(8 / 9)
    # positives 0.8, 0.5, 0.5 against negatives 0.8, 0.5, 0.1, 0.1: 3.5 + 2.5 + 2.5 of 12 pairs
    assert evaluation.roc_area(ties.scores, ties.labels) == pytest.approx(8.5 / 12)


@pytest.mark.parametrize("seed", range(5))
def test_the_trapezoid_reference_is_the_pairwise_probability(seed):
    sample = evaluation.samples(seed)["seeded sample"]
    assert evaluation.roc_area(sample.scores, sample.labels) == pytest.approx(float(brute_force_auc(sample.scores, sample.labels)))


# Right answers written in another style than the lesson's solution: plain loops, numpy sorting.
def loop_confusion(scores, labels, threshold):
    pairs = list(zip(scores.tolist(), labels.tolist()))
    return (sum(s >= threshold and l for s, l in pairs), sum(s >= threshold and not l for s, l in pairs),
            sum(s < threshold and l for s, l in pairs), sum(s < threshold and not l for s, l in pairs))


def safe_prf(tp, fp, fn):
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    return precision, recall, (2 * tp / (2 * tp + fp + fn) if tp else 0.0)


def loop_roc(scores, labels):
    fpr, tpr = [0.0], [0.0]
    for threshold in sorted(set(scores.tolist()), reverse=True):
        tp, fp, fn, tn = loop_confusion(scores, labels, threshold)
        tpr.append(tp / (tp + fn))
        fpr.append(fp / (fp + tn))
    return fpr, tpr


def loop_auc(scores, labels):
    return float(brute_force_auc(scores, labels))


def numpy_ranks_auc(scores, labels):
    import numpy as np
    values = scores.numpy()
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        ranks[values == value] = ranks[values == value].mean()
    m, n = int(labels.sum()), int((~labels).sum())
    return (ranks[labels.numpy()].sum() - m * (m + 1) / 2) / (m * n)


RIGHT = {"confusion": loop_confusion, "precision_recall_f1": safe_prf, "roc_curve": loop_roc,
         "auc_pairs": loop_auc, "auc_ranks": numpy_ranks_auc}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answers_in_other_styles_pass(name):
    result = evaluation.evaluation_exercise().result(name, RIGHT[name])
    assert result.passed, result.reason


def strict_confusion(scores, labels, threshold):
    return loop_confusion(scores, labels, torch.nextafter(torch.tensor(threshold), torch.tensor(1.0)).item())


def unsafe_prf(tp, fp, fn):
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * precision * recall / (precision + recall)


SLIPS = [
    ("confusion", strict_confusion, Status.WRONG, "use >=, not >"),
    ("precision_recall_f1", unsafe_prf, Status.INVALID, "did not return 3 values"),
    ("precision_recall_f1", lambda tp, fp, fn: (0.0, 0.0, 0.0), Status.WRONG, "expected (precision, recall, f1)"),
    ("roc_curve", lambda s, l: tuple(v[1:] for v in loop_roc(s, l)), Status.WRONG, "start with the point (0, 0)"),
    ("roc_curve", lambda s, l: loop_roc(s, l)[::-1], Status.WRONG, "swapped"),
    ("auc_pairs", lambda s, l: evaluation._auc_ties_as(s, l, 0.0), Status.WRONG, "counts half a pair"),
    ("auc_pairs", lambda s, l: evaluation._auc_ties_as(s, l, 1.0), Status.WRONG, "counted as a win"),
    ("auc_ranks", evaluation._auc_ordinal_ranks, Status.WRONG, "mean of their ranks"),
    ("auc_ranks", lambda s, l: "0.9", Status.INVALID, "not a number"),
    ("auc_pairs", None, Status.NOT_DONE, "not done yet"),
    ("auc_pairs", 0.9, Status.INVALID, "not a function"),
]


@pytest.mark.parametrize("name, function, status, words", SLIPS, ids=[f"{s[0]}: {s[3]}" for s in SLIPS])
def test_slips_are_named(name, function, status, words):
    result = evaluation.evaluation_exercise().result(name, function)
    assert result.status is status and words in result.reason, result.reason


def test_the_classifier_references_match_torch_nn():
    """The classifier's references against a network written independently with torch.nn's layers."""
    setup = digits_mlp.DigitsSetup()
    params = setup.classifier_params
    net = torch.nn.Sequential(torch.nn.Linear(64, digits_mlp.N_HIDDEN), torch.nn.ReLU(),
                              torch.nn.Linear(digits_mlp.N_HIDDEN, 10)).double()
    with torch.no_grad():
        net[0].weight.copy_(params["w1"].T), net[0].bias.copy_(params["b1"])
        net[2].weight.copy_(params["w2"].T), net[2].bias.copy_(params["b2"])
    torch.nn.CrossEntropyLoss()(net(setup.xb.double()), setup.yb.long()).backward()
    independent = {"w1": net[0].weight.grad.T, "b1": net[0].bias.grad, "w2": net[2].weight.grad.T, "b2": net[2].bias.grad}
    exercise = digits_mlp.classifier_exercise(setup)
    for name, gradient in independent.items():
        assert exercise.result(f"d{name}", gradient.float()).passed, name
        torch.testing.assert_close(exercise._references[name].truth, gradient)


def test_the_report_has_no_tensor_columns(capsys):
    """Counts, rates and areas have no float32-against-float64 measurements: no exact/approx/maxdiff."""
    exercise = evaluation.evaluation_exercise()
    exercise.preview("auc_pairs", loop_auc)
    text = capsys.readouterr().out
    assert "✓ worked example" in text and "exact:" not in text and "maxdiff" not in text
    page = exercise.summary()._repr_html_()
    assert ">check</th>" in page and ">exact</th>" not in page and ">gradient</th>" not in page
    gradients = digits_mlp.gradients_exercise().summary()._repr_html_()
    assert ">gradient</th>" in gradients and ">exact</th>" in gradients


# ---- the two halves: the probe in the kernel, the judge in the grader

KEY = "digits_evaluation:evaluation_exercise"


class Sneaky(float):
    def __float__(self):
        raise RuntimeError("no")

    def __repr__(self):
        raise RuntimeError("no")


def raising(*args):
    raise ValueError("y" * 5000)


FUNCTIONS = [(name, function) for name, function in RIGHT.items()] + [(name, function) for name, function, *_ in SLIPS] + [
    ("confusion", lambda s, l, t: (Sneaky(1.0), 0, 0, 0)),
    ("roc_curve", lambda s, l: (torch.zeros(20_000), torch.zeros(20_000))),
    ("roc_curve", lambda s, l: ("a", "b")),
    ("auc_pairs", raising),
    ("auc_ranks", lambda s, l: torch.tensor([0.5, 0.5])),
    ("precision_recall_f1", lambda tp, fp, fn: [tp, fp]),
]


@pytest.mark.parametrize("name, function", FUNCTIONS, ids=[f"{n} {i}" for i, (n, _) in enumerate(FUNCTIONS)])
def test_the_grader_says_what_the_lab_says(monkeypatch, name, function):
    from checker.environment import SEED_ENV_VAR
    from course import through_the_grader

    monkeypatch.setenv(SEED_ENV_VAR, "4242")
    exercise = evaluation.evaluation_exercise()
    lab = exercise.rows(name, function)
    assert repr(exercise.rows(name, through_the_grader(evaluation, KEY, name, function))) == repr(lab)
    assert all(row.passed for row in lab) == (function is RIGHT.get(name))


def test_the_probe_holds_no_reference_and_hands_none_out(monkeypatch):
    from checker.environment import SEED_ENV_VAR
    from course import checker_frames_holding_answers

    monkeypatch.setenv(SEED_ENV_VAR, "4242")
    found = []

    def spy(*args):
        found.extend(checker_frames_holding_answers())
        return 0.5
    for name in ("confusion", "precision_recall_f1", "roc_curve", "auc_pairs", "auc_ranks"):
        evaluation.probe(KEY, name, spy)
    assert found == []
    areas = [evaluation.roc_area(s.scores, s.labels) for s in evaluation.samples().values()]
    handed_out = [case["number"] for case in evaluation.probe(KEY, "auc_pairs", spy)["cases"]]
    assert handed_out == [0.5] * 3 and 0.5 not in areas  # a probe that handed out the reference would show


def test_a_graded_kernel_gets_a_hand_in(monkeypatch):
    from checker.environment import GRADED_ENV_VAR
    from checker.handout import HandIn

    monkeypatch.setenv(GRADED_ENV_VAR, "1")
    assert type(evaluation.evaluation_exercise()) is HandIn
