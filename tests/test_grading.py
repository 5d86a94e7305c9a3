"""Real nbgrader runs: the lecture's reference solution earns full marks, the blank lesson earns 0."""

import csv
import shutil

import nbformat

from course import ROOT, SOLUTIONS, nbgrader_meta, read, run, solution_code

ASSIGNMENT = "04_makemore_atomic_backprop"
NOTEBOOK = "makemore_atomic_backprop.ipynb"


def lecture_answers() -> dict:
    """The answer cells as the lecture wrote them: our solution, except that the lecture's
    `dbnmeani` drops the summed dimension (shape (64,) for a (1, 64) tensor)."""
    answers = {nbgrader_meta(c)["grade_id"]: solution_code(c)
               for c in read(SOLUTIONS / ASSIGNMENT / NOTEBOOK).cells if nbgrader_meta(c).get("solution")}
    keepdim = "(-dbndiff).sum(0, keepdim=True)"
    assert keepdim in answers["answer_dbnmeani"]
    answers["answer_dbnmeani"] = answers["answer_dbnmeani"].replace(keepdim, "(-dbndiff).sum(0)")
    return answers


def submit(course, student, notebook):
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / NOTEBOOK)


def test_lecture_solution_full_marks_blank_lesson_zero(tmp_path):
    course = tmp_path
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    run("nbgrader", "generate_assignment", ASSIGNMENT, cwd=course)
    lesson = read(course / "lessons" / ASSIGNMENT / NOTEBOOK)
    submit(course, "blank", lesson)

    answers = lecture_answers()
    for cell in lesson.cells:
        if nbgrader_meta(cell).get("solution"):
            placeholder = cell.source.splitlines()[0]
            cell.source = placeholder + "\n" + answers[nbgrader_meta(cell)["grade_id"]]
    submit(course, "lecture", lesson)

    run("nbgrader", "autograde", ASSIGNMENT, cwd=course)
    run("nbgrader", "export", cwd=course)
    with open(course / "grades.csv") as f:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(f)}
    assert scores == {"lecture": (26.0, 26.0), "blank": (0.0, 26.0)}
