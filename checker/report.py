"""How checks look: an HTML table in Jupyter, aligned plain text elsewhere (terminal, nbval, logs).

Everything is written to stdout: in an nbgrader test cell any stderr output costs the points.
"""

import html
import re

from .compare import Check, Status

_SYMBOL = {Status.CORRECT: "✓", Status.WRONG: "✗", Status.NOT_DONE: "·", Status.INVALID: "!"}
# Badge colours chosen to read on JupyterLab's light and dark themes alike.
_BADGE = {
    Status.CORRECT: ("#1b5e20", "#c8e6c9"),
    Status.WRONG: ("#b71c1c", "#ffcdd2"),
    Status.NOT_DONE: ("#424242", "#e0e0e0"),
    Status.INVALID: ("#e65100", "#ffe0b2"),
}


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


def _yes_no(value) -> str:
    return "-" if value is None else str(value)


def _maxdiff(value) -> str:
    return "-" if value is None else f"{value:.1e}"


def check_text(check: Check, width: int = 16) -> str:
    line = (f"{_SYMBOL[check.status]} {check.label:<{width}} {check.status.value:<13} "
            f"exact: {_yes_no(check.exact):<5}  approx: {_yes_no(check.approx):<5}  "
            f"maxdiff: {_maxdiff(check.maxdiff):<7}  {check.reason}")
    if check.details:
        line += "\n" + "\n".join("      " + row for row in check.details.splitlines())
    return line


def checks_text(checks) -> str:
    width = max([16, *(len(c.label) for c in checks)])
    return "\n".join(check_text(c, width) for c in checks)


# Inline, so the table reads the same wherever the HTML lands: JupyterLab, or nbgrader's feedback
# page, whose stylesheet strips table cells of their padding.
_CELL_STYLE = "text-align:left;padding:4px 8px"


def _badge(status: Status) -> str:
    fg, bg = _BADGE[status]
    return (f'<span style="color:{fg};background:{bg};padding:1px 8px;border-radius:8px;'
            f'font-weight:600;white-space:nowrap">{_SYMBOL[status]} {status.value}</span>')


def _prose_html(text: str) -> str:
    """A reason as HTML: escaped, with its `code spans` shown as code (in plain text they keep
    their backticks)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _row_html(check: Check) -> str:
    details = ""
    if check.details:
        details = (f'<details><summary>torch.testing says</summary>'
                   f'<pre style="margin:0">{html.escape(check.details)}</pre></details>')
    cells = [
        f"<code>{html.escape(check.label)}</code>",
        _badge(check.status),
        _yes_no(check.exact),
        _yes_no(check.approx),
        _maxdiff(check.maxdiff),
        f'<div style="text-align:left">{_prose_html(check.reason)}{details}</div>',
    ]
    return "<tr>" + "".join(f'<td style="{_CELL_STYLE}">{c}</td>' for c in cells) + "</tr>"


def checks_html(checks, caption: str = "") -> str:
    head = "".join(f'<th style="{_CELL_STYLE}">{h}</th>'
                   for h in ("gradient", "verdict", "exact", "approx", "maxdiff", "why"))
    cap = (f'<caption style="text-align:left;font-weight:600;padding-bottom:4px">'
           f'{html.escape(caption)}</caption>') if caption else ""
    rows = "".join(_row_html(c) for c in checks)
    return f'<table class="backprop-ninja-report">{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


class Scoreboard:
    """Every gradient of an exercise with its latest check: done, correct, missing."""

    def __init__(self, title: str, checks: list[Check]):
        self.title = title
        self.checks = checks

    @property
    def correct(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def total(self) -> int:
        return len(self.checks)

    def headline(self) -> str:
        counts = {s: sum(c.status is s for c in self.checks) for s in Status}
        parts = [f"{self.correct}/{self.total} correct"]
        parts += [f"{counts[s]} {s.value}{self._which(s)}" for s in (Status.WRONG, Status.INVALID, Status.NOT_DONE)
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

    def __str__(self):
        return self.headline() + "\n" + checks_text(self.checks)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def _repr_html_(self):
        return checks_html(self.checks, caption=self.headline())


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
