"""Lesson 03: a two-layer MLP by hand on the 8x8 handwritten digits, as a regression on the digit,
then as a classifier with ten outputs and cross-entropy (digits_evaluation.py judges that one).

    x (N, 64) -> lin(w1 (64, 50), b1 (50,)) -> l1 -> relu -> l2 -> lin(w2 (50, 1), b2 (1,)) -> out (N, 1)
    loss = mse(out, y),  y (N,) the digit as a number
    classifier: the same first layer, then lin(w2 (50, 10), b2 (10,)) -> logits (N, 10), cross_entropy(logits, y)

The forward pass below is the lesson's, op for op, so the float32 references are what autograd gives
for the lesson's own tensors. Data split, initialisation and batch all come from one seed.
"""

import torch
import torch.nn.functional as F

from ..chain import Chain
from ..data import load_digits
from ..environment import fast_mode, generator, seed_from_env
from ..handout import exercise_factory
from ..exercise import Exercise
from ..references import graph_references

LESSON = "03_mlp_by_hand_digits"  # its folder in solutions/ and lessons/: the rules its checks apply

N_HIDDEN = 50
BATCH_SIZE = 64
N_VALID = 297  # of 1,797 digits: 1,500 to train on
PARAMETER_NAMES = ("w1", "b1", "w2", "b2")
# The backward pass, in the order the lesson asks for it.
GRADIENT_ORDER = ("out", "l2", "w2", "b2", "l1", "w1", "b1")
EPOCHS, FAST_EPOCHS = 10, 3
N_CLASSES = 10


def lin(x, w, b):
    return x @ w + b


def relu(x):
    return x.clamp_min(0.0)


def mse(output, target):
    """Mean squared error of output (N, 1) against target (N,): squeeze first, or (N, 1) - (N,)
    broadcasts to (N, N)."""
    return (output.squeeze(-1) - target).pow(2).mean()


def forward(params: dict, x, y) -> dict:
    l1 = lin(x, params["w1"], params["b1"])
    l2 = relu(l1)
    out = lin(l2, params["w2"], params["b2"])
    return dict(l1=l1, l2=l2, out=out, loss=mse(out, y))


def classifier_forward(params: dict, x, y) -> dict:
    """The same network with ten outputs, one per digit, and cross-entropy on the labels."""
    l1 = lin(x, params["w1"], params["b1"])
    l2 = relu(l1)
    logits = lin(l2, params["w2"], params["b2"])
    return dict(l1=l1, l2=l2, logits=logits, loss=F.cross_entropy(logits, y.long()))


class DigitsSetup:
    """The digits split into train and valid, the network's parameters, and one batch, all from `seed`."""

    def __init__(self, seed: int | None = None):
        self.seed = seed_from_env() if seed is None else seed
        g = generator(self.seed)
        images, labels = load_digits()
        order = torch.randperm(len(labels), generator=g)
        x, y = torch.tensor(images, dtype=torch.float32)[order], torch.tensor(labels, dtype=torch.float32)[order]
        self.x_train, self.y_train = x[N_VALID:], y[N_VALID:]
        self.x_valid, self.y_valid = x[:N_VALID], y[:N_VALID]
        n_in = x.shape[1]
        # Kaiming init for the ReLU layer; small random biases, so no gradient can hide behind a zero.
        self.params = {
            "w1": torch.randn(n_in, N_HIDDEN, generator=g) * (2 / n_in) ** 0.5,
            "b1": torch.randn(N_HIDDEN, generator=g) * 0.1,
            "w2": torch.randn(N_HIDDEN, 1, generator=g) / N_HIDDEN**0.5,
            "b2": torch.randn(1, generator=g) * 0.1,
        }
        # The classifier starts from the same first layer, with a last layer of ten outputs; drawn from a
        # generator of its own, so the regression's numbers (and its training shuffles) stay as they were.
        c = generator(self.seed + 1)
        self.classifier_params = {
            "w1": self.params["w1"].clone(), "b1": self.params["b1"].clone(),
            "w2": torch.randn(N_HIDDEN, N_CLASSES, generator=c) / N_HIDDEN**0.5,
            "b2": torch.randn(N_CLASSES, generator=c) * 0.1,
        }
        self.generator = g  # continues: training shuffles with it
        batch = torch.randperm(len(self.y_train), generator=g)[:BATCH_SIZE]
        self.xb, self.yb = self.x_train[batch], self.y_train[batch]


# Which of the learner's functions the lesson calls for each gradient.
WRITTEN_BY = {"dout": "your `mse_grad`", "dl2": "your `lin_grad`", "dw2": "your `lin_grad`", "db2": "your `lin_grad`",
              "dl1": "your `relu_grad`", "dw1": "your `lin_grad`", "db1": "your `lin_grad`"}


# Hints for `ex.hint("dX")`: (where X is used, read from the graph; the local derivative; how the
# pieces fit together, in words and maths, never a line of the answer with names blanked).
HINTS = {
    "out": (None, "loss = mean over N of (out_i - y_i)²: each out_i gets 2 (out_i - y_i) / N. out is (N, 1) and y is "
            "(N,): squeeze before subtracting, or the two broadcast to (N, N).",
            "Element by element, no sum: 2 (out_i - y_i) for each of the N rows, divided by N. Drop out's "
            "trailing 1 so the difference with y is (N,), then give the result its column back, (N, 1), "
            "the shape of out."),
    "l2": (None, "For out = l2 @ w2 + b2, dl2 = dout @ w2ᵀ.",
           "dl2_nd = Σ_m dout_nm w2_dm, a sum over the layer's outputs: dout (N, 1) and w2 (50, 1) meet "
           "on the 1 once w2 is turned over, which leaves (N, 50), l2's shape."),
    "w2": (None, "For out = l2 @ w2 + b2, dw2 = l2ᵀ @ dout.",
           "dw2_dm = Σ_n l2_nd dout_nm, a sum over the N batch rows: l2 (N, 50) and dout (N, 1) meet on N "
           "once l2 is turned over, which leaves (50, 1), w2's shape."),
    "b2": (None, "b2 is added to every row: its gradient sums dout over the batch.",
           "A sum over the batch dimension (0) of dout (N, 1), not kept: (1,), b2's own shape."),
    "l1": (None, "relu passes the gradient where its input was positive and stops it elsewhere.",
           "Element by element, no sum: dl2 (N, 50) times a mask of l1's shape, 1 where l1 was positive and "
           "0 elsewhere, as floats (a comparison gives booleans)."),
    "w1": (None, "For l1 = x @ w1 + b1, dw1 = xᵀ @ dl1.",
           "dw1_dh = Σ_n x_nd dl1_nh, a sum over the N batch rows: x (N, 64) and dl1 (N, 50) meet on N "
           "once x is turned over, which leaves (64, 50), w1's shape."),
    "b1": (None, "b1 is added to every row: its gradient sums dl1 over the batch.",
           "A sum over the batch dimension (0) of dl1 (N, 50), not kept: (50,), b1's own shape."),
}


@exercise_factory("digits_mlp:gradients_exercise")
def gradients_exercise(setup: DigitsSetup | None = None) -> Exercise:
    """d loss / d every intermediate and parameter of one batch, from the float32 and float64 autograd."""
    setup = setup or DigitsSetup()
    references = graph_references(forward, setup.params, setup.xb, setup.yb, names=GRADIENT_ORDER)
    return Exercise("Lesson 3: the backward pass by hand", references, batch_size=BATCH_SIZE, written_by=WRITTEN_BY,
                    lesson=LESSON, chain=Chain(forward, setup.params, setup.xb, setup.yb), hints=HINTS)


def _parameters_exercise(title: str, written_by: str, forward_pass, params: dict, setup: DigitsSetup, hints: dict) -> Exercise:
    """The four parameters' gradients of one batch, in the order a Model's backward finds them, as
    the learner's classes (`written_by`) produce them."""
    names = ("w2", "b2", "w1", "b1")
    references = graph_references(forward_pass, params, setup.xb, setup.yb, names=names)
    return Exercise(title, references, batch_size=BATCH_SIZE, written_by={f"d{name}": written_by for name in names},
                    lesson=LESSON, chain=Chain(forward_pass, params, setup.xb, setup.yb), hints=hints)


@exercise_factory("digits_mlp:modules_exercise")
def modules_exercise(setup: DigitsSetup | None = None) -> Exercise:
    """The parameters' gradients again, as your Module classes produce them."""
    setup = setup or DigitsSetup()
    return _parameters_exercise("Lesson 3: the backward pass as Modules", "your `Lin`, `Relu` and `Mse` classes",
                                forward, setup.params, setup, HINTS)


@exercise_factory("digits_mlp:refactored_exercise")
def refactored_exercise(setup: DigitsSetup | None = None) -> Exercise:
    """The parameters' gradients once more, from the Modules rewritten on the `Module` base class."""
    setup = setup or DigitsSetup()
    return _parameters_exercise("Lesson 3: Modules on a base class", "your `Module` subclasses",
                                forward, setup.params, setup, HINTS)


CLASSIFIER_HINTS = {
    **HINTS,
    "w2": (None, "For logits = l2 @ w2 + b2, dw2 = l2ᵀ @ dlogits, and dlogits = (softmax(logits) - one_hot(y)) / N: "
           "lesson 1's batch cross-entropy.",
           "Two steps. dlogits (N, 10): the softmax along the 10 classes (dimension 1) minus the one-hot of "
           "the labels, divided by N. Then l2 (N, 50) and dlogits (N, 10) meet on the N rows once l2 is "
           "turned over, which leaves (50, 10), w2's shape."),
    "b2": (None, "b2 is added to every row of the logits: its gradient sums dlogits over the batch.",
           "A sum over the batch dimension (0) of dlogits (N, 10), not kept: (10,), b2's own shape."),
}


@exercise_factory("digits_mlp:classifier_exercise")
def classifier_exercise(setup: DigitsSetup | None = None) -> Exercise:
    """The classifier's parameter gradients (ten outputs, cross-entropy), from the learner's Modules."""
    setup = setup or DigitsSetup()
    return _parameters_exercise("Lesson 3: the classifier's backward", "your `CrossEntropy` Module",
                                classifier_forward, setup.classifier_params, setup, CLASSIFIER_HINTS)


def epochs() -> int:
    return FAST_EPOCHS if fast_mode() else EPOCHS
