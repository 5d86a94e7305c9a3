"""What the lessons that check a learner's *class* share (the capstone's Functions, lesson 2's Value):
one exception for "this class cannot be run", one row per check combined from several, and the
scoreboard of every check.
"""

from .compare import Check, Status
from .report import Scoreboard


class Unusable(Exception):
    """The learner's class cannot be run; `sentence` says why, `status` how it counts."""

    def __init__(self, sentence: str, status: Status = Status.INVALID):
        super().__init__(sentence)
        self.sentence, self.status = sentence, status


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
    """The scoreboard of an exercise whose checks are named in `self.cases`, results in `self._results`."""

    def summary(self) -> Scoreboard:
        not_checked = "not checked yet: run its answer cell and the check below it."
        return Scoreboard(self.title, [self._results.get(name) or Check(name, Status.NOT_DONE, not_checked)
                                       for name in self.cases])
