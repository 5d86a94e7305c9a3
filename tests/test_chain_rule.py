"""Lesson 01's checker: seeded inputs, autograd references, and what a learner sees for right and wrong answers."""

import re

import pytest
import torch
import torch.nn.functional as F

from checker import Status
from checker.lessons import chain_rule
GRADING_SEED = 1_000_003  # a seed other than the lessons' own, as the grader draws


def focal_grad(G, C, gamma):
    """The focal loss's gradient as the lesson derives it: (softmax - one_hot) scaled by A per row."""
    P = G.softmax(1)
    pt = P.gather(1, C[:, None])
    A = (1 - pt) ** gamma - gamma * (1 - pt) ** (gamma - 1) * pt * pt.log()
    return A * (P - F.one_hot(C, G.shape[1])) / G.shape[0]


def block_answers(setup):
    """The gradients written by hand, as the lesson's solution does: {exercise: {label: tensor}}."""
    d = setup.block
    dot, outer, matvec, matmul = d("dot"), d("outer"), d("matvec"), d("matmul")
    sj, sm, ce, bce, hinge, mse = d("softmax_jacobian"), d("softmax"), d("cross_entropy"), \
        d("batch_cross_entropy"), d("hinge"), d("mse")
    soft, focal = d("soft_cross_entropy"), d("focal")
    p = sj.z.softmax(0)
    P = sm.Z.softmax(1)
    n = hinge.S.shape[0]
    rows = torch.arange(n)
    active = ((hinge.S - hinge.S[rows, hinge.T][:, None] + 1) > 0).float()
    active[rows, hinge.T] = 0
    active[rows, hinge.T] = -active.sum(1)
    eps, K = chain_rule.SMOOTHING, soft.V.shape[1]
    smoothed = (1 - eps) * F.one_hot(soft.Cv, K) + eps / K
    return {
        "dot": {"da": dot.ds * dot.b, "db": dot.ds * dot.a},
        "outer": {"dh": outer.dM @ outer.k, "dk": outer.dM.T @ outer.h},
        "matvec": {"dA": torch.outer(matvec.dy, matvec.v), "dv": matvec.A.T @ matvec.dy},
        "matmul": {"dX": matmul.dY @ matmul.W.T, "dW": matmul.X.T @ matmul.dY},
        "softmax_jacobian": {"dz": (torch.diag(p) - torch.outer(p, p)).T @ sj.dp},
        "softmax": {"dZ": P * (sm.dP - (P * sm.dP).sum(1, keepdim=True))},
        "cross_entropy": {"dlogits": ce.logits.softmax(0) - F.one_hot(ce.target, ce.logits.shape[0])},
        "batch_cross_entropy": {"dQ": (bce.Q.softmax(1) - F.one_hot(bce.C, bce.Q.shape[1])) / bce.Q.shape[0]},
        "soft_cross_entropy": {"dV": (soft.V.softmax(1) - smoothed) / soft.V.shape[0]},
        "focal": {"dG": focal_grad(focal.G, focal.Cg, chain_rule.FOCAL_GAMMA)},
        "focal_gamma0": {"dG": focal_grad(focal.G, focal.Cg, 0.0)},
        "hinge": {"dS": active / n},
        "mse": {"dyhat": 2 * (mse.yhat - mse.ytrue) / mse.yhat.shape[0]},
        "cumsum": {"dr": torch.tril(torch.ones(5, 5)).T @ d("cumsum").dc},
    }


def graph_answers(setup):
    e, f, g = (setup.graph[k] for k in "efg")
    q = 2 * e + 3 * f
    return {"dg": q, "dq": g, "dm": g, "dn": g, "de": 2 * g, "df": 3 * g}


@pytest.mark.parametrize("seed", [None, GRADING_SEED, 12345])
def test_hand_written_gradients_pass_for_any_seed(seed):
    setup = chain_rule.ChainRuleSetup(seed)
    assert chain_rule.scalar_exercise(setup).result("dx", 6 * setup.scalar_x).passed
    graph = chain_rule.graph_exercise(setup)
    assert all(graph.result(label, value).passed for label, value in graph_answers(setup).items())
    for block, answers in block_answers(setup).items():
        exercise = chain_rule.block_exercise(block, setup)
        for label, value in answers.items():
            check = exercise.result(label, value)
            assert check.passed, (block, label, check.reason)


def test_every_block_exercise_has_a_factory_for_the_hidden_tests():
    for block in chain_rule.BLOCKS:
        assert getattr(chain_rule, f"{block}_exercise")().title == chain_rule.BLOCKS[block].title


def test_numbers_copied_from_the_learners_run_fail_under_the_graders_seed():
    learner, grader = chain_rule.ChainRuleSetup(), chain_rule.ChainRuleSetup(GRADING_SEED)
    copied = {"scalar": {"dx": 6 * learner.scalar_x}, "graph": graph_answers(learner), **block_answers(learner)}
    exercises = {"scalar": chain_rule.scalar_exercise(grader), "graph": chain_rule.graph_exercise(grader)}
    exercises.update({block: chain_rule.block_exercise(block, grader) for block in chain_rule.BLOCKS})
    for part, answers in copied.items():
        for label, value in answers.items():
            assert not exercises[part].result(label, value).passed, (part, label)


def test_the_seed_comes_from_the_environment(monkeypatch):
    default = chain_rule.ChainRuleSetup()
    monkeypatch.setenv("BACKPROP_NINJA_SEED", "12345")
    assert chain_rule.ChainRuleSetup().seed == 12345
    assert not torch.equal(chain_rule.ChainRuleSetup().blocks["matmul"]["X"], default.blocks["matmul"]["X"])
    assert chain_rule.ChainRuleSetup(default.seed).graph == default.graph


def test_the_graphs_numbers_are_easy_to_follow_by_hand():
    for seed in range(20):
        for value in chain_rule.ChainRuleSetup(seed).graph.values():
            assert 0.5 <= abs(value.item()) <= 3.0 and value.item() * 10 == pytest.approx(round(value.item() * 10))


def test_the_hinge_loss_is_the_multiclass_svm_loss():
    setup = chain_rule.ChainRuleSetup()
    S, T = setup.block("hinge").S, setup.block("hinge").T
    by_loop = sum(max(0.0, (S[n, j] - S[n, T[n]] + 1).item())
                  for n in range(S.shape[0]) for j in range(S.shape[1]) if j != T[n]) / S.shape[0]
    assert chain_rule.multiclass_hinge(S, T).item() == pytest.approx(by_loop)


def test_usual_slips_are_named():
    setup = chain_rule.ChainRuleSetup()
    right = block_answers(setup)
    matvec = chain_rule.matvec_exercise(setup)
    transposed = matvec.result("dA", right["matvec"]["dA"].T)
    assert transposed.status is Status.INVALID and "swapped" in transposed.reason
    column = matvec.result("dv", right["matvec"]["dv"][:, None])
    assert column.status is Status.WRONG and "(4, 1)" in column.reason and "(4,)" in column.reason
    no_mean = chain_rule.batch_cross_entropy_exercise(setup).result("dQ", right["batch_cross_entropy"]["dQ"] * 6)
    assert no_mean.status is Status.WRONG and "× 6" in no_mean.reason
    flipped = chain_rule.mse_exercise(setup).result("dyhat", -right["mse"]["dyhat"])
    assert flipped.status is Status.WRONG and "sign" in flipped.reason


def test_the_worked_graph_by_hand(capsys):
    assert chain_rule.check_by_hand(None) is None
    assert "Fill in `by_hand`" in capsys.readouterr().out
    board = chain_rule.check_by_hand(dict(dg=8, dq=3, dm=3, dn=3, de=6, df=9))
    assert (board.correct, board.total) == (6, 6)
    board = chain_rule.check_by_hand(dict(dg=8, dq=3, dm=3, dn=3, de=3, dL=1))
    assert board.correct == 4 and "dL" in capsys.readouterr().out


def test_a_wrong_jacobian_is_shown_not_raised(capsys):
    setup = chain_rule.ChainRuleSetup()
    p = setup.block("softmax_jacobian").z.softmax(0)
    chain_rule.show_jacobian(torch.diag(p) - torch.outer(p, p), setup)
    assert "✓ J" in capsys.readouterr().out
    chain_rule.show_jacobian(torch.diag(p), setup)
    chain_rule.show_jacobian("J", setup)
    out = capsys.readouterr().out
    assert "✗ J" in out and "torch.Tensor" in out


def test_the_lesson_scoreboard_names_each_part():
    setup = chain_rule.ChainRuleSetup()
    graph = chain_rule.graph_exercise(setup)
    graph.result("dg", graph_answers(setup)["dg"])
    board = chain_rule.lesson_summary({"scalar": chain_rule.scalar_exercise(setup), "graph": graph})
    assert [c.label for c in board.checks][:3] == ["scalar: dx", "graph: dg", "graph: dq"]
    assert (board.correct, board.total) == (1, 7)


@pytest.fixture
def shell():
    """A real IPython shell, as a lesson's kernel runs cells: its input history is what the checker reads."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    yield InteractiveShell.instance(config=config)
    InteractiveShell.clear_instance()


def test_a_number_typed_in_is_refused_with_the_reason_and_an_expression_passes(shell):
    def run(source):
        assert shell.run_cell(source, store_history=True).success, source  # as a kernel runs a cell

    run("from checker.lessons import chain_rule\n"
        "setup = chain_rule.ChainRuleSetup()\n"
        "e, f, g = setup.graph['e'], setup.graph['f'], setup.graph['g']\n"
        "q = 2 * e + 3 * f\n"
        "ex = chain_rule.graph_exercise(setup)")
    exact = repr(shell.user_ns["q"].item())  # this seed's right answer, as a learner would copy it
    for answer in (f"dg = {exact}", f"dg = torch.tensor({exact})", "dg = -(1.5 + 2) * 4", "dq = 7.0"):
        run(f"import torch\ndg = dq = None  # TODO\n{answer}")
        label = answer.split()[0]
        check = shell.user_ns["ex"].result(label, shell.user_ns[label])
        assert check.status is Status.INVALID, (answer, check)
        assert f"`{answer}` is typed in as a number" in check.reason and "the grader draws others" in check.reason
    for expression in ("dg = q", "dg = q.item()", "dg = 2 * e + 3 * f", "dg = q.sum(0)"):  # a method is no number
        run(expression)
        assert shell.user_ns["ex"].result("dg", shell.user_ns["dg"]).passed, expression
    assert chain_rule.graph_exercise(chain_rule.ChainRuleSetup()).result("dg", 1.0).status is Status.WRONG  # no history: no claim


def test_soft_targets_and_focal_loss_slips_are_named():
    setup = chain_rule.ChainRuleSetup()
    soft, focal = setup.block("soft_cross_entropy"), setup.block("focal")
    P, n = soft.V.softmax(1), soft.V.shape[0]
    hard = chain_rule.soft_cross_entropy_exercise(setup).result("dV", (P - F.one_hot(soft.Cv, 5)) / n)
    assert hard.status is Status.WRONG and "hard targets" in hard.reason
    right = block_answers(setup)["soft_cross_entropy"]["dV"]
    flipped = chain_rule.soft_cross_entropy_exercise(setup).result("dV", -right)
    assert flipped.status is Status.WRONG and "softmax(V) - target" in flipped.reason
    G, C = focal.G, focal.Cg
    Pg = G.softmax(1)
    pt = Pg.gather(1, C[:, None])
    unmodulated = (1 - pt) ** 2 * (Pg - F.one_hot(C, 5)) / n  # the (1 - p_t)^γ factor's derivative forgotten
    slip = chain_rule.focal_exercise(setup).result("dG", unmodulated)
    assert slip.status is Status.WRONG and "its own derivative" in slip.reason
    # at γ = 0 that slip is the right answer, and the γ = 0 gradient is batch cross-entropy's
    assert chain_rule.focal_gamma0_exercise(setup).result("dG", (Pg - F.one_hot(C, 5)) / n).passed
    assert chain_rule.focal_gamma0_exercise(setup).result("dG", (1 - pt) ** 0 * (Pg - F.one_hot(C, 5)) / n).passed


def test_the_focal_loss_is_the_papers_and_smoothing_is_pytorchs():
    setup = chain_rule.ChainRuleSetup()
    focal = setup.block("focal")
    G, C = focal.G.double(), focal.Cg
    p_t = G.softmax(1)[torch.arange(G.shape[0]), C]
    by_formula = (-(1 - p_t) ** 2 * p_t.log()).mean()  # written from the paper, not from focal_loss
    assert chain_rule.focal_loss(G, C, 2.0).item() == pytest.approx(by_formula.item())
    assert chain_rule.focal_loss(G, C, 0.0).item() == pytest.approx(F.cross_entropy(G, C).item())
    soft = setup.block("soft_cross_entropy")
    V, Cv, eps = soft.V.double(), soft.Cv, chain_rule.SMOOTHING
    target = (1 - eps) * F.one_hot(Cv, 5) + eps / 5
    assert chain_rule.soft_cross_entropy(V, Cv).item() == pytest.approx(-(target * V.log_softmax(1)).sum(1).mean().item())


def test_no_two_sections_of_lesson_1_share_a_name():
    """Re-running an early section after a later one must not check (or compute from) a later
    section's tensor: every input and gradient name belongs to one section only."""
    owners = {}
    sections = {"scalar": ("x", "u", "dx", "du"), "graph": ("e", "f", "g", "m", "n", "q", *chain_rule.GRAPH_ORDER)}
    for name, block in chain_rule.BLOCKS.items():
        if block.inputs_of:
            continue  # the same tensors, asked again
        names = [*block.shapes, *(block.upstream or {})]
        sections[name] = (*names, *(f"d{n}" for n in names))
    for section, names in sections.items():
        for name in set(names) - {"L"}:
            assert owners.setdefault(name, section) == section, f"{name!r} is used by {owners[name]} and {section}"


def test_each_graded_name_of_lesson_1_is_read_by_one_check_only():
    from course import SOLUTIONS, read
    import re
    notebook = read(SOLUTIONS / "01_chain_rule_building_blocks" / "chain_rule_building_blocks.ipynb")
    calls = re.findall(r'hidden_check"\]\("chain_rule:(\w+)", "\w+", (\w+)\)', "\n".join(c.source for c in notebook.cells))
    readers = {}
    for exercise, name in calls:
        readers.setdefault(name, set()).add(exercise)
    assert len(calls) == 25 and all(len(r) == 1 for r in readers.values()), readers


@pytest.mark.parametrize("seed", [None, GRADING_SEED])
def test_the_jacobians_layout_is_tested_by_one_that_is_not_symmetric(seed):
    """The softmax Jacobian is symmetric, so J @ dp passes for J.T @ dp; the cumulative sum's is not,
    so J @ dc is wrong there, and named."""
    setup = chain_rule.ChainRuleSetup(seed)
    sj, cs = setup.block("softmax_jacobian"), setup.block("cumsum")
    p = sj.z.softmax(0)
    J = torch.diag(p) - torch.outer(p, p)
    assert torch.equal(J, J.T)  # why the softmax block cannot tell the two apart
    J = torch.tril(torch.ones(5, 5))  # dc_i/dr_j, a row per output
    exercise = chain_rule.cumsum_exercise(setup)
    assert exercise.result("dr", J.T @ cs.dc).passed
    for transposed in (J @ cs.dc, J.T.T @ cs.dc, torch.triu(torch.ones(5, 5)).T @ cs.dc):  # J for J.T, or J in the other layout
        check = exercise.result("dr", transposed, record=False)
        assert check.status is Status.WRONG and "you used J where J.T is needed" in check.reason, check
    hint = chain_rule.BLOCK_HINTS["softmax_jacobian"]["z"][0]
    assert "J applied to dp" not in hint and "dz = Jᵀ dp" in hint


LESSON_1 = "01_chain_rule_building_blocks/chain_rule_building_blocks.ipynb"


def _names_in_the_lesson() -> set:
    """Every name a code cell of lesson 1 (as the learner gets it) assigns or reads."""
    import ast

    from course import LESSONS, read

    names = set()
    for cell in read(LESSONS / LESSON_1).cells:
        if cell.cell_type == "code":
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            names |= {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    return names


def _quoted_names(text: str) -> set:
    """The Python names a hint quotes: inside `backticks`, and gradients named in parentheses, (dq)."""
    import ast

    found = set()
    for code in re.findall(r"`([^`]+)`", text):
        code = code.replace("___", "blank_")
        found |= {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)} - {"blank_"}
    for group in re.findall(r"\(((?:d\w+)(?:, d\w+)*)\)", text):
        found |= set(group.split(", "))
    return found


@pytest.mark.parametrize("factory, labels", [
    (chain_rule.scalar_exercise, ["dx"]),
    (chain_rule.graph_exercise, ["dg", "dq", "dm", "dn", "de", "df"]),
], ids=["scalar", "graph"])
def test_lesson_1s_hints_use_the_lessons_own_names_and_are_true(factory, labels, capsys):
    """Every hint of lesson 1's first exercises, word for word as shown, quotes only names that exist in
    the lesson's cells (`L`, not the graph's internal `loss` or a `dloss`); each node is used in one line,
    so none says "one term per line"; and a single number is called one, not shape ()."""
    lesson = _names_in_the_lesson()
    assert {"L", "q", "g", "dg", "dx", "du"} <= lesson
    exercise = factory(chain_rule.ChainRuleSetup())
    for label in labels:
        shown = []
        for _ in range(3):
            exercise.hint(label)
            shown.append(capsys.readouterr().out.strip())
        for text in shown:
            assert text.startswith(f"Hint "), text
            assert _quoted_names(text) <= lesson, (text, _quoted_names(text) - lesson)
            assert "loss" not in text and "()" not in text and "one term per line" not in text, text
    exercise = chain_rule.graph_exercise(chain_rule.ChainRuleSetup())
    exercise.hint("dg")
    assert capsys.readouterr().out.strip().endswith(
        "g is used in one line, `L = q * g`, and L is the end of the graph: its own gradient, dL/dL, is 1. So dg is 1 "
        "times that line's local gradient with respect to g; like g, it is a single number.")
    exercise.hint("de")
    assert capsys.readouterr().out.strip().endswith(
        "e is used in one line of the forward pass: `m = 2 * e`. So de is a single number, like e: the gradient of "
        "what that line computes (dm) times the line's local gradient with respect to e.")


@pytest.mark.parametrize("dx", [6 * torch.tensor(2.3), float(6 * torch.tensor(2.3)), None, "six"], ids=repr)
def test_lesson_1_prints_the_numerical_derivative_and_yours_alike(dx, capsys):
    """The cell under the first answer prints both numbers in one format, so an equal answer looks
    equal (6 significant digits, as float32 holds them: not 13.800000 beside 13.799999237060547),
    and anything else in one line."""
    from course import SOLUTIONS, nbgrader_meta, read

    nb = read(SOLUTIONS / "01_chain_rule_building_blocks" / "chain_rule_building_blocks.ipynb")
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "code_006")
    exec(cell.source, {"x": torch.tensor(2.3), "dx": dx, "torch": torch})
    numerical, yours = capsys.readouterr().out.splitlines()
    assert numerical.endswith("= 13.8")
    if isinstance(dx, (float, torch.Tensor)):
        assert yours.endswith("= 13.8") and len(yours) == len(numerical), (numerical, yours)
    else:
        assert yours in ("yours: not done yet", "yours: 'six', which is not one number")
