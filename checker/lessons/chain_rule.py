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


def scalar_exercise(setup: ChainRuleSetup | None = None) -> Exercise:
    """dy/dx for y = 3u + 9, u = x², at the setup's x."""
    setup = setup or ChainRuleSetup()
    references = autograd_references(lambda x: 3 * x**2 + 9, {"x": setup.scalar_x})
    return Exercise("The chain rule: y = 3x² + 9", references, numbers_from_seed=True, lesson=LESSON)


def _graph_forward(leaves: dict, *_data) -> dict:
    a = 2 * leaves["x"]
    b = 3 * leaves["y"]
    c = a + b
    return dict(a=a, b=b, c=c, loss=c * leaves["z"])


GRAPH_ORDER = ("z", "c", "a", "b", "x", "y")  # backward, from the loss to the inputs


def graph_exercise(setup: ChainRuleSetup | None = None) -> Exercise:
    """dL/d every node of L = (2x + 3y) z, at the setup's x, y, z."""
    setup = setup or ChainRuleSetup()
    return Exercise("The graph L = (2x + 3y) z", graph_references(_graph_forward, setup.graph, names=GRAPH_ORDER),
                    numbers_from_seed=True, lesson=LESSON, chain=Chain(_graph_forward, setup.graph))


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
    return Exercise(block.title, references, batch_size=block.batch, lesson=LESSON)


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
