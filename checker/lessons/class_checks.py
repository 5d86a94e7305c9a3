"""What the lessons that check a learner's *class* share (the capstone's Functions, lesson 2's Value):
one exception for "this class cannot be run", one row per check combined from several, and the
interface every exercise offers: result, check, preview and the scoreboard.
"""

from ..check import Check, Status
from ..handout import Probed
from ..errors import CheckFailed
from ..handout import MAX_STRING
from ..learner_code import broken_rule
from ..environment import validating
from ..report import Scoreboard, show, validated


class Unusable(Exception):
    """The learner's class cannot be run; `sentence` says why, `status` how it counts."""

    def __init__(self, sentence: str, status: Status = Status.INVALID):
        super().__init__(sentence)
        self.sentence, self.status = sentence, status


def said(problem: Unusable) -> list:
    """An Unusable as plain data for a probe, [status, sentence]: cut to what the grader receives
    (handout.MAX_STRING), so the lab and the grader say the same."""
    return [problem.status.value, problem.sentence[:MAX_STRING]]


def unusable(data) -> Unusable:
    """`said`'s data back as an Unusable."""
    status, sentence = data
    return Unusable(str(sentence), Status(status))


# What the grader says when a probe's data is not of the form its probe returns (never, unless a
# learner's code reached into the probe while it ran).
UNREADABLE = "the grader could not read what your code gave on the checker's inputs: run its cell again"


def article(noun: str) -> str:
    """'an int', 'a list': a type's name with its article."""
    if noun == "ndarray":
        return "a numpy array"
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


FAILURE_PHRASE = {Status.WRONG: "not correct yet", Status.NOT_DONE: "not done yet", Status.INVALID: "not usable yet"}


def combine_rows(name: str, rows: list[Check]) -> Check:
    """One row for a check made of several: the first failure's reason (naming the others), or all correct."""
    failed = next((row for row in rows if not row.passed), None)
    gradients = [row for row in rows if row.label.startswith("d")]
    measured = dict(exact=all(r.exact for r in gradients) if gradients else None,
                    approx=all(r.approx for r in gradients) if gradients else None,
                    maxdiff=max((r.maxdiff for r in gradients if r.maxdiff is not None), default=None))
    if failed is not None:
        said = failed.label in (name, "gradcheck")  # its sentence names it already
        reason = failed.reason if said else f"{failed.label}: {failed.reason}"
        others = [row.label for row in rows if not row.passed and row is not failed]
        if others:
            reason += f" (also not correct: {', '.join(others)})"
        return Check(name, failed.status, reason, **measured)
    return Check(name, Status.CORRECT, f"forward, gradcheck and {', '.join(r.label for r in gradients)} all "
                                       f"correct", **measured)


class ClassChecks:
    """The interface of an exercise that checks a learner's whole class, one named check at a time,
    as the tensor exercises do: `result` (what the hidden tests call), `check`, `preview`, `summary`.

    A subclass sets `title`, `cases` ({name: case}) and `_results` ({}), and defines `rows(name, yours)`,
    the report's rows, and `_table_title(name)`; `kind` names one check in messages."""

    kind = "check"
    measured = True  # False where the rows check something other than tensors: no exact/approx/maxdiff
    lesson: str | None = None  # the lesson whose rules the learner's cells are held to (checker/rules.py)

    @property
    def names(self) -> list[str]:
        return list(self.cases)

    def rows(self, name: str, yours) -> list[Check]:
        """The report's rows for one check. `yours` is the learner's code, run here by the lesson's
        probe (`_probe(name, yours)`), or `Probed`: what the probe found in a graded kernel, judged
        by the same `_rows(name, found)` in the grader."""
        if type(yours) is not Probed:  # type(): isinstance would ask a learner's metaclass
            return self._rows(name, self._probe(name, yours))
        try:
            return self._rows(name, yours.data)
        except (LookupError, TypeError, ValueError, AttributeError, RuntimeError):  # not what a probe returns
            return [Check(name, Status.INVALID, UNREADABLE)]

    def _combine(self, name: str, rows: list[Check]) -> Check:
        return combine_rows(name, rows)

    def _report(self, label: str, yours, record: bool) -> tuple[Check, Scoreboard | None]:
        """(one combined Check, the table of rows or None for an unknown label). Never raises."""
        if label not in self.cases:
            return Check(str(label), Status.INVALID, f"there is no {self.kind} called {label!r} in {self.title}; "
                                                     f"the names are {', '.join(self.names)}."), None
        broken = broken_rule(self.lesson) if self.lesson else None
        if broken:
            combined = Check(label, Status.INVALID, broken)
            if record:
                self._results[label] = combined
            return combined, None
        rows = self.rows(label, yours)
        combined = self._combine(label, rows)
        if record:
            self._results[label] = combined
        return combined, Scoreboard(self._table_title(label), rows, self.measured)

    def result(self, label: str, yours, *, record: bool = True) -> Check:
        """One Check for the check `label` of the class `yours`: correct only if every row is."""
        return self._report(label, yours, record)[0]

    def check(self, label: str, yours) -> None:
        """Show the report of one check; raise CheckFailed (one line) unless every row is correct."""
        combined, table = self._report(label, yours, record=True)
        show(table or combined)
        if not combined.passed and not validating():  # while validating, the scoreboard says it (report.validated)
            raise CheckFailed(f"{label} is {FAILURE_PHRASE[combined.status]}: see the report above." if table
                              else combined.reason)

    def preview(self, label: str, yours) -> None:
        """The report of a check without counting it or raising: for trying things out."""
        combined, table = self._report(label, yours, record=False)
        show(table or combined)

    def _waiting(self) -> list[str]:
        """The checks that have not passed yet."""
        return [name for name in self.cases if not (name in self._results and self._results[name].passed)]

    def summary(self) -> Scoreboard:
        return validated(self.scoreboard())

    def scoreboard(self) -> Scoreboard:
        not_checked = "not checked yet: run its answer cell and the check below it."
        return Scoreboard(self.title, [self._results.get(name) or Check(name, Status.NOT_DONE, not_checked)
                                       for name in self.cases], self.measured)
