"""`make validate NB=path`: check a notebook before handing it in; exits non-zero unless it passes.

`nbgrader validate` always exits 0, so its verdict is read from what it prints. The grader's scan
of the learner's cells (checker/rules.py, by the rules of the lesson the notebook's folder names)
runs too, so a learner hears of a broken rule before the grade does. The notebook is validated as
grading will see it: with the lesson's cells put back (lesson_cells.py: a duplicated cell, a
deleted one, lost metadata, cells out of order), which the learner is told in one line; one that
is not the lesson's notebook at all is refused in one sentence.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from ..rules import flagged_checks, judge
from .lesson_cells import NotThisLesson, as_graded
from .notebooks import tool_environment

COURSE = Path(__file__).resolve().parents[2]  # the course folder this checker belongs to (its solutions/)

PASSED = "Success! Your notebook passes all the tests."


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not argv[0]:
        print("Say which notebook to validate: make validate NB=lessons/04_makemore_atomic_backprop/makemore_atomic_backprop.ipynb")
        return 2
    path = Path(argv[0])
    try:
        notebook = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        print(f"There is no notebook at {path}.")
        return 2
    except Exception as error:
        print(f"{path} is not a valid notebook ({str(error).splitlines()[0] if str(error) else type(error).__name__}).")
        return 1
    lesson = path.resolve().parent.name
    try:
        notebook, restored = as_graded(notebook, COURSE, lesson, path.stem)
    except NotThisLesson as problem:
        print(f"{problem}")
        print("Validation FAILED.")
        return 1
    if restored:
        print(f"Note: your notebook is not as the lesson has it, and grading will grade it from the lesson's own cells "
              f"({'; '.join(restored)}); it is validated that way here.")
    with tempfile.TemporaryDirectory() as scratch:
        graded = Path(scratch) / lesson / path.name
        graded.parent.mkdir()
        nbformat.write(notebook, graded)
        done = subprocess.run(["nbgrader", "validate", str(graded if restored else path)], env=tool_environment(),
                              capture_output=True, text=True)
    print(done.stdout.strip() or _nbgrader_error(done.stderr))
    findings = flagged_checks(notebook.cells, path.resolve().parent.name)
    for reason in sorted(set(findings.values())):
        print(f"Flagged: {reason}.")
    if not findings and judge(notebook.cells, path.resolve().parent.name).review:
        print("Note: something in your cells is unusual enough that your instructor may read it; it costs no points.")
    passed = done.returncode == 0 and PASSED in done.stdout and not findings
    print("Validation passed." if passed else "Validation FAILED: see above.")
    return 0 if passed else 1


def _nbgrader_error(stderr: str) -> str:
    """What nbgrader said went wrong when it printed nothing on stdout (its errors go to its log)."""
    lines = [line.strip().removeprefix("[ValidateApp | ERROR]").strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "ERROR" in line or "failed" in line]
    return f"nbgrader could not validate the notebook: {(errors or lines or ['it printed nothing'])[-1]}"


if __name__ == "__main__":
    sys.exit(main())
