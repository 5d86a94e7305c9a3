"""The capstone: your backward passes as `torch.autograd.Function`s, checked three ways.

    ex = capstone.functions_exercise()     # four Functions to write, on inputs drawn from the seed
    ex.check("Linear", Linear)             # forward, gradcheck and every gradient; raises unless correct
    capstone.gradcheck_report("Linear", Linear, {"x": x, "weight": w, "bias": b})   # gradcheck alone

A Function is checked three ways: its forward against the plain-PyTorch formula, its backward as
`torch.autograd.gradcheck` does (in float64, against central differences of its forward, with
gradcheck's tolerances), and its float32 gradients against autograd's through the plain-PyTorch
formula (the verdict of compare.py). Whatever the learner's class does wrong (no class, a missing
staticmethod, the wrong number of gradients, an exception) becomes one sentence, never a traceback.

A check has two halves: `probe` runs the learner's Function on the lesson's inputs (in a graded
kernel, where no reference is) and returns plain tensors: its outputs, its gradients, its Jacobian
by backward and its forward at ± gradcheck's step. The exercise's `rows` judges them (in the grader,
from the same seed): gradcheck's verdict, and the comparison with the references. In JupyterLab
`rows` does both, and so does `gradcheck_report`.
"""

import inspect
import math
import reprlib
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from . import training
from .class_checks import ClassChecks, Unusable, article, said, unusable
from ..check import Check, Status
from ..environment import fast_mode, generator, seed_from_env
from ..exercise import Exercise
from ..handout import exercise_factory
from .makemore import BN_EPS, PARAMETER_NAMES, MakemoreSetup, _references
from ..references import autograd_references

LESSON = "08_capstone_autograd_function"  # its folder in solutions/ and lessons/: the rules its checks apply

# torch.autograd.gradcheck's defaults, named so that the checker's own measurement uses the same.
GRADCHECK_EPS = 1e-6  # the finite-difference step
GRADCHECK_ATOL = 1e-5
GRADCHECK_RTOL = 1e-3
MAX_OUTPUT = 4096  # elements of an output whose Jacobian is measured: one backward each (the cases' have <= 40)

TRAIN_STEPS = 10_000
FAST_TRAIN_STEPS = 1_000  # CI and grading: enough for the two loss curves to fall together


# ---------------------------------------------------------------- running the learner's Function

@contextmanager
def _one_thread():
    """Checks run on tiny tensors, where a second thread only adds its wake-up time: up to
    milliseconds per operation on a busy machine, for none of the work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _function_problem(name: str, function) -> None:
    """Raise Unusable unless `function` is a Function subclass with static forward and backward."""
    if function is None or function is Ellipsis:
        raise Unusable(f"not done yet: replace the placeholder `{name} = None` with your class, "
                        f"`class {name}(torch.autograd.Function):`.", Status.NOT_DONE)
    if isinstance(function, torch.autograd.Function):
        raise Unusable(f"{name} is an instance of your class; pass the class itself ({name}, not {name}()).")
    if not (inspect.isclass(function) and issubclass(function, torch.autograd.Function)):
        raise Unusable(f"{name} is {article(type(function).__name__)} ({reprlib.repr(function)}), but it must be "
                        f"a class that subclasses torch.autograd.Function: `class {name}(torch.autograd.Function):`.")
    for method in ("forward", "backward"):
        found = inspect.getattr_static(function, method)
        owner = next(k for k in function.__mro__ if method in vars(k))
        if owner in (torch.autograd.Function, *torch.autograd.Function.__mro__):
            raise Unusable(f"{name} has no {method} method of its own; define "
                            f"`@staticmethod def {method}(ctx, ...)` inside the class.")
        if not isinstance(found, staticmethod):
            raise Unusable(f"{name}.{method} must be a static method: put `@staticmethod` on the line "
                            f"above `def {method}(ctx, ...)` (it takes ctx, not self).")


def _run(name: str, stage: str, thunk: Callable):
    """thunk(), with the learner's exceptions turned into one sentence and warnings kept off stderr
    (in a graded cell any stderr output costs the points)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return thunk()
    except Unusable:
        raise
    except Exception as error:  # anything the learner's code raises is reported, not re-raised
        raise Unusable(_explain(name, stage, error)) from None


def _explain(name: str, stage: str, error: Exception) -> str:
    message = (str(error).strip().splitlines() or [""])[0]
    if "invalid gradient at index" in message and "got [" in message:
        # autograd's engine: "... invalid gradient at index 1 - got [2, 3] but expected shape compatible with [3, 2]"
        index = message.split("index ")[1].split(" ")[0]
        got = message.split("got [")[1].split("]")[0]
        wanted = message.split("compatible with [")[1].split("]")[0] if "compatible with [" in message else "?"
        return (f"{name}.backward returned a gradient of shape ({got}) for input {index}, which has shape "
                f"({wanted}): each gradient has the shape of its input.")
    if "modified by an inplace operation" in message:
        return (f"{name}.backward changes a saved tensor in place (such as `probs[...] -= 1`), and autograd "
                f"may call backward more than once (gradcheck does): work on a copy, e.g. `probs.clone()`.")
    if "Variable or None" in message:
        return (f"{name}.backward returned something that is neither a tensor nor None ({message}); "
                f"return one tensor (or None) per input of forward.")
    return f"{name}.{stage} raised {type(error).__name__}: {message or 'no message'}"


def _arguments(inputs) -> tuple[list, list]:
    """(names, values) of a Function's inputs given as a dict, a sequence or a single tensor."""
    if isinstance(inputs, dict):
        return list(inputs), list(inputs.values())
    values = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    return [f"input {i}" for i in range(len(values))], values


def _float64_leaves(values) -> list:
    """Float64 copies that require grad of the floating-point inputs; other inputs (targets) as they are."""
    return [v.detach().to(torch.float64).requires_grad_() if isinstance(v, torch.Tensor) and v.is_floating_point()
            else v for v in values]


def _shape(t) -> str:
    return str(tuple(t.shape))


def _dry_run(name: str, function, args: list, names: list) -> tuple[torch.Tensor, dict]:
    """Apply the Function once and call its backward directly, so that a wrong kind of result is
    named precisely (a list, the wrong count, a float) before autograd's engine sees it. Returns the
    output and {input: the shape of the gradient backward returned for it}: autograd's engine sums a
    gradient its input broadcasts to without a word, so only here is a too-large one seen."""
    output = _run(name, "forward", lambda: function.apply(*args))
    if not isinstance(output, torch.Tensor):
        raise Unusable(f"{name}.forward returned {article(type(output).__name__)}; it must return one tensor.")
    floats = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()]
    if floats and output.dtype != floats[0].dtype:
        raise Unusable(f"{name}.forward returned {output.dtype} for {floats[0].dtype} inputs; create new "
                        f"tensors with the input's dtype (torch.zeros_like(x), or dtype=x.dtype).")
    if output.grad_fn is None:
        raise Unusable(f"{name}.forward's output is not connected to the inputs (it has no grad_fn); "
                        f"return a tensor computed by forward, not one marked non-differentiable.")
    grads = _run(name, "backward", lambda: function.backward(output.grad_fn, torch.ones_like(output)))
    if isinstance(grads, torch.Tensor) or grads is None:
        grads = (grads,)
    if not isinstance(grads, tuple):
        raise Unusable(f"{name}.backward returned {article(type(grads).__name__)}; return a tuple with one "
                        f"gradient per input of forward (`return {', '.join('d' + n for n in names)}`).")
    if len(grads) != len(args):
        raise Unusable(f"{name}.backward returned {len(grads)} gradient{'s' * (len(grads) != 1)}, but forward "
                        f"takes {len(args)} input{'s' * (len(args) != 1)} ({', '.join(names)}): return one per "
                        f"input, in the same order, None for an input without a gradient (such as targets).")
    shapes = {}
    for input_name, arg, grad in zip(names, args, grads):
        if not (isinstance(arg, torch.Tensor) and arg.requires_grad) or grad is None:
            continue
        if not isinstance(grad, torch.Tensor):
            raise Unusable(f"{name}.backward returned {article(type(grad).__name__)} for {input_name}; return a tensor "
                            f"of shape {_shape(arg)}.")
        try:
            arg.expand(grad.shape)  # autograd accepts a gradient its input broadcasts to, and sums it
        except RuntimeError:
            raise Unusable(f"{name}.backward returned a gradient of shape {_shape(grad)} for {input_name}, "
                            f"which has shape {_shape(arg)}: each gradient has the shape of its input.") from None
        shapes[input_name] = list(grad.shape)
    return output, shapes


def _not_summed(name: str, input_name: str, got: tuple, shape: tuple) -> str:
    """The sentence for a gradient of shape `got` that its input, of `shape`, broadcasts to: it was
    never summed over the dimensions the input was broadcast along."""
    extra = len(got) - len(shape)
    dims = list(range(extra)) + [extra + i for i, n in enumerate(shape) if n == 1 and got[extra + i] != 1]
    if dims == [0]:
        fix = f"sum over the batch dimension (`.sum(0{'' if extra else ', keepdim=True'})`)"
    else:
        fix = f"sum over the dimensions {input_name} was broadcast along ({', '.join(map(str, dims))})"
    return (f"{name}.backward returned a gradient of shape {got} for {input_name}, which has shape {shape}: "
            f"{fix}, so that it has its input's shape (autograd would sum it silently; the check does not)")


# ---------------------------------------------------------------- gradcheck, in two halves

def _gradcheck_probe(name: str, function, names: list, values: list) -> dict:
    """What gradcheck needs of the learner's Function on float64 copies of `values`, as plain tensors
    (run in the kernel: no verdict here). For each input that requires grad: the Jacobian
    d output / d input by their backward, one one-hot grad_output per output element, twice
    (gradcheck's test that backward is reentrant); their forward at that input ± GRADCHECK_EPS, one
    element at a time (the central differences); their backward's gradient for a zero grad_output
    (gradcheck's test that it is multiplied by grad_output). Raises Unusable."""
    _function_problem(name, function)
    args = _float64_leaves(values)
    output, grad_shapes = _dry_run(name, function, args, names)
    if output.numel() > MAX_OUTPUT:
        raise Unusable(f"{name}.forward returned {output.numel()} numbers ({_shape(output)}) for these inputs: "
                        f"more than the checker measures ({MAX_OUTPUT}); does it return the right tensor?")
    return {"output_shape": list(output.shape), "grad_shapes": grad_shapes,
            "inputs": _run(name, "backward", lambda: _jacobians(function, args))}


def _jacobians(function, args: list) -> list[dict]:
    wanted = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
    values = [a.detach() if isinstance(a, torch.Tensor) else a for a in args]
    leaves = [values[i].clone().requires_grad_() for i in wanted]
    with torch.enable_grad():
        output = function.apply(*[leaves[wanted.index(i)] if i in wanted else v for i, v in enumerate(values)])
        flat = output.reshape(-1)
        first, again = ([torch.autograd.grad(flat[k], leaves, retain_graph=True, allow_unused=True)
                         for k in range(flat.numel())] for _ in range(2))
        zero = torch.autograd.grad(output, leaves, torch.zeros_like(output), allow_unused=True)

    def stacked(rows, position, i):  # (output elements, input elements); None is a zero gradient
        return torch.stack([torch.zeros_like(values[i]) if row[position] is None else row[position]
                            for row in rows]).reshape(flat.numel(), -1)

    found = []
    for position, i in enumerate(wanted):
        moved = {}
        for sign in (1, -1):
            outputs = []
            for k in range(values[i].numel()):
                step = torch.zeros(values[i].numel(), dtype=values[i].dtype)
                step[k] = sign * GRADCHECK_EPS
                outputs.append(function.apply(*values[:i], values[i] + step.view_as(values[i]), *values[i + 1:])
                               .reshape(-1))
            moved[sign] = torch.stack(outputs) if outputs else torch.zeros(0, flat.numel(), dtype=values[i].dtype)
        found.append({"input": i, "analytical": _plain(stacked(first, position, i)),
                      "again": _plain(stacked(again, position, i)),
                      "zero": _plain(torch.zeros_like(values[i]) if zero[position] is None else zero[position]),
                      "plus": _plain(moved[1]), "minus": _plain(moved[-1])})
    return found


def _plain(tensor: torch.Tensor) -> torch.Tensor:
    """A plain, detached copy: not a subclass of the learner's, with its own methods."""
    with torch._C.DisableTorchFunctionSubclass():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{type(tensor).__name__} is not a tensor")
        return torch.Tensor._make_subclass(torch.Tensor, tensor.detach()).clone()


def _index(flat_index: int, shape) -> str:
    if len(shape) == 0:
        return ""
    return str([int(i) for i in np.unravel_index(flat_index, tuple(shape))])  # torch's arrived only in 2.2


NOT_SCALED = ("your backward's gradients do not scale with grad_output (the gradient flowing into the "
              "output): multiply by it.")
NOT_REENTRANT = ("your backward gives a different result each time it runs with the same grad_output: does it "
                 "change a saved tensor in place? Work on a copy (.clone()) instead.")


def _gradcheck_verdict(names: list, shapes: list, found: dict) -> Check:
    """gradcheck's verdict on what `_gradcheck_probe` found, by its tests and tolerances: backward's
    Jacobian against central differences for every input, backward reentrant, backward multiplied by
    grad_output. On failure, which input's gradient is wrong and where it differs most."""
    largest, wrong, reentrant, scaled = 0.0, None, True, True
    for jacobian in found["inputs"]:
        i, analytical, again = int(jacobian["input"]), jacobian["analytical"].double(), jacobian["again"].double()
        numerical = ((jacobian["plus"].double() - jacobian["minus"].double()) / (2 * GRADCHECK_EPS)).T
        if not analytical.shape == again.shape == numerical.shape == (math.prod(found["output_shape"]),
                                                                      math.prod(shapes[i])):
            raise ValueError("Jacobians of another shape than the inputs'")
        difference = (analytical - numerical).abs().nan_to_num(float("inf"))
        if difference.numel():
            largest = max(largest, difference.max().item())
            reentrant &= not bool((analytical - again).abs().max() > 0)  # gradcheck's nondet_tol = 0 (NaN passes)
        outside = difference > GRADCHECK_ATOL + GRADCHECK_RTOL * numerical.abs()
        if wrong is None and outside.any():
            wrong = (i, analytical, numerical, difference)
        scaled &= bool((jacobian["zero"] == 0).all())
    if wrong is None and reentrant and scaled:
        return Check("gradcheck", Status.CORRECT,
                     f"gradcheck passes: your backward agrees with central differences in float64 for every "
                     f"input (largest difference {largest:.1e}; allowed {GRADCHECK_ATOL:g} + "
                     f"{GRADCHECK_RTOL:g} × |numerical|)", maxdiff=largest)
    if wrong is None:
        return Check("gradcheck", Status.WRONG, "gradcheck fails: " + (NOT_SCALED if reentrant else NOT_REENTRANT),
                     maxdiff=largest)
    i, analytical, numerical, difference = wrong
    out_k, in_k = divmod(int(difference.argmax()), difference.shape[1])
    where = f"d output{_index(out_k, found['output_shape'])} / d {names[i]}{_index(in_k, shapes[i])}"
    reason = (f"gradcheck fails for {names[i]} (input {i}): the largest difference is at {where}, "
              f"{numerical[out_k, in_k].item():.4g} by central differences but {analytical[out_k, in_k].item():.4g} "
              f"by your backward")
    if not analytical.abs().nan_to_num(1.0).any():
        reason += f"; your backward gives no gradient (None or zeros) for {names[i]}"
    elif not torch.isfinite(analytical).all():
        reason += f"; your backward gives NaN or Inf for {names[i]}"
    return Check("gradcheck", Status.WRONG, reason, maxdiff=largest)


def _shapes(values: list) -> list:
    return [tuple(v.shape) if isinstance(v, torch.Tensor) else () for v in values]


def gradcheck_report(name: str, function, inputs) -> Check:
    """gradcheck of `function` on float64 copies of `inputs` (a dict {name: tensor}, a sequence, or
    one tensor), as a Check with one sentence: which input's gradient is wrong and where it differs
    most from central differences. Never raises."""
    names, values = _arguments(inputs)
    with _one_thread():
        try:
            found = _gradcheck_probe(name, function, names, values)
        except Unusable as problem:
            return Check("gradcheck", problem.status, problem.sentence)
    return _gradcheck_verdict(names, _shapes(values), found)


# ---------------------------------------------------------------- the probe: your Function, run in the kernel

def probe(exercise_key: str, label: str, yours) -> dict:
    """What the learner's Function `label` gives on the lesson's inputs from seed_from_env(): in a
    graded kernel all the grader sees of it. Plain tensors and sentences, no reference and no
    verdict; never raises."""
    found = _inputs(seed_from_env()).get(label)
    return {} if found is None else _probe(label, yours, *found)


def _probe(name: str, function, inputs: dict, upstream: torch.Tensor) -> dict:
    """{"problem": [status, sentence]} if the Function cannot be run; else what gradcheck needs
    (`_gradcheck_probe`), its float32 "forward" and the float32 "grads" of its backward for
    `upstream`, or only "forward_shape" when the output has another shape than `upstream`."""
    with _one_thread():
        try:
            found = _gradcheck_probe(name, function, list(inputs), list(inputs.values()))
            output = _run(name, "forward", lambda: function.apply(*inputs.values()))
            if not isinstance(output, torch.Tensor):
                raise Unusable(f"{name}.forward returned {article(type(output).__name__)}; it must return one tensor.")
            if output.shape != upstream.shape:  # the judge reports the shape; no gradients to compare
                return {**found, "forward_shape": list(output.shape)}
            found["forward"] = _plain(output)
            found["grads"] = _run(name, "backward", lambda: _gradients(function, inputs, upstream))
        except Unusable as problem:
            return {"problem": said(problem)}
        except Exception as error:  # a learner's class that raises where the checker only looks at it
            return {"problem": said(Unusable(f"{name} raised {type(error).__name__} when the checker looked at it"))}
    return found


def _gradients(function, inputs: dict, upstream: torch.Tensor) -> dict:
    """{input: float32 gradient} by the learner's backward, for every floating-point input."""
    leaves = {k: v.detach().clone().requires_grad_() if v.is_floating_point() else v for k, v in inputs.items()}
    wanted = {k: v for k, v in leaves.items() if v.requires_grad}
    with torch.enable_grad():
        grads = torch.autograd.grad(function.apply(*leaves.values()), list(wanted.values()), upstream,
                                    allow_unused=True)
    return {k: _plain(torch.zeros_like(leaf) if grad is None else grad) for (k, leaf), grad in zip(wanted.items(), grads)}


# ---------------------------------------------------------------- the graded exercise

@dataclass(frozen=True)
class Case:
    """One Function to write: its inputs (in `apply` order), the plain-PyTorch formula it must
    compute, the gradient flowing into its output, and hints for known slips {input: {hint: float64}}."""

    name: str
    formula: str  # for messages, e.g. "x @ weight + bias"
    reference: Callable  # the formula as a function of the inputs by name
    inputs: dict
    upstream: torch.Tensor
    mistakes: dict = field(default_factory=dict)
    output_mistakes: dict = field(default_factory=dict)  # {hint: float64 output} for a wrong forward


class FunctionsExercise(ClassChecks):
    """Checks whole Function classes: `check("Tanh", Tanh)` runs forward, gradcheck and backward.
    `result(name, function)` is what the hidden tests call: one Check per Function."""

    lesson = LESSON

    def __init__(self, title: str, cases: list[Case]):
        self.title = title
        self.cases = {case.name: case for case in cases}
        self._exercises = {}
        for case in cases:
            references = autograd_references(case.reference, case.inputs, case.upstream)
            for input_name, hints in case.mistakes.items():
                references[input_name] = replace(references[input_name], mistakes=hints)
            self._exercises[case.name] = Exercise(case.name, references, batch_size=_batch_size(case))
        self._results: dict[str, Check] = {}

    kind = "Function"

    def _table_title(self, label: str) -> str:
        return f"{label} on the checker's inputs"

    def _probe(self, name: str, function) -> dict:
        """Forward, gradcheck's measurements and the gradients, from the learner's Function."""
        case = self.cases[name]
        return _probe(name, function, case.inputs, case.upstream)

    def _rows(self, name: str, found: dict) -> list[Check]:
        with _one_thread():
            return self._rows_of(self.cases[name], found)

    def _rows_of(self, case: Case, found: dict) -> list[Check]:
        if "problem" in found:
            problem = unusable(found["problem"])
            return [Check(case.name, problem.status, problem.sentence)]
        gradcheck = _gradcheck_verdict(list(case.inputs), _shapes(list(case.inputs.values())), found)
        forward = self._forward_row(case, found)
        if forward.status is Status.INVALID:  # no gradients to compare: the output has another shape
            return [forward, gradcheck]
        exercise, grads, shapes = self._exercises[case.name], found["grads"], found["grad_shapes"]

        def judged(k: str) -> Check:  # a gradient never summed to its input's shape is wrong, whatever its sum
            got, shape = tuple(int(n) for n in shapes.get(k, case.inputs[k].shape)), tuple(case.inputs[k].shape)
            if got != shape:
                return Check(f"d{k}", Status.WRONG, _not_summed(case.name, k, got, shape))
            return exercise.result(f"d{k}", grads[k], record=False)
        return [forward, gradcheck, *(judged(k) for k in exercise._references)]

    def _forward_row(self, case: Case, found: dict) -> Check:
        truth = case.reference(**{k: v.double() if v.is_floating_point() else v for k, v in case.inputs.items()})
        shape = tuple(found["forward_shape"]) if "forward_shape" in found else tuple(found["forward"].shape)
        if shape != truth.shape:
            return Check("forward", Status.INVALID, f"{case.name}.forward returns shape {shape}, but "
                                                    f"{case.formula} has shape {_shape(truth)}")
        output = found["forward"]
        expected = truth.float()
        difference = (output.detach().double() - truth).abs().nan_to_num(float("inf"))
        maxdiff = difference.max().item()
        try:
            torch.testing.assert_close(output.detach(), expected)
        except AssertionError:
            at = f" at index {_index(int(difference.argmax()), truth.shape)}" if truth.dim() else ""
            reason = f"does not compute {case.formula}: the largest difference is {maxdiff:.3g}{at}"
            for hint, mistaken in case.output_mistakes.items():
                if (output.detach().double() - mistaken).abs().max().item() < 1e-4 * (1 + mistaken.abs().max().item()):
                    reason += f"; {hint}"
            return Check("forward", Status.WRONG, reason, maxdiff=maxdiff)
        return Check("forward", Status.CORRECT, f"computes {case.formula} (float32, largest difference "
                                                f"{maxdiff:.1e} from float64)", maxdiff=maxdiff)

    def ready(self) -> bool:
        """True once every Function has passed its check; otherwise say which are missing."""
        waiting = self._waiting()
        if waiting:
            print(f"This cell uses all four Functions; {', '.join(waiting)} "
                  f"{'is' if len(waiting) == 1 else 'are'} not checked and correct yet. "
                  f"Finish {'it' if len(waiting) == 1 else 'them'} above and run the check cells, then come back.")
        return not waiting


def _batch_size(case: Case) -> int | None:
    first = next(iter(case.inputs.values()))
    return first.shape[0] if first.dim() == 2 else None


# ---------------------------------------------------------------- the four Functions' inputs

def _plain_batchnorm(x, gain, bias, unbiased=True):
    bnvar = x.var(0, keepdim=True, unbiased=unbiased)
    return gain * (x - x.mean(0, keepdim=True)) * (bnvar + BN_EPS) ** -0.5 + bias


def _inputs(seed: int) -> dict[str, tuple[dict, torch.Tensor]]:
    """{Function: (its inputs in `apply` order, the gradient flowing into its output)}, drawn from
    `seed`: what the probe runs a learner's Function on, and nothing computed from them."""
    g = generator(seed)

    def randn(*shape, scale=1.0, shift=0.0):
        return torch.randn(shape, generator=g) * scale + shift

    tanh = {"x": randn(6, 5, scale=1.5)}, randn(6, 5)
    linear = {"x": randn(6, 4), "weight": randn(4, 3, scale=0.5), "bias": randn(3, scale=0.1)}, randn(6, 3)
    batchnorm = {"x": randn(8, 5, scale=2.0, shift=0.5), "gain": randn(1, 5, scale=0.1, shift=1.0),
                 "bias": randn(1, 5, scale=0.1)}, randn(8, 5)
    cross_entropy = {"logits": randn(8, 5, scale=2.0), "targets": torch.randint(0, 5, (8,), generator=g)}, \
        torch.rand((), generator=g) + 0.5  # not 1, so a backward that ignores it shows
    return {"Tanh": tanh, "Linear": linear, "BatchNorm1dBessel": batchnorm, "CrossEntropy": cross_entropy}


def _cases(seed: int) -> list[Case]:
    inputs = _inputs(seed)
    (tanh_inputs, up) = inputs["Tanh"]
    y = torch.tanh(tanh_inputs["x"].double())
    tanh = Case("Tanh", "torch.tanh(x)", lambda x: torch.tanh(x), tanh_inputs, up, mistakes={"x": {
        "that is (1 - y) * grad_output; the derivative of tanh is 1 - y**2, with y = tanh(x)": (1 - y) * up.double()}})

    linear = Case("Linear", "x @ weight + bias", lambda x, weight, bias: x @ weight + bias, *inputs["Linear"])

    bn_inputs, bn_up = inputs["BatchNorm1dBessel"]
    batchnorm = Case(
        "BatchNorm1dBessel", "gain * (x - mean) / sqrt(var + 1e-5) + bias, var with 1/(n-1)", _plain_batchnorm,
        bn_inputs, bn_up, mistakes={"x": {
            "that is the batchnorm gradient for the biased variance (divided by n); this layer divides by n-1 "
            "(Bessel's correction), which changes the factor in front of bnraw": _biased_dx(bn_inputs, bn_up)}},
        output_mistakes={"that is batchnorm with the biased variance (divided by n); use "
                         "x.var(0, keepdim=True, unbiased=True), divided by n-1":
                         _plain_batchnorm(**{k: v.double() for k, v in bn_inputs.items()}, unbiased=False)})

    (ce_inputs, dloss) = inputs["CrossEntropy"]
    logits, targets = ce_inputs["logits"], ce_inputs["targets"]
    truth = autograd_references(F.cross_entropy, {"input": logits, "target": targets}, dloss)["input"].truth
    cross_entropy = Case(
        "CrossEntropy", "F.cross_entropy(logits, targets)", lambda logits, targets: F.cross_entropy(logits, targets),
        {"logits": logits, "targets": targets}, dloss, mistakes={"logits": {
            f"that is the gradient for an incoming gradient of 1; multiply by grad_output, the gradient flowing "
            f"into the loss (here {dloss.item():.4f})": truth / dloss.double()}})
    return [tanh, linear, batchnorm, cross_entropy]


def _biased_dx(inputs: dict, up: torch.Tensor) -> torch.Tensor:
    """The fused batchnorm backward without Bessel's n/(n-1) in front of bnraw: the usual slip."""
    x, gain, dout = inputs["x"].double(), inputs["gain"].double(), up.double()
    n = x.shape[0]
    bnvar_inv = (x.var(0, keepdim=True) + BN_EPS) ** -0.5
    bnraw = (x - x.mean(0, keepdim=True)) * bnvar_inv
    return gain * bnvar_inv / n * (n * dout - dout.sum(0) - bnraw * (dout * bnraw).sum(0))


@exercise_factory("capstone:functions_exercise", code=True)
def functions_exercise(seed: int | None = None) -> FunctionsExercise:
    """The graded exercise: Tanh, Linear, BatchNorm1dBessel and CrossEntropy, on inputs drawn from
    `seed` (default: seed_from_env(), so the grader's seed gives other inputs)."""
    with _one_thread():
        return FunctionsExercise("Capstone: your autograd Functions",
                                 _cases(seed_from_env() if seed is None else seed))


# ---------------------------------------------------------------- training the MLP with them

def mlp_exercise(setup: MakemoreSetup) -> Exercise:
    """The 7 parameter gradients of one training step, by PyTorch's autograd on Exercise 4's forward."""
    return Exercise("One step of the MLP built from your Functions",
                    _references(setup, PARAMETER_NAMES, forward_pass=training.forward), batch_size=setup.batch_size,
                    lesson=LESSON)


def train_steps() -> int:
    return FAST_TRAIN_STEPS if fast_mode() else TRAIN_STEPS


def plot_loss_curves(curves: dict) -> None:
    """Log10 training losses {label: [one per step]}, averaged over blocks of steps so the trends show."""
    import matplotlib.pyplot as plt

    steps = min(len(losses) for losses in curves.values())
    block = max(1, min(500, steps // 40))
    for (label, losses), style in zip(curves.items(), ("-", "--", ":")):
        curve = torch.tensor(losses[: steps // block * block]).view(-1, block).mean(1)
        plt.plot(torch.arange(len(curve)) * block, curve, style, label=label)
    plt.xlabel("step")
    plt.ylabel("log10 loss")
    plt.title(f"training loss, mean of every {block} steps")
    plt.legend()
    plt.show()
