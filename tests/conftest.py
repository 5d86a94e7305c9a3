import pytest
import torch

from checker.lessons import makemore


@pytest.fixture(scope="session")
def setup():
    return makemore.MakemoreSetup()


@pytest.fixture(scope="session")
def forward(setup):
    return makemore.forward(setup.params, setup.Xb, setup.Yb)


@pytest.fixture(scope="session")
def references(setup):
    """(float32 autograd, float64 truth) gradients of Exercise 1, keyed by tensor name."""
    return (makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32),
            makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float64))


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The one scratch class every grading test file shares (tests/graded_class.py), graded once
    for both pytest-xdist workers: their shared folder is the parent of each one's base temp."""
    import os

    from graded_class import GradedClass

    base = tmp_path_factory.getbasetemp()
    folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    (folder / "graded-class").mkdir(exist_ok=True)
    return GradedClass(folder / "graded-class")
