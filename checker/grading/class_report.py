"""`make report`: what the class got wrong, for the instructor, from the grader's own verdicts.

    grades.csv + autograded/<student>/<lesson>/*.ipynb  ->  report/index.html, report/checks.csv

Every graded check cell's verdict is kept by the grading run itself (judge.py writes it into the
autograded notebook's metadata, ApplyRules marks the checks the rules set to 0), so the report and
the feedback pages always agree, and no text is read back from the notebooks. The page is one
self-contained file, pictures included, that opens offline. `make grade` writes it at its end, and
`grades_canvas.csv` beside grades.csv: the grades in Canvas's gradebook import format.

    python -m checker.grading.class_report [COURSE]
"""

import base64
import csv
import html
import io
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnose import NO_KNOWN_MISTAKE
from .judge import VERDICTS_KEY
from .grades_csv import GRADED, GRADES_FILE

REPORT_FOLDER = "report"
CANVAS_FILE = "grades_canvas.csv"

# What the report counts for each check, in this order: the grader's status, or "flagged" when the
# lesson's rules set the check to 0. The colours are the scoreboard's (checker/check.py).
KINDS = ("right", "carried", "wrong", "not done", "cannot check", "flagged")
KIND_OF_STATUS = {"correct": "right", "carried": "carried", "wrong": "wrong", "not_done": "not done",
                  "invalid": "cannot check"}
COLOURS = {"right": "#66bb6a", "carried": "#ffd54f", "wrong": "#e57373", "not done": "#e0e0e0",
           "cannot check": "#ba68c8", "flagged": "#424242", "no submission": "#ffffff"}
TOP_MISTAKES = 8
NEEDS_HELP = 10


@dataclass
class Verdict:
    check: str  # the gradient or function checked, e.g. "dlogprobs"
    grade_id: str
    kind: str  # one of KINDS
    mistake: str = ""
    reason: str = ""


@dataclass
class Submission:
    student: str
    lesson: str
    status: str
    reason: str
    score: float | None
    max_score: float | None
    verdicts: list = field(default_factory=list)  # Verdict, in the notebook's order


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_class(course: Path) -> list[Submission]:
    """Every row of grades.csv, with the verdicts the grading run kept for it."""
    with open(course / GRADES_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    submissions = []
    for row in rows:
        submission = Submission(row["student_id"], row["assignment"], row["status"], row.get("reason", ""),
                                _number(row.get("score")), _number(row.get("max_score")))
        if submission.status in GRADED:
            for path in sorted((course / "autograded" / submission.student / submission.lesson).glob("*.ipynb")):
                submission.verdicts += _verdicts(path)
        submissions.append(submission)
    return submissions


def _verdicts(path: Path) -> list[Verdict]:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return []
    found = []
    for v in metadata.get(VERDICTS_KEY[0], {}).get(VERDICTS_KEY[1], []):
        kind = "flagged" if v.get("flagged") else KIND_OF_STATUS.get(v.get("status"), "cannot check")
        found.append(Verdict(str(v.get("check", "")), str(v.get("grade_id", "")), kind, str(v.get("mistake", "")),
                             str(v.get("reason", ""))))
    return found


# ------------------------------------------------------------------------------------------- counts

@dataclass
class CheckCounts:
    lesson: str
    grade_id: str
    check: str
    counts: Counter = field(default_factory=Counter)  # kind -> students
    first_wrong: int = 0  # students whose first wrong step is this one
    mistakes: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)  # mistake -> one reason the grader gave for it


def count_checks(submissions: list[Submission]) -> dict[str, list[CheckCounts]]:
    """Per lesson, per check in the lesson's order: how many students had each kind of verdict, how
    many first went wrong there, and which mistakes they made."""
    by_lesson: dict[str, dict[str, CheckCounts]] = defaultdict(dict)
    for s in sorted(submissions, key=lambda s: (s.lesson, s.student)):
        checks = by_lesson[s.lesson]
        first = next((v for v in s.verdicts if v.kind == "wrong"), None)
        for v in s.verdicts:
            counts = checks.setdefault(v.grade_id, CheckCounts(s.lesson, v.grade_id, v.check))
            counts.counts[v.kind] += 1
            if v is first:
                counts.first_wrong += 1
            if v.kind == "wrong":
                mistake = v.mistake or NO_KNOWN_MISTAKE
                counts.mistakes[mistake] += 1
                counts.examples.setdefault(mistake, v.reason)
    return {lesson: list(checks.values()) for lesson, checks in sorted(by_lesson.items())}


CSV_COLUMNS = ["lesson", "grade_id", "check", "students", "right", "carried", "wrong", "not_done", "cannot_check",
               "flagged", "first_wrong", "top_mistake", "top_mistake_students"]


def write_checks_csv(counted: dict, path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for checks in counted.values():
            for c in checks:
                top, top_count = (c.mistakes.most_common(1) or [("", 0)])[0]
                writer.writerow([c.lesson, c.grade_id, c.check, sum(c.counts.values()),
                                 *(c.counts[k] for k in KINDS), c.first_wrong, top, top_count])


# ------------------------------------------------------------------------------------------- Canvas

def write_canvas_csv(submissions: list[Submission], path: Path, names: dict | None = None) -> None:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then one column per
    lesson; the second row gives the points possible. Canvas matches a row by its SIS Login ID, here
    nbgrader's student id. A submission not handed in scores 0; one that could not be graded is left
    blank, for the instructor to decide."""
    names = names or {}
    lessons = sorted({s.lesson for s in submissions})
    points = {lesson: max((s.max_score or 0.0) for s in submissions if s.lesson == lesson) for lesson in lessons}
    by_student: dict[str, dict[str, str]] = defaultdict(dict)
    for s in submissions:
        if s.status in GRADED:
            by_student[s.student][s.lesson] = f"{s.score or 0.0:g}"
        elif s.status == "missing":
            by_student[s.student][s.lesson] = "0"
        else:
            by_student[s.student].setdefault(s.lesson, "")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *lessons])
        writer.writerow(["Points Possible", "", "", "", "", *(f"{points[lesson]:g}" for lesson in lessons)])
        for student in sorted(by_student):
            writer.writerow([names.get(student, student), "", "", student, "",
                             *(by_student[student].get(lesson, "") for lesson in lessons)])


def gradebook_names(course: Path) -> dict:
    """{student id: "Last, First"} for the students nbgrader's gradebook knows by name."""
    database = course / "gradebook.db"
    if not database.is_file():
        return {}
    import sqlite3

    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            rows = connection.execute("SELECT id, first_name, last_name FROM student").fetchall()
    except sqlite3.Error:
        return {}
    return {i: f"{last}, {first}" for i, first, last in rows if first and last}


# ------------------------------------------------------------------------------------------- pictures

def _pyplot():
    """matplotlib's pyplot, drawing into memory (no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> str:
    """A matplotlib figure as an <img> whose picture is inside the page."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(figure)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def heatmap(lesson: str, checks: list[CheckCounts], submissions: list[Submission]) -> str:
    """Students × checks, one colour per kind of verdict."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    kinds = list(KINDS) + ["no submission"]
    students = sorted((s for s in submissions if s.lesson == lesson and s.verdicts), key=lambda s: s.student)
    column = {c.grade_id: i for i, c in enumerate(checks)}
    grid = [[kinds.index("no submission")] * len(checks) for _ in students]
    for row, s in enumerate(students):
        for v in s.verdicts:
            grid[row][column[v.grade_id]] = kinds.index(v.kind)
    figure, axes = plt.subplots(figsize=(max(4.0, 0.32 * len(checks) + 2), max(1.5, 0.22 * len(students) + 1.2)))
    axes.imshow(grid, cmap=ListedColormap([COLOURS[k] for k in kinds]), vmin=0, vmax=len(kinds) - 1, aspect="auto")
    axes.set_xticks(range(len(checks)), [c.check for c in checks], rotation=90, fontsize=8)
    axes.set_yticks(range(len(students)), [s.student for s in students], fontsize=7)
    axes.legend(handles=[Patch(facecolor=COLOURS[k], edgecolor="#999", label=k) for k in KINDS],
                loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    axes.set_title(f"{lesson}: each student's verdict on each check", fontsize=10)
    return _png(figure)


def top_mistakes(checks: list[CheckCounts]) -> list:
    """[((check, mistake), students)], the TOP_MISTAKES most common of a lesson."""
    return Counter({(c.check, m): n for c in checks for m, n in c.mistakes.items()}).most_common(TOP_MISTAKES)


def mistakes_chart(lesson: str, top: list) -> str:
    """A bar for each of `top` (top_mistakes)."""
    figure, axes = _pyplot().subplots(figsize=(8, 0.4 * len(top) + 0.8))
    labels = [f"{check}: {_short(mistake, 70)}" for (check, mistake), _ in top][::-1]
    axes.barh(labels, [n for _, n in top][::-1], color=COLOURS["wrong"])
    axes.set_xlabel("students")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_title(f"{lesson}: the most common mistakes", fontsize=10)
    return _png(figure)


def histogram(lesson: str, submissions: list[Submission]) -> str:
    scores = [s.score for s in submissions if s.lesson == lesson and s.status in GRADED and s.score is not None]
    top = max((s.max_score or 0.0 for s in submissions if s.lesson == lesson), default=0.0)
    if not scores:
        return ""
    figure, axes = _pyplot().subplots(figsize=(5, 2.2))
    axes.hist(scores, bins=min(20, max(1, int(top) + 1)), range=(0, max(top, 1.0)), color="#5c6bc0")
    axes.set_xlabel(f"score (of {top:g})")
    axes.set_ylabel("students")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(f"{lesson}: scores", fontsize=10)
    return _png(figure)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


# ------------------------------------------------------------------------------------------- the page

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td.l,th.l{text-align:left}caption{text-align:left;font-weight:600;padding:4px 0}
h2{border-bottom:2px solid #5c6bc0;padding-bottom:4px;margin-top:2em}.note{color:#555}"""


def _table(caption: str, head: list[str], rows: list[list]) -> str:
    """Numbers right-aligned, words left-aligned, a column's heading as its cells."""
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(head))]

    def cells(row, tag):
        return "".join(f'<{tag}{"" if numeric[i] else " class=l"}>{html.escape(str(x))}</{tag}>' for i, x in enumerate(row))
    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    return f"<table><caption>{html.escape(caption)}</caption><tr>{cells(head, 'th')}</tr>{body}</table>"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _needs_help(submissions: list[Submission]) -> list[list]:
    """The students with the lowest share of points over the lessons graded, then most carried steps."""
    points, possible, carried = Counter(), Counter(), Counter()
    for s in submissions:
        if s.status in GRADED or s.status == "missing":
            points[s.student] += s.score or 0.0
            possible[s.student] += s.max_score or 0.0
        carried[s.student] += sum(v.kind == "carried" for v in s.verdicts)
    share = {st: points[st] / possible[st] for st in possible if possible[st]}
    ranked = sorted(share, key=lambda st: (share[st], -carried[st], st))[:NEEDS_HELP]
    return [[st, f"{100 * share[st]:.0f}%", f"{points[st]:g} of {possible[st]:g}", carried[st]] for st in ranked]


def _check_names(checks: list[CheckCounts]) -> dict:
    """{grade_id: "check <name>"}, with the grade_id beside a name two checks share."""
    repeated = {n for n, k in Counter(c.check for c in checks).items() if k > 1}
    return {c.grade_id: f"check {c.check}" + (f" ({c.grade_id})" if c.check in repeated else "") for c in checks}


def page(submissions: list[Submission], counted: dict) -> str:
    lessons = sorted({s.lesson for s in submissions})
    students = sorted({s.student for s in submissions})
    parts = [f"<h1>What the class got wrong</h1><p class=note>{_plural(len(students), 'student')}, "
             f"{_plural(len(lessons), 'lesson')}, {_plural(sum(s.status in GRADED for s in submissions), 'submission')} graded. Every count comes from the grader's own "
             "verdicts, the ones on the feedback pages. <i>Carried</i>: right given the student's own earlier answers, "
             "wrong only because an earlier step is. <i>Flagged</i>: set to 0 by the lesson's rules.</p>"]
    unusual = [[s.student, s.lesson, s.status, s.reason] for s in submissions
               if s.status not in ("graded", "missing")]
    parts.append(_table("Flagged, for review and not graded", ["student", "lesson", "status", "why"], unusual)
                 if unusual else "<p>No submission was flagged, left for review or not graded.</p>")
    parts.append(_table("Students who may need help (lowest share of points, then most carried steps)",
                        ["student", "share", "points", "carried steps"], _needs_help(submissions)))
    for lesson in lessons:
        checks = counted.get(lesson, [])
        parts.append(f'<h2 id="{html.escape(lesson)}">{html.escape(lesson)}</h2>')
        parts.append(histogram(lesson, submissions))
        if not checks:
            parts.append("<p>No graded verdicts for this lesson.</p>")
            continue
        names = _check_names(checks)
        rows = [[names[c.grade_id], *(c.counts[k] for k in KINDS), c.first_wrong,
                 (c.mistakes.most_common(1) or [("", 0)])[0][0]] for c in checks]
        parts.append(_table("Per check: students with each verdict, and where each student first went wrong",
                            ["check", *KINDS, "first wrong here", "most common mistake"], rows))
        top = top_mistakes(checks)
        examples = {(c.check, m): c.examples[m] for c in checks for m in c.mistakes}
        if top:
            parts.append(mistakes_chart(lesson, top))
            parts.append(_table("The most common mistakes, with what the grader told one student (names left out)",
                                ["check", "mistake", "students", "the grader's words"],
                                [[check, mistake, n, _short(examples[check, mistake], 300)]
                                 for (check, mistake), n in top]))
        parts.append(heatmap(lesson, checks, submissions))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report</title><style>{STYLE}</style>"
            f"</head><body>{''.join(parts)}</body></html>")


def write_report(course: Path) -> Path:
    """report/index.html and report/checks.csv, and grades_canvas.csv; returns the page's path."""
    submissions = read_class(course)
    counted = count_checks(submissions)
    folder = course / REPORT_FOLDER
    folder.mkdir(exist_ok=True)
    write_checks_csv(counted, folder / "checks.csv")
    write_canvas_csv(submissions, course / CANVAS_FILE, gradebook_names(course))
    target = folder / "index.html"
    target.write_text(page(submissions, counted), encoding="utf-8")
    return target


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    course = Path(args[0] if args else ".").resolve()
    if not (course / GRADES_FILE).is_file():
        print(f"{course} has no {GRADES_FILE}: grade the class first (make grade), then make report.")
        return 2
    page_path = write_report(course)
    print(f"Class report in {page_path.relative_to(course)} (counts in {REPORT_FOLDER}/checks.csv); "
          f"grades for Canvas in {CANVAS_FILE}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
