"""Verdicts made in the grader, from values the kernel hands out (checker/handout.py,
checker/grading/judge.py): cheats that reached the references or the verdict inside the kernel
score nothing, through `make grade` and plain `nbgrader autograde` alike; the grader's report
replaces the kernel's, and the graded kernel holds no reference."""

import nbformat
import pytest

from course import ROOT, nbgrader_meta, read, with_answers
import attacks
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


RED_TEAM = {**attacks.ATTACKS, **attacks.RIGHT}
# What the red team's attempts get where it is not 0 (or full marks for a right answer), and why:
# (score, status); a score of None: less than full marks.
RED_TEAM_SCORES = {
    # lesson 3's checker helpers for the 5 evaluation functions, the rest answered right: flagged from
    # that cell on, which comes after the 21 gradient checks
    "a03_eval_helpers_alias": (None, "flagged"),
    # every answer 1e-30 times noise, "right given" a negligible upstream: only the two steps whose
    # true gradient is zero for every seed (dlogit_maxes, db1) score, as for a sheet of zeros
    "a04_ecf_tiny_noise": (2, "graded"),
    "a04_ecf_tiny_signed": (2, "graded"),
    # autograd reached through getattr/setattr with names built at run time: no evidence a scan can
    # hold (`getattr(self, 'layer' + str(i))` is innocent), so it is listed for review, its score standing
    "a04_getattr_default": (26, "for review"),
    # numerical differentiation through the learner's own copy of the loss, not the lesson's forward
    # pass: ordinary tensor code, not seen (docs/instructors.md, "What it cannot stop")
    "a04_numdiff": (6, "graded"),
    "a06_numdiff": (4, "graded"),
    # Exercise 4's backward copied from lesson 07's own FastStep source: help the lesson itself shows
    "a07_copy_faststep": (11, "graded"),
    # the right formula left in float64: the check asks for float32 and says so, as in JupyterLab
    "a05_float64_answer": (0, "graded"),
    # a backward with zeros for 5 of 7 parameters: its right dW2, db2 and the always-zero db1 score,
    # the training check does not (5 parameters never moved)
    "a07_last_layer_only": (3, "graded"),
    # parameters trained at home and pasted in: help from outside the notebook; only Exercise 4's
    # training check (2 points) can be earned that way
    "a07_pasted_trained_params": (2, "graded"),
    # check_dlogit_maxes set to 100 points and pasted twice: graded once, at the lesson's 1 point
    # (checker/grading/lesson_cells.py), which its answer, zeros, earns: dlogit_maxes is zero for every seed
    "a04_metadata_points_dup": (1, "graded"),
}


# Plain `nbgrader autograde` grades these again, one of each way into the kernel (the others share
# the same pipeline steps, and CI's time is finite).
PLAIN_STUDENTS = {"references_through_self", "tensor_that_says_yes", "forged_hand_in", "sheet_of_zeros",
                  "references_of_exercise_2"}


def class_submissions():
    """This file's students in the one graded class (tests/graded_class.py)."""
    red_team = {(name, next(v for v in attacks.NB.values() if v.startswith(entry["lesson"] + "/"))):
                attacks.build_notebook(entry) for name, entry in RED_TEAM.items()}  # tests/attacks.py
    return {**red_team, **{(name, notebook): submission(notebook, answers, added)
                           for name, (notebook, answers, added, _) in CHEATS.items()}}


@pytest.fixture(scope="module")
def graded(graded_class):
    return graded_class.view(__name__)


@pytest.fixture(scope="module")
def make_grade(graded):
    return graded.rows


@pytest.mark.parametrize("cheat", CHEATS)
def test_a_cheat_on_the_kernel_scores_nothing(make_grade, cheat):
    row = make_grade[cheat]
    assert row["status"] in ("graded", "flagged", "for review"), row
    assert float(row["score"]) == CHEATS[cheat][3], row


@pytest.mark.parametrize("name", RED_TEAM)
def test_the_red_teams_corpus(make_grade, name):
    """Attempts to score without the work get nothing (or are listed for review, their score
    standing); right answers in unusual styles get full marks, unflagged."""
    row, expect = make_grade[name], RED_TEAM[name]["expect"]
    score, top = float(row["score"]), float(row["max_score"])
    if name in RED_TEAM_SCORES:
        expected, status = RED_TEAM_SCORES[name]
        assert row["status"] == status and (score == expected if expected is not None else score < top), row
    elif expect == "full":
        assert (score, row["status"]) == (top, "graded"), row
    elif expect == "review":
        assert row["status"] == "for review" and score > 0, row
    else:
        assert score == 0, row


def test_there_are_many_cheats_and_many_right_answers():
    cheats = [n for n, e in RED_TEAM.items() if e["expect"] != "full"] + list(CHEATS)
    assert len(cheats) >= 40 and len([n for n, e in RED_TEAM.items() if e["expect"] == "full"]) >= 15


def test_plain_nbgrader_autograde_gives_the_same_scores(make_grade, graded):
    """The same scores from nbgrader's own command, for the lessons whose cheats go deepest into
    the kernel (all of them would take CI minutes: the rest share the same pipeline steps)."""
    plain = graded.plain_scores()
    assert len(plain) >= len(PLAIN_STUDENTS)
    assert plain == {student: float(row["score"]) for student, row in make_grade.items() if student in plain}


def test_the_feedback_page_shows_the_graders_report(graded):
    page = graded.path("feedback", "sheet_of_zeros", CHEATS["sheet_of_zeros"][0]).with_suffix(".html").read_text()
    assert "does not match autograd" in page  # the grader's report, as JupyterLab words it
    assert "Exercise 1: backprop through every atomic step: 2/26 correct" in page  # the grader's scoreboard
    assert "backprop-ninja.answer+json" not in page  # the hand-in itself is not kept
