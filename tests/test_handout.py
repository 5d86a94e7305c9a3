"""Answers leave a graded kernel as plain values (checker/handout.py): what the grader rebuilds is
the learner's numbers and their type, never an object of theirs, whatever that object does."""

import numpy as np
import pytest
import torch

from checker.handout import HandIn, decode, encode


class Hostile(torch.Tensor):
    """A learner's Tensor subclass that answers every question its own way."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise RuntimeError("a learner's __torch_function__ ran in the hand-in")

    def detach(self):
        raise RuntimeError("a learner's detach ran in the hand-in")

    def numpy(self):
        raise RuntimeError("a learner's numpy ran in the hand-in")


def test_a_tensor_subclass_hands_in_its_plain_numbers_without_running_its_methods():
    numbers = torch.arange(6.0).reshape(2, 3)
    rebuilt = decode(encode(torch.Tensor._make_subclass(Hostile, numbers)))
    assert type(rebuilt) is torch.Tensor
    assert torch.equal(rebuilt, numbers)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool, torch.float16])
def test_tensors_keep_dtype_shape_and_every_bit(dtype):
    value = (torch.randn(3, 4, generator=torch.Generator().manual_seed(0)) * 1e3).to(dtype)
    rebuilt = decode(encode(value))
    assert rebuilt.dtype == dtype and rebuilt.shape == value.shape and torch.equal(rebuilt, value)


def test_what_a_check_reports_about_bad_input_survives_the_hand_in():
    assert decode(encode(torch.ones(2, requires_grad=True))).requires_grad
    assert decode(encode(torch.zeros(0, 3))).shape == (0, 3)
    assert decode(encode(None)) is None and decode(encode(...)) is Ellipsis
    assert decode(encode([1, 2.5])) == [1, 2.5] and decode(encode((1,))) == (1,)
    assert decode(encode(0.5)) == 0.5 and decode(encode(True)) is True and decode(encode(7)) == 7
    assert np.array_equal(decode(encode(np.eye(2))), np.eye(2))
    assert type(decode(encode(object()))).__name__ == "object"
    assert type(decode(encode({1, 2}))).__name__ == "set"  # named, not sent
    assert np.isnan(decode(encode(float("nan"))))


def test_a_graded_exercise_holds_nothing_but_what_the_lesson_hands_the_learner():
    ex = HandIn("exercise3", given={"dhpreact": torch.ones(2)})
    assert set(vars(ex)) == {"key", "title", "given"}
    assert ex.check("dhprebn", torch.ones(2)) is None
    assert not ex.result("dhprebn", torch.ones(2)).passed
