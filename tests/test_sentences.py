"""What the learner reads, word for word: each sentence `compare` and `diagnose` can give, on inputs
made of exactly representable numbers so that every boundary is hit exactly. `make mutate` checks
that a changed word, number or boundary fails here (docs/maintainers.md, "Tests")."""

import pytest
import torch

from checker import Status, compare
from checker.diagnose import diagnose

F64 = torch.float64


def q(*values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype)


def grid(*shape, seed=0):
    """float64 values that are multiples of 1/1024 between -50/1024 and 50/1024, none of them 0: every
    sum and difference below is exact in float32 and float64."""
    values = torch.randint(1, 51, shape, generator=torch.Generator().manual_seed(seed)).to(F64)
    signs = torch.randint(0, 2, shape, generator=torch.Generator().manual_seed(seed + 1)) * 2 - 1
    return values * signs / 1024


T = grid(32, 27)
SHAPE_SENTENCES = [
    # (yours, expected, compare's keyword arguments, the whole sentence)
    # size-1 dimensions added, dropped or moved: a wrong answer, with the fix, in every exercise
    (torch.zeros(1, 27), torch.zeros(27, 1), {}, "dx has shape (1, 27), but x has shape (27, 1), and the two broadcast "
     "differently: times a tensor of x's shape (27, 1), dx gives shape (27, 27), not (27, 1); its size-1 dimensions are "
     "in other places: reshape it to (27, 1) (its values are right, only the shape is wrong)"),
    (torch.zeros(27), torch.zeros(1, 27), {}, "dx has shape (27,), but x has shape (1, 27): keep the summed dimension "
     "with keepdim=True (its values are right, only the shape is wrong)"),
    (torch.zeros(27, 32), torch.zeros(32, 27), {}, "dx has shape (27, 32), but x has shape (32, 27): the dimensions are "
     "swapped; check the order of the matrix product or transpose it."),
    (torch.zeros(32, 27), torch.zeros(1, 27), {}, "dx has shape (32, 27), but x has shape (1, 27): the forward pass "
     "broadcast this dimension, so sum the gradient over dim 0 with keepdim=True."),
    (torch.zeros(32, 27), torch.zeros(1, 1), {}, "dx has shape (32, 27), but x has shape (1, 1): the forward pass "
     "broadcast these dimensions, so sum the gradient over dim 0, 1 with keepdim=True."),
    (torch.zeros(2, 3, 27), torch.zeros(27), {}, "dx has shape (2, 3, 27), but x has shape (27,): the forward pass "
     "broadcast (27,) over the leading dimensions, so sum the gradient over dim 0, 1."),
    (torch.zeros(4, 5), torch.zeros(3), {}, "dx has shape (4, 5), but x has shape (3,): a gradient always has the "
     "shape of the tensor it belongs to."),
    (torch.zeros(5, 27), torch.zeros(32, 27), {}, "dx has shape (5, 27), but x has shape (32, 27): a gradient always "
     "has the shape of the tensor it belongs to."),
    (10**400, torch.tensor(1.0), {}, "dx is a single int (100000000000000000...0000000000000000000), but it must be a "
     "number (or a 0-dim torch.Tensor): the gradient has one entry for every entry of x."),
    (3, torch.zeros(2), {}, "dx is a single int (3), but it must be a torch.Tensor of shape (2,): the gradient has one "
     "entry for every entry of x."),
    (torch.tensor(float("nan")), torch.tensor(1.0), {}, "dx contains 1 NaN of its 1 values; look for a division by "
     "zero, a log of zero or an overflowing exp."),
    (torch.zeros(27), torch.zeros(1, 27), {"allow_keepdim": True}, "bit-identical to PyTorch's autograd. Note: dx has "
     "shape (27,) but x has shape (1, 27); keep the summed dimension with keepdim=True so the gradient has its "
     "tensor's shape."),
    (torch.zeros(1, 27, 1), torch.zeros(1, 27), {"allow_keepdim": True}, "dx has shape (1, 27, 1), but x has shape "
     "(1, 27), and the two broadcast differently: times a tensor of x's shape (1, 27), dx gives shape (1, 27, 27), not "
     "(1, 27); drop the extra size-1 dimension (sum with keepdim=False, or .squeeze()) (its values are right, only the "
     "shape is wrong)"),
    # a missing trailing dimension broadcasts along the wrong axis: wrong, even where keepdim slips are allowed
    (torch.zeros(32), torch.zeros(32, 1), {"allow_keepdim": True}, "dx has shape (32,), but x has shape (32, 1), and "
     "the two broadcast differently: times a tensor of x's shape (32, 1), dx gives shape (32, 32), not (32, 1); keep "
     "the summed dimension with keepdim=True (its values are right, only the shape is wrong)"),
    (torch.zeros(27, 1), torch.zeros(1, 27), {"allow_keepdim": True}, "dx has shape (27, 1), but x has shape (1, 27), "
     "and the two broadcast differently: times a tensor of x's shape (1, 27), dx gives shape (27, 27), not (1, 27); its "
     "size-1 dimensions are in other places: reshape it to (1, 27) (its values are right, only the shape is wrong)"),
]


@pytest.mark.parametrize("yours, expected, options, sentence", SHAPE_SENTENCES, ids=range(len(SHAPE_SENTENCES)))
def test_each_sentence_about_the_input(yours, expected, options, sentence):
    check = compare("dx", yours, expected, torch.zeros(expected.shape, dtype=F64), **options)
    assert (check.label, check.reason) == ("dx", sentence)


def test_a_label_without_a_d_names_itself():
    check = compare("grad", torch.zeros(3), torch.zeros(2), torch.zeros(2, dtype=F64))
    assert check.reason.startswith("grad has shape (3,), but grad has shape (2,)")


def test_a_number_for_a_float64_scalar_gradient():
    assert compare("dx", 12.0, torch.tensor(12.0, dtype=F64), torch.tensor(12.0, dtype=F64)).exact


def test_without_a_truth_the_sentences_and_measurements():
    check = compare("dx", q(1.0, 2.0), q(1.0, 2.0))
    assert (check.label, check.status, check.reason, check.exact, check.approx, check.maxdiff, check.details) == \
        ("dx", Status.CORRECT, "bit-identical to PyTorch's autograd", True, True, 0.0, "")
    check = compare("dx", q(1.0, 2.000001), q(1.0, 2.0))
    assert (check.reason, check.exact, check.approx) == ("within torch.testing's float32 tolerance of autograd", False, True)
    check = compare("dx", q(1.0, 3.0), q(1.0, 2.0))
    assert (check.status, check.reason) == (Status.WRONG, "does not match autograd: the largest difference is 1 at index (1,)")


def test_an_empty_gradient_is_bit_identical_with_no_errors():
    check = compare("dx", torch.zeros(0), torch.zeros(0), torch.zeros(0, dtype=F64))
    assert (check.status, check.maxdiff, check.your_error, check.pytorch_error) == (Status.CORRECT, 0.0, 0.0, 0.0)


D = 1 / 1024  # PyTorch's error below: exact, and far above 16 float32 roundings of T's scale


def autograd_off_by(d):
    expected = T.clone()
    expected[0, 0] += d
    return expected.float()


def yours_off_by(error, at=(5, 5)):
    yours = T.clone()
    yours[at] += error
    return yours.float()


@pytest.mark.parametrize("error, sentence", [
    (-D, "at least as accurate as autograd (yours 9.8e-04 from the float64 truth, PyTorch's 9.8e-04)"),
    (2 * D, "as accurate as autograd (yours 2.0e-03 from the float64 truth, PyTorch's 9.8e-04)"),
    (10 * D, "correct to float32 rounding, a little less accurate than autograd (yours 9.8e-03 from the float64 "
             "truth, PyTorch's 9.8e-04)"),
])
def test_each_verdict_at_its_exact_boundary(error, sentence):
    """The same error as PyTorch's, exactly twice it, exactly ten times it: each boundary included."""
    check = compare("dx", yours_off_by(error), autograd_off_by(D), T)
    assert (check.label, check.status, check.reason) == ("dx", Status.CORRECT, sentence)
    assert (check.your_error, check.pytorch_error) == (abs(error), D)


def test_just_past_ten_times_pytorchs_error_is_wrong_and_says_by_how_much():
    check = compare("dx", yours_off_by(11 * D), autograd_off_by(D), T)
    assert check.status is Status.WRONG
    assert check.reason == ("does not match autograd: the largest difference is 0.0107 at index (5, 5); 1 of its 864 "
                            "values are wrong, in rows 5 (one element each); the rest are right")
    tiny = 1e-6 * T  # inside torch.testing's absolute tolerance, and far from float32 rounding
    check = compare("dx", (tiny * 1.5).float(), tiny.float(), tiny)
    allowed = max(10 * check.pytorch_error, 16 * torch.finfo(torch.float32).eps * tiny.abs().max().item())
    assert check.reason.endswith(f"; that is inside torch.testing's absolute tolerance, but {check.your_error / allowed:.0f}× "
                                 f"more than float32 rounding explains (yours {check.your_error:.1e} from the float64 "
                                 f"truth, PyTorch's {check.pytorch_error:.1e})")


def test_a_wrong_scalar_names_no_index_and_no_unrecognised_factor():
    """Every wrong number is some multiple of the right one: "a constant factor is off" would say
    nothing. Only a recognised factor (the sign, n, 2, ...) is named for a single number."""
    check = compare("dx", torch.tensor(3.0), torch.tensor(1.0), torch.tensor(1.0, dtype=F64))
    assert check.reason == "does not match autograd: the largest difference is 2"
    check = compare("dx", 1.37, torch.tensor(12.0), torch.tensor(12.0, dtype=F64))
    assert check.reason == "does not match autograd: the largest difference is 10.6"
    one = compare("dx", torch.tensor([3.0]), torch.tensor([1.0]), torch.tensor([1.0], dtype=F64))
    assert "constant factor" not in one.reason  # a one-element tensor is a single number too
    flipped = compare("dx", torch.tensor(-1.0), torch.tensor(1.0), torch.tensor(1.0, dtype=F64))
    assert flipped.reason.endswith("the sign is flipped: check the minus signs on the way back")
    doubled = compare("dx", torch.tensor(2.0), torch.tensor(1.0), torch.tensor(1.0, dtype=F64))
    assert doubled.reason.endswith("it is the right gradient × 2: a contribution counted twice, or an extra factor 2")
    assert compare("dx", torch.tensor(8.0), torch.tensor(1.0), torch.tensor(1.0, dtype=F64), n=8).reason.endswith(
        "it is the right gradient × 8 (n): did you forget the 1/n from the mean?")


# ------------------------------------------------------------------ diagnose, rule by rule

N = 4
ALLOWED = 0.5 / 1024


def moved(truth, *where, by=3 / 1024):
    answer = truth.clone()
    for index in where:
        answer[index] += by
    return answer


W = grid(8, 6, seed=2)
SQUARE = grid(6, 6, seed=3)
LINE = grid(10, seed=4)
HINTS = [
    # (yours, truth, the hint)
    (torch.zeros(8, 6, dtype=F64), W, "it is all zeros, but the gradient is not: was it never filled in, or assigned "
     "with `=` where contributions should add up with `+=`?"),
    (moved(SQUARE.T.contiguous(), (0, 1), by=ALLOWED), SQUARE,
     "it equals the right gradient transposed: check the order of the matrix product"),
    (-W, W, "the sign is flipped: check the minus signs on the way back"),
    (N * W, W, "it is the right gradient × 4 (n): did you forget the 1/n from the mean?"),
    (W / N, W, "it is the right gradient ÷ 4 (n): a 1/n was applied twice"),
    (-N * W, W, "it is the right gradient × -4: the sign is flipped and the 1/n is missing"),
    (W * N / (N - 1), W, "it is the right gradient × 4/3: Bessel's correction, n-1 versus n"),
    (W * (N - 1) / N, W, "it is the right gradient × 3/4: Bessel's correction, n versus n-1"),
    (2.001 * W, W, "it is the right gradient × 2: a contribution counted twice, or an extra factor 2"),
    (0.5 * W, W, "it is the right gradient ÷ 2: a factor 2 is missing (the derivative of x**2 is 2x)"),
    (1.5 * W, W, "it is the right gradient × 1.5 everywhere: a constant factor is off"),
    (moved(W, (3, 2), (3, 4), (6, 1), (6, 0, ), (1, 5), by=ALLOWED), W, ""),  # off by the allowance only: right
    (moved(W, (3, 2)), W, "1 of its 48 values are wrong, in rows 3 (one element each); the rest are right"),
    (moved(moved(W, (3, 2)), (4, 4), by=ALLOWED), W, "1 of its 48 values are wrong, in rows 3 (one element each); the rest are right"),
    (moved(W, (0, 0), (0, 1), (1, 1), (2, 1), (3, 1), (4, 1)), W,
     "6 of its 48 values are wrong, in rows 0, 1, 2, 3, 4; the rest are right"),
    (moved(W, (1, 0), (2, 0), (3, 0), (5, 0), (6, 0), (7, 0)), W,
     "6 of its 48 values are wrong, in rows 1, 2, 3, 5, 6 and 1 more (one element each); the rest are right"),
    (moved(W, *[(r, r % 6) for r in range(8)]), W,
     "8 of its 48 values are wrong, at (0, 0), (1, 1), (2, 2), (3, 3), (4, 4) and 3 more; the rest are right"),
    (moved(LINE, (1,), (3,), (4,), (6,), (7,)), LINE, "5 of its 10 values are wrong, at (1,), (3,), (4,), (6,), (7,); the rest are right"),
    (moved(LINE, (3,)), LINE, "1 of its 10 values are wrong, at (3,); the rest are right"),
    (W + torch.where(W > 0, 3 / 1024, -5 / 1024), W, ""),  # every value wrong, no pattern: no hint
    (W, torch.zeros(8, 6, dtype=F64), ""),  # the gradient is zero: nothing to say about a factor
]


@pytest.mark.parametrize("yours, truth, hint", HINTS, ids=range(len(HINTS)))
def test_each_hint_word_for_word(yours, truth, hint):
    assert diagnose(yours.float(), truth, ALLOWED, N, {}) == hint


def test_a_known_slip_is_named_up_to_the_allowance_itself():
    slip = 3 * W
    assert diagnose(moved(slip, (2, 2), by=ALLOWED).float(), W, ALLOWED, N, {"the slip": slip}) == "the slip"
    assert diagnose(moved(slip, (2, 2), by=2 * ALLOWED).float(), W, ALLOWED, N, {"the slip": slip}) != "the slip"


def test_every_verdict_has_a_badge_of_its_own_colour():
    """The badges differ in hue, not only in shade: "cannot check" is not the amber of "right given
    earlier answers", nor the red of "wrong" (NOT_DONE is the grey one)."""
    import colorsys

    from checker.check import _BADGE

    def hue(colour):
        r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
        return colorsys.rgb_to_hls(r, g, b)[0] * 360

    coloured = {status: hue(bg) for status, (_, bg) in _BADGE.items() if status is not Status.NOT_DONE}
    for a in coloured:
        for b in coloured:
            if a is not b:
                gap = abs(coloured[a] - coloured[b])
                assert min(gap, 360 - gap) >= 30, (a, b, coloured)
