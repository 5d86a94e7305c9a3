"""Error carried forward: what one step of a backward pass should be, given the learner's own
answers for the steps before it.

A forward pass names its tensors (`forward(params, *data)` returns {name: tensor, ..., "loss"}).
The gradient of a tensor X is the sum, over the tensors computed directly from X (its consumers),
of each forward op's vector-Jacobian product with that consumer's gradient. With the learner's own
consumer gradients in place of autograd's, that sum is what a learner who did this step right would
have written, even if an earlier step was wrong: `dprobs` given their `dlogprobs`, `dcounts` given
their `dprobs` and `dcounts_sum`.

    chain = Chain(makemore.forward, setup.params, setup.Xb, setup.Yb)
    chain.consumers["counts"]                             # ['counts_sum', 'probs']
    chain.given("counts", {"probs": dprobs, "counts_sum": dcounts_sum})   # a Reference, or None

Each op's VJP alone is found with autograd on the whole graph, with the gradient stopped at every
other named tensor (a hook that passes zeros), in float32 and in float64.
"""

import ast
import inspect
import textwrap
from collections.abc import Callable

import torch

from .exercise import Reference


class _Graph:
    """The forward pass run once in `dtype`, with a gate on every named tensor."""

    def __init__(self, forward_pass: Callable, params: dict, data: tuple, dtype: torch.dtype):
        leaves = {k: v.detach().to(dtype).requires_grad_() for k, v in params.items()}
        data = [t.to(dtype) if t.is_floating_point() else t for t in data]
        self.blocked: set = set()
        with torch.enable_grad():
            self.tensors = {**leaves, **forward_pass(leaves, *data)}
        self.tensors = {k: t for k, t in self.tensors.items() if isinstance(t, torch.Tensor) and t.requires_grad}
        for name, t in self.tensors.items():
            if not t.is_leaf:
                t.register_hook(lambda grad, name=name: torch.zeros_like(grad) if name in self.blocked else None)

    def node(self, name: str):
        t = self.tensors[name]
        return t.grad_fn if t.grad_fn is not None else t

    def consumers(self) -> dict:
        """{name: the named tensors computed directly from it (no other named tensor between)}."""
        nodes = {}
        for name in self.tensors:
            node = self.node(name)
            nodes[id(node)] = name
        found = {name: [] for name in self.tensors}
        for name, t in self.tensors.items():
            if t.grad_fn is None:
                continue
            todo, seen = [t.grad_fn], set()
            while todo:
                fn = todo.pop()
                for next_fn, _ in fn.next_functions:
                    if next_fn is None or id(next_fn) in seen:
                        continue
                    seen.add(id(next_fn))
                    leaf = getattr(next_fn, "variable", None)  # AccumulateGrad: a parameter
                    source = nodes.get(id(leaf)) if leaf is not None else nodes.get(id(next_fn))
                    if source is not None and source != name:
                        found[source].append(name)
                    elif leaf is None:
                        todo.append(next_fn)
        return {name: sorted(set(users)) for name, users in found.items()}

    def vjp(self, name: str, consumers: list, upstream: dict) -> torch.Tensor:
        """d loss / d `name` through its own consumers only, each weighted by `upstream[consumer]`."""
        dtype = self.tensors[name].dtype
        total = torch.zeros_like(self.tensors[name])
        for consumer in consumers:
            self.blocked = set(self.tensors) - {name, consumer}
            try:
                weight = upstream[consumer].detach().to(dtype).reshape(self.tensors[consumer].shape)
                (part,) = torch.autograd.grad(self.tensors[consumer], self.tensors[name], weight,
                                              retain_graph=True, allow_unused=True)
            finally:
                self.blocked = set()
            if part is not None:
                total = total + part
        return total.detach()


class Chain:
    """A forward pass's graph of named tensors, for judging each step on the learner's own upstream."""

    def __init__(self, forward_pass: Callable, params: dict, *data):
        self._graphs = {dtype: _Graph(forward_pass, params, data, dtype) for dtype in (torch.float32, torch.float64)}
        self.consumers = self._graphs[torch.float64].consumers()
        self.shapes = {name: t.shape for name, t in self._graphs[torch.float32].tensors.items()}
        self.lines = _forward_lines(forward_pass)

    def where_used(self, name: str) -> str:
        """The first level of a hint, from the graph itself: the forward lines that use `name`,
        and the shape its gradient has."""
        users = [c for c in self.consumers.get(name, [])]
        lines = " and ".join(f"`{self.lines.get(c, c)}`" for c in users) or "no line"
        shape = tuple(self.shapes[name])
        like = f"a single number, like {name}" if not shape else f"the shape of {name}, {shape}"
        if len(users) == 1:
            return (f"{name} is used in one line of the forward pass: {lines}. So d{name} is {like}: the "
                    f"gradient of what that line computes (d{users[0]}) times the line's local gradient with "
                    f"respect to {name}.")
        return (f"{name} is used in {len(users)} lines of the forward pass: "
                f"{lines}. So d{name} is {like}, and adds up one term per line: the "
                f"gradient of what that line computes ({', '.join(f'd{c}' for c in users)}) times the "
                f"line's local gradient with respect to {name}.")

    def given(self, name: str, upstream: dict) -> Reference | None:
        """What d`name` should be given `upstream` ({consumer: the learner's gradient of it}; the
        loss's own gradient, 1, is implied), or None if a consumer's gradient is missing or unusable."""
        upstream = {"loss": torch.ones(()), **upstream}
        consumers = self.consumers.get(name, [])
        if not consumers or any(not _usable(upstream.get(c), self.shapes[c]) for c in consumers):
            return None
        expected = self._graphs[torch.float32].vjp(name, consumers, upstream)
        truth = self._graphs[torch.float64].vjp(name, consumers, upstream)
        return Reference(expected, truth)


def _forward_lines(forward_pass: Callable) -> dict:
    """{name: its line of the forward pass's source}, for `name = ...` and `dict(name=...)`."""
    try:
        source = textwrap.dedent(inspect.getsource(forward_pass))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return {}
    lines = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            lines[node.targets[0].id] = ast.get_source_segment(source, node).split("#")[0].strip()
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
            for keyword in node.keywords:
                if keyword.arg and keyword.arg not in lines and not isinstance(keyword.value, ast.Name):
                    lines[keyword.arg] = f"{keyword.arg} = {ast.get_source_segment(source, keyword.value)}"
    return lines


def _usable(tensor, shape) -> bool:
    return (isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and tensor.numel() == shape.numel()
            and bool(torch.isfinite(tensor).all()))
