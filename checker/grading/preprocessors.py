"""The course's steps in nbgrader's own autograde pipeline, so `make grade`, `nbgrader autograde`
and the Formgrader's Autograde button grade a notebook the same way (registered in
nbgrader_config.py):

    LocateHiddenTests  the hidden tests load the grader's checker from a path written in here,
                       not from anything the kernel could change (its sys.modules, its environment)
    CourseExecute      nbgrader's Execute, with the kernel's environment set by the grader: the
                       grading seed, fast mode, one thread; kernels forked warm (warm_kernels.py)
    ApplyRules         every graded check from the first learner cell that breaks the lesson's
                       rules (checker/rules.py) gets 0 points, whatever the kernel printed

All three run in the grading process, from the submitted notebook.
"""

import os
import secrets
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer

from ..rules import flagged_checks
from .verify import KEY_ENV_VAR
from .warm_kernels import WarmKernelManager

CHECKER_PACKAGE = Path(__file__).resolve().parents[1]  # the folder of `checker` itself
GRADING_SEED = 1_000_003  # not the lessons' default: answers copied from a learner's run fail
# The line of every hidden test that finds the checker; in the solutions (run by nbval) it asks
# the kernel, in grading it is replaced by the grader's own folder.
HIDDEN_TESTS_LOCATOR = '_folder = __import__("checker").__path__[0]'
FLAG = "FlaggedByGrader"  # the error name a flagged check shows on the feedback page


class LocateHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_TESTS_LOCATOR in cell.source:
            cell.source = cell.source.replace(HIDDEN_TESTS_LOCATOR, f"_folder = {str(CHECKER_PACKAGE)!r}")
        return cell, resources


class CourseExecute(Execute):
    """Every kernel that grades a notebook: the environment is the grader's, never inherited
    settings of the course's (a BACKPROP_NINJA_* variable in the shell that started nbgrader)."""

    seed = Integer(GRADING_SEED, help="the seed every lesson draws its data and parameters from").tag(config=True)
    fast = Bool(True, help="training loops run their short version (Exercise 4: 4,000 steps)").tag(config=True)
    warm_kernels = Bool(True, help="fork each kernel from a zygote that has imported torch").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.warm_kernels:
            self.kernel_manager_class = WarmKernelManager

    def kernel_environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPROP_NINJA_")}
        env.update(BACKPROP_NINJA_SEED=str(self.seed), OMP_NUM_THREADS="1")
        env[KEY_ENV_VAR] = secrets.token_hex(8)  # the hidden tests' private checker, under a name nobody knows
        if self.fast:
            env["BACKPROP_NINJA_FAST"] = "1"
        return env

    # nbclient starts kernels through both (the sync one is not a call of the async override)
    def start_new_kernel(self, **kwargs):
        return super().start_new_kernel(**kwargs, env=self.kernel_environment())

    async def async_start_new_kernel(self, **kwargs):
        return await super().async_start_new_kernel(**kwargs, env=self.kernel_environment())


class ApplyRules(NbGraderPreprocessor):
    """Scan the learner's cells (checker.rules) and replace the outputs of every graded cell from
    the first offense on with one error that gives the reason: nbgrader scores it 0, and the
    feedback page shows why."""

    def preprocess(self, nb, resources):
        lesson = resources.get("nbgrader", {}).get("assignment")
        flagged = flagged_checks(nb.cells, lesson)
        for cell in nb.cells:
            reason = flagged.get(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
            if reason:
                cell.outputs = [NotebookNode(output_type="error", ename=FLAG, evalue=reason,
                                             traceback=[f"\x1b[0;31m{FLAG}\x1b[0m: {reason}"])]
        resources.setdefault("nbgrader", {})["flagged"] = flagged
        return nb, resources
