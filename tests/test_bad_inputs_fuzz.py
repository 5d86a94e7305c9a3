"""Thousands of generated bad inputs: the checker never raises and always says why in one sentence."""

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker import Check, Exercise, Reference, Status

EXPECTED = torch.randn(8, 5, generator=torch.Generator().manual_seed(1))
EX = Exercise("fuzz", {"x": Reference(EXPECTED, EXPECTED.double()), "b": Reference(EXPECTED[:1], None)})

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int8,
          torch.bool, torch.complex64]
shapes = st.lists(st.integers(0, 9), min_size=0, max_size=4).map(tuple)


@st.composite
def tensors(draw):
    shape = draw(st.one_of(shapes, st.sampled_from([(8, 5), (5, 8), (1, 5), (5,), (8, 5, 1)])))
    dtype = draw(st.sampled_from(DTYPES))
    values = torch.randn(shape) * draw(st.sampled_from([0.0, 1e-30, 1.0, 1e30]))
    if values.numel() and draw(st.booleans()):
        values.view(-1)[draw(st.integers(0, values.numel() - 1))] = draw(
            st.sampled_from([float("nan"), float("inf"), -float("inf")]))
    t = values.to(dtype)
    if t.is_floating_point() and draw(st.booleans()):
        t.requires_grad_()
    if draw(st.booleans()) and t.dim() >= 2:
        t = t.transpose(0, 1)  # non-contiguous
    return t


bad_inputs = st.one_of(
    st.none(), st.just(Ellipsis), st.integers(), st.floats(allow_nan=True), st.booleans(), st.text(max_size=5),
    st.lists(st.floats(), max_size=5), st.tuples(st.integers()), st.dictionaries(st.text(max_size=2), st.integers()),
    hnp.arrays(dtype=st.sampled_from([np.float32, np.float64, np.int32]), shape=hnp.array_shapes(max_dims=3)),
    tensors(),
)


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(label=st.sampled_from(["dx", "x", "db", "dnope", ""]), value=bad_inputs)
def test_any_input_gives_a_check_with_a_reason(label, value):
    check = EX.result(label, value)
    assert isinstance(check, Check)
    assert check.reason.strip() and "Traceback" not in check.reason
    # None of the generated values is the reference (random draws, zeros, NaNs), so none may pass.
    assert check.status is not Status.CORRECT
