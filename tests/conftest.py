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
