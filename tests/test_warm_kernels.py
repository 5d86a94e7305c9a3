"""Warm kernels (checker/grading/warm_kernels.py): each notebook gets a real, fresh ipykernel process,
forked from a zygote that has already imported torch."""

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook

from checker.grading.warm_kernels import WarmKernelManager, is_plain_ipykernel

KERNEL = {"name": "backprop-ninja", "display_name": "backprop-ninja", "language": "python"}


def run(tmp_path, *sources, **options):
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources], metadata={"kernelspec": KERNEL})
    NotebookClient(notebook, kernel_manager_class=WarmKernelManager, kernel_name="backprop-ninja",
                   resources={"metadata": {"path": str(tmp_path)}}, **options).execute()
    return [out.get("text", "").strip() for cell in notebook.cells for out in cell.outputs]


def test_a_forked_kernel_is_fresh_with_its_own_cwd_env_and_randomness(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_NINJA_PROBE", "seen")
    probe = ("import os, random, sys\n"
             "print(os.getcwd(), os.getpid(), os.environ.get('BACKPROP_NINJA_PROBE'), random.random(),\n"
             "      'torch' in sys.modules, 'checker' in sys.modules)")
    first, second = (run(tmp_path, probe)[0].split() for _ in range(2))
    assert first[0] == second[0] == str(tmp_path)
    assert first[2] == second[2] == "seen"
    assert first[1] != second[1], "each notebook needs its own kernel process"
    assert first[3] != second[3], "Python's random generator must be reseeded after the fork"
    assert first[4:] == ["True", "False"], "torch is preloaded, the checker never is"


def test_a_kernel_that_dies_is_reported_dead(tmp_path):
    with pytest.raises(DeadKernelError):
        run(tmp_path, "import os; os._exit(1)", "print('unreachable')", timeout=30)


def test_an_endless_cell_is_interrupted_and_the_rest_runs(tmp_path):
    outputs = run(tmp_path, "while True: pass", "print('after')", timeout=3, allow_errors=True,
                  interrupt_on_timeout=True)
    assert outputs[-1] == "after"
    with pytest.raises(CellTimeoutError):
        run(tmp_path, "while True: pass", timeout=2)


def test_only_the_plain_ipykernel_command_is_forked():
    import sys

    assert is_plain_ipykernel([sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "c.json"])
    assert not is_plain_ipykernel([sys.executable, "-c", "ipykernel_launcher"])
    assert not is_plain_ipykernel(["/usr/bin/python3.9", "-m", "ipykernel_launcher", "-f", "c.json"])


def test_a_forked_kernel_shows_matplotlib_figures(tmp_path):
    """matplotlib is preloaded before the kernel exists: its figures must still reach the notebook."""
    notebook = new_notebook(cells=[new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"),
                                   new_code_cell("plt.imshow([[0, 1]])")],
                            metadata={"kernelspec": KERNEL})
    NotebookClient(notebook, kernel_manager_class=WarmKernelManager, kernel_name="backprop-ninja",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in notebook.cells:
        assert any("image/png" in out.get("data", {}) for out in cell.outputs), cell.source
