"""Reference gradients for a small function of named tensors, by autograd in float32 and float64.

    refs = autograd_references(lambda x, w: x @ w, {"x": x, "w": w}, upstream=dout)
    Exercise("Matrix product", refs).check("dw", dw)

The learner's float32 answer is compared with PyTorch's float32 result (exact / approx / maxdiff)
and judged against the float64 one (see compare.py). The caller's tensors are never touched.
"""

from collections.abc import Callable

import torch

from .exercise import Reference


def function_gradients(forward: Callable, inputs: dict, dtype: torch.dtype, upstream=None) -> dict:
    """{name: d output / d input} for every floating-point tensor in `inputs`, in `dtype`.
    A non-scalar output is weighted by `upstream` (the gradient flowing into it, e.g. `dout`)."""
    leaves = {name: value.detach().to(dtype).requires_grad_()
              if isinstance(value, torch.Tensor) and value.is_floating_point() else value
              for name, value in inputs.items()}
    differentiable = {name: v for name, v in leaves.items() if isinstance(v, torch.Tensor) and v.requires_grad}
    with torch.enable_grad():
        output = forward(**leaves)
        weight = None if upstream is None else upstream.detach().to(dtype)
        grads = torch.autograd.grad(output, list(differentiable.values()), weight, allow_unused=True)
    return {name: torch.zeros_like(leaf) if grad is None else grad.detach()
            for (name, leaf), grad in zip(differentiable.items(), grads)}


def autograd_references(forward: Callable, inputs: dict, upstream=None, names=None) -> dict:
    """{name: Reference} for the inputs in `names` (default: every floating-point input), ready
    for an `Exercise`; the float32 result is `expected`, the float64 one `truth`."""
    expected = function_gradients(forward, inputs, torch.float32, upstream)
    truth = function_gradients(forward, inputs, torch.float64, upstream)
    return {name: Reference(expected[name], truth[name]) for name in (names or expected)}
