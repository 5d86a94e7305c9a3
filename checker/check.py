"""One checked gradient (`Check`, its `Status`) and how checks look: an HTML table in Jupyter,
aligned plain text elsewhere (terminal, nbval, logs).

Everything is written to stdout: in an nbgrader test cell any stderr output costs the points.
"""

import html
import re
from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    CORRECT = "correct"
    CARRIED = "right given earlier answers"  # wrong only because an earlier answer is (checker/chain.py)
    WRONG = "wrong"
    NOT_DONE = "not done yet"
    INVALID = "cannot check"


@dataclass(frozen=True)
class Check:
    """The result of checking one gradient. `label` is what the learner computed, e.g. 'dlogprobs'."""

    label: str
    status: Status
    reason: str
    exact: bool | None = None
    approx: bool | None = None
    maxdiff: float | None = None
    your_error: float | None = None  # largest |yours - float64 truth|
    pytorch_error: float | None = None  # largest |PyTorch float32 autograd - float64 truth|
    details: str = ""  # torch.testing's mismatch report, for wrong answers
    mistake: str = ""  # a wrong answer's mistake, in words alike for every learner (diagnose.mistake_name)

    @property
    def passed(self) -> bool:
        return self.status is Status.CORRECT

    def __str__(self):
        return check_text(self)

    def _repr_pretty_(self, printer, cycle):  # IPython's text/plain form: the report, not the fields
        printer.text(str(self))

    def _repr_html_(self):
        return checks_html([self])


_SYMBOL = {Status.CORRECT: "✓", Status.CARRIED: "↳", Status.WRONG: "✗", Status.NOT_DONE: "·", Status.INVALID: "!"}
# Badge colours chosen to read on JupyterLab's light and dark themes alike.
_BADGE = {
    Status.CORRECT: ("#1b5e20", "#c8e6c9"),
    Status.CARRIED: ("#5d4037", "#fff3c4"),
    Status.WRONG: ("#b71c1c", "#ffcdd2"),
    Status.NOT_DONE: ("#424242", "#e0e0e0"),
    Status.INVALID: ("#4a148c", "#e1bee7"),  # purple: not the amber of CARRIED nor the red of WRONG
}


def _yes_no(value) -> str:
    return "-" if value is None else str(value)


def _maxdiff(value) -> str:
    return "-" if value is None else f"{value:.1e}"


def check_text(check: Check, width: int = 16, measured: bool = True) -> str:
    """One row. `measured` False leaves out exact/approx/maxdiff: checks of something other than a
    tensor (an evaluation function's cases) have none."""
    numbers = (f"exact: {_yes_no(check.exact):<5}  approx: {_yes_no(check.approx):<5}  "
               f"maxdiff: {_maxdiff(check.maxdiff):<7}  ") if measured else ""
    line = f"{_SYMBOL[check.status]} {check.label:<{width}} {check.status.value:<13} {numbers}{check.reason}"
    if check.details:
        line += "\n" + "\n".join("      " + row for row in check.details.splitlines())
    return line


def checks_text(checks, measured: bool = True) -> str:
    width = max([16, *(len(c.label) for c in checks)])
    return "\n".join(check_text(c, width, measured) for c in checks)


# Inline, so the table reads the same wherever the HTML lands: JupyterLab, or nbgrader's feedback
# page, whose stylesheet strips table cells of their padding.
_CELL_STYLE = "text-align:left;padding:4px 8px"


def _badge(status: Status) -> str:
    fg, bg = _BADGE[status]
    return (f'<span style="color:{fg};background:{bg};padding:1px 8px;border-radius:8px;'
            f'font-weight:600;white-space:nowrap">{_SYMBOL[status]} {status.value}</span>')


def prose_html(text: str) -> str:
    """A reason as HTML: escaped, with its `code spans` shown as code (in plain text they keep
    their backticks)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _row_html(check: Check, measured: bool = True) -> str:
    details = ""
    if check.details:
        details = (f'<details><summary>torch.testing says</summary>'
                   f'<pre style="margin:0">{html.escape(check.details)}</pre></details>')
    numbers = [_yes_no(check.exact), _yes_no(check.approx), _maxdiff(check.maxdiff)] if measured else []
    cells = [
        f"<code>{html.escape(check.label)}</code>",
        _badge(check.status),
        *numbers,
        f'<div style="text-align:left">{prose_html(check.reason)}{details}</div>',
    ]
    return "<tr>" + "".join(f'<td style="{_CELL_STYLE}">{c}</td>' for c in cells) + "</tr>"


def checks_html(checks, caption: str = "", note: str = "", measured: bool = True) -> str:
    columns = ("gradient", "verdict", "exact", "approx", "maxdiff", "why") if measured else ("check", "verdict", "why")
    head = "".join(f'<th style="{_CELL_STYLE}">{h}</th>' for h in columns)
    note = f' <span style="font-weight:normal;opacity:0.7">({html.escape(note)})</span>' if note else ""
    cap = (f'<caption style="text-align:left;font-weight:600;padding-bottom:4px">'
           f'{html.escape(caption)}{note}</caption>') if caption else ""
    rows = "".join(_row_html(c, measured) for c in checks)
    return f'<table class="backprop-ninja-report">{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
