"""Notebook conventions for pytest + nbval (see README, "For maintainers").

Graded test cells carry the `raises-exception` tag so that JupyterLab's "Run All" goes on past a
failing check. The tag would also make nbval accept any exception, so here we decide instead:
- in `solutions/`, every graded cell must pass;
- in `lessons/`, every graded cell must fail on its placeholder: a strict xfail.
"""

import os

import pytest

# Notebooks run in fast mode under test (Exercise 4 trains 4,000 steps, not 200,000). Kernels
# started by nbval and nbgrader inherit this process's environment.
os.environ.setdefault("BACKPROP_NINJA_FAST", "1")
# Two notebooks run at once on two cores: one thread each, or PyTorch's thread pools fight over the
# cores and tiny operations wait milliseconds for a thread to wake.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _is_graded_cell(item) -> bool:
    cell = getattr(item, "cell", None)
    return cell is not None and cell.get("cell_type") == "code" and \
        cell.get("metadata", {}).get("nbgrader", {}).get("grade", False)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not _is_graded_cell(item):
            continue
        item.options["check_exception"] = False
        if "lessons" in item.path.parts:
            item.add_marker(pytest.mark.xfail(
                strict=True, reason="a graded check must fail while the answer is still a placeholder"))
