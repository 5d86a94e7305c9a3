"""Lesson 01's checker: seeded inputs, autograd references, and what a learner sees for right and wrong answers."""

import pytest
import torch
import torch.nn.functional as F

from checker import Status
from checker.lessons import chain_rule
from checker.grading.run import GRADING_SEED


def block_answers(setup):
    """The gradients written by hand, as the lesson's solution does: {exercise: {label: tensor}}."""
    d = setup.block
    dot, outer, matvec, matmul = d("dot"), d("outer"), d("matvec"), d("matmul")
    sj, sm, ce, bce, hinge, mse = d("softmax_jacobian"), d("softmax"), d("cross_entropy"), \
        d("batch_cross_entropy"), d("hinge"), d("mse")
    p = sj.z.softmax(0)
    P = sm.Z.softmax(1)
    n = hinge.S.shape[0]
    rows = torch.arange(n)
    active = ((hinge.S - hinge.S[rows, hinge.T][:, None] + 1) > 0).float()
    active[rows, hinge.T] = 0
    active[rows, hinge.T] = -active.sum(1)
    return {
        "dot": {"du": dot.ds * dot.v, "dv": dot.ds * dot.u},
        "outer": {"du": outer.dM @ outer.v, "dv": outer.dM.T @ outer.u},
        "matvec": {"dW": torch.outer(matvec.dy, matvec.x), "dx": matvec.W.T @ matvec.dy},
        "matmul": {"dX": matmul.dY @ matmul.W.T, "dW": matmul.X.T @ matmul.dY},
        "softmax_jacobian": {"dz": (torch.diag(p) - torch.outer(p, p)).T @ sj.dp},
        "softmax": {"dZ": P * (sm.dP - (P * sm.dP).sum(1, keepdim=True))},
        "cross_entropy": {"dz": ce.z.softmax(0) - F.one_hot(ce.t, ce.z.shape[0])},
        "batch_cross_entropy": {"dZ": (bce.Z.softmax(1) - F.one_hot(bce.T, bce.Z.shape[1])) / bce.Z.shape[0]},
        "hinge": {"dS": active / n},
        "mse": {"dyhat": 2 * (mse.yhat - mse.y) / mse.yhat.shape[0]},
    }


def graph_answers(setup):
    x, y, z = (setup.graph[k] for k in "xyz")
    c = 2 * x + 3 * y
    return {"dz": c, "dc": z, "da": z, "db": z, "dx": 2 * z, "dy": 3 * z}


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
    transposed = matvec.result("dW", right["matvec"]["dW"].T)
    assert transposed.status is Status.INVALID and "swapped" in transposed.reason
    column = matvec.result("dx", right["matvec"]["dx"][:, None])
    assert column.status is Status.INVALID and "(4, 1)" in column.reason and "(4,)" in column.reason
    no_mean = chain_rule.batch_cross_entropy_exercise(setup).result("dZ", right["batch_cross_entropy"]["dZ"] * 6)
    assert no_mean.status is Status.WRONG and "× 6" in no_mean.reason
    flipped = chain_rule.mse_exercise(setup).result("dyhat", -right["mse"]["dyhat"])
    assert flipped.status is Status.WRONG and "sign" in flipped.reason


def test_the_worked_graph_by_hand(capsys):
    assert chain_rule.check_by_hand(None) is None
    assert "Fill in `by_hand`" in capsys.readouterr().out
    board = chain_rule.check_by_hand(dict(dz=8, dc=3, da=3, db=3, dx=6, dy=9))
    assert (board.correct, board.total) == (6, 6)
    board = chain_rule.check_by_hand(dict(dz=8, dc=3, da=3, db=3, dx=3, dL=1))
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
    graph.result("dz", graph_answers(setup)["dz"])
    board = chain_rule.lesson_summary({"scalar": chain_rule.scalar_exercise(setup), "graph": graph})
    assert [c.label for c in board.checks][:3] == ["scalar: dx", "graph: dz", "graph: dc"]
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
        "x, y, z = setup.graph['x'], setup.graph['y'], setup.graph['z']\n"
        "c = 2 * x + 3 * y\n"
        "ex = chain_rule.graph_exercise(setup)")
    exact = repr(shell.user_ns["c"].item())  # this seed's right answer, as a learner would copy it
    for answer in (f"dz = {exact}", f"dz = torch.tensor({exact})", "dz = -(1.5 + 2) * 4", "dc = 7.0"):
        run(f"import torch\ndz = dc = None  # TODO\n{answer}")
        label = answer.split()[0]
        check = shell.user_ns["ex"].result(label, shell.user_ns[label])
        assert check.status is Status.INVALID, (answer, check)
        assert f"`{answer}` is typed in as a number" in check.reason and "the grader draws others" in check.reason
    for expression in ("dz = c", "dz = c.item()", "dz = 2 * x + 3 * y", "dz = c.sum(0)"):  # a method is no number
        run(expression)
        assert shell.user_ns["ex"].result("dz", shell.user_ns["dz"]).passed, expression
    assert chain_rule.graph_exercise(chain_rule.ChainRuleSetup()).result("dz", 1.0).status is Status.WRONG  # no history: no claim
