"""Grading decided outside the learner's kernel: cheats of many kinds get nothing for the checks
they touch, right answers in other styles get full marks unflagged, something unusual is for review
with its score standing, an instructor's overrule gives a flagged submission its points back, and
plain `nbgrader autograde` gives every submission the score `make grade` gives it, whatever the
shell's environment says."""

import csv
import os
from pathlib import Path

import pytest

from checker.grading.run import scratch_course
from course import ROOT, SOLUTIONS, nbgrader_meta, read, run, solutions_by_id, with_answers
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


# A tensor of the learner's own that requires grad: flagged, though it reads nothing (an overrule's case).
HARMLESS_FLAG = {"answer_dprobs": "dprobs = dlogprobs / probs\n_mine = torch.ones(1, requires_grad=True)"}
OVERRULE_NOTE = "a tensor of her own, nothing read from it"

# student: (notebook, expected score, expected status, words the reason must hold)
EXPECTED = {
    "alternatives_a": (submission(ALTERNATIVES_A), TOTAL, "graded", ""),
    "alternatives_b": (submission(ALTERNATIVES_B), TOTAL, "graded", ""),
    "forward_in_an_answer": (submission({"answer_dlogprobs": "dlogprobs = -F.one_hot(Yb, 27).float() / n\n"
                                                             "_ = makemore.forward(setup.params, Xb, Yb)"}, full=True),
                             TOTAL, "for review", "for review: answer_dlogprobs line 3 runs the lesson's forward pass"),
    "overruled": (submission(HARMLESS_FLAG, full=True), TOTAL, "graded",
                  f"flag overruled by the instructor: {OVERRULE_NOTE} (the rules said: answer_dprobs line 3 turns"),
    **{f"cheat_{name}": (submission(answers, full=status == "flagged"), checks_before(next(iter(answers))), status, reason)
       for name, (answers, status, reason) in CHEATS.items()},
}


OVERRULES = {"overruled": OVERRULE_NOTE}
# Plain `nbgrader autograde` grades these again: the overrule, the review, a right answer and one
# cheat of each kind of rule (CI's time is finite; the others share the same pipeline steps).
PLAIN_STUDENTS = {"overruled", "alternatives_a", "cheat_autograd_aliased", "cheat_hidden_tests_redirected",
                  "cheat_write_into_another_students_folder"}  # recorded before the class is graded (tests/graded_class.py)


def class_submissions():
    """This file's students in the one graded class (tests/graded_class.py)."""
    return {(student, NOTEBOOK): nb for student, (nb, *_) in EXPECTED.items()}


@pytest.fixture(scope="module")
def graded(graded_class):
    return graded_class.view(__name__)


@pytest.fixture(scope="module")
def make_grade(graded):
    return graded.rows


def test_no_submission_writes_outside_its_scratch_folder(graded):
    assert graded.written == []
    assert not Path("/tmp/backprop-ninja-planted-verify.py").exists()


def test_there_are_many_cheats_and_many_other_right_answers():
    assert len(CHEATS) >= 15
    assert len(ALTERNATIVES_A) + len(ALTERNATIVES_B) >= 30


@pytest.mark.parametrize("student", EXPECTED)
def test_make_grade(make_grade, student):
    _, score, status, reason = EXPECTED[student]
    row = make_grade[student]
    assert (float(row["score"]), float(row["max_score"]), row["status"]) == (score, TOTAL, status), row
    assert reason in row["reason"]
    if status == "flagged":
        assert "so checks from there on earn no points" in row["reason"]


def test_a_flagged_check_says_why_on_the_feedback_page(graded):
    page = graded.path("feedback", "cheat_nn_parameters_backward", NOTEBOOK).with_suffix(".html").read_text()
    assert "FlaggedByGrader" in page and "calls" in page and "on a tensor" in page


def test_an_item_for_review_is_on_the_feedback_page_and_costs_nothing(graded):
    page = graded.path("feedback", "forward_in_an_answer", NOTEBOOK).with_suffix(".html").read_text()
    assert "For your instructor&#x27;s review" in page or "For your instructor's review" in page
    assert "Your score is not affected" in page and "FlaggedByGrader" not in page


def test_plain_nbgrader_autograde_gives_the_same_scores(make_grade, graded):
    """As an instructor following nbgrader's documentation would, from a shell whose environment
    asks for the lessons' own seed and full training: the course's config decides, not the shell
    (tests/graded_class.py, _plain_autograde)."""
    plain = graded.plain_scores()
    assert set(plain) >= PLAIN_STUDENTS
    assert plain == {student: float(row["score"]) for student, row in make_grade.items() if student in plain}


def test_the_lessons_own_seed_from_the_shell_does_not_reach_a_graded_kernel(tmp_path):
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
            # (the guard refuses `import os` in a learner's cell: this cell stands for the course's)
            executed, _ = CourseExecute(kernel_name="backprop-ninja", warm_kernels=warm, guard=False).preprocess(
                nb, {"metadata": {"path": str(tmp_path)}, "nbgrader": {"student": "alice"}})
            assert executed.cells[0].outputs[0]["text"].split() == [str(seed_for(ROOT, "alice")), "1"]
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def test_overruling_a_flag_is_one_command(tmp_path):
    """`--overrule` records the overrule in overrules.csv and grades that submission again: its
    checks keep their points, and grades.csv says why."""
    course = scratch_course(tmp_path, {("alice", NOTEBOOK): submission(HARMLESS_FLAG, full=True)})
    run("make", "-s", "grade", f"COURSE={course}",
        f"GRADE_ARGS=--jobs 1 --cell-timeout 30 --overrule alice/{LESSON} --note 'her own tensor'")
    with open(course / "grades.csv") as f:
        row = next(csv.DictReader(f))
    assert (float(row["score"]), row["status"]) == (TOTAL, "graded"), row
    assert row["reason"].startswith("flag overruled by the instructor: her own tensor (the rules said: answer_dprobs line 3")
    assert "alice,04_makemore_atomic_backprop,her own tensor" in (course / "overrules.csv").read_text()
