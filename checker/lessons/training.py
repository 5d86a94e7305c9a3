"""Exercise 4: training the makemore MLP with a hand-written backward pass.

The forward pass here is the lecture's training forward (fused batchnorm and F.cross_entropy); it
returns every tensor a backward pass needs, CS231n-style, as a `cache` dict. `autograd_step` is the
baseline a manual step is timed against, and `FastStep` is the "going further" manual step.
"""

import torch
import torch.nn.functional as F

from ..check import Check, Status
from ..environment import FAST_ENV_VAR, fast_mode, graded  # noqa: F401 (FAST_ENV_VAR re-exported)
from ..exercise import Exercise
from ..handout import exercise_factory
from .makemore import BN_EPS, PARAMETER_NAMES, MakemoreSetup, _references, autograd_gradients

LESSON = "07_makemore_training"  # its folder in solutions/ and lessons/: the rules its checks apply

N_HIDDEN = 200  # Exercise 4 trains the lecture's bigger network
MAX_STEPS = 200_000
FAST_STEPS = 4_000  # what CI runs: enough for the loss to fall clearly
FAST_LOSS_BELOW = 2.5  # mean training loss over the last 1,000 fast-mode steps must be below this
# The lecture reports train 2.0705, val 2.1099 after 200,000 steps; its recipe and draws (see
# MakemoreSetup) reach train 2.0721, val 2.1094 here (CPU, torch 2.13).
FULL_VAL_LOSS = 2.11


def max_steps() -> int:
    return FAST_STEPS if fast_mode() else MAX_STEPS


LR_DECAY_STEP = 100_000  # the lecture's step decay: 0.1 before it, 0.01 from it on


def learning_rate(step: int) -> float:
    """0.1, then 0.01 after 100,000 steps (the lecture's step decay)."""
    return 0.1 if step < LR_DECAY_STEP else 0.01


def forward(params: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The training forward pass. Returns the cache: every tensor the backward pass uses, and loss.

    Shapes (n = batch size, h = hidden units): emb (n, 3, 10), embcat (n, 30), hprebn, bndiff, bnraw,
    hpreact, h (n, h), bnvar, bnvar_inv (1, h), logits (n, 27), loss ().
    """
    C, W1, b1, W2, b2, bngain, bnbias = (params[k] for k in PARAMETER_NAMES)
    n = Xb.shape[0]
    emb = C[Xb]
    embcat = emb.view(n, -1)
    hprebn = embcat @ W1 + b1
    bndiff = hprebn - hprebn.mean(0, keepdim=True)
    bnvar = bndiff.square().sum(0, keepdim=True) / (n - 1)  # Bessel: 1/(n-1); 10× faster than .var here
    bnvar_inv = (bnvar + BN_EPS).rsqrt()
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Yb)
    return dict(Xb=Xb, Yb=Yb, emb=emb, embcat=embcat, hprebn=hprebn, bndiff=bndiff, bnvar=bnvar,
                bnvar_inv=bnvar_inv, bnraw=bnraw, hpreact=hpreact, h=h, logits=logits, loss=loss)


# Hints for `ex.hint("dX")`, as in Exercises 1-3: (where X is used and the shape of dX; the local
# derivative and the upstream gradient it multiplies; how the pieces fit together, in words and
# maths, never a line of the answer with names blanked). Written out, not read from a graph: this
# forward pass is the fused one, and its backward is the chain of Exercises 2 and 3.
HINTS = {
    "C": ("emb = C[Xb] copies row Xb[k, j] of C (27, 10) to position (k, j) of emb (n, 3, 10); dC has C's "
          "shape (27, 10).",
          "A copy's local derivative is 1: row ix of dC is the sum of demb over every position where Xb holds ix "
          "(a character used twice gets both).",
          "Start from zeros of C's shape. The loop: for every example k and position j, add demb's 10 numbers at "
          "(k, j) into the row of dC that Xb names there. Without the loop: flatten the n × 3 positions, Xb to "
          "(3n,) and demb to (3n, 10), and accumulate those rows at those indices along dimension 0 in one call; "
          "repeated indices add up."),
    "W1": ("hprebn = embcat @ W1 + b1, and everything after it reaches W1 only through hprebn: dW1 has W1's "
           "shape (30, 200).",
           "For Y = X @ W, dW = Xᵀ @ dY, with dY = dhprebn: Exercise 3's one expression, given dhpreact = "
           "(1 - h²) ⊙ dh, dh = dlogits W2ᵀ and Exercise 2's dlogits.",
           "Chain it from the top: dlogits (n, 27), then dh (n, 200) through W2, then dhpreact through tanh, then "
           "dhprebn (n, 200) through batchnorm. Then embcat (n, 30) and dhprebn meet on the n examples once "
           "embcat is turned over, which leaves (30, 200): a sum over the batch."),
    "b1": ("b1 (200,) is added to every row of hprebn (n, 200): db1 has b1's shape (200,).",
           "An added bias has local derivative 1 in every row: db1 sums dhprebn over the batch. (Batchnorm "
           "subtracts the batch mean right after, so it is zero up to rounding; compute it all the same.)",
           "A sum of dhprebn (n, 200) over the batch dimension (0), not kept: (200,), b1's own shape."),
    "W2": ("logits = h @ W2 + b2, and the loss reaches W2 only through logits: dW2 has W2's shape (200, 27).",
           "For Y = X @ W, dW = Xᵀ @ dY, with dY = dlogits: Exercise 2's (softmax - one_hot) / n.",
           "h (n, 200) and dlogits (n, 27) meet on the n examples once h is turned over, which leaves (200, 27), "
           "W2's shape: a sum over the batch."),
    "b2": ("b2 (27,) is added to every row of logits (n, 27): db2 has b2's shape (27,).",
           "An added bias has local derivative 1 in every row: db2 sums dlogits over the batch.",
           "A sum of dlogits (n, 27) over the batch dimension (0), not kept: (27,), b2's own shape."),
    "bngain": ("hpreact = bngain * bnraw + bnbias: bngain (1, 200) multiplies every row of bnraw (n, 200); "
               "dbngain has bngain's shape (1, 200).",
               "The local derivative is bnraw, and the upstream gradient is dhpreact = (1 - h²) ⊙ dh, with "
               "dh = dlogits W2ᵀ.",
               "bnraw times dhpreact, element by element (n, 200), then a sum over the batch (dimension 0) that "
               "keeps that dimension: (1, 200), bngain's shape."),
    "bnbias": ("hpreact = bngain * bnraw + bnbias: bnbias (1, 200) is added to every row; dbnbias has its shape "
               "(1, 200).",
               "The local derivative of an added bias is 1, and the upstream gradient is dhpreact = (1 - h²) ⊙ dh.",
               "dhpreact (n, 200) summed over the batch (dimension 0), keeping that dimension: (1, 200)."),
}


def _given_demb(setup: MakemoreSetup) -> dict:
    """The gradient Exercise 4 hands the learner for the embedding's backward: autograd's demb."""
    return {"demb": autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32, forward)["emb"]}


@exercise_factory("exercise4", given=_given_demb)
def exercise4(setup: MakemoreSetup) -> Exercise:
    """One step's gradients for all 7 parameters, and the embedding backward given demb."""
    references = _references(setup, PARAMETER_NAMES, forward_pass=forward)
    return TrainingExercise("Exercise 4: your backward, ready to train", references, given=_given_demb(setup),
                            batch_size=setup.batch_size, lesson=LESSON, setup=setup, hints=HINTS)


class TrainingExercise(Exercise):
    """Exercise 4's gradients, and its result: `result("training", params)` judges the trained
    parameters themselves (the grader computes the loss from them, never from the learner's
    `lossi` or `val_loss`)."""

    def __init__(self, *args, setup: MakemoreSetup, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup = setup
        self._fast = fast_mode()  # the goal of the run it was built for, whatever the grader's shell says

    def result(self, label, yours, *, record: bool = True) -> Check:
        if label != "training":
            return super().result(label, yours, record=record)
        return trained_result(yours, self._setup, self._fast)


def trained_result(params, setup: MakemoreSetup, fast: bool) -> Check:
    """Whether `params` ({name: tensor} for the 7 parameters) are trained: in fast mode a training
    loss below FAST_LOSS_BELOW, in full mode a validation loss of at most FULL_VAL_LOSS, both on
    the whole split with batchnorm calibrated on the training set."""
    shapes = {k: tuple(v.shape) for k, v in setup.params.items()}
    if not isinstance(params, dict) or set(params) != set(PARAMETER_NAMES) or any(
            not isinstance(params[k], torch.Tensor) or tuple(params[k].shape) != shapes[k]
            or not params[k].is_floating_point() for k in PARAMETER_NAMES):
        return Check("training", Status.NOT_DONE, "not trained yet: `params` is not the dict of the 7 trained "
                     "parameters (C, W1, b1, W2, b2, bngain, bnbias) with their shapes; finish backward above, "
                     "then run the training cells.")
    params = {k: params[k].detach().float() for k in PARAMETER_NAMES}
    untouched = [k for k in PARAMETER_NAMES if torch.equal(params[k], setup.params[k])]
    if len(untouched) == len(PARAMETER_NAMES):
        return Check("training", Status.NOT_DONE, "not trained yet: `params` are still the initial parameters; "
                     "finish backward above, then run the training cells.")
    if untouched:  # a backward that returns zeros for some parameters trains only the others
        return Check("training", Status.WRONG, f"not every parameter was trained: {', '.join(untouched)} "
                     f"{'is' if len(untouched) == 1 else 'are'} still as initialised, so your backward gives "
                     f"{'it' if len(untouched) == 1 else 'them'} no gradient; check it against the gradient checks above.")
    if not all(bool(torch.isfinite(t).all()) for t in params.values()):
        return Check("training", Status.WRONG, "the trained parameters hold NaN or Inf: the training diverged; "
                     "check your backward's gradients and the learning rate.")
    bnmean, bnvar = calibrate_batchnorm(params, setup.Xtr)
    if fast:
        loss = evaluate(params, setup.Xtr, setup.Ytr, bnmean, bnvar)
        verdict = f"fast mode: training loss {loss:.4f} (goal: below {FAST_LOSS_BELOW})"
        passed = loss < FAST_LOSS_BELOW
    else:
        loss = evaluate(params, setup.Xdev, setup.Ydev, bnmean, bnvar)
        verdict = f"validation loss {loss:.4f} (goal: at most {FULL_VAL_LOSS})"
        passed = loss <= FULL_VAL_LOSS
    return Check("training", Status.CORRECT if passed else Status.WRONG,
                 ("trained: " if passed else "not there yet: ") + verdict + ", computed from your parameters")


def manual_step(params: dict, Xb, Yb, lr, backward) -> torch.Tensor:
    """One SGD step with your `backward(params, cache)`, which returns the 7 gradients in the order
    C, W1, b1, W2, b2, bngain, bnbias. Returns the batch's loss. `lr` is a float, or a 0-d tensor
    (in a compiled step, where a float would be fixed into the compiled code)."""
    cache = forward(params, Xb, Yb)
    grads = backward(params, cache)
    with torch.no_grad():  # only your gradients touch the parameters
        for p, grad in zip(params.values(), grads):
            if isinstance(lr, torch.Tensor):
                p.sub_(grad * lr)
            else:
                p.sub_(grad, alpha=lr)  # p -= lr * grad, in one call
    return cache["loss"]


class TrainingStep:
    """Exercise 4's training step as `step(ix, lr) -> loss`: `manual_step` on the batch Xtr[ix],
    Ytr[ix], with your `backward(params, cache)`; it updates `params` in place.

    For the full 200,000 steps it is compiled with `torch.compile` (one graph of fused C++ loops and
    matrix products, instead of ~50 PyTorch calls a step each paying Python's and the dispatcher's
    overhead): about 1.6 times as fast as running it call by call. Compiling takes about 10 s, so fast
    mode, grading and Validate run it as plain PyTorch. When compiling fails (no C++ compiler, say),
    it says so in one sentence and runs as plain PyTorch: the same maths, slower. It runs under
    `torch.inference_mode()`, which skips even the bookkeeping `torch.no_grad()` keeps.
    """

    def __init__(self, params: dict, Xtr: torch.Tensor, Ytr: torch.Tensor, backward, batch_size: int, *,
                 compile: bool | None = None):
        self.params, self.Xtr, self.Ytr, self.backward = params, Xtr, Ytr, backward
        self.batch_size = batch_size
        self._learning_rates = {}  # each rate a tensor: a Python float would be compiled into the graph
        self._run = None  # the compiled step, once compiled
        self.compile_seconds = None
        if compile if compile is not None else not (fast_mode() or graded()):
            self._compile()

    @property
    def compiled(self) -> bool:
        return self._run is not None

    def __call__(self, ix: torch.Tensor, lr: float) -> torch.Tensor:
        if not torch.is_inference_mode_enabled():  # the lesson's loop turns it on once, not every step
            with torch.inference_mode():
                return self(ix, lr)
        if not self.compiled:
            return manual_step(self.params, self.Xtr[ix], self.Ytr[ix], lr, self.backward)
        rate = self._learning_rates.get(lr)
        if rate is None:
            with torch.inference_mode(False):  # made as the compiled graph's inputs were
                rate = self._learning_rates[lr] = torch.tensor(float(lr))
        return self._run(self.params, self.Xtr, self.Ytr, ix, rate)

    def _compile(self) -> None:
        """Compile on a copy of the parameters and a first batch, so a failure changes nothing."""
        import time

        started = time.perf_counter()
        backward = self.backward

        def step(params, Xtr, Ytr, ix, lr):
            return manual_step(params, Xtr[ix], Ytr[ix], lr, backward)

        try:
            compiled = torch.compile(step, dynamic=False)
            copy, ix, lr = copy_parameters(self.params), torch.arange(self.batch_size), torch.tensor(0.0)
            with torch.inference_mode():
                compiled(copy, self.Xtr, self.Ytr, ix, lr)
        except Exception as error:  # noqa: BLE001 (any failure: the plain step still trains)
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            print(f"torch.compile could not compile your training step here ({type(error).__name__}: "
                  f"{first_line}), so it runs as plain PyTorch: the same maths, more slowly.")
            return
        self._run = compiled
        self.compile_seconds = time.perf_counter() - started

    def describe(self) -> str:
        if self.compiled:
            return f"compiled with torch.compile in {self.compile_seconds:.0f} s"
        return "run as plain PyTorch"


def autograd_step(params: dict, Xb, Yb, lr: float) -> torch.Tensor:
    """The same step with loss.backward(); `params` must require grad."""
    cache = forward(params, Xb, Yb)
    for p in params.values():
        p.grad = None
    cache["loss"].backward()
    with torch.no_grad():
        for p in params.values():
            p += -lr * p.grad
    return cache["loss"]


def copy_parameters(params: dict, requires_grad: bool = False) -> dict:
    return {k: v.detach().clone().requires_grad_(requires_grad) for k, v in params.items()}


class FastStep:
    """A manual training step built for speed (see the lesson's "going further" section).

    The same maths as the readable backward, with fewer and cheaper PyTorch calls:
    - the forward keeps no extra tensors and works in place where nothing else needs the input;
    - `log_softmax` gives the loss and, after `exp_`, the softmax that dlogits starts from;
    - the 1/n of the mean is not applied to each gradient but folded into the learning rate;
    - each weight update is fused into the matrix product that computes its gradient (`addmm_`);
    - `b1` is not updated: batchnorm subtracts the batch mean right after it, so its gradient is
      exactly zero in exact arithmetic (autograd's is float32 noise around 1e-9).
    Call it under `torch.no_grad()`; it updates `params` in place and returns the batch's loss.
    """

    def __init__(self, params: dict, batch_size: int):
        self.params = params
        self.n = batch_size
        self.row_offsets = None
        self.minus_one = torch.tensor(-1.0)
        self.ones = torch.ones(batch_size)

    def __call__(self, Xb: torch.Tensor, Yb: torch.Tensor, lr: float) -> torch.Tensor:
        C, W1, b1, W2, b2, bngain, bnbias = (self.params[k] for k in PARAMETER_NAMES)
        n = self.n
        if self.row_offsets is None:
            self.row_offsets = torch.arange(n) * W2.shape[1]
        targets = self.row_offsets + Yb  # flat positions of the correct characters in (n, 27)
        ix = Xb.view(-1)
        # forward
        embcat = C.index_select(0, ix).view(n, -1)
        bndiff = torch.addmm(b1, embcat, W1)
        bndiff -= bndiff.mean(0, keepdim=True)
        bnvar_inv = bndiff.square().sum(0, keepdim=True).div_(n - 1).add_(BN_EPS).rsqrt_()
        bnraw = bndiff.mul_(bnvar_inv)
        h = torch.addcmul(bnbias, bngain, bnraw).tanh_()
        logprobs = torch.log_softmax(torch.addmm(b2, h, W2), 1)
        loss = logprobs.take(targets).sum() / -n
        # backward, every gradient n times too large until the 1/n in `step`
        step = lr / n
        dlogits = logprobs.exp_()
        dlogits.view(-1).index_put_((targets,), self.minus_one, accumulate=True)  # softmax - onehot
        dh = F.linear(dlogits, W2)  # dlogits @ W2.T, before W2 changes
        W2.addmm_(h.T, dlogits, alpha=-step)
        b2.addmv_(dlogits.T, self.ones, alpha=-step)
        dhpreact = torch.addcmul(dh, dh * h, h, value=-1)  # (1 - h**2) * dh
        dbnbias = dhpreact.sum(0, keepdim=True)
        dbngain = (dhpreact * bnraw).sum(0, keepdim=True)
        # dhprebn = bngain * bnvar_inv * (dhpreact - dbnbias/n - bnraw * dbngain/(n-1))
        dhprebn = torch.addcmul(dhpreact.sub_(dbnbias, alpha=1 / n), bnraw, dbngain, value=-1 / (n - 1))
        dhprebn.mul_(bnvar_inv.mul_(bngain))
        bngain.sub_(dbngain, alpha=step)
        bnbias.sub_(dbnbias, alpha=step)
        dembcat = F.linear(dhprebn, W1)  # dhprebn @ W1.T, before W1 changes
        W1.addmm_(embcat.T, dhprebn, alpha=-step)
        C.index_add_(0, ix, dembcat.view(ix.shape[0], -1), alpha=-step)
        return loss


# ---------------------------------------------------------------- after training

@torch.no_grad()
def calibrate_batchnorm(params: dict, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Batchnorm's mean and variance over the whole training set, for use at inference."""
    C, W1, b1 = params["C"], params["W1"], params["b1"]
    hprebn = C[X].view(X.shape[0], -1) @ W1 + b1
    return hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True, unbiased=True)


def _inference_logits(params: dict, X, bnmean, bnvar) -> torch.Tensor:
    C, W1, b1, W2, b2, bngain, bnbias = (params[k] for k in PARAMETER_NAMES)
    hprebn = C[X].view(X.shape[0], -1) @ W1 + b1
    h = torch.tanh(bngain * (hprebn - bnmean) * (bnvar + BN_EPS) ** -0.5 + bnbias)
    return h @ W2 + b2


@torch.no_grad()
def evaluate(params: dict, X, Y, bnmean, bnvar) -> float:
    """The mean cross-entropy on a whole split, with the calibrated batchnorm statistics."""
    return F.cross_entropy(_inference_logits(params, X, bnmean, bnvar), Y).item()


@torch.no_grad()
def sample_names(params: dict, bnmean, bnvar, itos: dict, count: int, generator: torch.Generator,
                 block_size: int = 3) -> list[str]:
    """Names drawn from the trained model, one character at a time."""
    names = []
    for _ in range(count):
        context, out = [0] * block_size, []
        while True:
            logits = _inference_logits(params, torch.tensor([context]), bnmean, bnvar)
            ix = torch.multinomial(F.softmax(logits, dim=1), num_samples=1, generator=generator).item()
            if ix == 0:
                break
            out.append(itos[ix])
            context = context[1:] + [ix]
        names.append("".join(out))
    return names


def unpack_gradients(grads) -> tuple:
    """Your backward's result as 7 values (C, W1, b1, W2, b2, bngain, bnbias), for checking one by
    one. Anything that is not a sequence of 7 becomes 7 placeholders, with a sentence saying why."""
    if grads is None:
        return (None,) * len(PARAMETER_NAMES)
    if isinstance(grads, (list, tuple)) and len(grads) == len(PARAMETER_NAMES):
        return tuple(grads)
    what = f"{len(grads)} values" if isinstance(grads, (list, tuple)) else f"a {type(grads).__name__}"
    print(f"backward returned {what}; it must return the 7 gradients dC, dW1, db1, dW2, db2, dbngain, "
          f"dbnbias, in that order, as a tuple.")
    return (None,) * len(PARAMETER_NAMES)


def check_training(lossi: list, val_loss: float | None) -> None:
    """The graded result of training: in fast mode the training loss must have fallen below
    FAST_LOSS_BELOW (mean of the last 1,000 steps); in full mode the validation loss must reach
    FULL_VAL_LOSS. Prints one sentence; raises CheckFailed if the goal was missed."""
    from ..errors import CheckFailed

    if graded():  # the grader computes the result from the trained parameters (TrainingExercise)
        return
    if not lossi or val_loss is None:
        raise CheckFailed("not trained yet: finish backward above, then run the training cells.")
    if fast_mode():
        recent = 10 ** (sum(lossi[-1000:]) / len(lossi[-1000:]))  # lossi holds log10 losses
        verdict = f"fast mode: training loss over the last 1,000 steps {recent:.4f} (goal: below {FAST_LOSS_BELOW})"
        passed = recent < FAST_LOSS_BELOW
    else:
        verdict = f"validation loss {val_loss:.4f} (goal: at most {FULL_VAL_LOSS})"
        passed = val_loss <= FULL_VAL_LOSS
    print(("✓ trained: " if passed else "✗ not there yet: ") + verdict)
    if not passed:
        raise CheckFailed(verdict)
