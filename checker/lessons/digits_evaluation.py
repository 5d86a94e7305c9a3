"""Lesson 03, evaluation: judging a classifier of one digit against the rest.

The learner writes five functions of `scores` (M,) and `labels` (M,) (True for the positive class):

    confusion(scores, labels, threshold) -> (tp, fp, fn, tn)   positive when score >= threshold
    precision_recall_f1(tp, fp, fn)      -> (precision, recall, f1), 0.0 where a denominator is 0
    roc_curve(scores, labels)            -> (fpr, tpr): (0, 0), then one point per distinct score, highest first
    auc_pairs(scores, labels)            -> P(a random positive scores above a random negative), ties ½
    auc_ranks(scores, labels)            -> (Σ ranks of the positives - P(P+1)/2) / (P·N), ties get their mean rank

    ex = evaluation_exercise()
    ex.check("auc_pairs", auc_pairs)     # one row per case: the worked example (8/9), ties, a seeded sample

The references are written another way than the lesson derives them: counts by a loop, the ROC
curve by one comparison per distinct score, and the AUC as the trapezoid area under that curve
(which counts a tie as half a pair), all in float64.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from ..check import Check, Status
from ..environment import generator, seed_from_env
from ..learner_code import call
from .class_checks import ClassChecks, combine_rows

LESSON = "03_mlp_by_hand_digits"
THRESHOLD = 0.5


# ---- the trusted references ------------------------------------------------------------------

def confusion_counts(scores, labels, threshold: float) -> tuple[int, int, int, int]:
    tp = fp = fn = tn = 0
    for score, positive in zip(scores.tolist(), labels.tolist()):
        predicted = score >= threshold
        tp += predicted and positive
        fp += predicted and not positive
        fn += positive and not predicted
        tn += not predicted and not positive
    return tp, fp, fn, tn


def precision_recall_f1_of(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def roc_points(scores, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """(fpr, tpr) in float64: (0, 0), then at each distinct score from the highest."""
    scores, labels = scores.double(), labels.bool()
    positives, negatives = int(labels.sum()), int((~labels).sum())
    fpr, tpr = [0.0], [0.0]
    for threshold in scores.unique().flip(0).tolist():
        predicted = scores >= threshold
        tpr.append(int((predicted & labels).sum()) / positives)
        fpr.append(int((predicted & ~labels).sum()) / negatives)
    return torch.tensor(fpr, dtype=torch.float64), torch.tensor(tpr, dtype=torch.float64)


def roc_area(scores, labels) -> float:
    """The AUC as the trapezoid area under the ROC curve: a tie is a diagonal step, half a pair."""
    fpr, tpr = roc_points(scores, labels)
    return float(((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2).sum())


# ---- the cases every function is checked on ---------------------------------------------------

@dataclass(frozen=True)
class Sample:
    title: str
    scores: torch.Tensor
    labels: torch.Tensor


def samples(seed: int | None = None) -> dict[str, Sample]:
    """The worked example (three positives, three negatives, AUC 8/9), a small case full of ties,
    and a seeded sample of 200 scores on a coarse grid, so ties across the classes are common."""
    g = generator(seed_from_env() if seed is None else seed)
    labels = torch.rand(200, generator=g) < 0.3
    scores = ((torch.rand(200, generator=g) + 0.4 * labels) * 10).round() / 10
    return {
        "worked example": Sample("worked example", torch.tensor([0.9, 0.8, 0.7, 0.4, 0.3, 0.2]),
                                 torch.tensor([True, True, False, True, False, False])),
        "ties": Sample("ties", torch.tensor([0.8, 0.8, 0.5, 0.5, 0.5, 0.1, 0.1]),
                       torch.tensor([True, False, True, True, False, False, False])),
        "seeded sample": Sample("seeded sample", scores, labels),
    }


COUNT_CASES = {"worked example": (3, 1, 2), "no positive predicted": (0, 0, 5), "empty": (0, 0, 0), "seeded": None}


# ---- the slips each function is recognised by --------------------------------------------------

def _auc_ties_as(scores, labels, tie: float) -> float:
    positive, negative = scores[labels].double(), scores[~labels].double()
    above = (positive[:, None] > negative[None, :]).double()
    return float((above + tie * (positive[:, None] == negative[None, :])).mean())


def _auc_ordinal_ranks(scores, labels) -> float:
    ranks = torch.empty(len(scores), dtype=torch.float64)
    ranks[scores.argsort(stable=True)] = torch.arange(1, len(scores) + 1, dtype=torch.float64)
    p, n = int(labels.sum()), int((~labels).sum())
    return float((ranks[labels].sum() - p * (p + 1) / 2) / (p * n))


_RANK_TIES = "tied scores got different ranks: give every score of a tie the mean of their ranks"
AUC_SLIPS = {  # (hint, the AUC that slip gives) for each function
    "auc_pairs": [
        ("ties are counted as a win: a tie between a positive and a negative counts half a pair",
         lambda s, l: _auc_ties_as(s, l, 1.0)),
        ("ties are counted as a loss: a tie between a positive and a negative counts half a pair",
         lambda s, l: _auc_ties_as(s, l, 0.0)),
    ],
    "auc_ranks": [(_RANK_TIES, _auc_ordinal_ranks),  # ties broken by position, or all one way
                  (_RANK_TIES, lambda s, l: _auc_ties_as(s, l, 0.0)), (_RANK_TIES, lambda s, l: _auc_ties_as(s, l, 1.0))],
}


# ---- the exercise -------------------------------------------------------------------------------

def _close(yours: float, expected: float) -> bool:
    try:
        torch.testing.assert_close(torch.tensor(float(yours), dtype=torch.float64),
                                   torch.tensor(float(expected), dtype=torch.float64), rtol=1e-5, atol=1e-7)
    except AssertionError:
        return False
    return True


def _number(value) -> float | None:
    """A float from a Python number or a one-element tensor, else None."""
    if isinstance(value, torch.Tensor):
        return float(value) if value.numel() == 1 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


class EvaluationExercise(ClassChecks):
    """Checks the learner's five evaluation functions, each on every case, against the references."""

    kind = "function"
    measured = False  # counts, rates and areas: no float32-against-float64 measurements
    lesson = LESSON
    title = "Lesson 3: evaluating the classifier"

    def __init__(self, seed: int | None = None):
        self.samples = samples(seed)
        g = generator((seed_from_env() if seed is None else seed) + 1)
        seeded = tuple(int(v) for v in torch.randint(0, 40, (3,), generator=g))
        self.counts = {**{k: v for k, v in COUNT_CASES.items() if v}, "seeded": seeded}
        self.cases: dict[str, Callable] = {
            "confusion": self._confusion_rows, "precision_recall_f1": self._prf_rows, "roc_curve": self._roc_rows,
            "auc_pairs": self._auc_rows, "auc_ranks": self._auc_rows,
        }
        self._results = {}

    def _table_title(self, name: str) -> str:
        return f"{self.title}: your {name}"

    def rows(self, name: str, yours) -> list[Check]:
        if yours is None or yours is Ellipsis:
            return [Check(name, Status.NOT_DONE, f"not done yet: write `{name}` above and run its cell.")]
        if not callable(yours):
            return [Check(name, Status.INVALID, f"{name} is {type(yours).__name__}, not a function: "
                                                f"define it with `def {name}(...):`.")]
        return self.cases[name](name, yours)

    def _called(self, name, function, args, outputs, label):
        """The function's result, or a Check saying why there is none (its own words are printed by `call`)."""
        result = call(name, function, *args, outputs=outputs)
        if result is None or (outputs > 1 and result[0] is None):
            return None, Check(label, Status.INVALID, f"{name} did not return {outputs if outputs > 1 else 'a'} "
                                                      f"value{'s' if outputs > 1 else ''} for this case (see the line above).")
        return result, None

    def _confusion_rows(self, name, function) -> list[Check]:
        rows = []
        for sample in self.samples.values():
            expected = confusion_counts(sample.scores, sample.labels, THRESHOLD)
            result, problem = self._called(name, function, (sample.scores, sample.labels, THRESHOLD), 4, sample.title)
            if problem:
                rows.append(problem)
                continue
            got = tuple(_number(v) for v in result)
            if got == tuple(float(v) for v in expected):
                rows.append(Check(sample.title, Status.CORRECT, f"(tp, fp, fn, tn) = {expected}"))
                continue
            strict = confusion_counts(sample.scores, sample.labels, THRESHOLD + 1e-12)
            hint = ("; a score equal to the threshold counts as positive: use >=, not >"
                    if got == tuple(float(v) for v in strict) and strict != expected else "")
            rows.append(Check(sample.title, Status.WRONG, f"yours {tuple(result)}, expected (tp, fp, fn, tn) = {expected}{hint}"))
        return rows

    def _prf_rows(self, name, function) -> list[Check]:
        rows = []
        for title, (tp, fp, fn) in self.counts.items():
            expected = precision_recall_f1_of(tp, fp, fn)
            label = f"tp {tp} fp {fp} fn {fn}"
            result, problem = self._called(name, function, (tp, fp, fn), 3, label)
            if problem:
                rows.append(problem)
                continue
            got = [_number(v) for v in result]
            if None not in got and all(_close(a, b) for a, b in zip(got, expected)):
                rows.append(Check(label, Status.CORRECT, "precision {:.4f}, recall {:.4f}, F1 {:.4f}".format(*expected)))
                continue
            zero = " (when a denominator is 0, the metric is 0)" if 0 in (tp + fp, tp + fn) else ""
            rows.append(Check(label, Status.WRONG, f"yours {tuple(result)}, expected (precision, recall, f1) = "
                                                   f"({expected[0]:.4f}, {expected[1]:.4f}, {expected[2]:.4f}){zero}"))
        return rows

    def _roc_rows(self, name, function) -> list[Check]:
        rows = []
        for sample in self.samples.values():
            fpr, tpr = roc_points(sample.scores, sample.labels)
            result, problem = self._called(name, function, (sample.scores, sample.labels), 2, sample.title)
            if problem:
                rows.append(problem)
                continue
            try:
                yours = [torch.as_tensor(v, dtype=torch.float64).flatten() for v in result]
            except (TypeError, ValueError, RuntimeError):
                rows.append(Check(sample.title, Status.INVALID, "fpr and tpr must be 1-D tensors (or lists) of numbers"))
                continue
            if yours[0].shape != fpr.shape or yours[1].shape != tpr.shape:
                hint = ("; start with the point (0, 0), before the highest score" if len(yours[0]) == len(fpr) - 1 else
                        "; one point per *distinct* score, plus (0, 0) first" if len(yours[0]) != len(fpr) else "")
                rows.append(Check(sample.title, Status.WRONG,
                                  f"yours has {len(yours[0])} and {len(yours[1])} points, the curve has {len(fpr)}{hint}"))
                continue
            if torch.allclose(yours[0], fpr, atol=1e-6) and torch.allclose(yours[1], tpr, atol=1e-6):
                rows.append(Check(sample.title, Status.CORRECT, f"{len(fpr)} points, from (0, 0) to (1, 1)"))
                continue
            swapped = torch.allclose(yours[0], tpr, atol=1e-6) and torch.allclose(yours[1], fpr, atol=1e-6)
            rows.append(Check(sample.title, Status.WRONG, "fpr and tpr are swapped: return (fpr, tpr)" if swapped else
                              f"the points differ most at index {int(((yours[0] - fpr).abs() + (yours[1] - tpr).abs()).argmax())}"))
        return rows

    def _auc_rows(self, name, function) -> list[Check]:
        rows = []
        for sample in self.samples.values():
            expected = roc_area(sample.scores, sample.labels)
            result, problem = self._called(name, function, (sample.scores, sample.labels), 1, sample.title)
            if problem:
                rows.append(problem)
                continue
            got = _number(result)
            if got is None:
                rows.append(Check(sample.title, Status.INVALID, f"{name} returned {type(result).__name__}, not a number"))
            elif _close(got, expected):
                rows.append(Check(sample.title, Status.CORRECT, f"AUC {expected:.6f}, the area under the ROC curve"))
            else:
                slip = next((hint for hint, slip in AUC_SLIPS[name]
                             if _close(got, slip(sample.scores, sample.labels))), "")
                rows.append(Check(sample.title, Status.WRONG, f"yours {got:.6f}, expected {expected:.6f}"
                                                              + (f": {slip}" if slip else "")))
        return rows

    def _combine(self, name: str, rows: list[Check]) -> Check:
        combined = combine_rows(name, rows)  # a failure: the first one's reason, naming the others
        if not combined.passed:
            return combined
        return replace(combined, reason=f"right on all {len(rows)} cases ({', '.join(r.label for r in rows)})")


def evaluation_exercise(seed: int | None = None) -> EvaluationExercise:
    return EvaluationExercise(seed)
