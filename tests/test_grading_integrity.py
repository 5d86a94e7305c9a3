"""Grading decided outside the learner's kernel: cheats of many kinds get nothing for the checks
they touch, right answers in other styles get full marks unflagged, and plain `nbgrader autograde`
gives every submission the score `make grade` gives it, whatever the shell's environment says."""

import csv
import os
import shutil
from pathlib import Path

import pytest

from checker.grading.run import scratch_course
from course import ENV, ROOT, SOLUTIONS, nbgrader_meta, read, run, solutions_by_id, with_answers
from submissions import ALTERNATIVES_A, ALTERNATIVES_B, CHEATS

LESSON = "04_makemore_atomic_backprop"
NOTEBOOK = f"{LESSON}/makemore_atomic_backprop.ipynb"
TOTAL = 26


def submission(answers: dict, full: bool = False):
    """The released lesson with `answers` typed in; with `full`, the solutions everywhere else."""
    lesson = read(ROOT / "lessons" / NOTEBOOK)
    base = solutions_by_id(SOLUTIONS / NOTEBOOK) if full else {}
    return with_answers(lesson, {**base, **answers})


def checks_before(grade_id: str) -> int:
    """How many graded checks come before the answer cell `grade_id` (they keep their points)."""
    cells = read(ROOT / "lessons" / NOTEBOOK).cells
    index = next(i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade_id") == grade_id)
    return sum(bool(nbgrader_meta(c).get("grade")) for c in cells[:index])


# student: (notebook, expected score, expected status, words the reason must hold)
EXPECTED = {
    "alternatives_a": (submission(ALTERNATIVES_A), TOTAL, "graded", ""),
    "alternatives_b": (submission(ALTERNATIVES_B), TOTAL, "graded", ""),
    **{f"cheat_{name}": (submission(answers, full=True), checks_before(next(iter(answers))), "flagged", reason)
       for name, (answers, reason) in CHEATS.items()},
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return scratch_course(tmp_path_factory.mktemp("course"),
                          {(student, NOTEBOOK): nb for student, (nb, *_) in EXPECTED.items()})


def files(folder: Path) -> set:
    return {p.relative_to(folder) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def make_grade(course):
    before = files(course)
    run("make", "-s", "grade", f"COURSE={course}", "GRADE_ARGS=--jobs 2 --cell-timeout 30", timeout=1500)
    # what grading itself writes: the gradebook, grades.csv, autograded/ and feedback/ (each kernel's
    # scratch folder is its own autograded/<student>/<lesson>/), a submission's timestamp.txt, and
    # the course's exchange folder
    written = {p for p in files(course) - before
               if p.parts[0] not in ("autograded", "feedback", "exchange") and str(p) not in ("gradebook.db", "grades.csv", ".grading_secret")
               and not (p.parts[0] == "submitted" and p.name == "timestamp.txt")}
    with open(course / "grades.csv") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}, written


def test_no_submission_writes_outside_its_scratch_folder(make_grade, course):
    _, written = make_grade
    assert written == set()
    assert not Path("/tmp/backprop-ninja-planted-verify.py").exists()
    for student in EXPECTED:
        others = [p for p in files(course / "autograded" / student) if p.parts[0] != LESSON]
        assert others == [], student


def test_there_are_many_cheats_and_many_other_right_answers():
    assert len(CHEATS) >= 15
    assert len(ALTERNATIVES_A) + len(ALTERNATIVES_B) >= 30


@pytest.mark.parametrize("student", EXPECTED)
def test_make_grade(make_grade, student):
    _, score, status, reason = EXPECTED[student]
    row = make_grade[0][student]
    assert (float(row["score"]), float(row["max_score"]), row["status"]) == (score, TOTAL, status), row
    assert reason in row["reason"]
    if status == "flagged":
        assert "so checks from there on earn no points" in row["reason"]


def test_a_flagged_check_says_why_on_the_feedback_page(make_grade, course):
    page = (course / "feedback" / "cheat_checker_as_oracle" / NOTEBOOK).with_suffix(".html").read_text()
    assert "FlaggedByGrader" in page and "autograd_gradients" in page


def test_plain_nbgrader_autograde_gives_the_same_scores(make_grade, course, tmp_path):
    """As an instructor following nbgrader's documentation would, from a shell whose environment
    asks for the lessons' own seed and full training: the course's config decides, not the shell."""
    plain = tmp_path / "plain"
    shutil.copytree(course, plain, ignore=shutil.ignore_patterns("autograded", "feedback", "gradebook.db", "grades.csv"))
    env = {**ENV, "BACKPROP_NINJA_SEED": "2147483647", "BACKPROP_NINJA_FAST": "0", "BACKPROP_NINJA_CHECKER": str(tmp_path)}
    run("nbgrader", "generate_assignment", LESSON, "--force", cwd=plain, env=env)
    run("nbgrader", "autograde", LESSON, "--force", cwd=plain, env=env, timeout=1200)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{plain / 'gradebook.db'}") as gradebook:
        scores = {s.student.id: s.score for s in gradebook.find_assignment(LESSON).submissions}
    assert scores == {student: float(row["score"]) for student, row in make_grade[0].items()}


def test_the_lessons_own_seed_from_the_shell_does_not_reach_a_graded_kernel(course, tmp_path):
    """Numbers typed in from the learner's own run fail under the grader's seed, on every path."""
    from checker.grading.preprocessors import CourseExecute
    from checker.grading.seeds import seed_for
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nprint(os.environ.get('BACKPROP_NINJA_SEED'), os.environ.get('BACKPROP_NINJA_FAST'))")])
    saved = {k: os.environ.get(k) for k in ("BACKPROP_NINJA_SEED", "BACKPROP_NINJA_FAST")}
    os.environ.update(BACKPROP_NINJA_SEED="2147483647", BACKPROP_NINJA_FAST="0")
    try:
        for warm in (True, False):
            executed, _ = CourseExecute(kernel_name="backprop-ninja", warm_kernels=warm).preprocess(
                nb, {"metadata": {"path": str(tmp_path)}, "nbgrader": {"student": "alice"}})
            assert executed.cells[0].outputs[0]["text"].split() == [str(seed_for(ROOT, "alice")), "1"]
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
