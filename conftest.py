"""Notebook conventions for pytest + nbval (see docs/maintainers.md).

Every code cell after a lesson's first carries the `raises-exception` tag, so that JupyterLab's
"Run All" goes on past a failing check or an answer cell that raises. The tag would also make nbval
accept any exception, so here we decide instead:
- every cell that is not a graded check must run without an exception, in lessons and solutions;
- in `solutions/`, every graded cell must pass;
- in `lessons/`, every graded cell must fail on its placeholder, with the checker's own "not done
  yet" and nothing else (a NameError in the lesson's code would fail the same cell): a strict xfail
  that accepts only that failure.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "tests"))  # tests/course.py, also when only notebooks run
from course import not_done_failure  # noqa: E402

# Notebooks run in fast mode under test (Exercise 4 trains 4,000 steps, not 200,000). Kernels
# started by nbval and nbgrader inherit this process's environment.
os.environ.setdefault("BACKPROP_NINJA_FAST", "1")
# Two notebooks run at once on two cores: one thread each, or PyTorch's thread pools fight over the
# cores and tiny operations wait milliseconds for a thread to wake.
os.environ.setdefault("OMP_NUM_THREADS", "1")


class NotDoneYet(Exception):
    """A blank lesson's graded cell failed as it must: the checker's CheckFailed, not done yet."""


def _is_graded_cell(item) -> bool:
    cell = getattr(item, "cell", None)
    return cell is not None and cell.get("cell_type") == "code" and \
        cell.get("metadata", {}).get("nbgrader", {}).get("grade", False)


def _fails_only_as_not_done(item):
    """Run the cell; turn its failure into NotDoneYet if, and only if, its one error output is the
    checker's not-done failure. Any other failure propagates and fails the strict xfail."""
    runtest = item.runtest

    def run():
        try:
            runtest()
        except Exception:
            if (why := not_done_failure(item.test_outputs or [])) is not None:
                raise NotDoneYet(why) from None
            raise
    item.runtest = run


# The order in which the two xdist workers take test files (--dist loadfile, and
# --no-loadscope-reorder in pytest.ini, without which xdist puts the files with the most tests
# first, whatever this order says). The shared graded class (tests/graded_class.py) is graded by
# the first file that asks, which leads; every file that does not need the class comes next,
# longest first, so the other worker has work for as long as the class is graded; the class's
# other files come last, when it is ready. Measured with --durations=0 (30 November 2026).
CLASS_LEADER = "test_verdicts_in_grader.py"
LONGEST_FIRST = ("test_run_faults.py", "test_nbgrader_workflow.py", "test_run_all.py", "test_training_step.py",
                 "test_rules.py", "test_guard.py", "test_wheel.py", "test_sandbox.py")


def _file_order(item, class_files: set) -> tuple:
    name = item.path.name
    if name == CLASS_LEADER:
        return (0, 0)
    if item.path in class_files:
        return (2, 0)
    return (1, LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST))


def pytest_collection_modifyitems(config, items):
    class_files = {item.path for item in items if "graded_class" in getattr(item, "fixturenames", ())}
    items.sort(key=lambda item: _file_order(item, class_files))  # stable: a notebook's cells keep their order
    for item in items:
        if getattr(item, "cell", None) is not None:
            item.options["check_exception"] = False  # the tag is for JupyterLab, not a licence to raise
        if not _is_graded_cell(item):
            continue
        if "lessons" in item.path.parts:
            _fails_only_as_not_done(item)
            item.add_marker(pytest.mark.xfail(
                strict=True, raises=NotDoneYet,
                reason="a graded check must fail with 'not done yet' while the answer is still a placeholder"))
