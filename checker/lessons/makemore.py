"""The makemore MLP of the backprop exercises: data, parameters, the chunked forward pass, and the
reference gradients the checker compares against.

Everything is drawn from one seeded `torch.Generator`, so a seed fixes the data split, the
initialisation and the batch. The forward pass is written in exactly the op order of the lesson:
the float32 reference must be bit-identical to what autograd gives for the lesson's own tensors.
"""

import random
from dataclasses import replace

import torch

from ..chain import Chain
from ..data import load_names
from ..handout import exercise_factory
from ..exercise import Exercise, Reference
from ..references import graph_gradients, graph_references
from ..environment import DEFAULT_SEED, SEED_ENV_VAR, seed_from_env  # noqa: F401 (re-exported)

LECTURE_SPLIT_SEED = 42  # the lecture shuffles the names with random.seed(42)
PYTORCH_DEFAULT_SEED = 67280421310721  # where torch.Generator() starts: the lecture's bngain, bnbias

N_EMBD = 10  # dimensionality of the character embedding vectors
N_HIDDEN = 64  # neurons in the hidden layer
BLOCK_SIZE = 3  # context length: how many characters predict the next one
BATCH_SIZE = 32
BN_EPS = 1e-5
# The lessons of Exercises 1-3, whose rules (checker/rules.py) their checks apply.
LESSONS = {1: "04_makemore_atomic_backprop", 2: "05_makemore_fused_cross_entropy", 3: "06_makemore_fused_batchnorm"}

PARAMETER_NAMES = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
# The forward pass's intermediate tensors, in forward order.
INTERMEDIATE_NAMES = (
    "emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw",
    "hpreact", "h", "logits", "logit_maxes", "norm_logits", "counts", "counts_sum",
    "counts_sum_inv", "probs", "logprobs",
)
# Exercise 1 asks for the gradient of every one of these, in backward order.
GRADIENT_ORDER = (
    "logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes",
    "logits", "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar",
    "bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "W1", "b1", "emb", "C",
)


class Vocabulary:
    """Characters <-> integers; index 0 is '.', which marks both the start and the end of a name."""

    def __init__(self, words):
        chars = sorted(set("".join(words)))
        self.stoi = {ch: i + 1 for i, ch in enumerate(chars)}
        self.stoi["."] = 0
        self.itos = {i: ch for ch, i in self.stoi.items()}

    def __len__(self):
        return len(self.stoi)


def build_dataset(words, vocab: Vocabulary, block_size: int = BLOCK_SIZE):
    """Every (context, next character) pair of `words`: X (N, block_size) int64, Y (N,) int64.

    A word such as "emma" gives the contexts ..., ..e, .em, emm, mma and the next characters
    e, m, m, a, . (the end). Built with array indexing rather than a Python loop over every
    character: grading builds it for every submission.
    """
    rows = [[0] * block_size + [vocab.stoi[ch] for ch in word] + [0] for word in words]
    flat = torch.tensor([code for row in rows for code in row])
    examples = torch.tensor([len(word) + 1 for word in words])  # one per character, and the end
    row_starts = torch.cumsum(torch.tensor([0] + [len(row) for row in rows[:-1]]), 0)
    first_example = torch.cumsum(examples, 0) - examples
    position_in_word = torch.arange(int(examples.sum())) - first_example.repeat_interleave(examples)
    window_starts = row_starts.repeat_interleave(examples) + position_in_word
    windows = flat[window_starts[:, None] + torch.arange(block_size + 1)]
    return windows[:, :block_size].contiguous(), windows[:, block_size].contiguous()


def split_words(words, seed: int):
    """Shuffle, then 80% train, 10% validation, 10% test. With the lecture's seed this is the
    lecture's own split (Python's `random` seeded with 42), so losses compare with the video's."""
    shuffled = list(words)
    random.Random(LECTURE_SPLIT_SEED if seed == DEFAULT_SEED else seed).shuffle(shuffled)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


def init_parameters(vocab_size: int, generator: torch.Generator, n_embd: int = N_EMBD,
                    n_hidden: int = N_HIDDEN, block_size: int = BLOCK_SIZE,
                    bn_generator: torch.Generator | None = None) -> dict:
    """The lecture's initialisation. Biases and batchnorm parameters are small random numbers rather
    than 0 and 1, so that a wrong gradient formula cannot hide behind a zero. `bngain` and `bnbias`
    come from `bn_generator` if given (see MakemoreSetup), else from `generator` after the rest."""
    g = generator
    bn = bn_generator or generator
    fan_in = n_embd * block_size
    return {
        "C": torch.randn((vocab_size, n_embd), generator=g),
        "W1": torch.randn((fan_in, n_hidden), generator=g) * (5 / 3) / fan_in**0.5,
        "b1": torch.randn(n_hidden, generator=g) * 0.1,
        "W2": torch.randn((n_hidden, vocab_size), generator=g) * 0.1,
        "b2": torch.randn(vocab_size, generator=g) * 0.1,
        "bngain": torch.randn((1, n_hidden), generator=bn) * 0.1 + 1.0,
        "bnbias": torch.randn((1, n_hidden), generator=bn) * 0.1,
    }


def forward(params: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The chunked forward pass of the lesson, op for op. Returns every intermediate and `loss`."""
    C, W1, b1, W2, b2, bngain, bnbias = (params[k] for k in PARAMETER_NAMES)
    n = Xb.shape[0]
    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)  # Bessel's correction: 1/(n-1)
    bnvar_inv = (bnvar + BN_EPS) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum**-1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    return dict(
        emb=emb, embcat=embcat, hprebn=hprebn, bnmeani=bnmeani, bndiff=bndiff, bndiff2=bndiff2,
        bnvar=bnvar, bnvar_inv=bnvar_inv, bnraw=bnraw, hpreact=hpreact, h=h, logits=logits,
        logit_maxes=logit_maxes, norm_logits=norm_logits, counts=counts, counts_sum=counts_sum,
        counts_sum_inv=counts_sum_inv, probs=probs, logprobs=logprobs, loss=loss,
    )


def autograd_gradients(params: dict, Xb: torch.Tensor, Yb: torch.Tensor, dtype: torch.dtype,
                       forward_pass=forward) -> dict:
    """d loss / d tensor for every parameter and every float tensor the forward pass returns, by
    PyTorch's autograd in `dtype` (see references.graph_gradients)."""
    return graph_gradients(forward_pass, params, Xb, Yb, dtype=dtype)


class MakemoreSetup:
    """Data, parameters and one batch, all fixed by `seed`: what a makemore lesson works on."""

    def __init__(self, seed: int | None = None, batch_size: int = BATCH_SIZE, n_hidden: int = N_HIDDEN):
        self.seed = seed_from_env() if seed is None else seed
        words = load_names()
        self.vocab = Vocabulary(words)
        train, val, test = split_words(words, self.seed)
        self.Xtr, self.Ytr = build_dataset(train, self.vocab)
        self.Xdev, self.Ydev = build_dataset(val, self.vocab)
        self.Xte, self.Yte = build_dataset(test, self.vocab)
        # The lecture's own sources of randomness: its seeded generator draws C, W1, b1, W2 and b2,
        # then the batches; it drew bngain and bnbias without a generator, from torch's global one,
        # which in a fresh process starts from PyTorch's default seed. Any other seed (the grader's)
        # draws everything from one generator.
        generator = torch.Generator().manual_seed(self.seed)
        bn_generator = torch.Generator().manual_seed(PYTORCH_DEFAULT_SEED) if self.seed == DEFAULT_SEED else None
        self.params = init_parameters(len(self.vocab), generator, n_hidden=n_hidden, bn_generator=bn_generator)
        self.generator = generator  # continues after the batch: training draws its batches from it
        self.batch_size = batch_size
        ix = torch.randint(0, self.Xtr.shape[0], (batch_size,), generator=generator)
        self.Xb, self.Yb = self.Xtr[ix], self.Ytr[ix]

    @property
    def parameters(self) -> tuple:
        """(C, W1, b1, W2, b2, bngain, bnbias), in the lecture's order."""
        return tuple(self.params[k] for k in PARAMETER_NAMES)


def _references(setup: MakemoreSetup, names, forward_pass=forward) -> dict:
    return graph_references(forward_pass, setup.params, setup.Xb, setup.Yb, names=names)


def _bessel_mistake(reference: Reference, n: int) -> Reference:
    """dbndiff2 computed with 1/n, the biased variance, instead of the forward pass's 1/(n-1)."""
    hint = ("that is the gradient for a variance divided by n; this forward pass divides by n-1 "
            "(Bessel's correction), so use 1/(n-1)")
    return replace(reference, mistakes={hint: reference.truth * (n - 1) / n})


# Tensors used twice in the forward pass: each use, as the forward line that makes its output
# from the tensor (x) and other, fixed tensors (t). Used to find answers that forgot one path.
BRANCHES = {
    "counts": {"probs": lambda x, t: x * t["counts_sum_inv"],
               "counts_sum": lambda x, t: x.sum(1, keepdims=True)},
    "logits": {"norm_logits": lambda x, t: x - t["logit_maxes"],
               "logit_maxes": lambda x, t: x.max(1, keepdim=True).values},
    "bndiff": {"bnraw": lambda x, t: x * t["bnvar_inv"], "bndiff2": lambda x, t: x**2},
    "hprebn": {"bndiff": lambda x, t: x - t["bnmeani"],
               "bnmeani": lambda x, t: 1 / x.shape[0] * x.sum(0, keepdim=True)},
}


def branch_contributions(params: dict, Xb, Yb, grads: dict) -> dict:
    """{tensor: {consumer: the part of d loss / d tensor that flows back through that use alone}},
    in float64, for every tensor in BRANCHES: what an answer that forgot the other path gives.
    `grads` are the float64 gradients of the consumers."""
    tensors = {k: v.detach() for k, v in forward({k: v.double() for k, v in params.items()}, Xb, Yb).items()}
    contributions = {}
    with torch.enable_grad():
        for name, uses in BRANCHES.items():
            contributions[name] = {}
            for via, local_op in uses.items():
                x = tensors[name].clone().requires_grad_()
                (part,) = torch.autograd.grad(local_op(x, tensors), x, grads[via])
                contributions[name][via] = part
    return contributions


def _missing_branch_mistakes(references: dict, contributions: dict) -> None:
    for name, parts in contributions.items():
        hints = {}
        for via, part in parts.items():
            (other,) = [c for c in parts if c != via]
            hints[f"that is only the gradient through {via}; {name} is also used to compute {other}, "
                  f"so add the contribution of that path too"] = part
        references[name] = replace(references[name], mistakes={**references[name].mistakes, **hints})


# Hints for `ex.hint("dX")`, next to the references they are about: (where X is used, read from the
# graph; the local derivative of each of those lines; how the pieces fit together: which sums, over
# which dimension, keeping which shape, which local derivative multiplies which upstream gradient).
# In words and maths, never a line of the answer with names blanked: tests/test_hints.py checks.
HINTS_1 = {
    "logprobs": (None, "loss = -(mean over the n rows of logprobs[i, Yb[i]]): each picked element gets -1/n, every other element 0.",
                 "A tensor of logprobs' shape (32, 27), zero everywhere except one entry per row: in row i, the "
                 "column Yb[i], which gets -1/n. Pick those n entries by pairing each row index with its Yb."),
    "probs": (None, "d log(p) / dp = 1/p, element by element.",
              "Element by element, no sum: the local derivative 1/probs (32, 27) times the upstream "
              "dlogprobs, of the same shape."),
    "counts_sum_inv": (None, "In probs = counts * counts_sum_inv the local gradient for counts_sum_inv is counts; "
                       "counts_sum_inv (32, 1) was broadcast over 27 columns, so its gradient sums over them.",
                       "The local derivative, counts (32, 27), times the upstream dprobs (32, 27), element by element; "
                       "then a sum over the 27 columns (dimension 1) that keeps that dimension, so the result is "
                       "(32, 1), like counts_sum_inv."),
    "counts_sum": (None, "d x⁻¹ / dx = -x⁻².",
                   "Element by element, no sum: the local derivative -counts_sum⁻², (32, 1), times the upstream "
                   "dcounts_sum_inv, (32, 1)."),
    "counts": (None, "Through probs the local gradient is counts_sum_inv; through counts_sum = counts.sum(1) it is 1 "
               "for every element of the row (a sum hands its gradient to each term).",
               "Two contributions, added, each (32, 27). Through probs: the local counts_sum_inv (32, 1), "
               "broadcast across the 27 columns, times dprobs. Through counts_sum: every element of row i gets "
               "that row's upstream dcounts_sum, the (32, 1) column spread across the row."),
    "norm_logits": (None, "d exp(x) / dx = exp(x), and exp(norm_logits) is counts.",
                    "Element by element, no sum: the local derivative, which is a tensor you already have "
                    "(the exp of norm_logits), times the upstream dcounts; both are (32, 27)."),
    "logit_maxes": (None, "In norm_logits = logits - logit_maxes the local gradient is -1, and logit_maxes (32, 1) "
                    "was broadcast over 27 columns.",
                    "The local -1 times dnorm_logits (32, 27), then a sum over the 27 columns (dimension 1) that keeps "
                    "that dimension: (32, 1), like logit_maxes."),
    "logits": (None, "Through norm_logits: 1. Through logit_maxes = logits.max(1): 1 at each row's largest logit, 0 elsewhere.",
               "Two contributions, added, each (32, 27). Through norm_logits: dnorm_logits unchanged (start from "
               "a copy, so the addition leaves dnorm_logits alone). Through logit_maxes: a (32, 27) mask that is "
               "1 at each row's largest logit and 0 elsewhere (the one-hot of the position of the max along "
               "dimension 1, with 27 classes), times the (32, 1) dlogit_maxes spread across each row."),
    "h": (None, "For Y = X @ W, dX = dY @ Wᵀ (check the shapes: (32, 27) @ (27, 64)).",
          "dh_ik = Σ_j dlogits_ij W2_kj, a sum over the 27 characters: dlogits (32, 27) and W2 (64, 27) "
          "meet on the 27 once W2 is turned over, which leaves (32, 64), h's shape."),
    "W2": (None, "For Y = X @ W, dW = Xᵀ @ dY (check the shapes: (64, 32) @ (32, 27)).",
           "dW2_kj = Σ_i h_ik dlogits_ij, a sum over the 32 examples: h (32, 64) and dlogits (32, 27) "
           "meet on the 32 once h is turned over, which leaves (64, 27), W2's shape."),
    "b2": (None, "b2 (27,) was added to every row: its local gradient is 1 for each, so its gradient sums over the batch.",
           "A sum of dlogits (32, 27) over the batch dimension (0), not kept: (27,), b2's own shape."),
    "hpreact": (None, "d tanh(x) / dx = 1 - tanh(x)², and tanh(hpreact) is h.",
                "Element by element, no sum: the local derivative 1 - h², computed from h (32, 64), times "
                "the upstream dh (32, 64)."),
    "bngain": (None, "In hpreact = bngain * bnraw + bnbias the local gradient for bngain is bnraw; bngain (1, 64) was "
               "broadcast over the batch.",
               "The local derivative bnraw (32, 64) times the upstream dhpreact (32, 64), element by element; "
               "then a sum over the batch (dimension 0) that keeps that dimension: (1, 64), bngain's shape."),
    "bnbias": (None, "The local gradient of an added bias is 1; bnbias (1, 64) was broadcast over the batch.",
               "The upstream dhpreact (32, 64) times the local 1, summed over the batch (dimension 0) keeping "
               "that dimension: (1, 64), bnbias's shape."),
    "bnraw": (None, "In hpreact = bngain * bnraw + bnbias the local gradient for bnraw is bngain.",
              "Element by element, no sum: the local derivative bngain (1, 64), broadcast "
              "over the 32 rows, times the upstream dhpreact (32, 64); the result is (32, 64), bnraw's shape."),
    "bnvar_inv": (None, "In bnraw = bndiff * bnvar_inv the local gradient for bnvar_inv is bndiff; bnvar_inv (1, 64) was "
                  "broadcast over the batch.",
                  "The local derivative bndiff (32, 64) times the upstream dbnraw (32, 64), element by element; "
                  "then a sum over the batch (dimension 0) that keeps that dimension: (1, 64), like bnvar_inv."),
    "bnvar": (None, "d (x + ε)^-0.5 / dx = -0.5 (x + ε)^-1.5, with ε = 1e-5.",
              "Element by element, no sum: the local derivative -0.5 (bnvar + ε)^-1.5, (1, 64), times the "
              "upstream dbnvar_inv, (1, 64), with the forward pass's ε."),
    "bndiff2": (None, "bnvar = 1/(n-1) * bndiff2.sum(0): every element of a column gets 1/(n-1) of that column's "
                "gradient (Bessel's correction: n-1, not n).",
                "Every element of column k gets the same share: 1/(n-1) times dbnvar's entry k. Spread the "
                "(1, 64) upstream over the 32 rows (a tensor of ones with bndiff2's shape does it), so the result "
                "is (32, 64)."),
    "bndiff": (None, "Through bnraw the local gradient is bnvar_inv; through bndiff2 = bndiff**2 it is 2 * bndiff.",
               "Two contributions, added, both element by element and (32, 64). Through bnraw: the local "
               "bnvar_inv (1, 64), broadcast over the rows, times dbnraw. Through bndiff2: the local 2·bndiff "
               "times dbndiff2."),
    "bnmeani": (None, "In bndiff = hprebn - bnmeani the local gradient is -1, and bnmeani (1, 64) was broadcast over the batch.",
                "The local -1 times dbndiff (32, 64), then a sum over the batch (dimension 0) that keeps that "
                "dimension: (1, 64), like bnmeani."),
    "hprebn": (None, "Through bndiff: 1. Through bnmeani = 1/n * hprebn.sum(0): 1/n for every row.",
               "Two contributions, added, each (32, 64). Through bndiff: dbndiff unchanged (start from a copy, "
               "so the addition leaves dbndiff alone). Through bnmeani: every one of the n rows gets 1/n of "
               "dbnmeani (1, 64), spread over the rows."),
    "embcat": (None, "For Y = X @ W, dX = dY @ Wᵀ.",
               "dhprebn (32, 64) and W1 (30, 64) meet on the 64 once W1 is turned over, which leaves (32, 30), "
               "embcat's shape: a sum over the 64 hidden units."),
    "W1": (None, "For Y = X @ W, dW = Xᵀ @ dY.",
           "embcat (32, 30) and dhprebn (32, 64) meet on the 32 examples once embcat is turned over, which "
           "leaves (30, 64), W1's shape: a sum over the batch."),
    "b1": (None, "b1 (64,) was added to every row: its gradient sums over the batch.",
           "A sum of dhprebn (32, 64) over the batch dimension (0), not kept: (64,), b1's own shape."),
    "emb": (None, "embcat = emb.view(32, 30) only reshapes: the gradient is reshaped back.",
            "No arithmetic: the same 32 × 30 numbers as dembcat, viewed in emb's shape (32, 3, 10)."),
    "C": (None, "emb = C[Xb] copies rows of C: each row's gradient is the sum of the gradients of every place it was "
          "copied to (a character used twice gets both).",
          "Start from zeros of C's shape (27, 10). For every example k and position j of Xb (32, 3), the "
          "character Xb holds there names the row of C that was copied: add demb's 10 numbers at (k, j) into "
          "that row. A row copied several times collects them all."),
}
HINTS_2 = {
    "logits": ("loss = F.cross_entropy(logits, Yb) is log_softmax, then the mean of the picked -logprobs: dlogits has "
               "logits' shape (32, 27).",
               "For one row, d loss_i / d logits_i = softmax(logits_i) - one_hot(Yb[i]); the loss is the mean of n rows.",
               "Per row i, the softmax of the logits along the 27 characters (dimension 1), minus the one-hot "
               "of Yb[i]; the loss is the mean of n rows, so all of it is divided by n. In maths: "
               "dlogits = (softmax(logits) - onehot(Yb)) / n, of shape (32, 27)."),
}
HINTS_3 = {
    "hprebn": ("hpreact = bngain * (hprebn - mean) / sqrt(var + ε) + bnbias, with Bessel's n-1 in the variance: "
               "dhprebn has hprebn's shape (32, 64).",
               "hprebn reaches the output three ways: through (hprebn - mean), through the mean, and through the "
               "variance. Add the three; with bnraw = (hprebn - mean) * bnvar_inv they simplify to one line.",
               "Column by column, with x = hprebn, g = dhpreact, x̂ = bnraw, γ = bngain and s = bnvar_inv, every Σ_j "
               "a sum over the batch (dimension 0): ∂ℓ/∂x_i = (γ s / n) (n g_i - Σ_j g_j - n/(n-1) x̂_i Σ_j g_j x̂_j). "
               "γ, s and both sums are one number per column, (1, 64) or (64,), and broadcast over the 32 rows: "
               "the result is (32, 64)."),
    "bngain": ("bngain (1, 64) multiplies bnraw in every row.", "The local gradient for bngain is bnraw, summed over the batch.",
               "bnraw times dhpreact, element by element (32, 64), then a sum over the batch (dimension 0) "
               "that keeps that dimension: (1, 64), bngain's shape."),
    "bnbias": ("bnbias (1, 64) is added to every row.", "The local gradient of an added bias is 1, summed over the batch.",
               "dhpreact summed over the batch (dimension 0), keeping that dimension: (1, 64), bnbias's shape."),
}


@exercise_factory("exercise1")
def exercise1(setup: MakemoreSetup) -> Exercise:
    """Exercise 1: the gradient of every parameter and intermediate, one atomic step at a time.
    Shapes that differ only by a size-1 dimension pass with a note, as the original solution's
    `dbnmeani = (-dbndiff).sum(0)` does."""
    references = _references(setup, GRADIENT_ORDER)
    references["bndiff2"] = _bessel_mistake(references["bndiff2"], setup.batch_size)
    truth = {name: reference.truth for name, reference in references.items()}
    _missing_branch_mistakes(references, branch_contributions(setup.params, setup.Xb, setup.Yb, truth))
    return Exercise("Exercise 1: backprop through every atomic step", references, allow_keepdim=True,
                    batch_size=setup.batch_size, lesson=LESSONS[1],
                    chain=Chain(forward, setup.params, setup.Xb, setup.Yb), hints=HINTS_1)


@exercise_factory("exercise2")
def exercise2(setup: MakemoreSetup) -> Exercise:
    """Exercise 2: dlogits of the whole cross-entropy in one expression."""
    return Exercise("Exercise 2: cross-entropy in one go", _references(setup, ["logits"]),
                    batch_size=setup.batch_size, lesson=LESSONS[2], hints=HINTS_2)


def _given_dhpreact(setup: MakemoreSetup) -> dict:
    """The gradient Exercise 3 hands the learner: autograd's dhpreact, its input, not its answer."""
    return {"dhpreact": autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32)["hpreact"]}


@exercise_factory("exercise3", given=_given_dhpreact)
def exercise3(setup: MakemoreSetup) -> Exercise:
    """Exercise 3: dhprebn through the whole batchnorm in one expression, given dhpreact."""
    references = _references(setup, ["hprebn", "bngain", "bnbias"])
    incoming = _given_dhpreact(setup)["dhpreact"]
    references["hprebn"] = replace(references["hprebn"], mistakes={
        "that is the batchnorm gradient for the biased variance (divided by n); this layer divides "
        "by n-1 (Bessel's correction), which changes the factor in front of bnraw":
            _biased_batchnorm_backward(setup, incoming.double()),
    })
    return Exercise("Exercise 3: batchnorm in one go", references, given={"dhpreact": incoming},
                    batch_size=setup.batch_size, lesson=LESSONS[3], hints=HINTS_3)


def _biased_batchnorm_backward(setup: MakemoreSetup, dhpreact: torch.Tensor) -> torch.Tensor:
    """The fused batchnorm backward with the 1/n variance's factor: the usual Bessel slip."""
    tensors = forward({k: v.double() for k, v in setup.params.items()}, setup.Xb, setup.Yb)
    n, bnraw = setup.batch_size, tensors["bnraw"]
    scale = setup.params["bngain"].double() * tensors["bnvar_inv"] / n
    return scale * (n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0))
