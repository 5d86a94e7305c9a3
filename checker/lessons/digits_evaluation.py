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

A check has two halves: `probe` calls the learner's function on every case (in a graded kernel,
where no reference is) and returns what it gave as plain numbers; the exercise's `rows` judges that
against the references (in the grader, from the same seed). In JupyterLab `rows` does both.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from ..check import Check, Status
from ..environment import generator, seed_from_env
from ..handout import MAX_STRING, exercise_factory
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


def counts(seed: int | None = None) -> dict[str, tuple[int, int, int]]:
    """The (tp, fp, fn) precision_recall_f1 is called with: three by hand, one seeded."""
    g = generator((seed_from_env() if seed is None else seed) + 1)
    seeded = tuple(int(v) for v in torch.randint(0, 40, (3,), generator=g))
    return {**{k: v for k, v in COUNT_CASES.items() if v}, "seeded": seeded}


# ---- the probe: the learner's function, called in the kernel ------------------------------------

MAX_POINTS = 10_000  # of a ROC curve handed out; the cases' curves have at most 201


def probe(exercise_key: str, label: str, yours) -> dict:
    """What the learner's function `label` returns on every case, with the cases of seed_from_env():
    in a graded kernel all the grader sees of it. Plain values, no reference; never raises."""
    seed = seed_from_env()
    return _probe(samples(seed), counts(seed), label, yours)


def _probe(samples: dict, counts: dict, name: str, function) -> dict:
    """{"problem": [status, sentence]} if there is no function to call, else {"cases": [one per case]}:
    {"missing": True} when it gave no usable result (`call` printed why), else what it returned."""
    if function is None or function is Ellipsis:
        return {"problem": [Status.NOT_DONE.value, f"not done yet: write `{name}` above and run its cell."]}
    if not callable(function):
        return {"problem": [Status.INVALID.value, f"{name} is {type(function).__name__}, not a function: "
                                                  f"define it with `def {name}(...):`."]}
    if name == "precision_recall_f1":
        calls = [((tp, fp, fn), 3) for tp, fp, fn in counts.values()]
    else:
        outputs = {"confusion": 4, "roc_curve": 2}.get(name, 1)
        extra = (THRESHOLD,) if name == "confusion" else ()
        calls = [((sample.scores, sample.labels, *extra), outputs) for sample in samples.values()]
    found = []
    for args, outputs in calls:
        try:
            result = call(name, function, *args, outputs=outputs)
            found.append(_plain_result(name, result, outputs))
        except Exception:  # a learner's object that raises when looked at (its __len__, __repr__, ...)
            found.append({"missing": True})
    return {"cases": found}


def _plain_result(name: str, result, outputs: int) -> dict:
    if result is None or (outputs > 1 and result[0] is None):
        return {"missing": True}
    if name == "roc_curve":
        try:
            curve = [torch.as_tensor(v, dtype=torch.float64).flatten() for v in result]
        except (TypeError, ValueError, RuntimeError):
            return {"invalid": True}
        if max(len(v) for v in curve) > MAX_POINTS:
            return {"lengths": [len(v) for v in curve]}
        return {"curve": [_plain_tensor(v) for v in curve]}
    if outputs == 1:
        return {"number": _number(result), "type": type(result).__name__[:MAX_STRING]}
    return {"numbers": [_number(v) for v in result], "shown": str(tuple(result))[:MAX_STRING]}


def _plain_tensor(tensor: torch.Tensor) -> torch.Tensor:
    """A plain float64 copy: not a subclass of the learner's, with its own methods."""
    with torch._C.DisableTorchFunctionSubclass():
        return torch.Tensor._make_subclass(torch.Tensor, tensor.detach()).clone()


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
    try:
        if isinstance(value, torch.Tensor):
            return float(value) if value.numel() == 1 else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    except Exception:  # a learner's number that will not be one
        return None
    return None


class EvaluationExercise(ClassChecks):
    """Checks the learner's five evaluation functions, each on every case, against the references."""

    kind = "function"
    measured = False  # counts, rates and areas: no float32-against-float64 measurements
    lesson = LESSON
    title = "Lesson 3: evaluating the classifier"

    def __init__(self, seed: int | None = None):
        self.samples = samples(seed)
        self.counts = counts(seed)
        self.cases: dict[str, Callable] = {
            "confusion": self._confusion_rows, "precision_recall_f1": self._prf_rows, "roc_curve": self._roc_rows,
            "auc_pairs": self._auc_rows, "auc_ranks": self._auc_rows,
        }
        self._results = {}

    def _table_title(self, name: str) -> str:
        return f"{self.title}: your {name}"

    def _probe(self, name: str, yours) -> dict:
        return _probe(self.samples, self.counts, name, yours)

    def _rows(self, name: str, found: dict) -> list[Check]:
        if "problem" in found:
            status, sentence = found["problem"]
            return [Check(name, Status(status), str(sentence))]
        return self.cases[name](name, found["cases"])

    @staticmethod
    def _called(name, found, index, outputs, label):
        """What the function returned for case `index`, or a Check saying why there is nothing (its own
        words were printed by `call` where it ran)."""
        result = found[index]
        if result.get("missing"):
            return None, Check(label, Status.INVALID, f"{name} did not return {outputs if outputs > 1 else 'a'} "
                                                      f"value{'s' if outputs > 1 else ''} for this case (see the line above).")
        return result, None

    def _confusion_rows(self, name, found) -> list[Check]:
        rows = []
        for index, sample in enumerate(self.samples.values()):
            expected = confusion_counts(sample.scores, sample.labels, THRESHOLD)
            result, problem = self._called(name, found, index, 4, sample.title)
            if problem:
                rows.append(problem)
                continue
            got = tuple(result["numbers"])
            if len(got) == 4 and got == tuple(float(v) for v in expected):
                rows.append(Check(sample.title, Status.CORRECT, f"(tp, fp, fn, tn) = {expected}"))
                continue
            strict = confusion_counts(sample.scores, sample.labels, THRESHOLD + 1e-12)
            hint = ("; a score equal to the threshold counts as positive: use >=, not >"
                    if got == tuple(float(v) for v in strict) and strict != expected else "")
            rows.append(Check(sample.title, Status.WRONG, f"yours {result['shown']}, expected (tp, fp, fn, tn) = {expected}{hint}"))
        return rows

    def _prf_rows(self, name, found) -> list[Check]:
        rows = []
        for index, (tp, fp, fn) in enumerate(self.counts.values()):
            expected = precision_recall_f1_of(tp, fp, fn)
            label = f"tp {tp} fp {fp} fn {fn}"
            result, problem = self._called(name, found, index, 3, label)
            if problem:
                rows.append(problem)
                continue
            got = list(result["numbers"])
            if len(got) == 3 and None not in got and all(_close(a, b) for a, b in zip(got, expected)):
                rows.append(Check(label, Status.CORRECT, "precision {:.4f}, recall {:.4f}, F1 {:.4f}".format(*expected)))
                continue
            zero = " (when a denominator is 0, the metric is 0)" if 0 in (tp + fp, tp + fn) else ""
            rows.append(Check(label, Status.WRONG, f"yours {result['shown']}, expected (precision, recall, f1) = "
                                                   f"({expected[0]:.4f}, {expected[1]:.4f}, {expected[2]:.4f}){zero}"))
        return rows

    def _roc_rows(self, name, found) -> list[Check]:
        rows = []
        for index, sample in enumerate(self.samples.values()):
            fpr, tpr = roc_points(sample.scores, sample.labels)
            result, problem = self._called(name, found, index, 2, sample.title)
            if problem:
                rows.append(problem)
                continue
            if result.get("invalid"):
                rows.append(Check(sample.title, Status.INVALID, "fpr and tpr must be 1-D tensors (or lists) of numbers"))
                continue
            yours = [torch.as_tensor(v, dtype=torch.float64).flatten() for v in result["curve"]] \
                if "curve" in result else None
            lengths = [len(v) for v in yours] if yours else [int(n) for n in result["lengths"]]
            if lengths != [len(fpr), len(tpr)]:
                hint = ("; start with the point (0, 0), before the highest score" if lengths[0] == len(fpr) - 1 else
                        "; one point per *distinct* score, plus (0, 0) first" if lengths[0] != len(fpr) else "")
                rows.append(Check(sample.title, Status.WRONG,
                                  f"yours has {lengths[0]} and {lengths[1]} points, the curve has {len(fpr)}{hint}"))
                continue
            if torch.allclose(yours[0], fpr, atol=1e-6) and torch.allclose(yours[1], tpr, atol=1e-6):
                rows.append(Check(sample.title, Status.CORRECT, f"{len(fpr)} points, from (0, 0) to (1, 1)"))
                continue
            swapped = torch.allclose(yours[0], tpr, atol=1e-6) and torch.allclose(yours[1], fpr, atol=1e-6)
            rows.append(Check(sample.title, Status.WRONG, "fpr and tpr are swapped: return (fpr, tpr)" if swapped else
                              f"the points differ most at index {int(((yours[0] - fpr).abs() + (yours[1] - tpr).abs()).argmax())}"))
        return rows

    def _auc_rows(self, name, found) -> list[Check]:
        rows = []
        for index, sample in enumerate(self.samples.values()):
            expected = roc_area(sample.scores, sample.labels)
            result, problem = self._called(name, found, index, 1, sample.title)
            if problem:
                rows.append(problem)
                continue
            got = result["number"]
            if got is None:
                rows.append(Check(sample.title, Status.INVALID, f"{name} returned {result['type']}, not a number"))
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


@exercise_factory("digits_evaluation:evaluation_exercise", code=True)
def evaluation_exercise(seed: int | None = None) -> EvaluationExercise:
    return EvaluationExercise(seed)
