"""Lesson 01: the chain rule on numbers, a small graph by hand, then the backward of each building block.

    setup = ChainRuleSetup()             # every number and tensor of the lesson, from one seed
    scalar_exercise(setup).check("dx", dx)          # y = 3x² + 9
    graph_exercise(setup).check("dz", dz)           # L = (2x + 3y) z
    block_exercise("matmul", setup).check("dW", dW)  # Y = X @ W, with the upstream gradient dY

Every reference is autograd's, in float32 and float64 (references.py), on the setup's own numbers.
The grader's seed draws other numbers, so an answer copied as a literal fails.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from ..chain import Chain
from ..compare import compare
from ..environment import generator, seed_from_env
from ..exercise import Exercise
from ..references import autograd_references, graph_references
from ..report import Scoreboard, show

LESSON = "01_chain_rule_building_blocks"  # its folder in solutions/ and lessons/: the rules its checks apply


def _scalar(g: torch.Generator) -> torch.Tensor:
    """A number to follow by hand: in ±[0.5, 3], one decimal (0 would hide mistakes such as a missing term)."""
    magnitude = 0.5 + 2.5 * torch.rand((), generator=g)
    sign = 1.0 if torch.rand((), generator=g) < 0.5 else -1.0
    return (sign * magnitude * 10).round() / 10


def multiclass_hinge(S: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """The multiclass SVM loss, averaged over the batch: scores S (N, K), targets T (N,) -> ().
    Each wrong class j costs max(0, s_j - s_target + 1)."""
    correct = S.gather(1, T[:, None])
    margins = (S - correct + 1).clamp_min(0)
    margins = margins.scatter(1, T[:, None], 0.0)  # the target class costs nothing
    return margins.sum() / S.shape[0]


@dataclass(frozen=True)
class Block:
    """One building block: its forward, the shapes of its inputs ("t"/"T" are class indices), the
    gradient flowing into its output (None when the output is the loss), and the inputs whose
    gradients the learner writes. `batch` lets hints recognise a missing 1/N."""

    title: str
    forward: Callable
    shapes: dict
    upstream: dict | None
    graded: tuple
    batch: int | None = None


N, K = 6, 5  # batch and classes of the loss blocks
BLOCKS = {
    "dot": Block("Dot product s = u · v", lambda u, v: u @ v, {"u": (5,), "v": (5,)}, {"ds": ()}, ("u", "v")),
    "outer": Block("Outer product M = u vᵀ", lambda u, v: torch.outer(u, v), {"u": (4,), "v": (3,)}, {"dM": (4, 3)}, ("u", "v")),
    "matvec": Block("Matrix-vector y = W x", lambda W, x: W @ x, {"W": (3, 4), "x": (4,)}, {"dy": (3,)},
                    ("W", "x")),
    "matmul": Block("Matrix-matrix Y = X W", lambda X, W: X @ W, {"X": (N, 4), "W": (4, 3)}, {"dY": (N, 3)},
                    ("X", "W")),
    "softmax_jacobian": Block("Softmax p = softmax(z) through its Jacobian", lambda z: z.softmax(0),
                              {"z": (K,)}, {"dp": (K,)}, ("z",)),
    "softmax": Block("Softmax P = softmax(Z) by rows, no Jacobian", lambda Z: Z.softmax(1),
                     {"Z": (N, K)}, {"dP": (N, K)}, ("Z",)),
    "cross_entropy": Block("Cross-entropy of one example", lambda z, t: F.cross_entropy(z, t),
                           {"z": (K,), "t": ()}, None, ("z",)),
    "batch_cross_entropy": Block("Cross-entropy of a batch", lambda Z, T: F.cross_entropy(Z, T), {"Z": (N, K), "T": (N,)}, None,
                                 ("Z",), batch=N),
    "hinge": Block("Multiclass hinge loss of a batch", multiclass_hinge, {"S": (N, K), "T": (N,)}, None,
                   ("S",), batch=N),
    "mse": Block("Mean squared error", lambda yhat, y: (yhat - y).pow(2).mean(), {"yhat": (N,), "y": (N,)},
                 None, ("yhat",), batch=N),
}
TARGETS = ("t", "T")  # class indices, not differentiable


class ChainRuleSetup:
    """All the lesson's inputs from `seed`: the scalar x, the graph's x, y, z, and each block's tensors
    with the gradient flowing into its output (ds, dM, dy, dY, dp, dP)."""

    def __init__(self, seed: int | None = None):
        self.seed = seed_from_env() if seed is None else seed
        g = generator(self.seed)
        self.scalar_x = _scalar(g)
        self.graph = {name: _scalar(g) for name in ("x", "y", "z")}
        self.blocks = {}
        for name, block in BLOCKS.items():
            values = {}
            for input_name, shape in block.shapes.items():
                values[input_name] = (torch.randint(K, shape, generator=g) if input_name in TARGETS
                                      else torch.randn(shape, generator=g))
            for upstream_name, shape in (block.upstream or {}).items():
                values[upstream_name] = torch.randn(shape, generator=g)
            self.blocks[name] = values

    def block(self, name: str) -> SimpleNamespace:
        """A block's tensors as attributes: `mm = setup.block("matmul"); mm.X, mm.W, mm.dY`."""
        return SimpleNamespace(**self.blocks[name])


# Hints for `ex.hint("dX")`, one level more at each call: where the input is used and the shape
# of its gradient; the local derivative; the pattern of the answer with names blanked.
SCALAR_HINTS = {
    "x": ("y = 3u + 9 and u = x²: x reaches y only through u, and dx is a number, like x.",
          "dy/du = 3 and du/dx = 2x; the chain rule multiplies them.", "`du = ___`, then `dx = du * ___ * x`"),
}
GRAPH_HINTS = {
    "z": (None, "d(c·z)/dz = c.", "`dz = ___`: the other factor of the product, times dloss = 1"),
    "c": (None, "d(c·z)/dc = z.", "`dc = ___`: the other factor of the product, times dloss = 1"),
    "a": (None, "A sum hands its gradient to each term unchanged: d(a + b)/da = 1.", "`da = ___`: the sum's own gradient, passed on"),
    "b": (None, "d(a + b)/db = 1.", "`db = ___`: the sum's own gradient, passed on"),
    "x": (None, "d(2x)/dx = 2.", "`dx = ___ * da`"),
    "y": (None, "d(3y)/dy = 3.", "`dy = ___ * db`"),
}
BLOCK_HINTS = {
    "dot": {
        "u": ("s = u · v is a number; du has the shape of u, (5,).", "ds/du_i = v_i.", "`du = ds * ___`"),
        "v": ("s = u · v is a number; dv has the shape of v, (5,).", "ds/dv_i = u_i.", "`dv = ds * ___`"),
    },
    "outer": {
        "u": ("M = u vᵀ is (4, 3): u_i is used in the whole row i of M.", "dM_ij/du_i = v_j: sum dM_ij v_j over j.",
              "`du = dM @ ___`"),
        "v": ("v_j is used in the whole column j of M.", "dM_ij/dv_j = u_i: sum dM_ij u_i over i.", "`dv = dM.T @ ___`"),
    },
    "matvec": {
        "W": ("y = W x: W_ij is used in y_i only, with weight x_j; dW has W's shape (3, 4).",
              "dy_i/dW_ij = x_j, so dW_ij = dy_i x_j: an outer product.", "`dW = torch.outer(___, ___)`"),
        "x": ("x_j is used in every y_i, with weight W_ij; dx has x's shape (4,).", "dy_i/dx_j = W_ij: sum over i.",
              "`dx = ___.T @ dy`"),
    },
    "matmul": {
        "X": ("Y = X W: dX has X's shape (6, 4); let the shapes guide you.", "Row by row it is the matrix-vector rule: dX = dY Wᵀ.",
              "`dX = dY @ ___`"),
        "W": ("dW has W's shape (4, 3).", "Summed over the batch rows: dW = Xᵀ dY.", "`dW = ___ @ dY`"),
    },
    "softmax_jacobian": {
        "z": ("p = softmax(z): every p_i depends on every z_j, so dz is J applied to dp; dz has z's shape (5,).",
              "dp_i/dz_j = p_i (δ_ij - p_j): the Jacobian is diag(p) - p pᵀ.",
              "`J = torch.diag(p) - torch.outer(___, ___)`, then `dz = J.T @ ___`"),
    },
    "softmax": {
        "Z": ("P = softmax(Z) row by row: each row is the one-vector case; dZ has Z's shape (6, 5).",
              "Jᵀ dp = p * (dp - (p · dp)) for one row, without building J.",
              "`dZ = P * (dP - (P * dP).sum(1, keepdim=___))`"),
    },
    "cross_entropy": {
        "z": ("loss = -log softmax(z)[t]: dz has z's shape (5,).",
              "The gradient of -log softmax(z)[t] is softmax(z) - one_hot(t).",
              "`dz = z.softmax(0) - F.one_hot(t, ___)`"),
    },
    "batch_cross_entropy": {
        "Z": ("loss = the mean over the batch of each row's cross-entropy: dZ has Z's shape (6, 5).",
              "Each row's gradient is softmax - one_hot, and the mean divides it by N.",
              "`dZ = (Z.softmax(1) - F.one_hot(T, Z.shape[1])) / ___`"),
    },
    "hinge": {
        "S": ("loss = the mean over rows of Σ_j≠t max(0, s_j - s_t + 1): dS has S's shape (6, 5).",
              "Each active margin (> 0) adds +1 to its wrong class j and -1 to the target class t; divide by N.",
              "`active = (margins > ___).float()`, zero the target column, then set it to `-active.sum(___)`, and `/ N`"),
    },
    "mse": {
        "yhat": ("loss = mean over N of (yhat_i - y_i)²: dyhat has yhat's shape (6,).", "d/dyhat_i = 2 (yhat_i - y_i) / N.",
                 "`dyhat = 2 * (yhat - y) / ___`"),
    },
}


def scalar_exercise(setup: ChainRuleSetup | None = None) -> Exercise:
    """dy/dx for y = 3u + 9, u = x², at the setup's x."""
    setup = setup or ChainRuleSetup()
    references = autograd_references(lambda x: 3 * x**2 + 9, {"x": setup.scalar_x})
    return Exercise("The chain rule: y = 3x² + 9", references, numbers_from_seed=True, lesson=LESSON, hints=SCALAR_HINTS)


def _graph_forward(leaves: dict, *_data) -> dict:
    x, y, z = leaves["x"], leaves["y"], leaves["z"]  # (hints quote these lines: checker.chain)
    a = 2 * x
    b = 3 * y
    c = a + b
    return dict(a=a, b=b, c=c, loss=c * z)


GRAPH_ORDER = ("z", "c", "a", "b", "x", "y")  # backward, from the loss to the inputs


def graph_exercise(setup: ChainRuleSetup | None = None) -> Exercise:
    """dL/d every node of L = (2x + 3y) z, at the setup's x, y, z."""
    setup = setup or ChainRuleSetup()
    return Exercise("The graph L = (2x + 3y) z", graph_references(_graph_forward, setup.graph, names=GRAPH_ORDER),
                    numbers_from_seed=True, lesson=LESSON, chain=Chain(_graph_forward, setup.graph), hints=GRAPH_HINTS)


WORKED_GRAPH = {"x": torch.tensor(1.0), "y": torch.tensor(2.0), "z": torch.tensor(3.0)}


def check_by_hand(answers) -> Scoreboard | None:
    """The scoreboard of the worked graph at x=1, y=2, z=3, from {"dz": 8, ...}. Not graded: its
    numbers are in every textbook; the graded version uses the lesson's seeded x, y, z."""
    if not isinstance(answers, dict):
        print("Fill in `by_hand` above as a dict of six numbers, e.g. dict(dz=..., dc=..., ...), and run it.")
        return None
    exercise = Exercise("By hand at x=1, y=2, z=3", graph_references(_graph_forward, WORKED_GRAPH, names=GRAPH_ORDER))
    for label, value in answers.items():
        check = exercise.result(label, value)
        if label not in exercise.gradient_names:  # not on the scoreboard: say so here
            show(check)
    return exercise.summary()


def block_exercise(name: str, setup: ChainRuleSetup | None = None) -> Exercise:
    """The gradients of one building block's inputs, weighted by its upstream gradient."""
    setup = setup or ChainRuleSetup()
    block, values = BLOCKS[name], setup.blocks[name]
    inputs = {k: v for k, v in values.items() if k in block.shapes}
    upstream = next((values[k] for k in block.upstream), None) if block.upstream else None
    references = autograd_references(block.forward, inputs, upstream, names=block.graded)
    return Exercise(block.title, references, batch_size=block.batch, lesson=LESSON, hints=BLOCK_HINTS[name])


def _block_factory(name: str):
    def factory(setup: ChainRuleSetup | None = None) -> Exercise:
        return block_exercise(name, setup)
    factory.__name__ = factory.__qualname__ = f"{name}_exercise"
    factory.__doc__ = f"block_exercise({name!r}): {BLOCKS[name].title}"
    return factory


# One factory per block: the hidden tests name an exercise as "chain_rule:<block>_exercise".
dot_exercise = _block_factory("dot")
outer_exercise = _block_factory("outer")
matvec_exercise = _block_factory("matvec")
matmul_exercise = _block_factory("matmul")
softmax_jacobian_exercise = _block_factory("softmax_jacobian")
softmax_exercise = _block_factory("softmax")
cross_entropy_exercise = _block_factory("cross_entropy")
batch_cross_entropy_exercise = _block_factory("batch_cross_entropy")
hinge_exercise = _block_factory("hinge")
mse_exercise = _block_factory("mse")


def softmax_jacobian(z: torch.Tensor) -> torch.Tensor:
    """J[i, j] = d softmax(z)_i / d z_j, by autograd: (K,) -> (K, K)."""
    return torch.autograd.functional.jacobian(lambda t: t.softmax(0), z)


def show_jacobian(J, setup: ChainRuleSetup | None = None) -> None:
    """Compare a learner's softmax Jacobian with autograd's, as a report row (never raises)."""
    setup = setup or ChainRuleSetup()
    z = setup.blocks["softmax_jacobian"]["z"]
    check = compare("J", J, softmax_jacobian(z), softmax_jacobian(z.double()), of="the Jacobian of softmax")
    show(check)


def lesson_summary(exercises: dict) -> Scoreboard:
    """One scoreboard for several exercises: {"graph": ex, ...}, each row labelled 'graph: dz'."""
    checks = [replace(check, label=f"{part}: {check.label}")
              for part, exercise in exercises.items() for check in exercise.summary().checks]
    return Scoreboard("Lesson 1", checks)
