"""The course's policy on a step carried forward, apart from nbgrader's machinery so it can be
tested (and mutated) on its own: a check cell whose only error is CarriedForward (the step is right
given the learner's earlier answers, checker/chain.py) earns full, half or no credit.

nbgrader scores a check cell by its outputs: any error gives 0, a number it returns is partial
credit, otherwise full points. So the policy is a rewrite of the cell's outputs.
"""

from nbformat.notebooknode import NotebookNode

CARRIED = "CarriedForward"  # the error a hidden test raises for such a step (checker.errors)
CREDITS = {"full": 1.0, "half": 0.5, "none": 0.0}


def credited_outputs(outputs: list, points: float, credit: str) -> list | None:
    """The outputs a carried-forward check cell is graded with under `credit`, or None when the
    cell stays as it is: it is not carried forward (no error, or another error), or the credit is none."""
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors or any(o.get("ename") != CARRIED for o in errors) or CREDITS[credit] == 0.0:
        return None
    earned = points * CREDITS[credit]
    note = NotebookNode(output_type="stream", name="stdout", text=(
        f"Right given your earlier answers: {credit} credit, {earned:g} of {points:g} points "
        f"(the course's policy on steps carried forward).\n"))
    kept = [o for o in outputs if o.get("output_type") != "error"]
    if earned < points:  # nbgrader reads a number a check cell returns as its partial credit; put
        # after what the cell printed, so stderr there still costs the points, as in any check cell
        kept.append(NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                                 data={"text/plain": f"{earned:g}"}))
    return kept + [note]
