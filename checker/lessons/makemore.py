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
# graph; the local derivative of each of those lines; the answer's pattern with names blanked).
HINTS_1 = {
    "logprobs": (None, "loss = -(mean over the n rows of logprobs[i, Yb[i]]): each picked element gets -1/n, every other element 0.",
                 "`dlogprobs = torch.zeros_like(___)`, then `dlogprobs[range(n), Yb] = ___`"),
    "probs": (None, "d log(p) / dp = 1/p, element by element.", "`dprobs = (___ / probs) * dlogprobs`"),
    "counts_sum_inv": (None, "In probs = counts * counts_sum_inv the local gradient for counts_sum_inv is counts; "
                       "counts_sum_inv (32, 1) was broadcast over 27 columns, so its gradient sums over them.",
                       "`dcounts_sum_inv = (___ * dprobs).sum(___, keepdim=True)`"),
    "counts_sum": (None, "d x⁻¹ / dx = -x⁻².", "`dcounts_sum = (-counts_sum**___) * dcounts_sum_inv`"),
    "counts": (None, "Through probs the local gradient is counts_sum_inv; through counts_sum = counts.sum(1) it is 1 "
               "for every element of the row (a sum hands its gradient to each term).",
               "`dcounts = ___ * dprobs`, then `dcounts += torch.ones_like(counts) * ___`"),
    "norm_logits": (None, "d exp(x) / dx = exp(x), and exp(norm_logits) is counts.", "`dnorm_logits = ___ * dcounts`"),
    "logit_maxes": (None, "In norm_logits = logits - logit_maxes the local gradient is -1, and logit_maxes (32, 1) "
                    "was broadcast over 27 columns.", "`dlogit_maxes = (-dnorm_logits).sum(___, keepdim=True)`"),
    "logits": (None, "Through norm_logits: 1. Through logit_maxes = logits.max(1): 1 at each row's largest logit, 0 elsewhere.",
               "`dlogits = ___.clone()`, then `dlogits += F.one_hot(logits.max(1).indices, num_classes=___) * dlogit_maxes`"),
    "h": (None, "For Y = X @ W, dX = dY @ Wᵀ (check the shapes: (32, 27) @ (27, 64)).", "`dh = dlogits @ ___.T`"),
    "W2": (None, "For Y = X @ W, dW = Xᵀ @ dY (check the shapes: (64, 32) @ (32, 27)).", "`dW2 = ___.T @ dlogits`"),
    "b2": (None, "b2 (27,) was added to every row: its local gradient is 1 for each, so its gradient sums over the batch.",
           "`db2 = dlogits.sum(___)`"),
    "hpreact": (None, "d tanh(x) / dx = 1 - tanh(x)², and tanh(hpreact) is h.", "`dhpreact = (1.0 - ___**2) * dh`"),
    "bngain": (None, "In hpreact = bngain * bnraw + bnbias the local gradient for bngain is bnraw; bngain (1, 64) was "
               "broadcast over the batch.", "`dbngain = (___ * dhpreact).sum(0, keepdim=True)`"),
    "bnbias": (None, "The local gradient of an added bias is 1; bnbias (1, 64) was broadcast over the batch.",
               "`dbnbias = dhpreact.sum(___, keepdim=True)`"),
    "bnraw": (None, "In hpreact = bngain * bnraw + bnbias the local gradient for bnraw is bngain.", "`dbnraw = ___ * dhpreact`"),
    "bnvar_inv": (None, "In bnraw = bndiff * bnvar_inv the local gradient for bnvar_inv is bndiff; bnvar_inv (1, 64) was "
                  "broadcast over the batch.", "`dbnvar_inv = (___ * dbnraw).sum(0, keepdim=True)`"),
    "bnvar": (None, "d (x + ε)^-0.5 / dx = -0.5 (x + ε)^-1.5, with ε = 1e-5.", "`dbnvar = (-0.5 * (bnvar + 1e-5)**___) * dbnvar_inv`"),
    "bndiff2": (None, "bnvar = 1/(n-1) * bndiff2.sum(0): every element of a column gets 1/(n-1) of that column's "
                "gradient (Bessel's correction: n-1, not n).", "`dbndiff2 = (1.0/(___)) * torch.ones_like(bndiff2) * dbnvar`"),
    "bndiff": (None, "Through bnraw the local gradient is bnvar_inv; through bndiff2 = bndiff**2 it is 2 * bndiff.",
               "`dbndiff = ___ * dbnraw`, then `dbndiff += (___ * bndiff) * dbndiff2`"),
    "bnmeani": (None, "In bndiff = hprebn - bnmeani the local gradient is -1, and bnmeani (1, 64) was broadcast over the batch.",
                "`dbnmeani = (-dbndiff).sum(___, keepdim=True)`"),
    "hprebn": (None, "Through bndiff: 1. Through bnmeani = 1/n * hprebn.sum(0): 1/n for every row.",
               "`dhprebn = ___.clone()`, then `dhprebn += 1.0/___ * (torch.ones_like(hprebn) * dbnmeani)`"),
    "embcat": (None, "For Y = X @ W, dX = dY @ Wᵀ.", "`dembcat = dhprebn @ ___.T`"),
    "W1": (None, "For Y = X @ W, dW = Xᵀ @ dY.", "`dW1 = ___.T @ dhprebn`"),
    "b1": (None, "b1 (64,) was added to every row: its gradient sums over the batch.", "`db1 = dhprebn.sum(___)`"),
    "emb": (None, "embcat = emb.view(32, 30) only reshapes: the gradient is reshaped back.", "`demb = dembcat.view(___.shape)`"),
    "C": (None, "emb = C[Xb] copies rows of C: each row's gradient is the sum of the gradients of every place it was "
          "copied to (a character used twice gets both).",
          "`dC = torch.zeros_like(___)`, then for every k and j: `dC[Xb[k, j]] += demb[___, ___]`"),
}
HINTS_2 = {
    "logits": ("loss = F.cross_entropy(logits, Yb) is log_softmax, then the mean of the picked -logprobs: dlogits has "
               "logits' shape (32, 27).",
               "For one row, d loss_i / d logits_i = softmax(logits_i) - one_hot(Yb[i]); the loss is the mean of n rows.",
               "`dlogits = F.softmax(___, 1)`, `dlogits[range(n), Yb] -= ___`, then `dlogits /= ___`"),
}
HINTS_3 = {
    "hprebn": ("hpreact = bngain * (hprebn - mean) / sqrt(var + ε) + bnbias, with Bessel's n-1 in the variance: "
               "dhprebn has hprebn's shape (32, 64).",
               "hprebn reaches the output three ways: through (hprebn - mean), through the mean, and through the "
               "variance. Add the three; with bnraw = (hprebn - mean) * bnvar_inv they simplify to one line.",
               "`dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0) - n/(n-1)*bnraw*(dhpreact*bnraw).sum(___))`"),
    "bngain": ("bngain (1, 64) multiplies bnraw in every row.", "The local gradient for bngain is bnraw, summed over the batch.",
               "`dbngain = (bnraw * dhpreact).sum(0, keepdim=___)`"),
    "bnbias": ("bnbias (1, 64) is added to every row.", "The local gradient of an added bias is 1, summed over the batch.",
               "`dbnbias = dhpreact.sum(___, keepdim=True)`"),
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
