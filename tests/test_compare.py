"""Every verdict and every bad input of `checker.compare`, each explained in one sentence."""

import numpy as np
import pytest
import torch

from checker import Status, compare


@pytest.fixture
def truth():
    return torch.randn(32, 27, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 0.03


@pytest.fixture
def expected(truth):
    return truth.float()  # the float32 "autograd" answer: within half a rounding of the truth


def one_sentence(check):
    assert check.reason and "\n" not in check.reason and "Traceback" not in check.reason
    return check.reason


# ------------------------------------------------------------------ verdicts

def test_bit_identical_is_exact_and_correct(expected, truth):
    check = compare("dlogits", expected.clone(), expected, truth)
    assert (check.status, check.exact, check.approx, check.maxdiff) == (Status.CORRECT, True, True, 0.0)
    assert one_sentence(check) == "bit-identical to PyTorch's autograd"


def test_rounded_differently_is_correct_but_not_exact(expected, truth):
    yours = torch.nextafter(expected, torch.full_like(expected, 1.0))  # one float32 step away
    check = compare("dlogits", yours, expected, truth)
    assert check.status is Status.CORRECT and check.exact is False and check.approx is True
    assert 0 < check.maxdiff < 1e-8
    assert "from the float64 truth, PyTorch's" in one_sentence(check)


def test_more_accurate_than_autograd_says_so(truth):
    sloppy_autograd = (truth + 2e-9).float()
    check = compare("dlogits", truth.float(), sloppy_autograd, truth)
    assert check.status is Status.CORRECT
    assert one_sentence(check).startswith("at least as accurate as autograd")


# ------------------------------------------------------------------ where the verdict draws its lines

def off_at(truth, index, by):
    """The float32 answer that is `truth` with one element moved by `by`."""
    moved = truth.clone()
    moved[index] += by
    return moved.float()


@pytest.fixture
def pytorch_off(truth):
    """A float32 "autograd" answer 1e-5 from the truth at one element: far more than float32
    rounding (about 1e-8 here), so PyTorch's own error sets the allowance."""
    return off_at(truth, (0, 0), 1e-5)


@pytest.mark.parametrize("error, verdict", [
    (1.5e-5, "as accurate as autograd"),  # within 2× PyTorch's error
    (3e-5, "correct to float32 rounding, a little less accurate than autograd"),  # beyond 2×
    (9e-5, "correct to float32 rounding, a little less accurate than autograd"),  # within 10×
])
def test_each_correct_verdict_by_its_distance_from_pytorchs_error(truth, pytorch_off, error, verdict):
    check = compare("dlogits", off_at(truth, (5, 5), error), pytorch_off, truth)
    assert check.status is Status.CORRECT
    assert one_sentence(check).startswith(f"{verdict} (yours {error:.1e} from the float64 truth, PyTorch's 1.0e-05)")


def test_an_answer_more_than_ten_times_further_than_pytorch_is_wrong(truth, pytorch_off):
    check = compare("dlogits", off_at(truth, (5, 5), 1.2e-4), pytorch_off, truth)
    assert check.status is Status.WRONG and "at index (5, 5)" in one_sentence(check)


@pytest.mark.parametrize("roundings, status", [(8, Status.CORRECT), (15, Status.CORRECT), (32, Status.WRONG)])
def test_when_pytorch_is_exact_sixteen_roundings_of_the_scale_are_allowed(truth, roundings, status):
    truth = truth.float().double()  # representable in float32: PyTorch's error is 0
    scale = truth.abs().max().item()
    yours = off_at(truth, (5, 5), roundings * torch.finfo(torch.float32).eps * scale)
    check = compare("dlogits", yours, truth.float(), truth)
    assert check.pytorch_error == 0 and check.status is status, check.reason


def test_wrong_answer_says_where(expected, truth):
    yours = expected.clone()
    yours[3, 17] += 0.5
    check = compare("dlogits", yours, expected, truth)
    assert check.status is Status.WRONG and check.exact is False and check.approx is False
    assert check.maxdiff == pytest.approx(0.5)
    assert "at index (3, 17)" in one_sentence(check)
    assert "Mismatched elements: 1 / 864" in check.details  # torch.testing's own report


def test_small_but_real_error_inside_torch_testing_tolerance_is_wrong(truth):
    truth = truth * 0.1  # a gradient of size ~1e-2, like most in the makemore MLP
    yours = truth.float() * 1.0005  # 0.05% off everywhere
    check = compare("dhprebn", yours, truth.float(), truth)
    assert check.approx is True, "torch.testing's atol=1e-5 lets this through..."
    assert check.status is Status.WRONG, "...but it is far beyond float32 rounding"
    assert "more than float32 rounding explains" in one_sentence(check)


def test_without_a_float64_truth_torch_testing_decides(expected):
    assert compare("dx", expected + 1e-7, expected).status is Status.CORRECT
    assert compare("dx", expected + 1e-3, expected).status is Status.WRONG


def test_keepdim_difference_passes_with_a_note_when_allowed(expected, truth):
    column, column_truth = expected[:1], truth[:1]  # (1, 27)
    check = compare("dbnmeani", column.reshape(27).clone(), column, column_truth, allow_keepdim=True)
    assert check.status is Status.CORRECT
    assert "has shape (27,) but bnmeani has shape (1, 27)" in check.reason and "keepdim=True" in check.reason


def test_a_missing_trailing_dimension_is_wrong_even_when_keepdim_slips_are_allowed(expected, truth):
    """A (32,) for a (32, 1) lines up with the last dimension when it broadcasts: downstream it gives
    (32, 32) where (32, 1) was meant, so it is wrong, named, with the fix. A missing leading dimension,
    the lecture's (64,) for a (1, 64), broadcasts alike and passes with its note."""
    column, column_truth = expected[:, :1], truth[:, :1]  # (32, 1)
    check = compare("dcounts_sum_inv", column.reshape(-1).clone(), column, column_truth, allow_keepdim=True)
    assert check.status is Status.WRONG and not check.passed and check.exact is False
    assert check.reason.startswith(f"dcounts_sum_inv has shape ({column.shape[0]},), but counts_sum_inv has shape "
                                   f"({column.shape[0]}, 1), and the two broadcast differently")
    assert "keep the summed dimension with keepdim=True (its values are right, only the shape is wrong)" in check.reason
    wrong_too = compare("dcounts_sum_inv", 2 * column.reshape(-1), column, column_truth, allow_keepdim=True)
    assert wrong_too.status is Status.WRONG and "its values are wrong too: does not match autograd" in wrong_too.reason
    row = torch.randn(1, 64)
    check = compare("dbnmeani", row.reshape(64).clone(), row, row.double(), allow_keepdim=True)
    assert check.status is Status.CORRECT
    assert check.reason == ("bit-identical to PyTorch's autograd. Note: dbnmeani has shape (64,) but bnmeani has "
                            "shape (1, 64); keep the summed dimension with keepdim=True so the gradient has its "
                            "tensor's shape.")


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("placeholder", [None, Ellipsis])
def test_placeholder_is_not_done_yet(placeholder, expected, truth):
    check = compare("dlogprobs", placeholder, expected, truth)
    assert check.status is Status.NOT_DONE and not check.passed
    assert "replace the placeholder `dlogprobs = None`" in one_sentence(check)


@pytest.mark.parametrize("yours, says", [
    (None, "not done yet: replace the placeholder `dx = None` with your gradient, a number (or a 0-dim torch.Tensor)."),
    ("6x", "dx is a str, but it must be a number (or a 0-dim torch.Tensor)."),
])
def test_a_scalar_gradient_asks_for_a_number(yours, says):
    x = torch.tensor(2.0, dtype=torch.float64)
    check = compare("dx", yours, torch.tensor(12.0), 6 * x)
    assert one_sentence(check) == says
    assert compare("dx", 12.0, torch.tensor(12.0), 6 * x).passed


@pytest.mark.parametrize("value, says", [
    ([[0.0] * 27] * 32, "is a Python list"),
    ((1.0, 2.0), "is a Python tuple"),
    (0.5, "is a single float"),
    (3, "is a single int"),
    (np.zeros((32, 27), dtype=np.float32), "is a numpy array"),
    ("dlogits", "is a str"),
])
def test_not_a_tensor(value, says, expected, truth):
    check = compare("dlogits", value, expected, truth)
    assert check.status is Status.INVALID
    assert says in one_sentence(check)
    assert "(32, 27)" in check.reason or says == "is a numpy array"  # the array's sentence names no shape


@pytest.mark.parametrize("shape, says", [
    ((27, 32), "the dimensions are swapped"),
    ((5,), "a gradient always has the shape of the tensor it belongs to"),
])
def test_wrong_shape_names_both_shapes(shape, says, expected, truth):
    check = compare("dlogits", torch.zeros(shape), expected, truth)
    assert check.status is Status.INVALID
    assert f"dlogits has shape {tuple(shape)}, but logits has shape (32, 27)" in one_sentence(check)
    assert says in check.reason


def test_a_size_1_dimension_added_or_dropped_is_wrong_by_default(expected, truth):
    """Without allow_keepdim (every exercise but Exercise 1) a shape that differs by size-1
    dimensions is a wrong answer, named with its fix, even when it broadcasts alike."""
    check = compare("dbnmeani", expected[:1].reshape(27).clone(), expected[:1], truth[:1])
    assert check.status is Status.WRONG and not check.passed
    assert check.reason == ("dbnmeani has shape (27,), but bnmeani has shape (1, 27): keep the summed dimension "
                            "with keepdim=True (its values are right, only the shape is wrong)")
    extra = compare("dlogits", torch.zeros(32, 27, 1), expected, truth)
    assert extra.status is Status.WRONG and "drop the extra size-1 dimension" in extra.reason
    assert "its values are wrong too" in extra.reason


def test_missing_sum_over_a_broadcast_dimension(expected, truth):
    check = compare("dbngain", torch.zeros(32, 27), expected[:1], truth[:1])
    assert "sum the gradient over dim 0 with keepdim=True" in one_sentence(check)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.int64, torch.bool])
def test_wrong_dtype(dtype, expected, truth):
    check = compare("dlogits", torch.zeros(32, 27, dtype=dtype), expected, truth)
    assert check.status is Status.INVALID
    assert f"has dtype {dtype}, but logits is torch.float32" in one_sentence(check)


def test_wrong_device(expected, truth):
    check = compare("dlogits", torch.zeros(32, 27, device="meta"), expected, truth)
    assert check.status is Status.INVALID and "is on device 'meta'" in one_sentence(check)


def test_sparse_tensor(expected, truth):
    check = compare("dlogits", torch.zeros(32, 27).to_sparse(), expected, truth)
    assert check.status is Status.INVALID and "to_dense()" in one_sentence(check)


def test_nan_and_inf_are_counted_and_located(expected, truth):
    yours = expected.clone()
    yours[2, 5] = float("nan")
    yours[7, 1] = float("inf")
    yours[9, 9] = float("nan")
    check = compare("dlogits", yours, expected, truth)
    assert check.status is Status.INVALID
    assert "contains 2 NaN and 1 Inf of its 864 values, the first at index (2, 5)" in one_sentence(check)


def test_still_requires_grad(expected, truth):
    check = compare("dlogits", expected.clone().requires_grad_(), expected, truth)
    assert check.status is Status.INVALID and "still requires grad" in one_sentence(check)


def test_bad_input_is_checked_before_values(expected, truth):
    """Shape is reported even when the values would also be wrong, and never broadcast."""
    check = compare("dbnmeani", torch.full((27,), 9.0), expected[:1], truth[:1])
    assert check.status is Status.WRONG and "keepdim=True (its values are wrong too" in check.reason
    other = compare("dbnmeani", torch.full((26,), 9.0), expected[:1], truth[:1])
    assert other.status is Status.INVALID and other.maxdiff is None


def test_the_html_report_shows_code_spans_as_code_and_escapes_the_rest():
    from checker.check import checks_html

    check = compare("d<x>", None, torch.zeros(2), torch.zeros(2, dtype=torch.float64))
    table = checks_html([check])
    assert "<code>d&lt;x&gt; = None</code>" in table and "`" not in table
    assert "`d<x> = None`" in str(check)  # plain text keeps the backticks
