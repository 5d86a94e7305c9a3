"""The grader's verdicts: every answer a graded kernel handed out, judged in the grading process.

A step of nbgrader's autograde pipeline (nbgrader_config.py), right after the notebook ran. For each
graded check cell it reads which exercise and answer the cell checks from the cell's own source
(restored by nbgrader from the gradebook, so the learner cannot change it), takes the answer that
cell's hidden test handed out (checker/handout.py), rebuilds the exercise's references from the
grading seed in this process (never in the kernel), and judges it with the exercise's own `result`:
the same compare, diagnosis and carried-forward logic the learner saw in JupyterLab. The cell's
outputs become the grader's report, and an error (the cell scores 0) unless the answer is right;
nothing the kernel printed about a verdict counts. `ex.summary()` gets the grader's scoreboard.
"""

import contextlib
import copy
import importlib
import os
import re
from collections import OrderedDict

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import learner_code
from ..check import Check, Status
from ..environment import FAST_ENV_VAR, SEED_ENV_VAR
from ..handout import ANSWER_MIME, SUMMARY_MIME, Probed, decode
from . import verify
from .credit import CARRIED

HIDDEN_CALL = re.compile(r'_hidden\["hidden_check"\]\(\s*"([^"]+)"\s*,\s*"([^"]+)"')
CHECK_FAILED = "CheckFailed"
NOT_HANDED_IN = ("no answer reached the grader: this cell stopped before its hidden test handed your answer "
                 "in (the error above says why), or a cell above kept it from running")
MORE_THAN_ONE = ("more than one answer reached the grader from this cell; its hidden test hands in one, so "
                 "another came from code of yours (an IPython hook or display): take it out")
_FAILURE_PHRASE = {Status.WRONG: "is not correct yet", Status.NOT_DONE: "is not done yet",
                   Status.INVALID: "cannot be checked yet"}

# Exercises judged here, built once per (exercise, seed) in this process; a notebook gets a copy
# with no answers recorded.
_built: OrderedDict = OrderedDict()
_KEEP_BUILT = 8


# The grader's own checker package: the exercises are found and built as the hidden tests find them
# (verify.py), from the same table, in this process.
_CHECKER = importlib.import_module(__name__.split(".")[0])


def judged_in_grader(key: str) -> bool:
    """Whether the exercise `key` hands its answers out: every exercise whose factory is decorated
    with handout.exercise_factory (tensor answers, and code answers run by its lesson's `probe`)."""
    return verify.judged_in_grader(_CHECKER, key)


def _factory(key: str):
    return verify.factory(_CHECKER, key)


@contextlib.contextmanager
def _lesson_environment(seed: int, fast: bool):
    """Build an exercise as a kernel with this seed would: its data, parameters and batch."""
    saved = {k: os.environ.get(k) for k in (SEED_ENV_VAR, FAST_ENV_VAR)}
    os.environ[SEED_ENV_VAR] = str(seed)
    os.environ[FAST_ENV_VAR] = "1" if fast else "0"
    try:
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def build(key: str, seed: int, fast: bool = True):
    """The exercise `key` with its references, from `seed`, with nothing recorded yet."""
    if (key, seed, fast) not in _built:
        with _lesson_environment(seed, fast):
            exercise = verify.build_exercise(_CHECKER, key)
        _built[(key, seed, fast)] = exercise
        while len(_built) > _KEEP_BUILT:
            _built.popitem(last=False)
    return _fresh(_built[(key, seed, fast)])


def _fresh(exercise):
    """A copy of a built exercise with its own, empty record of answers (references are shared)."""
    fresh = copy.copy(exercise)
    for attribute in ("_results", "_answers", "_tensors", "_hints_shown"):
        if hasattr(fresh, attribute):
            setattr(fresh, attribute, {})
    return fresh


# Where the verdicts go: the notebook's metadata, beside what ApplyRules decides (preprocessors.py).
VERDICTS_KEY = ("backprop_ninja", "verdicts")


def verdict_record(index: int, cell, exercise: str, check: Check) -> dict:
    """One graded check cell's verdict, as the class report reads it: which cell, which exercise and
    check, the status (a Status name), the reason and the mistake."""
    return {"cell": index, "grade_id": cell.metadata.get("nbgrader", {}).get("grade_id", ""), "exercise": exercise,
            "check": check.label, "status": check.status.name.lower(), "reason": check.reason,
            "mistake": check.mistake if check.status is Status.WRONG else ""}


class Unreadable:
    """An answer output the grader cannot read back: not one a hidden test wrote."""


def _bundle(obj) -> dict:
    data = {"text/plain": str(obj)}
    if hasattr(obj, "_repr_html_"):
        data["text/html"] = obj._repr_html_()
    return data


def _display(obj) -> NotebookNode:
    return NotebookNode(output_type="display_data", metadata={}, data=_bundle(obj))


def _error(name: str, sentence: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=sentence,
                        traceback=[f"\x1b[0;31m{name}\x1b[0m: {sentence}"])


class JudgeAnswers(NbGraderPreprocessor):
    """Judge every handed-out answer here; see the module's docstring."""

    def preprocess(self, nb, resources):
        course = resources.get("backprop_ninja", {})
        seed, fast = course.get("seed"), course.get("fast", True)
        if seed is None:  # the notebook did not run under CourseExecute: nothing of ours to judge
            nb.metadata.get(VERDICTS_KEY[0], {}).pop(VERDICTS_KEY[1], None)  # nor verdicts it brought along
            return nb, resources
        exercises: dict = {}
        history: list[str] = []
        verdicts = []  # what the class report counts (class_report.py): this run's own judgement
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            history.append(learner_code.as_python(cell.source))  # once a cell: every later check reads it
            answers = [o for o in cell.get("outputs", []) if ANSWER_MIME in o.get("data", {})]
            kept = [o for o in cell.get("outputs", []) if ANSWER_MIME not in o.get("data", {})]
            if utils.is_grade(cell):
                call = HIDDEN_CALL.search(cell.source)
                if call and judged_in_grader(call.group(1)):
                    kept, check = self._judge(call.group(1), call.group(2), answers, kept, exercises, seed, fast, history)
                    verdicts.append(verdict_record(index, cell, call.group(1), check))
            cell.outputs = [self._scoreboard(o, exercises, seed, fast) for o in kept]
        # written whole, over anything a submission brought under this name
        nb.metadata.setdefault(VERDICTS_KEY[0], NotebookNode())[VERDICTS_KEY[1]] = verdicts
        return nb, resources

    def _exercise(self, key, exercises, seed, fast):
        if key not in exercises:
            exercises[key] = build(key, seed, fast)
        return exercises[key]

    def _judge(self, key, label, answers, kept, exercises, seed, fast, history) -> tuple[list, Check]:
        exercise = self._exercise(key, exercises, seed, fast)
        handed = [o["data"][ANSWER_MIME] for o in answers]
        mine = [h for h in handed if isinstance(h, dict) and h.get("exercise") == key and h.get("label") == label]
        # what the cell printed, stderr too (a warning from PyTorch is no verdict): the grader's
        # report decides, and nbgrader would score any stderr in a check cell 0
        printed = [NotebookNode({**o, "name": "stdout"}) if o.get("output_type") == "stream" else o
                   for o in kept if o.get("output_type") in ("stream", "display_data")]
        if not mine:
            errors = [o for o in kept if o.get("output_type") == "error"]
            return (printed + errors + [_error(CHECK_FAILED, f"{label}: {NOT_HANDED_IN}")],
                    Check(label, Status.NOT_DONE, NOT_HANDED_IN))
        if len(mine) > 1:  # the hidden test hands in once: another came from the learner's own code
            return printed + [_error(CHECK_FAILED, f"{label}: {MORE_THAN_ONE}")], Check(label, Status.INVALID, MORE_THAN_ONE)
        try:
            answer = decode(mine[-1]["answer"])  # the hidden test's
        except Exception:  # not what a hidden test hands in: something else wrote it
            answer = Unreadable()
        if getattr(_factory(key), "code_answers", False):  # a class or function, run by the lesson's probe
            answer = Probed(answer)
        try:
            with learner_code.graded_history(history), _lesson_environment(seed, fast):
                if hasattr(exercise, "_report"):  # a class's checks: a table of rows
                    check, table = exercise._report(label, answer, True)
                else:
                    check, table = exercise.result(label, answer), None
        except Exception as error:  # the grader's own fault: this answer is not judged, the others are
            check, table = Check(label, Status.INVALID, f"the grader could not judge this answer "
                                                        f"({type(error).__name__}: {error})"), None
        report = [_display(table or check)]
        if check.passed:
            return report + printed, check
        if check.status is Status.CARRIED:
            return report + printed + [_error(CARRIED, f"{check.label}: {check.reason}")], check
        return (report + printed + [_error(CHECK_FAILED, f"{check.label} {_FAILURE_PHRASE[check.status]}: see the report above.")],
                check)

    def _scoreboard(self, output, exercises, seed, fast):
        if SUMMARY_MIME not in output.get("data", {}):
            return output
        wanted = output["data"][SUMMARY_MIME]
        parts = wanted.get("parts")
        if not parts:
            key = wanted.get("exercise", "")
            return _display(self._exercise(key, exercises, seed, fast).summary()) if judged_in_grader(key) else output
        from ..report import Scoreboard
        from dataclasses import replace

        checks = [replace(check, label=f"{part}: {check.label}") for part, key in parts
                  for check in self._exercise(key, exercises, seed, fast).summary().checks]
        return _display(Scoreboard(wanted.get("title", "Scoreboard"), checks))
