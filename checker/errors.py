"""Exceptions the checker raises on purpose, shown in Jupyter as one sentence instead of a traceback."""

_RED, _RESET = "\x1b[31m", "\x1b[0m"


class CourseError(Exception):
    """An error meant for the learner: IPython shows its message alone, without a traceback."""

    def _render_traceback_(self):
        # IPython calls this instead of formatting a traceback; nbgrader still sees an error output.
        return [f"{_RED}{type(self).__name__}{_RESET}: {self}"]


class CourseDataError(CourseError):
    """A data file is missing or damaged."""


class CheckFailed(CourseError, AssertionError):
    """A graded check did not pass; the report above it says why."""


class CarriedForward(CheckFailed):
    """Raised by a hidden test for a step that is right given the learner's earlier answers: the
    grader then gives the credit the course's policy says (preprocessors.CreditCarriedForward)."""
