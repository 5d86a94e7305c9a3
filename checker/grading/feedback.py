"""What a student's feedback page shows: their notebook as graded, without the hidden tests' code.

nbgrader puts each graded cell's hidden tests back before grading and, by default, shows them in
the feedback. Here they are only the call into the grader's own check (see verify.py): noise for a
student, while its result, the output under the cell, stays. Registered for `GenerateFeedback` in
nbgrader_config.py. Unlike nbgrader's ClearHiddenTests, which guards the instructor's sources, it
never stops the feedback, and leaves the student's own cells as they wrote them.
"""

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests


class OmitHiddenTests(ClearHiddenTests):
    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) and not utils.is_solution(cell):  # the course's check cells only
            try:
                self._remove_hidden_test_region(cell)
            except RuntimeError:  # markers a student typed into a check cell: show it as it is
                pass
        return cell, resources
