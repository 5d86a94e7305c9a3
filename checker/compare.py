"""Compare one learner gradient with the references and explain the result in one sentence.

Three measurements, as in the original exercise, plus a verdict:
- exact:   bit-identical to PyTorch's float32 autograd;
- approx:  within `torch.testing.assert_close`'s default tolerances for the dtype;
- maxdiff: the largest absolute difference from PyTorch's float32 autograd;
- verdict: is your error from the float64 truth as small as float32 arithmetic allows?
  PyTorch's own float32 result is not exact either (its tanh backward, for one, rounds in another
  order than `(1 - h**2) * dh`), so an answer passes when its error is within a small factor of
  PyTorch's own error, or within a few float32 roundings of the gradient's size.

Input is validated first (type, placeholder, device, dtype, shape, requires_grad, NaN/Inf): bad input
gives a `Check` with a sentence saying what is wrong and how to fix it, never an exception.
"""

import reprlib
from dataclasses import replace

import numpy as np
import torch

from .check import Check, Status
from .diagnose import NO_KNOWN_MISTAKE, SIZE_ONE_DIMENSIONS, diagnose, mistake_name

# An answer may be this many times further from the float64 truth than PyTorch's own float32 result...
TIMES_PYTORCH_ERROR = 10.0
# ...or this many float32 roundings of the gradient's largest value (for when PyTorch happens to be exact).
ROUNDINGS_OF_SCALE = 16.0


def compare(label: str, yours, expected: torch.Tensor, truth: torch.Tensor | None = None,
            *, of: str | None = None, allow_keepdim: bool = False,
            mistakes: dict[str, torch.Tensor] | None = None, n: int | None = None) -> Check:
    """Check `yours` against PyTorch's float32 autograd `expected` and the float64 `truth`.

    `of` names the tensor the gradient belongs to (for messages: "W1 has shape (30, 64)").
    `allow_keepdim` accepts an answer whose shape differs only by size-1 dimensions, with a note:
    the original exercise's `dbnmeani = (-dbndiff).sum(0)` is shape (64,) for a (1, 64) tensor.
    A wrong answer gets a hint (see diagnose.py): `mistakes` maps a hint to what a known slip would
    give, and `n`, the batch size, lets factors such as 1/n and n/(n-1) be recognised.
    """
    of = of or (label[1:] if label.startswith("d") else label)
    if expected.dim() == 0 and _is_real_number(yours):  # a scalar gradient may be a plain number
        yours = torch.tensor(float(yours), dtype=expected.dtype, device=expected.device)
    problem = _input_problem(label, yours, expected, of, allow_keepdim)
    if problem is not None:
        return problem
    note = ""
    if yours.shape != expected.shape and not _broadcasts_alike(yours.shape, expected.shape):
        return _wrong_shape(label, yours, expected, truth, of, n, alike=False)
    if yours.shape != expected.shape and not allow_keepdim:
        return _wrong_shape(label, yours, expected, truth, of, n, alike=True)
    if yours.shape != expected.shape:
        note = (f". Note: {label} has shape {_shape(yours)} but {of} has shape {_shape(expected)}; "
                f"{_keepdim_fix(yours.shape, expected.shape)} so the gradient has its tensor's shape.")
        yours = yours.reshape(expected.shape)
    return _compare_values(label, yours.detach(), expected, truth, note, mistakes or {}, n)


def _broadcasts_alike(yours: torch.Size, expected: torch.Size) -> bool:
    """Whether `yours` broadcasts against any tensor exactly as `expected` does: it is `expected`
    without some of its leading size-1 dimensions, e.g. (64,) for (1, 64). A (32,) for a (32, 1) does
    not: broadcasting lines it up with the last dimension, so it would spread along the wrong axis."""
    extra = len(expected) - len(yours)
    return extra > 0 and tuple(expected) == (1,) * extra + tuple(yours)


def _wrong_shape(label, yours, expected, truth, of, n, alike: bool) -> Check:
    """The same values with size-1 dimensions moved, added or dropped: wrong, whatever its values.
    Either it broadcasts differently from its tensor (a (32,) for a (32, 1)), or, where the exercise
    does not allow it (allow_keepdim), alike ((64,) for a (1, 64))."""
    values = _compare_values(label, yours.detach().reshape(expected.shape), expected, truth, "", {}, n)
    said = "its values are right, only the shape is wrong" if values.passed else f"its values are wrong too: {values.reason}"
    if len(yours.shape) == len(expected.shape):
        fix = f"its size-1 dimensions are in other places: reshape it to {_shape(expected)}"
    else:
        fix = _keepdim_fix(yours.shape, expected.shape)
    how = ":" if alike else f", and the two broadcast differently: {_broadcast_example(label, of, yours.shape, expected.shape)};"
    reason = f"{label} has shape {_shape(yours)}, but {of} has shape {_shape(expected)}{how} {fix} ({said})"
    # not bit-identical nor close in torch.testing's sense (it refuses different shapes); maxdiff is
    # measured with the shape put right
    return replace(values, status=Status.WRONG, reason=reason, exact=False, approx=False,
                   details=f"shape {_shape(yours)}, expected {_shape(expected)}",
                   mistake=SIZE_ONE_DIMENSIONS)


def _broadcast_example(label: str, of: str, yours: torch.Size, expected: torch.Size) -> str:
    """What goes wrong downstream: the answer multiplied with a tensor of its tensor's shape."""
    try:
        got = torch.broadcast_shapes(yours, expected)
    except RuntimeError:
        return f"{label} does not even broadcast against a tensor of {of}'s shape {_shape(expected)}"
    if got == expected:
        return f"it lines up with the dimensions of {of} differently"
    return (f"times a tensor of {of}'s shape {_shape(expected)}, {label} gives shape {_shape(got)}, "
            f"not {_shape(expected)}")


def _compare_values(label, yours, expected, truth, note, mistakes, n) -> Check:
    exact = torch.equal(yours, expected)
    difference = (yours - expected).abs()
    maxdiff = difference.max().item() if difference.numel() else 0.0
    try:
        torch.testing.assert_close(yours, expected)
        approx, details = True, ""
    except AssertionError as mismatch:
        approx, details = False, str(mismatch)
    measured = dict(exact=exact, approx=approx, maxdiff=maxdiff, details=details)

    if truth is None:  # no float64 truth available: torch.testing's tolerance decides
        status = Status.CORRECT if approx else Status.WRONG
        reason = "bit-identical to PyTorch's autograd" if exact else (
            "within torch.testing's float32 tolerance of autograd" if approx
            else _where_it_differs(difference, maxdiff))
        return Check(label, status, reason + note, **measured)

    truth = truth.to(torch.float64)
    your_error = (yours.to(torch.float64) - truth).abs().max().item() if truth.numel() else 0.0
    pytorch_error = (expected.to(torch.float64) - truth).abs().max().item() if truth.numel() else 0.0
    scale = truth.abs().max().item() if truth.numel() else 0.0
    allowed = max(TIMES_PYTORCH_ERROR * pytorch_error,
                  ROUNDINGS_OF_SCALE * torch.finfo(expected.dtype).eps * scale)
    errors = f"yours {your_error:.1e} from the float64 truth, PyTorch's {pytorch_error:.1e}"
    measured.update(your_error=your_error, pytorch_error=pytorch_error)

    if exact:
        return Check(label, Status.CORRECT, "bit-identical to PyTorch's autograd" + note, **measured)
    if your_error <= allowed:
        if your_error <= pytorch_error:
            verdict = "at least as accurate as autograd"
        elif your_error <= 2 * pytorch_error:
            verdict = "as accurate as autograd"
        else:
            verdict = "correct to float32 rounding, a little less accurate than autograd"
        return Check(label, Status.CORRECT, f"{verdict} ({errors})" + note, **measured)
    reason = _where_it_differs(difference, maxdiff)
    hint = diagnose(yours, truth, allowed, n, mistakes)
    if hint:
        reason += f"; {hint}"
    measured["mistake"] = mistake_name(hint, mistakes) or NO_KNOWN_MISTAKE
    if approx:
        reason += (f"; that is inside torch.testing's absolute tolerance, but {your_error / allowed:.0f}× "
                   f"more than float32 rounding explains ({errors})")
    return Check(label, Status.WRONG, reason + note, **measured)


def _where_it_differs(difference: torch.Tensor, maxdiff: float) -> str:
    index = np.unravel_index(int(difference.argmax()), tuple(difference.shape))
    where = f" at index {tuple(int(i) for i in index)}" if difference.dim() else ""
    return f"does not match autograd: the largest difference is {maxdiff:.3g}{where}"


# ---------------------------------------------------------------- input validation

def _input_problem(label, yours, expected, of, allow_keepdim) -> Check | None:
    """A `Check` explaining why `yours` cannot be compared, or None if it can."""
    # a scalar gradient may be a plain number (see compare)
    wanted = "a number (or a 0-dim torch.Tensor)" if expected.dim() == 0 else f"a torch.Tensor of shape {_shape(expected)}"

    def invalid(sentence):
        return Check(label, Status.INVALID, sentence)

    if yours is None or yours is Ellipsis:
        return Check(label, Status.NOT_DONE,
                     f"not done yet: replace the placeholder `{label} = None` with your gradient, {wanted}.")
    if isinstance(yours, np.ndarray):
        return invalid(f"{label} is a numpy array; compute it with torch operations on the forward "
                       f"tensors, or convert it with torch.from_numpy({label}).float().")
    if isinstance(yours, (bool, int, float, complex, np.number, np.bool_)):
        return invalid(f"{label} is a single {type(yours).__name__} ({reprlib.repr(yours)}), but it must be {wanted}: "
                       f"the gradient has one entry for every entry of {of}.")
    if isinstance(yours, (list, tuple)):
        return invalid(f"{label} is a Python {type(yours).__name__}, but it must be {wanted}; "
                       f"build it with torch operations, or wrap it with torch.tensor(...).")
    if not isinstance(yours, torch.Tensor):
        return invalid(f"{label} is a {type(yours).__name__}, but it must be {wanted}.")
    if yours.layout != torch.strided:
        return invalid(f"{label} is a {yours.layout} tensor; convert it with {label}.to_dense().")
    if yours.device != expected.device:
        return invalid(f"{label} is on device '{yours.device}', but the reference lives on "
                       f"'{expected.device}'; move it there with {label}.to('{expected.device}').")
    if yours.dtype != expected.dtype:
        return invalid(f"{label} has dtype {yours.dtype}, but {of} is {expected.dtype}; compute it "
                       f"from the forward tensors (they are {expected.dtype}) or convert it with "
                       f"{label}.to({expected.dtype}).")
    # the same values with size-1 dimensions added or dropped are judged, in compare(): a wrong shape
    if yours.shape != expected.shape and not _same_but_size1(yours.shape, expected.shape):
        return invalid(f"{label} has shape {_shape(yours)}, but {of} has shape {_shape(expected)}: "
                       f"{_shape_hint(yours.shape, expected.shape)}")
    if yours.requires_grad:
        return invalid(f"{label} still requires grad, so autograd took part in computing it; compute it "
                       f"by hand from the forward tensors, which do not require grad.")
    bad = ~torch.isfinite(yours)
    if bad.any():
        nans, infs = int(torch.isnan(yours).sum()), int(torch.isinf(yours).sum())
        first = tuple(int(i) for i in bad.nonzero()[0]) if yours.dim() else ()
        counts = " and ".join(f"{k} {what}" for k, what in ((nans, "NaN"), (infs, "Inf")) if k)
        at = f", the first at index {first}" if first else ""
        return invalid(f"{label} contains {counts} of its {yours.numel()} values{at}; look for a "
                       f"division by zero, a log of zero or an overflowing exp.")
    return None


def _is_real_number(value) -> bool:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    try:
        float(value)
    except OverflowError:  # an int too big for a float: reported as a single int instead
        return False
    return True



def _shape(t) -> str:
    """A tensor's shape, or a torch.Size, as a learner reads it: (32, 1)."""
    return str(tuple(t.shape if isinstance(t, torch.Tensor) else t))


def _same_but_size1(a: torch.Size, b: torch.Size) -> bool:
    """(64,) and (1, 64): the same values, with size-1 dimensions added or dropped."""
    return a != b and [d for d in a if d != 1] == [d for d in b if d != 1]


def _keepdim_fix(yours: torch.Size, expected: torch.Size) -> str:
    if len(yours) < len(expected):
        return "keep the summed dimension with keepdim=True"
    return "drop the extra size-1 dimension (sum with keepdim=False, or .squeeze())"


def _shape_hint(yours: torch.Size, expected: torch.Size) -> str:
    if _same_but_size1(yours, expected):
        return _keepdim_fix(yours, expected) + "."
    if len(yours) == len(expected) == 2 and tuple(yours) == tuple(expected)[::-1]:
        return "the dimensions are swapped; check the order of the matrix product or transpose it."
    if len(yours) == len(expected) and all(e in (1, y) for y, e in zip(yours, expected)):
        summed = [i for i, (y, e) in enumerate(zip(yours, expected)) if y != e]
        dims = ", ".join(map(str, summed))
        return (f"the forward pass broadcast {'this dimension' if len(summed) == 1 else 'these dimensions'}, "
                f"so sum the gradient over dim {dims} with keepdim=True.")
    extra = len(yours) - len(expected)
    if extra > 0 and tuple(yours[extra:]) == tuple(expected):
        dims = ", ".join(map(str, range(extra)))
        return (f"the forward pass broadcast {tuple(expected)} over the leading dimensions, so sum the "
                f"gradient over dim {dims}.")
    return "a gradient always has the shape of the tensor it belongs to."

