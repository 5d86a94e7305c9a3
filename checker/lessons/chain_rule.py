"""Lesson 01: the chain rule on numbers, a small graph by hand, then the backward of each building block.

    setup = ChainRuleSetup()             # every number and tensor of the lesson, from one seed
    scalar_exercise(setup).check("dx", dx)          # y = 3x² + 9
    graph_exercise(setup).check("dg", dg)           # L = (2e + 3f) g
    block_exercise("matmul", setup).check("dW", dW)  # Y = X @ W, with the upstream gradient dY

Every reference is autograd's, in float32 and float64 (references.py), on the setup's own numbers.
The grader's seed draws other numbers, so an answer copied as a literal fails.
Every section has names of its own (no two sections share an input or a gradient name), so a
learner can re-run any section's cells, in any order, and its check still reads that section's tensors.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from ..chain import Chain
from ..compare import compare
from ..environment import generator, seed_from_env
from ..handout import exercise_factory
from ..exercise import Exercise
from ..references import autograd_references, graph_references
from ..report import Scoreboard, lesson_scoreboard, show

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
    """One building block: its forward, the shapes of its inputs, the gradient flowing into its
    output (None when the output is the loss), and the inputs whose gradients the learner writes.
    `targets` are class indices (not differentiable); `batch` lets hints recognise a missing 1/N;
    `inputs_of` reuses another block's inputs (same tensors, another question); `mistakes(values)`
    gives {input: {hint: the float64 gradient that slip produces}} for the block's known slips."""

    title: str
    forward: Callable
    shapes: dict
    upstream: dict | None
    graded: tuple
    batch: int | None = None
    targets: tuple = ()
    inputs_of: str | None = None
    mistakes: Callable | None = None


N, K = 6, 5  # batch and classes of the loss blocks
SMOOTHING = 0.1  # label smoothing's ε: the soft target is (1 - ε)·one_hot + ε/K
FOCAL_GAMMA = 2.0  # the focal loss's γ (the paper's usual value)


def soft_cross_entropy(V: torch.Tensor, Cv: torch.Tensor) -> torch.Tensor:
    """H(target, softmax(V)) averaged over the batch, the targets label-smoothed: PyTorch's own."""
    return F.cross_entropy(V, Cv, label_smoothing=SMOOTHING)


def focal_loss(G: torch.Tensor, Cg: torch.Tensor, gamma: float = FOCAL_GAMMA) -> torch.Tensor:
    """-(1 - p_t)^γ log p_t averaged over the batch: logits G (N, K), classes Cg (N,) -> ()."""
    log_pt = G.log_softmax(1).gather(1, Cg[:, None]).squeeze(1)
    return (-(1 - log_pt.exp()) ** gamma * log_pt).mean()


def _soft_targets(C: torch.Tensor) -> torch.Tensor:
    return (1 - SMOOTHING) * F.one_hot(C, K).double() + SMOOTHING / K


def _soft_cross_entropy_mistakes(values: dict) -> dict:
    V, C = values["V"].double(), values["Cv"]
    P, n = V.softmax(1), V.shape[0]
    return {"V": {
        "it is the gradient for hard targets: with label smoothing the target is (1 - ε)·one_hot + ε/K, "
        "not one_hot": (P - F.one_hot(C, K).double()) / n,
        "it is target - softmax: the gradient is softmax(V) - target, the model's probabilities minus "
        "the target's": (_soft_targets(C) - P) / n,
    }}


def _focal_mistakes(gamma: float):
    def mistakes(values: dict) -> dict:
        G, C = values["G"].double(), values["Cg"]
        P, onehot, n = G.softmax(1), F.one_hot(C, K).double(), G.shape[0]
        pt = P.gather(1, C[:, None])
        modulating = (1 - pt) ** gamma
        slips = {
            "it is onehot - softmax: the gradient points along softmax - onehot, scaled per row":
            -(modulating - gamma * (1 - pt) ** (gamma - 1) * pt * pt.log()) * (P - onehot) / n,
        }
        if gamma != 0:  # at γ = 0 the factor is 1 and has no derivative: this slip is the right answer
            slips["it is the cross-entropy gradient times (1 - p_t)^γ: the factor (1 - p_t)^γ depends on the "
                  "logits too, so its own derivative, -γ(1 - p_t)^(γ-1)·p_t·log p_t, is missing from the scale"] = \
                modulating * (P - onehot) / n
        return {"G": slips}
    return mistakes


TRANSPOSED_JACOBIAN = ("that is J @ dc, not J.T @ dc: you used J where J.T is needed. This lesson's J has a row "
                       "per output (J[i, j] = dc_i/dr_j, 1 where j ≤ i: the lower triangle), and dr sums dc over "
                       "the outputs each r_j is used in: dr = Jᵀ dc")


def _transposed_jacobian(values: dict) -> dict:
    """The cumulative sum's slip: its Jacobian applied the wrong way round (J dc, a cumsum of dc)."""
    return {"r": {TRANSPOSED_JACOBIAN: values["dc"].double().cumsum(0)}}


BLOCKS = {
    "dot": Block("Dot product s = a · b", lambda a, b: a @ b, {"a": (5,), "b": (5,)}, {"ds": ()}, ("a", "b")),
    "outer": Block("Outer product M = h kᵀ", lambda h, k: torch.outer(h, k), {"h": (4,), "k": (3,)}, {"dM": (4, 3)},
                   ("h", "k")),
    "matvec": Block("Matrix-vector y = A v", lambda A, v: A @ v, {"A": (3, 4), "v": (4,)}, {"dy": (3,)}, ("A", "v")),
    "matmul": Block("Matrix-matrix Y = X W", lambda X, W: X @ W, {"X": (N, 4), "W": (4, 3)}, {"dY": (N, 3)},
                    ("X", "W")),
    "softmax_jacobian": Block("Softmax p = softmax(z) through its Jacobian", lambda z: z.softmax(0),
                              {"z": (K,)}, {"dp": (K,)}, ("z",)),
    "softmax": Block("Softmax P = softmax(Z) by rows, no Jacobian", lambda Z: Z.softmax(1),
                     {"Z": (N, K)}, {"dP": (N, K)}, ("Z",)),
    "cross_entropy": Block("Cross-entropy of one example", lambda logits, target: F.cross_entropy(logits, target),
                           {"logits": (K,), "target": ()}, None, ("logits",), targets=("target",)),
    "batch_cross_entropy": Block("Cross-entropy of a batch", lambda Q, C: F.cross_entropy(Q, C),
                                 {"Q": (N, K), "C": (N,)}, None, ("Q",), batch=N, targets=("C",)),
    "soft_cross_entropy": Block("Cross-entropy with soft targets (label smoothing)", soft_cross_entropy,
                                {"V": (N, K), "Cv": (N,)}, None, ("V",), batch=N, targets=("Cv",),
                                mistakes=_soft_cross_entropy_mistakes),
    "focal": Block(f"Focal loss, γ = {FOCAL_GAMMA:g}", focal_loss, {"G": (N, K), "Cg": (N,)}, None, ("G",),
                   batch=N, targets=("Cg",), mistakes=_focal_mistakes(FOCAL_GAMMA)),
    "focal_gamma0": Block("Focal loss at γ = 0 (cross-entropy again)", lambda G, Cg: focal_loss(G, Cg, 0.0),
                          {"G": (N, K), "Cg": (N,)}, None, ("G",), batch=N, targets=("Cg",), inputs_of="focal",
                          mistakes=_focal_mistakes(0.0)),
    "hinge": Block("Multiclass hinge loss of a batch", multiclass_hinge, {"S": (N, K), "T": (N,)}, None,
                   ("S",), batch=N, targets=("T",)),
    "mse": Block("Mean squared error", lambda yhat, ytrue: (yhat - ytrue).pow(2).mean(), {"yhat": (N,), "ytrue": (N,)},
                 None, ("yhat",), batch=N),
    # last, so that every block before it keeps its numbers: its Jacobian is not symmetric, so the layout shows
    "cumsum": Block("Cumulative sum c = cumsum(r) through its Jacobian", lambda r: r.cumsum(0), {"r": (K,)},
                    {"dc": (K,)}, ("r",), mistakes=_transposed_jacobian),
}


class ChainRuleSetup:
    """All the lesson's inputs from `seed`: the scalar x, the graph's e, f, g, and each block's tensors
    with the gradient flowing into its output (ds, dM, dy, dY, dp, dP)."""

    def __init__(self, seed: int | None = None):
        self.seed = seed_from_env() if seed is None else seed
        g = generator(self.seed)
        self.scalar_x = _scalar(g)
        self.graph = {name: _scalar(g) for name in ("e", "f", "g")}
        self.blocks = {}
        for name, block in BLOCKS.items():
            if block.inputs_of:
                self.blocks[name] = self.blocks[block.inputs_of]
                continue
            values = {}
            for input_name, shape in block.shapes.items():
                values[input_name] = (torch.randint(K, shape, generator=g) if input_name in block.targets
                                      else torch.randn(shape, generator=g))
            for upstream_name, shape in (block.upstream or {}).items():
                values[upstream_name] = torch.randn(shape, generator=g)
            self.blocks[name] = values

    def block(self, name: str) -> SimpleNamespace:
        """A block's tensors as attributes: `mm = setup.block("matmul"); mm.X, mm.W, mm.dY`."""
        return SimpleNamespace(**self.blocks[name])


# Hints for `ex.hint("dX")`, one level more at each call: where the input is used and the shape
# of its gradient; the local derivative; how the pieces fit together (which sums, over which
# dimension, which shapes meet), in words and maths: never a line of the answer with names blanked.
SCALAR_HINTS = {
    "x": ("y = 3u + 9 and u = x²: x reaches y only through u, and dx is a number, like x.",
          "dy/du = 3 and du/dx = 2x; the chain rule multiplies them.",
          "Two steps, outermost first: dy/du, the gradient arriving at u, is a plain number that does not "
          "depend on x; then dy/dx = dy/du · du/dx, with du/dx taken at this lesson's x. Both factors are single "
          "numbers, so their product is one too."),
}
GRAPH_HINTS = {
    # g and q are used in the line of L, which the graph's forward pass calls `loss`: said here in the
    # lesson's own names (L, and dL/dL = 1), not read from the graph
    "g": ("g is used in one line, `L = q * g`, and L is the end of the graph: its own gradient, dL/dL, is 1. "
          "So dg is 1 times that line's local gradient with respect to g; like g, it is a single number.",
          "d(q·g)/dg = q.",
          "One line, so one term: the gradient arriving from above, dL/dL = 1, times the local derivative "
          "with respect to g, which is the other factor of the product. No sum: g has a single use."),
    "q": ("q is used in one line, `L = q * g`, and L is the end of the graph: its own gradient, dL/dL, is 1. "
          "So dq is 1 times that line's local gradient with respect to q; like q, it is a single number.",
          "d(q·g)/dq = g.",
          "One line, so one term: the gradient arriving from above, dL/dL = 1, times the local derivative "
          "with respect to q, which is the other factor of the product. No sum: q has a single use."),
    "m": (None, "A sum hands its gradient to each term unchanged: d(m + n)/dm = 1.",
          "m has one use, in q = m + n: the gradient arriving at q (dq, found just before) times the local "
          "derivative 1. One term, a single number."),
    "n": (None, "d(m + n)/dn = 1.",
          "n has one use, in q = m + n: the gradient arriving at q (dq) times the local derivative 1. One term, "
          "a single number."),
    "e": (None, "d(2e)/de = 2.",
          "e has one use, in m = 2e: the gradient arriving at m (dm) times that line's constant local "
          "derivative. One term, a single number."),
    "f": (None, "d(3f)/df = 3.",
          "f has one use, in n = 3f: the gradient arriving at n (dn) times that line's constant local "
          "derivative. One term, a single number."),
}
BLOCK_HINTS = {
    "dot": {
        "a": ("s = a · b is a number; da has the shape of a, (5,).", "ds/da_i = b_i.",
              "s = Σ_i a_i b_i: each a_i appears in one term only, so no sum is needed: da_i is the number ds "
              "times b_i, for every i at once, a vector of shape (5,)."),
        "b": ("s = a · b is a number; db has the shape of b, (5,).", "ds/db_i = a_i.",
              "s = Σ_i a_i b_i: each b_i appears in one term only, so no sum is needed: db_i is the number ds "
              "times a_i, for every i at once, a vector of shape (5,)."),
    },
    "outer": {
        "h": ("M = h kᵀ is (4, 3): h_i is used in the whole row i of M.", "dM_ij/dh_i = k_j: sum dM_ij k_j over j.",
              "dh_i = Σ_j dM_ij k_j, a sum along row i of dM: dM (4, 3) and k (3,) meet on the 3, which leaves "
              "(4,), h's shape: a matrix times a vector."),
        "k": ("k_j is used in the whole column j of M.", "dM_ij/dk_j = h_i: sum dM_ij h_i over i.",
              "dk_j = Σ_i dM_ij h_i, a sum down column j of dM: the 4 of dM (4, 3) must meet h (4,), so turn dM "
              "over first: (3, 4) times (4,) is (3,), k's shape."),
    },
    "matvec": {
        "A": ("y = A v: A_ij is used in y_i only, with weight v_j; dA has A's shape (3, 4).",
              "dy_i/dA_ij = v_j, so dA_ij = dy_i v_j: an outer product.",
              "No sum: every pair (i, j) gets one product, dy_i v_j. The row index i belongs to dy (3,) and "
              "the column index j to v (4,): two vectors make a (3, 4) matrix, the upstream gradient on the row side."),
        "v": ("v_j is used in every y_i, with weight A_ij; dv has v's shape (4,).", "dy_i/dv_j = A_ij: sum over i.",
              "dv_j = Σ_i A_ij dy_i, a sum down column j of A: A (3, 4) and dy (3,) meet on the 3 only once "
              "A is turned over to (4, 3), which leaves (4,), v's shape."),
    },
    "matmul": {
        "X": ("Y = X W: dX has X's shape (6, 4); let the shapes guide you.",
              "Row by row it is the matrix-vector rule: dX = dY Wᵀ.",
              "dX_ik = Σ_j dY_ij W_kj, a sum over Y's 3 columns: dY (6, 3) and W (4, 3) meet on the 3 once "
              "W is turned over to (3, 4), which leaves (6, 4), X's shape."),
        "W": ("dW has W's shape (4, 3).", "Summed over the batch rows: dW = Xᵀ dY.",
              "dW_kj = Σ_i X_ik dY_ij, a sum over the 6 batch rows: X (6, 4) and dY (6, 3) meet on the 6 once X "
              "is turned over to (4, 6), which leaves (4, 3), W's shape."),
    },
    "softmax_jacobian": {
        "z": ("p = softmax(z): every p_i depends on every z_j, so dz = Jᵀ dp, the transpose of J (a row per "
              "output p_i) applied to dp; dz has z's shape (5,).",
              "dp_i/dz_j = p_i (δ_ij - p_j): the Jacobian is diag(p) - p pᵀ.",
              "Two steps. Build J (5, 5): p on its diagonal, minus p_i p_j in every entry (the outer product of p "
              "with itself). Then dz_j = Σ_i J_ij dp_i, a sum over the outputs i, which are J's rows: J turned "
              "over, times dp (5,), gives (5,)."),
    },
    "softmax": {
        "Z": ("P = softmax(Z) row by row: each row is the one-vector case; dZ has Z's shape (6, 5).",
              "Jᵀ dp = p * (dp - (p · dp)) for one row, without building J.",
              "Row by row, dz = p ⊙ (dp - p·dp). The dot product p·dp is one number per row: a sum over the 5 "
              "classes (dimension 1) that must stay a column, (6, 1), so that it is subtracted from every entry "
              "of its own row of dP (6, 5). Then multiply element by element by P."),
    },
    "cross_entropy": {
        "logits": ("loss = -log softmax(logits)[target]: dlogits has the shape of logits, (5,).",
                   "The gradient of -log softmax(logits)[target] is softmax(logits) - one_hot(target).",
                   "Two vectors of shape (5,), one minus the other: the softmax along the only dimension of logits, "
                   "and the one-hot vector of target, with as many classes as logits has entries. One example, so "
                   "no mean and nothing to divide by."),
    },
    "batch_cross_entropy": {
        "Q": ("loss = the mean over the batch of each row's cross-entropy: dQ has Q's shape (6, 5).",
              "Each row's gradient is softmax - one_hot, and the mean divides it by N.",
              "Row by row: the softmax along the classes (dimension 1), minus the one-hot of that row's class "
              "in C, with as many classes as Q has columns. The difference is (6, 5); the mean over the rows "
              "divides all of it by the number of rows, N."),
    },
    "soft_cross_entropy": {
        "V": ("loss = the mean over the batch of -Σ_k target_k log softmax(V)_k: dV has V's shape (6, 5).",
              "Σ_k target_k = 1, so each row's gradient is softmax(V) - target, exactly as with one_hot; the mean divides by N.",
              "Two steps. First the soft target (6, 5): (1 - ε) times the one-hot of Cv, plus ε spread evenly "
              "over the K classes (ε/K in every entry). Then, row by row, the softmax along the classes "
              "(dimension 1) minus that soft target, and the whole (6, 5) divided by the number of rows, N."),
    },
    "focal": {
        "G": ("loss = the mean over rows of -(1 - p_t)^γ log p_t, p = softmax(G): dG has G's shape (6, 5).",
              "Both factors depend on p_t, and dp_t/dG_j = p_t(δ_tj - p_j): each row is (softmax - one_hot) "
              "times a number per row, A = (1 - p_t)^γ - γ(1 - p_t)^(γ-1)·p_t·log p_t.",
              "Per row: P, the softmax along the classes (N, K); p_t, each row's probability of its own class, "
              "picked out with the class index and kept as a column (N, 1); A from hint 2, one number per row, "
              "so (N, 1) too. A scales its row of (P - one_hot), (N, K), by broadcasting, and the mean over the "
              "rows divides the whole by N."),
    },
    "focal_gamma0": {
        "G": ("The same function as the focal loss's gradient, called with γ = 0.",
              "At γ = 0, (1 - p_t)^0 = 1 and the γ term vanishes: A = 1.",
              "Call your focal gradient with γ = 0: (1 - p_t)^0 is 1 and the γ term is multiplied by 0, so A is "
              "1 in every row, and the result must equal the batch cross-entropy gradient, (softmax - one_hot) / N."),
    },
    "hinge": {
        "S": ("loss = the mean over rows of Σ_j≠t max(0, s_j - s_t + 1): dS has S's shape (6, 5).",
              "Each active margin (> 0) adds +1 to its wrong class j and -1 to the target class t; divide by N.",
              "Per row: a margin s_j - s_t + 1 for every class, (N, K). Each wrong class whose margin is "
              "positive gets +1, every other wrong class 0. The target class is not a wrong class (its own "
              "margin, always 1, does not count): it gets -1 for each active wrong class, minus their count "
              "in its row (a sum over the classes, dimension 1). Then divide the whole (N, K) by N."),
    },
    "cumsum": {
        "r": ("c = cumsum(r): c_i = r_0 + … + r_i, so r_j is used in every c_i with i ≥ j; dr has r's shape (5,).",
              "dc_i/dr_j = 1 where j ≤ i, else 0: J, a row per output, is the lower triangle of ones (torch.tril).",
              "dr_j = Σ_i≥j dc_i, a sum down column j of J (the outputs that use r_j), not along row j (J dc "
              "sums over i ≤ j). As a product: the matrix whose rows are J's columns, Jᵀ, upper triangular "
              "(5, 5), times dc (5,), gives (5,)."),
    },
    "mse": {
        "yhat": ("loss = mean over N of (yhat_i - ytrue_i)²: dyhat has yhat's shape (6,).",
                 "d/dyhat_i = 2 (yhat_i - ytrue_i) / N.",
                 "Element by element, no sum: each yhat_i gets 2 (yhat_i - ytrue_i), and the mean over "
                 "the N entries divides every one by N. A vector of shape (6,) in, one of shape (6,) out."),
    },
}


@exercise_factory("chain_rule:scalar_exercise")
def scalar_exercise(setup: ChainRuleSetup | None = None) -> Exercise:
    """dy/dx for y = 3u + 9, u = x², at the setup's x."""
    setup = setup or ChainRuleSetup()
    references = autograd_references(lambda x: 3 * x**2 + 9, {"x": setup.scalar_x})
    return Exercise("The chain rule: y = 3x² + 9", references, numbers_from_seed=True, lesson=LESSON, hints=SCALAR_HINTS)


def _graph_forward(leaves: dict, *_data) -> dict:
    e, f, g = leaves["e"], leaves["f"], leaves["g"]  # (hints quote these lines: checker.chain)
    m = 2 * e
    n = 3 * f
    q = m + n
    return dict(m=m, n=n, q=q, loss=q * g)


GRAPH_ORDER = ("g", "q", "m", "n", "e", "f")  # backward, from the loss to the inputs


@exercise_factory("chain_rule:graph_exercise")
def graph_exercise(setup: ChainRuleSetup | None = None) -> Exercise:
    """dL/d every node of L = (2e + 3f) g, at the setup's e, f, g."""
    setup = setup or ChainRuleSetup()
    return Exercise("The graph L = (2e + 3f) g", graph_references(_graph_forward, setup.graph, names=GRAPH_ORDER),
                    numbers_from_seed=True, lesson=LESSON, chain=Chain(_graph_forward, setup.graph), hints=GRAPH_HINTS)


WORKED_GRAPH = {"e": torch.tensor(1.0), "f": torch.tensor(2.0), "g": torch.tensor(3.0)}


def check_by_hand(answers) -> Scoreboard | None:
    """The scoreboard of the worked graph at e=1, f=2, g=3, from {"dg": 8, ...}. Not graded: its
    numbers are in every textbook; the graded version uses the lesson's seeded e, f, g."""
    if not isinstance(answers, dict):
        print("Fill in `by_hand` above as a dict of six numbers, e.g. dict(dg=..., dq=..., ...), and run it.")
        return None
    exercise = Exercise("By hand at e=1, f=2, g=3", graph_references(_graph_forward, WORKED_GRAPH, names=GRAPH_ORDER))
    for label, value in answers.items():
        check = exercise.result(label, value)
        if label not in exercise.gradient_names:  # not on the scoreboard: say so here
            show(check)
    return exercise.scoreboard()  # practice, not graded: it never fails a validation


def block_exercise(name: str, setup: ChainRuleSetup | None = None) -> Exercise:
    """The gradients of one building block's inputs, weighted by its upstream gradient."""
    setup = setup or ChainRuleSetup()
    block, values = BLOCKS[name], setup.blocks[name]
    inputs = {k: v for k, v in values.items() if k in block.shapes}
    upstream = next((values[k] for k in block.upstream), None) if block.upstream else None
    references = autograd_references(block.forward, inputs, upstream, names=block.graded)
    for input_name, slips in (block.mistakes(values) if block.mistakes else {}).items():
        references[input_name] = replace(references[input_name], mistakes=slips)
    return Exercise(block.title, references, batch_size=block.batch, lesson=LESSON, hints=BLOCK_HINTS[name])


def _block_factory(name: str):
    def factory(setup: ChainRuleSetup | None = None) -> Exercise:
        return block_exercise(name, setup)
    factory.__name__ = factory.__qualname__ = f"{name}_exercise"
    factory.__doc__ = f"block_exercise({name!r}): {BLOCKS[name].title}"
    return exercise_factory(f"chain_rule:{name}_exercise")(factory)


# One factory per block: the hidden tests name an exercise as "chain_rule:<block>_exercise".
dot_exercise = _block_factory("dot")
outer_exercise = _block_factory("outer")
matvec_exercise = _block_factory("matvec")
matmul_exercise = _block_factory("matmul")
softmax_jacobian_exercise = _block_factory("softmax_jacobian")
softmax_exercise = _block_factory("softmax")
cross_entropy_exercise = _block_factory("cross_entropy")
batch_cross_entropy_exercise = _block_factory("batch_cross_entropy")
soft_cross_entropy_exercise = _block_factory("soft_cross_entropy")
focal_exercise = _block_factory("focal")
focal_gamma0_exercise = _block_factory("focal_gamma0")
hinge_exercise = _block_factory("hinge")
mse_exercise = _block_factory("mse")
cumsum_exercise = _block_factory("cumsum")


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
    return lesson_scoreboard("Lesson 1", exercises)
