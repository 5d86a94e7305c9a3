"""`make grade` end to end, on a temporary course built from the real solutions/, with the
submissions an instructor meets: honest, blank, half done, cheating, broken, hostile."""

import re

import nbformat
import pytest
import torch

from checker.lessons import makemore
from course import ROOT, SOLUTIONS, fetched_from_the_network, nbgrader_meta, read, solutions_by_id, with_answers

LESSON = "04_makemore_atomic_backprop"
NOTEBOOK = f"{LESSON}/makemore_atomic_backprop.ipynb"
TOTAL = 26


def lesson():
    """The released lesson, as a learner gets it."""
    return read(ROOT / "lessons" / NOTEBOOK)


def answer_cells(nb):
    return [c for c in nb.cells if nbgrader_meta(c).get("solution")]


def fill(nb, count=TOTAL, replace=None):
    """Type the solution into the first `count` answer cells; `replace` maps a grade_id to other code."""
    solutions = solutions_by_id(SOLUTIONS / NOTEBOOK)
    answers = {nbgrader_meta(c)["grade_id"]: solutions[nbgrader_meta(c)["grade_id"]] for c in answer_cells(nb)[:count]}
    return with_answers(nb, {**answers, **(replace or {})})


def graded_cells_after(nb, count):
    return [c for c in nb.cells if nbgrader_meta(c).get("grade")][count:]


def autograd_cheat():
    """The cheat that fooled a plain nbgrader course: let autograd compute every answer."""
    cheat = ("P = {k: v.clone().requires_grad_() for k, v in setup.params.items()}\n"
             "T = makemore.forward(P, Xb, Yb)\n"
             "for t in T.values():\n    t.retain_grad()\n"
             "T['loss'].backward()\n"
             "dlogprobs = T['logprobs'].grad")
    others = {f"answer_d{name}": f"d{name} = (T.get('{name}') if '{name}' in T else P['{name}']).grad"
              for name in makemore.GRADIENT_ORDER[1:]}
    return fill(lesson(), 0, {"answer_dlogprobs": cheat, **others})


def hard_coded():
    """Every answer typed in as numbers from the learner's own (default-seed) run."""
    setup = makemore.MakemoreSetup(seed=makemore.DEFAULT_SEED)
    reference = makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32)
    return fill(lesson(), 0, {f"answer_d{name}": f"d{name} = torch.tensor({reference[name].tolist()})"
                              for name in makemore.GRADIENT_ORDER})


def edited_tests():
    nb = fill(lesson(), 13)
    for cell in graded_cells_after(nb, 13):
        cell.source = "pass  # trust me"
    return nb


def with_a_note(nb):
    """A cell the student added, quoting nbgrader's marker without its end: feedback must survive it."""
    nb.cells.append(nbformat.v4.new_code_cell("# my note: where does ### BEGIN HIDDEN TESTS go?"))
    return nb


def deleted_tests():
    """Every answer right, the last 13 checks deleted: only nbgrader's restoring them gives 26."""
    nb = fill(lesson())
    doomed = {id(c) for c in graded_cells_after(nb, 13)}
    nb.cells = [c for c in nb.cells if id(c) not in doomed]
    return nb


def monkeypatched():
    patch = ("import checker\n"
             "ex.check = lambda *args, **kwargs: None\n"
             "checker.compare = lambda *args, **kwargs: None\n"
             "dlogprobs = None")
    return fill(lesson(), 0, {"answer_dlogprobs": patch})


SUBMISSIONS = {
    # student: (notebook or raw text, expected score, expected status, words expected in the reason)
    "full": (lambda: fill(lesson()), TOTAL, "graded", ""),
    "blank": (lesson, 0, "graded", ""),
    "half": (lambda: with_a_note(fill(lesson(), 13)), 13, "graded", ""),
    "grad_cheat": (autograd_cheat, 0, "flagged", "answer_dlogprobs line 2 turns `requires_grad` on"),
    # dlogit_maxes and db1 are zero in exact arithmetic whatever the seed: copied numbers stay right
    "hard_coded": (hard_coded, 2, "graded", ""),
    "infinite_loop": (lambda: fill(lesson(), replace={"answer_dC": "while True:\n    pass"}), TOTAL - 1, "graded", ""),
    "os_exit": (lambda: fill(lesson(), replace={"answer_dh": "torch.os._exit(1)"}), 0, "not graded", "kernel died"),
    "segfault": (lambda: fill(lesson(), replace={"answer_dh": "import numpy\nnumpy.lib.stride_tricks.as_strided(numpy.zeros(1), (8,), (1 << 40,)).sum()"}), 0, "not graded", "kernel died"),
    "edited_tests": (edited_tests, 13, "graded", ""),
    "deleted_tests": (deleted_tests, TOTAL, "graded", ""),
    # not a rule's business: the hidden tests judge with the grader's own checker, whatever the kernel patched
    "monkeypatched": (monkeypatched, 0, "graded", ""),
    "invalid_json": (lambda: '{"cells": [', 0, "invalid notebook", "is not a valid notebook"),
}


def class_submissions():
    """This file's students in the one graded class (tests/graded_class.py)."""
    return {(student, NOTEBOOK): make() for student, (make, *_) in SUBMISSIONS.items()}


@pytest.fixture(scope="module")
def graded(graded_class):
    return graded_class.view(__name__)


@pytest.mark.parametrize("student", SUBMISSIONS)
def test_each_submission_gets_its_exact_score_and_status(graded, student):
    rows = graded.rows
    _, score, status, reason = SUBMISSIONS[student]
    row = rows[student]
    assert (float(row["score"]), float(row["max_score"]), row["status"]) == (score, TOTAL, status), row
    assert reason in row["reason"]


def test_progress_and_feedback(graded):
    handed_in = sum(row["status"] != "missing" for row in graded.whole.rows.values())
    assert re.search(rf"\[{handed_in}/{handed_in}\]", graded.progress)
    for student, row in graded.rows.items():
        if row["status"] in ("graded", "flagged", "for review"):
            assert graded.path("feedback", student, f"{LESSON}/makemore_atomic_backprop.html").is_file()
    feedback = graded.path("feedback", "grad_cheat", f"{LESSON}/makemore_atomic_backprop.html").read_text()
    assert "FlaggedByGrader" in feedback and "turns `requires_grad` on" in feedback
    # the hidden tests' code is left out of the page, their results are not
    assert "hidden_check" not in feedback and "BEGIN HIDDEN TESTS" not in feedback
    assert fetched_from_the_network(feedback) == []  # its maths render offline (e2e/ shows them rendered)
    note = graded.path("feedback", "half", f"{LESSON}/makemore_atomic_backprop.html").read_text()
    assert "where does ### BEGIN HIDDEN TESTS go?" in note


def test_make_validate_fails_a_blank_lesson_and_passes_a_finished_one(tmp_path):
    """Validate (nbgrader's, as JupyterLab's button runs it) lists one failed cell, the scoreboard:
    "n/26 correct" and each step not yet right on a line of its own, not 26 "see the report above"."""
    import subprocess

    from course import ENV

    finished, slipped = tmp_path / LESSON / "finished.ipynb", tmp_path / LESSON / "slipped.ipynb"
    finished.parent.mkdir()
    nbformat.write(fill(lesson()), finished)
    nbformat.write(fill(lesson(), replace={"answer_dh": "dh = dlogits @ W2.T * 2", "answer_db2": "db2 = dlogits.sum(1)"}), slipped)
    said = {}
    for notebook, code, verdict in ((ROOT / "lessons" / NOTEBOOK, 2, "Validation FAILED"), (slipped, 2, "Validation FAILED"),
                                    (finished, 0, "Validation passed.")):
        done = subprocess.run(["make", "-s", "validate", f"NB={notebook}"], cwd=ROOT, env=ENV,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == code, done.stdout + done.stderr
        assert verdict in done.stdout
        said[notebook.stem] = done.stdout
    blank = said["makemore_atomic_backprop"]
    assert "VALIDATION FAILED ON 1 CELL(S)" in blank and "see the report above" not in blank, blank
    assert "0/26 correct in Exercise 1" in blank and blank.count(": not done yet") == 26, blank
    slips = said["slipped"]
    assert "VALIDATION FAILED ON 1 CELL(S)" in slips, slips
    assert re.search(r"\b1?\d/26 correct in Exercise 1", slips) and "\n      dh: wrong\n" in slips, slips
    assert "\n      dhpreact: right given earlier answers\n" in slips, slips
    assert "\n      db2: " in slips and "dW2:" not in slips, slips


@pytest.mark.parametrize("relpath", ["02_scalar_autograd_engine/scalar_autograd_engine.ipynb",
                                     "08_capstone_autograd_function/capstone_autograd_function.ipynb"])
def test_make_validate_passes_the_reference_answers_of_the_lessons_with_their_own_rules(tmp_path, relpath):
    """The scalar engine's `.grad` and the capstone's `torch.autograd.Function` are those lessons' own."""
    import subprocess

    from course import ENV

    answered = tmp_path / relpath
    answered.parent.mkdir()
    nbformat.write(with_answers(read(ROOT / "lessons" / relpath), solutions_by_id(SOLUTIONS / relpath)), answered)
    done = subprocess.run(["make", "-s", "validate", f"NB={answered}"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Validation passed." in done.stdout, done.stdout + done.stderr


def test_the_hidden_check_reads_its_own_checker_not_the_notebooks(monkeypatch):
    """What a monkeypatching learner changes (the notebook's `checker`) never reaches the hidden
    check, which loads its own copy: a placeholder still fails there, and a right answer passes."""
    import checker
    from checker.grading import verify

    setup = makemore.MakemoreSetup()
    right = makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32)["logprobs"]
    monkeypatch.setattr(checker.Exercise, "result", lambda self, label, yours, **kw: checker.Check(
        label, checker.Status.CORRECT, "patched"))
    monkeypatch.setattr(checker, "compare", lambda *args, **kwargs: checker.Check("d", checker.Status.CORRECT, "patched"))
    # the private copy's own CheckFailed, an AssertionError as nbgrader expects
    with pytest.raises(AssertionError, match="the grader's own check of dlogprobs: not done yet") as failed:
        verify.hidden_check("exercise1", "dlogprobs", None)
    assert type(failed.value).__name__ == "CheckFailed" and type(failed.value) is not checker.CheckFailed
    verify.hidden_check("exercise1", "dlogprobs", right.clone())
