"""Reference gradients by autograd in float32 and float64, for an `Exercise`.

    refs = autograd_references(lambda x, w: x @ w, {"x": x, "w": w}, upstream=dout)
    Exercise("Matrix product", refs).check("dw", dw)

    refs = graph_references(forward, params, x, y, names=["out", "w1"])   # a network's whole graph

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


def graph_gradients(forward_pass: Callable, params: dict, *data, dtype: torch.dtype) -> dict:
    """d loss / d tensor for every parameter and every float tensor `forward_pass(params, *data)`
    returns (a dict with "loss"), by autograd in `dtype`. Works on private copies: the caller's
    tensors get no `.grad`."""
    leaves = {k: v.detach().to(dtype).requires_grad_() for k, v in params.items()}
    with torch.enable_grad():
        data = [t.to(dtype) if t.is_floating_point() else t for t in data]  # indices stay integers
        tensors = forward_pass(leaves, *data)
        for t in tensors.values():
            if t.requires_grad and not t.is_leaf:
                t.retain_grad()
        tensors["loss"].backward()
    tensors.update(leaves)
    return {name: t.grad.detach() for name, t in tensors.items() if name != "loss" and t.grad is not None}


def graph_references(forward_pass: Callable, params: dict, *data, names) -> dict:
    """{name: Reference} for the tensors in `names`, from `graph_gradients` in float32 and float64."""
    expected = graph_gradients(forward_pass, params, *data, dtype=torch.float32)
    truth = graph_gradients(forward_pass, params, *data, dtype=torch.float64)
    return {name: Reference(expected[name], truth[name]) for name in names}
