"""What a learner sees of an exercise: its scoreboard, `show` for any report, source code, difference plots.

Everything is written to stdout: in an nbgrader test cell any stderr output costs the points.
"""

from dataclasses import replace

import torch

from .check import Check, Status, checks_html, checks_text, prose_html
from .environment import validating
from .errors import CheckFailed
from .handout import HandIn, ScoreboardPlaceholder


def show(obj) -> None:
    """Display `obj` as rich output in Jupyter, or print its text form anywhere else (stdout)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python without IPython installed
        get_ipython = lambda: None  # noqa: E731
    if get_ipython() is None:
        print(obj, flush=True)
    else:
        from IPython.display import display

        display(obj)


class Scoreboard:
    """Every gradient of an exercise with its latest check: done, correct, missing."""

    def __init__(self, title: str, checks: list[Check], measured: bool = True):
        self.title = title
        self.checks = checks
        self.measured = measured  # False: the rows check something other than tensors (no exact/approx/maxdiff)

    @property
    def correct(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def total(self) -> int:
        return len(self.checks)

    def headline(self) -> str:
        counts = {s: sum(c.status is s for c in self.checks) for s in Status}
        parts = [f"{self.correct}/{self.total} correct"]
        parts += [f"{counts[s]} {s.value}{self._which(s)}"
                  for s in (Status.WRONG, Status.CARRIED, Status.INVALID, Status.NOT_DONE)
                  if counts[s]]
        return f"{self.title}: " + ", ".join(parts)

    def _which(self, status: Status, at_most: int = 4) -> str:
        """' (dC, dW1)': which gradients to look at, so a wrong row need not be hunted for in a long table.
        Not-done gradients are named only when few are left."""
        labels = [c.label for c in self.checks if c.status is status]
        if status is Status.NOT_DONE and len(labels) > at_most:
            return ""
        shown = ", ".join(labels[:at_most]) + (", …" if len(labels) > at_most else "")
        return f" ({shown})"

    def not_yet_right(self) -> str:
        """The headline, then each step not yet right on a line of its own: what Validate shows."""
        lines = [f"  {c.label}: {c.status.value}" for c in self.checks if not c.passed]
        return "\n".join([f"{self.correct}/{self.total} correct in {self.title}.", "Not yet right:", *lines])

    @staticmethod
    def computed_by() -> str:
        """Which PyTorch computed the references: the learner's own, whatever its version, since
        every verdict is judged against a float64 truth computed by that same PyTorch."""
        return f"references computed by PyTorch {torch.__version__}"

    def rows(self) -> list[Check]:
        """The checks as the board shows them: a step right given earlier answers says why in full
        on the first such row; the rows after it keep the first sentence (the check cell has it all)."""
        rows, told = [], False
        for check in self.checks:
            if check.status is Status.CARRIED and told:
                check = replace(check, reason=check.reason.split(". ")[0] + " (see the first such row).")
            told = told or check.status is Status.CARRIED
            rows.append(check)
        return rows

    def __str__(self):
        return f"{self.headline()}  ({self.computed_by()})\n" + checks_text(self.rows(), self.measured)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def _repr_html_(self):
        return checks_html(self.rows(), caption=self.headline(), note=self.computed_by(), measured=self.measured)


def lesson_scoreboard(title: str, exercises: dict) -> "Scoreboard":
    """One scoreboard for a lesson's exercises ({"graph": ex, ...}, each row labelled 'graph: dz');
    in a graded kernel, the placeholder the grader puts its own scoreboards in."""
    if any(isinstance(exercise, HandIn) for exercise in exercises.values()):
        return ScoreboardPlaceholder(parts=[[part, exercise.key] for part, exercise in exercises.items()], title=title)
    checks = [replace(check, label=f"{part}: {check.label}")
              for part, exercise in exercises.items() for check in exercise.scoreboard().checks]
    return validated(Scoreboard(title, checks))


def validated(board: "Scoreboard") -> "Scoreboard":
    """`board`, or, while nbgrader validates, CheckFailed naming every step not yet right, one line
    each: Validate lists the cells that failed, and the scoreboard is the one that says it all (the
    checks themselves do not raise then)."""
    failing = _failing(board)
    if failing:
        raise CheckFailed(failing)
    return board


def _failing(board) -> str | None:
    """What Validate should list for `board` (a Scoreboard, or the grader's placeholder), or None."""
    if validating() and isinstance(board, Scoreboard) and board.correct < board.total:
        return board.not_yet_right()
    return None


def summaries(*exercises) -> None:
    """Show the scoreboards of several exercises; while nbgrader validates, one failure for them all."""
    from IPython.display import display

    boards = [exercise.scoreboard() for exercise in exercises]
    for board in boards:
        display(board)
    failing = [text for text in map(_failing, boards) if text]
    if failing:
        raise CheckFailed("\n".join(failing))


class Hint:
    """One level of a hint, as `ex.hint("dX")` shows it; `level` None once the last was shown."""

    def __init__(self, label: str, level: int | None, levels: int, text: str):
        self.label, self.level, self.levels, self.text = label, level, levels, text

    def __str__(self):
        if self.level is None:
            return f"That was the last hint for {self.label}: {self.text}"
        more = "" if self.level == self.levels else f" (call ex.hint(\"{self.label}\") again for the next)"
        return f"Hint {self.level} of {self.levels} for {self.label}{more}: {self.text}"

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def _repr_html_(self):
        text = self.text
        if self.level is None:  # asked once more after the last level
            title, more, text = f"That was the last hint for <code>{self.label}</code>", "", text[:1].upper() + text[1:]
        else:
            title = f"Hint {self.level} of {self.levels} for <code>{self.label}</code>"
            more = "" if self.level == self.levels else " · run it again for the next"
        return (f'<div class="backprop-ninja-hint" style="border-left:4px solid #f9a825;padding:4px 10px;'
                f'text-align:left"><b>{title}</b><span style="opacity:0.7">{more}</span><br>{prose_html(text)}</div>')


def source(function):
    """A function's source code, syntax-highlighted in Jupyter: for reading the checker's code in a lesson."""
    import inspect

    from IPython.display import Code

    return Code(inspect.getsource(function), language="python")


def difference_plot(label: str, yours, expected) -> None:
    """A heatmap of |yours - expected| for a 2-D gradient, with the worst element circled."""
    import matplotlib.pyplot as plt

    difference = (yours.detach().to(expected.dtype) - expected).abs()
    row, col = divmod(int(difference.argmax()), difference.shape[1])
    fig, ax = plt.subplots(figsize=(min(12, 2 + difference.shape[1] / 4), min(8, 1.5 + difference.shape[0] / 6)))
    image = ax.imshow(difference, cmap="magma", aspect="auto")
    ax.scatter([col], [row], s=120, facecolors="none", edgecolors="cyan", linewidths=2)
    ax.set(title=f"|{label} - reference|, largest {difference.max().item():.2g} at ({row}, {col})",
           xlabel="column", ylabel="row")
    fig.colorbar(image, ax=ax)
    plt.show()
