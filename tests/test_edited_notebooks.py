"""Ordinary student edits graded as a marker would (checker/grading/lesson_cells.py): a duplicated
answer or check cell, an answer deleted with its check, nbgrader's metadata lost, cells out of order;
and a notebook of another lesson refused in one sentence, in grades.csv, on the feedback page and
by `make validate`. Through the real `make grade` in the one graded class (tests/graded_class.py),
and the step itself on notebooks (fast)."""

import copy
import subprocess
import uuid

import nbformat
import pytest

from checker.grading.lesson_cells import NotThisLesson, check_lesson, lesson_notebook, other_lessons, restore
from course import ENV, LESSONS, ROOT, SOLUTIONS, nbgrader_meta, read, solutions_by_id, with_answers

EX1 = "04_makemore_atomic_backprop/makemore_atomic_backprop.ipynb"
EX2 = "05_makemore_fused_cross_entropy/makemore_fused_cross_entropy.ipynb"
STUB = "# YOUR CODE HERE"


def blank(relpath):
    return read(LESSONS / relpath)


def answered(relpath):
    return with_answers(blank(relpath), solutions_by_id(SOLUTIONS / relpath))


def at(nb, grade_id) -> int:
    return next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)


def pasted(cell):
    """A copy as JupyterLab pastes it: the same metadata (grade_id and all), a new cell id."""
    cell = copy.deepcopy(cell)
    cell.id = uuid.uuid4().hex[:8]
    return cell


def answer_in_the_copy():
    """answer_dh copied while still blank, pasted below, and answered in the copy."""
    nb = blank(EX1)
    i = at(nb, "answer_dh")
    nb.cells.insert(i, pasted(nb.cells[i]))
    done = answered(EX1)
    for k, cell in enumerate(nb.cells):  # every answer typed in, the second answer_dh included
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and k != i:
            cell.source = done.cells[at(done, grade_id)].source
    return nb


def unused_copy_after_the_answer():
    """answer_dh answered, then a blank copy of it pasted below and left: Run All would undo dh."""
    nb = answered(EX1)
    i = at(nb, "answer_dh")
    nb.cells.insert(i + 1, pasted(blank(EX1).cells[at(blank(EX1), "answer_dh")]))
    return nb


def duplicated_check():
    nb = answered(EX2)
    i = at(nb, "check_dlogits")
    nb.cells.insert(i + 1, pasted(nb.cells[i]))
    return nb


def deleted_with_its_check():
    """answer_db2 and check_db2 deleted together (db2 is used by no later step)."""
    nb = answered(EX1)
    i = at(nb, "answer_db2")
    del nb.cells[i:i + 2]
    return nb


def metadata_lost():
    """answer_dh pasted from elsewhere (no metadata at all), check_dh's nbgrader metadata cleared."""
    nb = answered(EX1)
    nb.cells[at(nb, "answer_dh")].metadata = {}
    nb.cells[at(nb, "check_dh")].metadata["nbgrader"] = {}
    return nb


def reordered():
    """answer_db2 and check_db2 dragged to the top of the answers, before dlogits exists."""
    nb = answered(EX1)
    i = at(nb, "answer_db2")
    moved = nb.cells[i:i + 2]
    del nb.cells[i:i + 2]
    j = at(nb, "answer_dlogprobs")
    nb.cells[j:j] = moved
    return nb


NOT_THIS_LESSON = ("makemore_fused_cross_entropy.ipynb is not lesson 05_makemore_fused_cross_entropy's notebook "
                   "(it holds 3 of the lesson's 10 cells, and looks like lesson 04_makemore_atomic_backprop's): "
                   "hand in the notebook of lessons/05_makemore_fused_cross_entropy/, with your answers in it.")
GRADED_FROM = "was graded from the lesson's own cells: "
SUBMISSIONS = {
    # student: (notebook, where it is handed in, score, max, status, reason)
    "answer_in_the_copy": (answer_in_the_copy, EX1, 26, 26, "graded",
                           f"makemore_atomic_backprop.ipynb {GRADED_FROM}2 copies of answer_dh: the last one with your code was graded"),
    "unused_copy": (unused_copy_after_the_answer, EX1, 26, 26, "graded",
                    f"makemore_atomic_backprop.ipynb {GRADED_FROM}2 copies of answer_dh: the last one with your code was graded"),
    "duplicated_check": (duplicated_check, EX2, 2, 2, "graded",
                         f"makemore_fused_cross_entropy.ipynb {GRADED_FROM}2 copies of check_dlogits: one was graded"),
    "deleted_with_its_check": (deleted_with_its_check, EX1, 25, 26, "graded",
                               f"makemore_atomic_backprop.ipynb {GRADED_FROM}answer_db2 and check_db2 were missing: "
                               "put back from the lesson, answers left unanswered"),
    "metadata_lost": (metadata_lost, EX1, 26, 26, "graded",
                      f"makemore_atomic_backprop.ipynb {GRADED_FROM}nbgrader's metadata of answer_dh and check_dh was "
                      "lost or changed: given back from the lesson"),
    "reordered": (reordered, EX1, 26, 26, "graded",
                  f"makemore_atomic_backprop.ipynb {GRADED_FROM}cells were out of the lesson's order: put back in it"),
    "another_lesson": (lambda: answered(EX1), EX2, 0, 2, "not graded", NOT_THIS_LESSON),
}


def class_submissions():
    """This file's students in the one graded class (tests/graded_class.py)."""
    return {(student, relpath): make() for student, (make, relpath, *_) in SUBMISSIONS.items()}


@pytest.fixture(scope="module")
def graded(graded_class):
    return graded_class.view(__name__)


@pytest.mark.parametrize("student", SUBMISSIONS)
def test_each_edited_notebook_gets_its_exact_score_status_and_reason(graded, student):
    _, _, score, top, status, reason = SUBMISSIONS[student]
    row = graded.rows[student]
    assert (float(row["score"]), float(row["max_score"]), row["status"], row["reason"]) == (score, top, status, reason)


def test_a_restored_answer_cell_holds_the_placeholder_and_its_check_says_not_done_yet(graded):
    nb = read(graded.path("autograded", "deleted_with_its_check", EX1))
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells]
    assert ids[1:] == [nbgrader_meta(c)["grade_id"] for c in blank(EX1).cells]  # the note first, then the lesson
    assert nb.cells[ids.index("answer_db2")].source == blank(EX1).cells[at(blank(EX1), "answer_db2")].source
    errors = [o for o in nb.cells[ids.index("check_db2")].outputs if o.get("output_type") == "error"]
    assert len(errors) == 1 and "db2 is not done yet" in errors[0]["evalue"], errors


def test_the_feedback_page_says_what_was_put_back_or_why_it_was_not_graded(graded):
    page = graded.path("feedback", "reordered", EX1.replace(".ipynb", ".html")).read_text()
    assert "How this notebook was graded." in page and "put back in it" in page
    page = graded.path("feedback", "another_lesson", EX2.replace(".ipynb", ".html")).read_text()
    assert "Your notebook was not graded." in page and "looks like lesson 04_makemore_atomic_backprop&#x27;s" in page
    assert "traceback" not in page.lower()


def test_plain_nbgrader_autograde_puts_the_cells_back_too(graded):
    plain = graded.plain_scores()
    expected = {s: float(graded.rows[s]["score"]) for s, (_, relpath, *_rest) in SUBMISSIONS.items()
                if graded.rows[s]["status"] == "graded"}
    assert {s: plain[s] for s in expected} == expected and expected


# make validate, on Exercise 2 (a short notebook) -----------------------------------------------
def validate(tmp_path, nb, relpath=EX2):
    path = tmp_path / relpath
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return subprocess.run(["make", "-s", "validate", f"NB={path}"], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)


def test_make_validate_refuses_another_lessons_notebook_in_one_sentence(tmp_path):
    done = validate(tmp_path, answered(EX1))
    assert done.returncode != 0
    assert done.stdout.strip().splitlines() == [NOT_THIS_LESSON, "Validation FAILED."], done.stdout + done.stderr


def test_make_validate_validates_a_duplicated_cell_as_grading_will(tmp_path):
    nb = blank(EX2)
    i = at(nb, "answer_dlogits")
    nb.cells.insert(i + 1, pasted(answered(EX2).cells[i]))
    done = validate(tmp_path, nb)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == ("Note: your notebook is not as the lesson has it, and grading will grade it from the lesson's own "
                        "cells (2 copies of answer_dlogits: the last one with your code was graded); it is validated that way here.")
    assert lines[-1] == "Validation passed."


# the step on notebooks (fast) ------------------------------------------------------------------
def source(relpath):
    lesson, name = relpath.split("/")
    return lesson_notebook(ROOT, lesson, name.removesuffix(".ipynb"), STUB)


def ids(nb):
    return [nbgrader_meta(c).get("grade_id") for c in nb.cells]


@pytest.mark.parametrize("relpath", sorted(str(p.relative_to(LESSONS)) for p in LESSONS.glob("*/*.ipynb")))
def test_an_ordinary_notebook_is_left_exactly_as_it_is(relpath):
    for nb in (blank(relpath), answered(relpath)):
        before = copy.deepcopy(nb)
        check_lesson(nb.cells, source(relpath), relpath.split("/")[0], "x")
        after, done = restore(nb, source(relpath))
        assert (after, done) == (before, [])


def test_every_lessons_notebook_is_refused_under_another_lessons_name():
    lessons = sorted(str(p.relative_to(LESSONS)) for p in LESSONS.glob("*/*.ipynb"))
    everyone = other_lessons(ROOT, STUB)
    others = lambda: everyone  # noqa: E731
    for mine in lessons:
        for handed_in_as in lessons:
            if mine != handed_in_as:
                lesson = handed_in_as.split("/")[0]
                with pytest.raises(NotThisLesson, match=f"looks like lesson {mine.split('/')[0]}'s"):
                    check_lesson(answered(mine).cells, source(handed_in_as), lesson, "x", others)


@pytest.mark.parametrize("make", [answer_in_the_copy, unused_copy_after_the_answer, deleted_with_its_check,
                                  metadata_lost, reordered])
def test_the_lessons_cells_come_back_once_each_in_order_with_the_learners_answer(make):
    nb, done = restore(make(), source(EX1))
    assert ids(nb) == ids(blank(EX1)) and len(done) == 1
    for cell in nb.cells:
        assert nbgrader_meta(cell) == nbgrader_meta(blank(EX1).cells[at(blank(EX1), nbgrader_meta(cell)["grade_id"])])
    if make is not deleted_with_its_check:
        assert nb.cells[at(nb, "answer_dh")].source == answered(EX1).cells[at(answered(EX1), "answer_dh")].source


def test_the_learners_own_cells_stay_where_they_were_and_other_copies_with_code_run_before():
    nb = answered(EX1)
    i = at(nb, "answer_dh")
    helper = pasted(nb.cells[i])
    helper.source = "def twice(x):\n    return 2 * x"
    mine = nbformat.v4.new_code_cell("print('my note')")
    foreign = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "from_elsewhere", "locked": True}})
    nb.cells[i:i] = [helper]
    nb.cells.insert(at(nb, "check_dh") + 1, mine)
    nb.cells.append(foreign)
    nb.cells.insert(0, copy.deepcopy(nb.cells[at(nb, "check_dlogprobs")]))  # a locked copy, moved: ignored
    restored, done = restore(nb, source(EX1))
    texts = [c.source for c in restored.cells]
    k = texts.index(helper.source)
    assert ids(restored)[k] is None and ids(restored)[k + 1] == "answer_dh"
    assert texts[texts.index(mine.source) - 1] == blank(EX1).cells[at(blank(EX1), "check_dh")].source
    assert texts[-1] == "x = 1" and "nbgrader" not in restored.cells[-1].metadata
    assert [i for i in ids(restored) if i] == ids(blank(EX1))
    assert done == ["2 copies of check_dlogprobs: one was graded", "2 copies of answer_dh: the last one with your code was graded",
                    "1 of your own cells carried nbgrader's metadata of cells this lesson does not have: removed"]
