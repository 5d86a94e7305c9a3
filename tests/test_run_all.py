""""Run All runs to the end" (README, every lesson's first cell): an answer cell that raises does not stop
the lesson, and what needed its answer says so in one sentence (checker/answer_cells.py).

The notebooks run in a real kernel through nbclient, which, like JupyterLab's Run All, stops at a
cell that raises unless the cell carries the `raises-exception` tag (JupyterLab sends such a cell
with `stop_on_error: false`, so the kernel does not drop the cells queued after it)."""

import re

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from checker.answer_cells import assigned_names
from course import LESSONS, SOLUTIONS, nbgrader_meta, notebooks, read, solutions_by_id, with_answers

EX1 = "04_makemore_atomic_backprop/makemore_atomic_backprop.ipynb"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_all(nb, relpath):
    """Run every cell as JupyterLab's Run All does; fail with the cell that stopped it."""
    client = NotebookClient(nb, kernel_name="backprop-ninja", timeout=600,
                            resources={"metadata": {"path": str((LESSONS / relpath).parent)}})
    try:
        client.execute()
    except CellExecutionError as stopped:
        pytest.fail(f"Run All stopped at a cell that raised: {str(stopped)[-600:]}")
    return nb


def errors(cell) -> list[str]:
    return ["\n".join(ANSI.sub("", line) for line in o.traceback) for o in cell.get("outputs", [])
            if o.output_type == "error"]


def cell(nb, grade_id):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def text(c) -> str:
    return ANSI.sub("", "\n".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                                  for o in c.get("outputs", [])))


@pytest.mark.parametrize("relpath", notebooks(LESSONS), ids=lambda p: p.parts[0])
def test_every_answer_cell_can_raise_and_the_lesson_runs_on_in_one_sentence_a_cell(relpath):
    nb = read(LESSONS / relpath)
    for c in nb.cells:
        if nbgrader_meta(c).get("solution"):
            c.source = 'raise ValueError("not finished")'
    run_all(nb, relpath)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "a cell after the raising one never ran"
    for c in code:
        if nbgrader_meta(c).get("solution"):
            continue  # the learner's own cell: Python's traceback is theirs to read
        for error in errors(c):
            assert "\n" not in error.strip() and "Traceback" not in error, \
                f"{nbgrader_meta(c).get('grade_id')} shows a traceback, not one sentence:\n{error[:800]}"
        assert not [o for o in c.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]


def test_a_check_after_an_answer_cell_that_raised_says_what_it_raised():
    """Exercise 1 answered, but `dh = dlogits @ W2` (a shape error) replaces the answer cell, and
    db2's answer, under its placeholder `db2 = None`, sums over a dimension that does not exist."""
    answers = solutions_by_id(SOLUTIONS / EX1)
    nb = with_answers(read(LESSONS / EX1), answers)
    cell(nb, "answer_dh").source = "dh = dlogits @ W2"
    cell(nb, "answer_db2").source += "\ndb2 = dlogits.sum(2)"
    run_all(nb, EX1)

    said = errors(cell(nb, "check_dh"))
    assert len(said) == 1 and "\n" not in said[0].strip(), said
    assert re.fullmatch(r"NameError: dh is not defined, because your answer cell above raised RuntimeError: "
                        r"mat1 and mat2 shapes cannot be multiplied \(32x27 and 64x27\)\. "
                        r"Fix that cell and run it again, then this one\.", said[0].strip()), said[0]
    # db2 holds its placeholder: the check says why, not merely "not done yet"
    assert "your answer cell above raised IndexError: Dimension out of range" in text(cell(nb, "check_db2"))
    # the next step's answer cell uses dh, and its check names that cell's own error
    assert "your answer cell above raised NameError: name 'dh' is not defined" in text(cell(nb, "check_dhpreact"))
    scoreboard = text(nb.cells[-1]) if nb.cells[-1].cell_type == "code" else \
        text([c for c in nb.cells if c.cell_type == "code"][-1])
    assert re.search(r"\d+/26 correct", scoreboard), scoreboard[:500]
    assert "dW2" not in errors(cell(nb, "check_dW2")), "the steps that do not need dh are still checked"
    assert not errors(cell(nb, "check_dW2"))


@pytest.mark.parametrize("source, names", [
    ("dh = None  # TODO\ndh = dlogits @ W2", {"dh"}),
    ("if True:\n    x, (y, z) = 1, (2, 3)\nfor i in range(3):\n    k += i", {"x", "y", "z", "i", "k"}),
    ("def f(q):\n    w = 1\nclass Value:\n    pass\nL = [t for t in range(2)]", {"f", "Value", "L"}),
    ("dh = dlogits @@ W2", {"dh"}),  # does not parse: read line by line
    ("class Value(:\n    pass", {"Value"}),
    ("x == 3\nprint(x)", set()),
])
def test_the_names_a_cell_binds(source, names):
    assert assigned_names(source) == names
