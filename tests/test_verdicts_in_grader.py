"""Verdicts made in the grader, from values the kernel hands out (checker/handout.py,
checker/grading/judge.py): cheats that reached the references or the verdict inside the kernel
score nothing, through `make grade` and plain `nbgrader autograde` alike; the grader's report
replaces the kernel's, and the graded kernel holds no reference."""

import csv
import shutil

import nbformat
import pytest

from checker.grading.run import scratch_course
from course import ENV, ROOT, nbgrader_meta, read, run, with_answers
from grader_cheats import CHEATS


def submission(notebook: str, answers: dict, added: dict):
    lesson = with_answers(read(ROOT / "lessons" / notebook), answers)
    cells = []
    for cell in lesson.cells:
        if nbgrader_meta(cell).get("grade_id") in added:
            cells.append(nbformat.v4.new_code_cell(added[nbgrader_meta(cell)["grade_id"]]))
        cells.append(cell)
    lesson.cells = cells
    return lesson


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return scratch_course(tmp_path_factory.mktemp("course"), {
        (name, notebook): submission(notebook, answers, added) for name, (notebook, answers, added, _) in CHEATS.items()})


@pytest.fixture(scope="module")
def make_grade(course):
    run("make", "-s", "grade", f"COURSE={course}", "GRADE_ARGS=--jobs 2 --cell-timeout 60", timeout=1500)
    with open(course / "grades.csv") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("cheat", CHEATS)
def test_a_cheat_on_the_kernel_scores_nothing(make_grade, cheat):
    row = make_grade[cheat]
    assert row["status"] in ("graded", "flagged", "for review"), row
    assert float(row["score"]) == CHEATS[cheat][3], row


def test_plain_nbgrader_autograde_gives_the_same_scores(make_grade, course, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(course, plain, ignore=shutil.ignore_patterns("autograded", "feedback", "gradebook.db", "grades.csv"))
    lessons = sorted({notebook.split("/")[0] for notebook, *_ in CHEATS.values()})
    for lesson in lessons:
        run("nbgrader", "generate_assignment", lesson, "--force", cwd=plain, env=ENV)
        run("nbgrader", "autograde", lesson, "--force", cwd=plain, env=ENV, timeout=1500)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{plain / 'gradebook.db'}") as gradebook:
        scores = {s.student.id: s.score for lesson in lessons for s in gradebook.find_assignment(lesson).submissions}
    assert scores == {student: float(row["score"]) for student, row in make_grade.items()}


def test_the_feedback_page_shows_the_graders_report(make_grade, course):
    page = (course / "feedback" / "sheet_of_zeros" / CHEATS["sheet_of_zeros"][0]).with_suffix(".html").read_text()
    assert "does not match autograd" in page  # the grader's report, as JupyterLab words it
    assert "Exercise 1: backprop through every atomic step: 2/26 correct" in page  # the grader's scoreboard
    assert "backprop-ninja.answer+json" not in page  # the hand-in itself is not kept
