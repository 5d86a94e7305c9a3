"""An instructor's overrules of the rules' flags: `overrules.csv` in the course folder, one row per
submission (student_id, assignment, note). ApplyRules reads it, so `make grade`, `nbgrader autograde`
and the Formgrader all leave an overruled submission's checks their points.

    make grade GRADE_ARGS="--overrule alice/04_makemore_atomic_backprop --note 'her own helper'"
"""

import csv
from pathlib import Path

OVERRULES_FILE = "overrules.csv"
COLUMNS = ["student_id", "assignment", "note"]


def read_overrules(course: Path) -> dict:
    """{(student_id, assignment): note}."""
    path = Path(course) / OVERRULES_FILE
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {(row["student_id"], row["assignment"]): row.get("note") or "" for row in csv.DictReader(f)}


def record_overrule(course: Path, student: str, assignment: str, note: str = "") -> None:
    rows = read_overrules(course)
    rows[(student, assignment)] = note
    with open(Path(course) / OVERRULES_FILE, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        for (s, a), n in sorted(rows.items()):
            writer.writerow(dict(student_id=s, assignment=a, note=n))
