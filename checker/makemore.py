"""The makemore MLP of the backprop exercises: data, parameters, the chunked forward pass, and the
reference gradients the checker compares against.

Everything is drawn from one seeded `torch.Generator`, so a seed fixes the data split, the
initialisation and the batch. The forward pass is written in exactly the op order of the lesson:
the float32 reference must be bit-identical to what autograd gives for the lesson's own tensors.
"""

import os

import torch

from .data import load_names
from .exercise import Exercise, Reference

SEED_ENV_VAR = "BACKPROP_NINJA_SEED"
DEFAULT_SEED = 2147483647  # the seed of the original lecture

N_EMBD = 10  # dimensionality of the character embedding vectors
N_HIDDEN = 64  # neurons in the hidden layer
BLOCK_SIZE = 3  # context length: how many characters predict the next one
BATCH_SIZE = 32
BN_EPS = 1e-5

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


def seed_from_env() -> int:
    """The seed a lesson uses: `BACKPROP_NINJA_SEED` if set (the grader sets its own), else the lecture's."""
    value = os.environ.get(SEED_ENV_VAR, "").strip()
    return int(value) if value else DEFAULT_SEED


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
    """Every (context, next character) pair of `words`: X (N, block_size) int64, Y (N,) int64."""
    contexts, targets = [], []
    for word in words:
        context = [0] * block_size
        for ch in word + ".":
            ix = vocab.stoi[ch]
            contexts.append(context)
            targets.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(contexts), torch.tensor(targets)


def split_words(words, generator: torch.Generator):
    """Shuffle, then 80% train, 10% validation, 10% test, as in the lecture."""
    order = torch.randperm(len(words), generator=generator).tolist()
    shuffled = [words[i] for i in order]
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


def init_parameters(vocab_size: int, generator: torch.Generator, n_embd: int = N_EMBD,
                    n_hidden: int = N_HIDDEN, block_size: int = BLOCK_SIZE) -> dict:
    """The lecture's initialisation. Biases and batchnorm parameters are small random numbers rather
    than 0 and 1, so that a wrong gradient formula cannot hide behind a zero."""
    g = generator
    fan_in = n_embd * block_size
    return {
        "C": torch.randn((vocab_size, n_embd), generator=g),
        "W1": torch.randn((fan_in, n_hidden), generator=g) * (5 / 3) / fan_in**0.5,
        "b1": torch.randn(n_hidden, generator=g) * 0.1,
        "W2": torch.randn((n_hidden, vocab_size), generator=g) * 0.1,
        "b2": torch.randn(vocab_size, generator=g) * 0.1,
        "bngain": torch.randn((1, n_hidden), generator=g) * 0.1 + 1.0,
        "bnbias": torch.randn((1, n_hidden), generator=g) * 0.1,
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


def autograd_gradients(params: dict, Xb: torch.Tensor, Yb: torch.Tensor, dtype: torch.dtype) -> dict:
    """d loss / d tensor for every parameter and intermediate, by PyTorch's autograd in `dtype`.
    Works on private copies: the caller's tensors are never given a `.grad`."""
    leaves = {k: v.detach().to(dtype).requires_grad_() for k, v in params.items()}
    with torch.enable_grad():
        tensors = forward(leaves, Xb, Yb)
        for name in INTERMEDIATE_NAMES:
            tensors[name].retain_grad()
        tensors["loss"].backward()
    tensors.update(leaves)
    return {name: tensors[name].grad.detach() for name in GRADIENT_ORDER}


class MakemoreSetup:
    """Data, parameters and one batch, all fixed by `seed`: what a makemore lesson works on."""

    def __init__(self, seed: int | None = None, batch_size: int = BATCH_SIZE):
        self.seed = seed_from_env() if seed is None else seed
        generator = torch.Generator().manual_seed(self.seed)
        words = load_names()
        self.vocab = Vocabulary(words)
        train, val, test = split_words(words, generator)
        self.Xtr, self.Ytr = build_dataset(train, self.vocab)
        self.Xdev, self.Ydev = build_dataset(val, self.vocab)
        self.Xte, self.Yte = build_dataset(test, self.vocab)
        self.params = init_parameters(len(self.vocab), generator)
        self.batch_size = batch_size
        ix = torch.randint(0, self.Xtr.shape[0], (batch_size,), generator=generator)
        self.Xb, self.Yb = self.Xtr[ix], self.Ytr[ix]

    @property
    def parameters(self) -> tuple:
        """(C, W1, b1, W2, b2, bngain, bnbias), in the lecture's order."""
        return tuple(self.params[k] for k in PARAMETER_NAMES)


def exercise1(setup: MakemoreSetup) -> Exercise:
    """Exercise 1: the gradient of every parameter and intermediate, one atomic step at a time.
    Shapes that differ only by a size-1 dimension pass with a note, as the original solution's
    `dbnmeani = (-dbndiff).sum(0)` does."""
    expected = autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32)
    truth = autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float64)
    references = {name: Reference(expected[name], truth[name]) for name in GRADIENT_ORDER}
    return Exercise("Exercise 1: backprop through every atomic step", references, allow_keepdim=True)
