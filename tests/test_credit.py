"""The course's policy on a step carried forward (checker/grading/credit.py), scored by nbgrader's
own rule for a check cell (an error or stderr gives 0, a returned number is partial credit, else
full points), on outputs that must stay valid nbformat."""

import nbformat
import pytest
from nbformat.notebooknode import NotebookNode
from nbgrader.utils import determine_grade

from checker.grading.credit import credited_outputs

POINTS = 2.0


def printed(text="✓ dbndiff  right given earlier answers", name="stdout"):
    return NotebookNode(output_type="stream", name=name, text=text)


def error(name):
    return NotebookNode(output_type="error", ename=name, evalue="the grader's own check", traceback=[])


def check_cell(outputs):
    """A graded check cell as nbgrader reads it, in a notebook that must validate."""
    cell = nbformat.v4.new_code_cell("ex.check('dbndiff', dbndiff)", outputs=outputs)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": POINTS,
                                 "grade_id": "check_dbndiff", "schema_version": 3, "task": False}
    nbformat.validate(nbformat.v4.new_notebook(cells=[cell]))
    return cell


def graded(outputs, credit):
    credited = credited_outputs(outputs, POINTS, credit)
    return check_cell(outputs if credited is None else credited)


@pytest.mark.parametrize("credit, expected", [("full", 2.0), ("half", 1.0), ("none", 0.0)])
def test_a_carried_step_earns_the_policys_credit_and_says_so(credit, expected):
    cell = graded([printed(), error("CarriedForward")], credit)
    assert determine_grade(cell) == (expected, POINTS)
    if credit == "none":
        return
    assert cell.outputs[0] == printed()  # the learner's report stays, first
    assert cell.outputs[-1] == printed(f"Right given your earlier answers: {credit} credit, {expected:g} of 2 points "
                                       "(the course's policy on steps carried forward).\n")  # on stdout
    returned = [o for o in cell.outputs if o["output_type"] == "execute_result"]
    assert returned == ([] if credit == "full" else [NotebookNode(
        output_type="execute_result", execution_count=None, metadata={}, data={"text/plain": "1"})])


def test_stderr_still_costs_the_points_as_in_any_check_cell():
    cell = graded([printed("a warning", name="stderr"), printed(), error("CarriedForward")], "half")
    assert determine_grade(cell) == (0.0, POINTS)


@pytest.mark.parametrize("outputs", [
    [printed("✓ dW1  correct")],                                  # right: nothing to credit
    [printed(), error("CheckFailed")],                            # wrong in itself
    [printed(), error("CarriedForward"), error("FlaggedByGrader")],  # carried, but flagged by the rules
    [error("NotebookTimeBudget")],                                # never ran
])
@pytest.mark.parametrize("credit", ["full", "half"])
def test_anything_else_is_left_as_it_is(outputs, credit):
    assert credited_outputs(outputs, POINTS, credit) is None
