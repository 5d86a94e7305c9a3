"""Lesson 09: backprop through layers the course never taught (transfer, not recall).

    setup = TransferSetup()                          # every tensor of the lesson, from one seed
    numerical_exercise(setup).check("dw", numerical_grad(transfer.wiggle, setup.wiggle_w, H))
    layernorm_exercise(setup).check("dx", dx)        # y = gain * (x - mean) / sqrt(var + eps) + bias
    attention_exercise(setup).check("dscores", ds)   # one causal head, a chain: dP, dv, dscores, dq, dk

First the learner writes their own gradient checker (a central difference in float64, and a
relative error); then each layer's forward is given here and every gradient is theirs: layer
normalisation, GELU (tanh and erf forms), dropout with a given mask, makemore part 5's
FlattenConsecutive followed by a Linear layer, and one head of causal scaled dot-product attention.
Every reference is autograd's, in float32 and float64, on the setup's own tensors; each layer's
known slips are computed here in float64, so a wrong answer is named by its slip.
"""

import math
from dataclasses import replace

import torch

from ..chain import Chain
from ..check import Check
from ..environment import generator, seed_from_env
from ..exercise import Exercise, Reference
from ..handout import exercise_factory
from ..references import autograd_references, function_gradients, graph_references
from ..report import Scoreboard, lesson_scoreboard
from .transfer_hints import HINTS

LESSON = "09_transfer_new_layers"  # its folder in solutions/ and lessons/: the rules its checks apply

H = 1e-6  # the step the graded numerical gradient is taken with (central difference, float64)
OTHER_STEPS = (1e-2, 1e-3, 1e-4, 1e-8)  # a hard-coded step the h argument was meant to replace
LN_EPS = 1e-5  # layer norm's epsilon, as torch.nn.LayerNorm's default
DROPOUT_P = 0.25  # the probability of dropping a unit
GELU_C = 0.044715  # the tanh approximation's cubic coefficient (Hendrycks and Gimpel)
N, D = 4, 8  # rows and features of the element-wise and normalisation layers
B, T, C, HIDDEN = 3, 8, 4, 5  # FlattenConsecutive: batch, positions, embedding size; the Linear's outputs
CONSECUTIVE = 2  # positions grouped by FlattenConsecutive, as in makemore part 5
T_ATT, D_HEAD = 5, 6  # attention: sequence length and head size (sqrt(6) is no round factor)


# the forwards the lesson hands out ----------------------------------------------------------------
def wiggle(x: torch.Tensor) -> torch.Tensor:
    """The function the learner's numerical gradient is graded on: (n,) -> (), smooth, nothing special."""
    return (x.sin() * x.square()).sum() + x.sum().square() / 4


def layer_norm(h, gain, bias, eps: float = LN_EPS):
    """Each row normalised over its own D features (biased variance, like torch.nn.LayerNorm), then
    scaled and shifted per feature: h (N, D), gain (D,), bias (D,) -> (N, D)."""
    mean = h.mean(1, keepdim=True)
    var = (h - mean).square().mean(1, keepdim=True)
    return gain * (h - mean) / (var + eps).sqrt() + bias


def gelu_tanh(a):
    """GELU's tanh approximation: 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a³)))."""
    return 0.5 * a * (1 + torch.tanh(math.sqrt(2 / math.pi) * (a + GELU_C * a**3)))


def gelu_erf(z):
    """GELU exactly: z Φ(z), with Φ the standard normal's distribution function, 0.5 (1 + erf(z / sqrt 2))."""
    return z * 0.5 * (1 + torch.erf(z / math.sqrt(2)))


def dropout(u, mask, p: float = DROPOUT_P):
    """Inverted dropout in training mode with a given keep-mask (bool, True = kept): kept units are
    scaled by 1/(1-p), so nothing changes at inference."""
    return u * mask / (1 - p)


def flatten_consecutive(x, n: int = CONSECUTIVE):
    """makemore part 5's FlattenConsecutive: (B, T, C) -> (B, T/n, n*C), each n consecutive positions'
    embeddings side by side (a view: no number moves in memory)."""
    b, t, c = x.shape
    return x.view(b, t // n, n * c)


def flatten_linear(emb, W, b):
    """FlattenConsecutive, then a Linear layer on the last dimension: emb (B, T, C) -> (B, T/2, H)."""
    return flatten_consecutive(emb) @ W + b


def causal_mask(t: int) -> torch.Tensor:
    """(t, t) bool, True where position i may attend to j (j <= i)."""
    return torch.ones(t, t, dtype=torch.bool).tril()


def attention(q, k, v):
    """One head of causal scaled dot-product attention: q, k, v (T, d) -> (T, d)."""
    return _attention_tensors(q, k, v)["out"]


def _attention_tensors(q, k, v) -> dict:
    scores = q @ k.T / math.sqrt(q.shape[1])
    P = scores.masked_fill(~causal_mask(q.shape[0]), float("-inf")).softmax(1)
    return dict(scores=scores, P=P, out=P @ v)


def _attention_graph(params: dict, dout) -> dict:
    """The chain the attention exercise follows: scores, P and a loss whose gradient at `out` is dout."""
    named = _attention_tensors(params["q"], params["k"], params["v"])
    return dict(scores=named["scores"], P=named["P"], loss=(named["out"] * dout).sum())


# the seeded tensors -------------------------------------------------------------------------------
class TransferSetup:
    """Every tensor of the lesson from `seed`: each layer's inputs and the gradient flowing into its
    output (`dln`, `dgelu`, `ddrop`, `dlin`, `dout`) and the point the numerical gradient is taken at.
    Every section has names of its own, so any section's cells can be run again in any order."""

    def __init__(self, seed: int | None = None):
        self.seed = seed_from_env() if seed is None else seed
        g = generator(self.seed)
        randn = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
        self.wiggle_w = randn(5).double()
        self.layernorm = dict(h=randn(N, D) * 2 + 1, gain=1 + randn(D) / 4, bias=randn(D) / 4, dln=randn(N, D))
        a = randn(N, D) * 1.5
        self.gelu = dict(a=a, dgelu=randn(N, D))
        self.gelu_erf = dict(z=a.clone(), dgelu=self.gelu["dgelu"])  # the same numbers, its own names
        self.dropout = dict(u=randn(N, D), mask=torch.rand(N, D, generator=g) >= DROPOUT_P, ddrop=randn(N, D))
        self.flatten = dict(emb=randn(B, T, C), W=randn(CONSECUTIVE * C, HIDDEN) / (CONSECUTIVE * C) ** 0.5,
                            b=randn(HIDDEN) / 10, dlin=randn(B, T // CONSECUTIVE, HIDDEN))
        self.attention = dict(q=randn(T_ATT, D_HEAD), k=randn(T_ATT, D_HEAD), v=randn(T_ATT, D_HEAD),
                              dout=randn(T_ATT, D_HEAD))


# the numerical gradient -----------------------------------------------------------------------------
def central_difference(f, x: torch.Tensor, h: float) -> torch.Tensor:
    """The checker's own numerical gradient of a scalar f at x: (f(x + h e_i) - f(x - h e_i)) / 2h."""
    return _difference(f, x, h, -h)


def _forward_difference(f, x, h):
    """The one-sided slip: (f(x + h e_i) - f(x)) / h."""
    return _difference(f, x, h, 0.0)


def _difference(f, x: torch.Tensor, up: float, down: float) -> torch.Tensor:
    """(f(x + up e_i) - f(x + down e_i)) / (up - down) at every entry i of x."""
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        step = torch.zeros_like(x).view(-1)
        step[i] = 1.0
        step = step.view_as(x)
        grad.view(-1)[i] = (f(x + up * step) - f(x + down * step)) / (up - down)
    return grad


FORWARD_DIFFERENCE = ("it is the one-sided difference (f(x + h) - f(x)) / h: its error shrinks like h, not like "
                      "h² as the central difference's (f(x + h) - f(x - h)) / 2h does")
HALF_STEP = "it is twice the gradient: a central difference divides by 2h, the distance between x - h and x + h"


class NumericalExercise(Exercise):
    """The learner's numerical gradient of `wiggle`, at h = H in float64: judged against the float64
    truth (autograd's), allowing what the checker's own central difference at that h gets wrong."""

    def result(self, label, yours, *, record: bool = True) -> Check:
        check = super().result(label, yours, record=record)
        reason = (check.reason.replace("PyTorch's autograd", "the checker's own central difference")
                  .replace("PyTorch's", "the checker's").replace("autograd", "the checker's central difference"))
        check = replace(check, reason=reason)
        if record:
            self._results[check.label[1:]] = check
        return check


@exercise_factory("transfer:numerical_exercise")
def numerical_exercise(setup: TransferSetup | None = None) -> Exercise:
    """Your numerical_grad(wiggle, x, H) at the setup's x: float64, within what a central difference allows."""
    setup = setup or TransferSetup()
    w = setup.wiggle_w
    truth = function_gradients(wiggle, {"x": w}, torch.float64)["x"]
    mistakes = {FORWARD_DIFFERENCE: _forward_difference(wiggle, w, H), HALF_STEP: 2 * truth}
    for other in OTHER_STEPS:  # far enough from H for the result to differ by more than rounding
        mistakes[f"it is a central difference with another step than the h it is given ({other:g}, not {H:g}): "
                 f"use the argument h"] = central_difference(wiggle, w, other)
    reference = Reference(central_difference(wiggle, w, H), truth, mistakes=mistakes)
    return NumericalExercise("Your numerical gradient", {"w": reference}, lesson=LESSON, hints=HINTS["numerical"])


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """The checker's relative error (CS231n's): max over entries of |a - b| / max(|a| + |b|, 1e-12)."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return ((a - b).abs() / (a.abs() + b.abs()).clamp_min(1e-12)).max().item()


def check_rel_error(rel_error) -> None:
    """Your rel_error on four pairs whose answers are known, a row each (practice, not graded)."""
    if not callable(rel_error):
        print("Write rel_error above as a function rel_error(a, b) and run its cell, then this one.")
        return
    a = torch.tensor([1.0, -2.0, 3.0, 1e-3], dtype=torch.float64)
    pairs = {"a with itself": (a, a.clone()), "a with a slightly changed copy": (a, a * (1 + 1e-7)),
             "a with -a": (a, -a), "zeros with zeros": (torch.zeros(3, dtype=torch.float64),) * 2}
    for what, (x, y) in pairs.items():
        expected = relative_error(x, y)
        try:
            got = float(rel_error(x, y))
        except Exception as error:  # noqa: BLE001 (the learner's function: any failure is a sentence)
            print(f"✗ {what}: rel_error raised {type(error).__name__}: {error}")
            continue
        ok = math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-15)
        why = "" if ok else (": 0/0 is NaN, so the denominator needs a floor, max(|a| + |b|, 1e-12)"
                             if math.isnan(got) else ": it must be max |a - b| / max(|a| + |b|, 1e-12), entry by entry")
        print(f"{'✓' if ok else '✗'} {what}: yours {got:.3g}, expected {expected:.3g}{why}")


STEPS = [10.0 ** -k for k in range(1, 13)]


def step_size_table(numerical_grad) -> dict:
    """Your numerical_grad of `wiggle` at a fixed x, for h from 1e-1 to 1e-12, in float64 and in
    float32, each against the float64 truth (the checker's relative error). Prints the table and where
    each dtype is best; returns {dtype name: {h: error}}. Never raises."""
    x = torch.tensor([0.5, -1.25, 2.0, 0.75, -0.3], dtype=torch.float64)
    truth = function_gradients(wiggle, {"x": x}, torch.float64)["x"]
    errors = {}
    for dtype in (torch.float64, torch.float32):
        name = str(dtype).removeprefix("torch.")
        errors[name] = {}
        for h in STEPS:
            try:
                errors[name][h] = relative_error(numerical_grad(wiggle, x.to(dtype), h), truth)
            except Exception as error:  # noqa: BLE001 (the learner's function: any failure is a sentence)
                print(f"numerical_grad(wiggle, x in {name}, {h:g}) raised {type(error).__name__}: {error}")
                return errors
    print(f"{'h':>7s}  {'float64':>9s}  {'float32':>9s}   (relative error against the float64 truth)")
    for h in STEPS:
        print(f"{h:7.0e}  {errors['float64'][h]:9.1e}  {errors['float32'][h]:9.1e}")
    for name, by_step in errors.items():
        best = min(by_step, key=by_step.get)
        print(f"{name}: best at h = {best:.0e}, relative error {by_step[best]:.1e}")
    return errors


# the layers ---------------------------------------------------------------------------------------
def _with_mistakes(references: dict, mistakes: dict) -> dict:
    """References with each gradient's named slips ({name: {hint: float64 tensor}})."""
    return {name: replace(reference, mistakes=mistakes.get(name, {})) for name, reference in references.items()}


def _grad64(forward, inputs: dict, upstream, name: str) -> torch.Tensor:
    """A slip's gradient: autograd on the slipped forward, in float64."""
    return function_gradients(forward, inputs, torch.float64, upstream)[name]


def _layernorm_mistakes(v: dict) -> dict:
    x, gain, bias, dy = (v[k].double() for k in ("h", "gain", "bias", "dln"))
    inputs = dict(h=x, gain=gain, bias=bias)

    def over_batch(h, gain, bias):
        x = h
        mean = x.mean(0, keepdim=True)
        return gain * (x - mean) / ((x - mean).square().mean(0, keepdim=True) + LN_EPS).sqrt() + bias

    def bessel(h, gain, bias):
        x = h
        mean = x.mean(1, keepdim=True)
        return gain * (x - mean) / ((x - mean).square().sum(1, keepdim=True) / (D - 1) + LN_EPS).sqrt() + bias

    var = x.var(1, keepdim=True, unbiased=False)
    return {
        "h": {"it normalises over the batch (dimension 0), as batchnorm does: layer norm takes each row's mean and "
              "variance over its own features (dimension 1)": _grad64(over_batch, inputs, dy, "h"),
              "it uses Bessel's n-1 in the variance: layer norm, like torch.nn.LayerNorm, divides by D":
              _grad64(bessel, inputs, dy, "h"),
              "it treats the row's mean and variance as constants: they depend on x too, which adds two terms "
              "(through the mean and through the variance)": gain * dy / (var + LN_EPS).sqrt()},
        "gain": {"it is dy summed over the rows, without x̂: gain multiplies x̂, so each dy is weighted by its x̂":
                 dy.sum(0),
                 "it weights dy by x, not by the normalised x̂ that gain multiplies": (dy * x).sum(0)},
        "bias": {},
    }


def _gelu_tanh_mistakes(v: dict) -> dict:
    x, dy = v["a"].double(), v["dgelu"].double()
    k = math.sqrt(2 / math.pi)
    t = torch.tanh(k * (x + GELU_C * x**3))
    return {"a": {
        "it misses the inner derivative of tanh's argument, √(2/π)(1 + 3·0.044715·x²)":
        dy * (0.5 * (1 + t) + 0.5 * x * (1 - t**2)),
        "it misses the inner derivative's cubic term: d/dx (x + 0.044715 x³) is 1 + 3·0.044715·x², not 1":
        dy * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * k),
        "it treats the x in front as a constant: GELU is x times a gate that depends on x, so both factors "
        "contribute (the product rule)": dy * 0.5 * (1 + t),
    }}


def _gelu_erf_mistakes(v: dict) -> dict:
    x, dy = v["z"].double(), v["dgelu"].double()
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    return {"z": {
        "it is Φ(x) alone: GELU is x·Φ(x), so the product rule adds x·φ(x), with φ the normal density":
        dy * cdf,
        "its normal density misses the 1/√(2π): φ(x) = exp(-x²/2) / √(2π)":
        dy * (cdf + x * torch.exp(-x**2 / 2)),
    }}


def _dropout_mistakes(v: dict) -> dict:
    mask, dy = v["mask"].double(), v["ddrop"].double()
    return {"u": {
        "the scaling is forgotten: inverted dropout multiplies the kept units by 1/(1-p) in the forward pass, "
        "so their gradient is scaled by 1/(1-p) too": dy * mask,
        "it scales by (1-p), not by 1/(1-p)": dy * mask * (1 - DROPOUT_P),
        "the mask is not applied: a dropped unit did not reach the output, so its gradient is 0": dy / (1 - DROPOUT_P),
        "the mask is inverted: the gradient flows to the kept units (mask True), not the dropped ones":
        dy * (1 - mask) / (1 - DROPOUT_P),
    }}


def _flatten_mistakes(v: dict) -> dict:
    x, W, dy = v["emb"].double(), v["W"].double(), v["dlin"].double()
    dflat = dy @ W.T  # (B, T/2, 2C)
    return {"emb": {
        "its numbers sit in the wrong places: the forward is a view, so the backward is the same view undone "
        "(reshape to x's shape); a transpose or another grouping moves numbers between positions":
        dflat.reshape(B, CONSECUTIVE * C, T // CONSECUTIVE).transpose(1, 2).reshape(B, T, C),
    }, "W": {
        "it is summed over the batch's first example only: W is used at every (example, group) pair, so "
        "dW sums over both": flatten_consecutive(x)[0].T @ dy[0],
    }, "b": {}}


def _attention_mistakes(v: dict) -> dict:
    q, k, vv, dout = (v[key].double() for key in ("q", "k", "v", "dout"))
    d = q.shape[1]
    scores = q @ k.T / math.sqrt(d)
    P = scores.masked_fill(~causal_mask(q.shape[0]), float("-inf")).softmax(1)
    dP = dout @ vv.T
    dscores = P * (dP - (P * dP).sum(1, keepdim=True))
    unmasked = scores.softmax(1)
    return {
        "P": {}, "v": {"it is P @ dout: out = P @ v, so dv = Pᵀ @ dout (the rows of P are the queries)": P @ dout},
        "scores": {"it uses the softmax without the causal mask: the backward must use the same P as the forward, "
                   "whose masked entries are 0": unmasked * (dP - (unmasked * dP).sum(1, keepdim=True)),
                   "it is dP itself: softmax's backward is P ⊙ (dP - rowsum(P ⊙ dP))": dP},
        "q": {"the 1/√d is forgotten: scores = q kᵀ / √d, so dq = dscores @ k / √d": dscores @ k},
        "k": {"the 1/√d is forgotten: scores = q kᵀ / √d, so dk = dscoresᵀ @ q / √d": dscores.T @ q,
              "it is dscores @ q: scores[i, j] uses k[j], so dk sums over the queries i, dscoresᵀ @ q / √d":
              dscores @ q / math.sqrt(d)},
    }


def _block(title: str, forward, values: dict, inputs: tuple, upstream: str, mistakes, hints: dict,
           batch: int | None = None) -> Exercise:
    references = autograd_references(forward, {k: values[k] for k in inputs}, values[upstream], names=tuple(hints))
    return Exercise(title, _with_mistakes(references, mistakes(values)), lesson=LESSON, hints=hints, batch_size=batch)


@exercise_factory("transfer:layernorm_exercise")
def layernorm_exercise(setup: TransferSetup | None = None) -> Exercise:
    """dx, dgain, dbias of layer_norm(x, gain, bias), weighted by dy."""
    setup = setup or TransferSetup()
    return _block("Layer normalisation", layer_norm, setup.layernorm, ("h", "gain", "bias"), "dln",
                  _layernorm_mistakes, HINTS["layernorm"])


@exercise_factory("transfer:gelu_tanh_exercise")
def gelu_tanh_exercise(setup: TransferSetup | None = None) -> Exercise:
    """dx of GELU's tanh approximation, weighted by dy."""
    setup = setup or TransferSetup()
    return _block("GELU, the tanh approximation", gelu_tanh, setup.gelu, ("a",), "dgelu", _gelu_tanh_mistakes,
                  HINTS["gelu_tanh"])


@exercise_factory("transfer:gelu_erf_exercise")
def gelu_erf_exercise(setup: TransferSetup | None = None) -> Exercise:
    """dx of the exact GELU, x Φ(x), weighted by dy."""
    setup = setup or TransferSetup()
    return _block("GELU, exactly (erf)", gelu_erf, setup.gelu_erf, ("z",), "dgelu", _gelu_erf_mistakes, HINTS["gelu_erf"])


@exercise_factory("transfer:dropout_exercise")
def dropout_exercise(setup: TransferSetup | None = None) -> Exercise:
    """dx of inverted dropout with the setup's mask, weighted by dy."""
    setup = setup or TransferSetup()
    return _block(f"Dropout, p = {DROPOUT_P}", dropout, setup.dropout, ("u", "mask"), "ddrop", _dropout_mistakes,
                  HINTS["dropout"])


@exercise_factory("transfer:flatten_exercise")
def flatten_exercise(setup: TransferSetup | None = None) -> Exercise:
    """dx, dW, db of FlattenConsecutive + Linear, weighted by dy."""
    setup = setup or TransferSetup()
    return _block("FlattenConsecutive + Linear", flatten_linear, setup.flatten, ("emb", "W", "b"), "dlin",
                  _flatten_mistakes, HINTS["flatten"])


ATTENTION_ORDER = ("P", "v", "scores", "q", "k")  # backward, from the output to the inputs


@exercise_factory("transfer:attention_exercise")
def attention_exercise(setup: TransferSetup | None = None) -> Exercise:
    """dP, dv, dscores, dq, dk of one causal attention head, weighted by dout: a chain, so a step
    right given the learner's own earlier answers is recognised as such."""
    setup = setup or TransferSetup()
    values = setup.attention
    params, dout = {k: values[k] for k in ("q", "k", "v")}, values["dout"]
    references = graph_references(_attention_graph, params, dout, names=ATTENTION_ORDER)
    return Exercise("Causal self-attention, one head", _with_mistakes(references, _attention_mistakes(values)),
                    lesson=LESSON, chain=Chain(_attention_graph, params, dout), hints=HINTS["attention"])


def lesson_summary(exercises: dict) -> Scoreboard:
    """One scoreboard for the lesson's exercises: {"layer norm": ex, ...}, each row labelled by part."""
    return lesson_scoreboard("Lesson 9", exercises)


def gradient_check(label: str, analytic, numerical_grad, rel_error, f, at: torch.Tensor) -> None:
    """Your analytic gradient `label` against your numerical_grad of the scalar f at `at` (in float64,
    step H), by your rel_error: one line, not graded."""
    if analytic is None or not callable(numerical_grad) or not callable(rel_error):
        print(f"{label}: not compared yet (write numerical_grad and rel_error in section 1, and {label} above, "
              f"then run this cell)")
        return
    try:
        numerical = numerical_grad(f, at.detach().double(), H)
        error = float(rel_error(torch.as_tensor(numerical, dtype=torch.float64),
                                torch.as_tensor(analytic, dtype=torch.float64)))
    except Exception as failure:  # noqa: BLE001 (the learner's functions: any failure is a sentence)
        print(f"{label}: could not compare ({type(failure).__name__}: {failure})")
        return
    verdict = ("they agree" if error < AGREE else "they disagree: one of the two is wrong (the check below says "
               "whether it is the analytic one)")
    print(f"{label}: relative error {error:.1e} between your numerical and analytic gradients: {verdict}")


AGREE = 1e-3  # a right float32 gradient against a float64 numerical one: about 1e-5 here; a slip, 1e-1 and more
