"""Exercise 1's references, the check/scoreboard contract, and the lecture-compatible `cmp`."""

import pytest
import torch

from checker import CheckFailed, Status, cmp
from checker.lessons import makemore


@pytest.fixture
def ex(setup):
    return makemore.exercise1(setup)


def test_same_seed_same_numbers_other_seed_other_numbers(setup):
    again = makemore.MakemoreSetup(seed=setup.seed)
    other = makemore.MakemoreSetup(seed=setup.seed + 1)
    assert all(torch.equal(a, b) for a, b in zip(setup.parameters, again.parameters))
    assert torch.equal(setup.Xb, again.Xb)
    assert not torch.equal(setup.params["W1"], other.params["W1"])
    assert not torch.equal(setup.Xtr, other.Xtr)


def test_the_default_seed_draws_as_the_lecture_did():
    """The lecture's generator draws C, W1, b1, W2, b2, then the batch; bngain and bnbias came from
    torch's global generator, which started from PyTorch's default seed."""
    setup = makemore.MakemoreSetup(seed=makemore.DEFAULT_SEED)
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((27, makemore.N_EMBD), generator=g)
    W1 = torch.randn((30, makemore.N_HIDDEN), generator=g)
    b1 = torch.randn(makemore.N_HIDDEN, generator=g)
    torch.randn((makemore.N_HIDDEN, 27), generator=g), torch.randn(27, generator=g)
    ix = torch.randint(0, setup.Xtr.shape[0], (makemore.BATCH_SIZE,), generator=g)
    assert torch.equal(setup.params["C"], C) and torch.equal(setup.params["b1"], b1 * 0.1)
    assert torch.allclose(setup.params["W1"], W1 * (5 / 3) / 30**0.5)
    assert torch.equal(setup.Xb, setup.Xtr[ix])
    fresh = torch.Generator()
    assert fresh.initial_seed() == makemore.PYTORCH_DEFAULT_SEED
    assert torch.equal(setup.params["bngain"], torch.randn((1, makemore.N_HIDDEN), generator=fresh) * 0.1 + 1.0)


def test_seed_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(makemore.SEED_ENV_VAR, "7")
    assert makemore.seed_from_env() == 7
    monkeypatch.delenv(makemore.SEED_ENV_VAR)
    assert makemore.seed_from_env() == makemore.DEFAULT_SEED


def test_lesson_tensors_carry_no_grad(setup, ex):
    assert all(not p.requires_grad and p.grad is None for p in setup.parameters)


def test_float32_reference_is_autograd_and_float64_is_close(references):
    expected, truth = references
    assert set(makemore.GRADIENT_ORDER) <= set(expected) and len(makemore.GRADIENT_ORDER) == 26
    for name in makemore.GRADIENT_ORDER:
        assert expected[name].dtype == torch.float32 and truth[name].dtype == torch.float64
        torch.testing.assert_close(expected[name].double(), truth[name], rtol=1e-4, atol=1e-7)


def test_autograd_answers_pass_every_check(ex, references):
    expected, truth = references
    for name in makemore.GRADIENT_ORDER:
        assert ex.result(f"d{name}", expected[name].clone()).exact
        assert ex.result(name, truth[name].float()).passed, name  # the name without 'd' works too


def test_check_prints_to_stdout_only_and_raises_on_failure(ex, capsys, references):
    ex.check("dlogprobs", references[0]["logprobs"].clone())
    with pytest.raises(CheckFailed, match="dprobs is not done yet: see the report above"):
        ex.check("dprobs", None)
    out, err = capsys.readouterr()
    assert err == ""
    assert "✓ dlogprobs" in out and "not done yet" in out


def test_unknown_gradient_lists_the_valid_names(ex):
    check = ex.result("dloss", torch.zeros(1))
    assert check.status is Status.INVALID
    assert "there is no gradient called 'dloss'" in check.reason and "dlogprobs, dprobs" in check.reason
    assert ex.result(42, torch.zeros(1)).status is Status.INVALID


def test_scoreboard_lists_every_gradient(ex, references):
    board = ex.summary()
    assert (board.correct, board.total) == (0, 26)
    assert board.headline().endswith("0/26 correct, 26 not done yet")
    ex.result("dlogprobs", references[0]["logprobs"].clone())
    ex.result("dprobs", torch.zeros(32, 27))
    ex.result("dcounts", [1, 2])
    board = ex.summary()
    assert board.headline().endswith("1/26 correct, 1 wrong (dprobs), 1 cannot check (dcounts), 23 not done yet")
    assert [c.label for c in board.checks] == [f"d{n}" for n in makemore.GRADIENT_ORDER]
    assert "<table" in board._repr_html_() and "dC" in str(board)
    # the learner's own PyTorch computed the references; its version heads the report
    computed_by = f"references computed by PyTorch {torch.__version__}"
    assert str(board).splitlines()[0].endswith(f"({computed_by})") and computed_by in board._repr_html_()


def test_cmp_matches_the_lecture_format(capsys):
    t = torch.randn(4, 3, requires_grad=True)
    (t * 2).sum().backward()
    cmp("t", torch.full((4, 3), 2.0), t)
    cmp("t", torch.full((4, 3), 3.0), t)
    cmp("t", None, t)
    cmp("u", torch.zeros(3), torch.zeros(3))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "t               | exact: True  | approximate: True  | maxdiff: 0.0"
    assert lines[1] == "t               | exact: False | approximate: False | maxdiff: 1.0"
    assert "not done yet" in lines[2]
    assert "u.grad is empty" in lines[3]


def test_a_wrong_answer_points_at_the_first_earlier_failure(ex, references):
    expected = references[0]
    ex.result("dlogprobs", expected["logprobs"].clone())
    ex.result("dprobs", expected["probs"] * 2)
    check = ex.result("dcounts", expected["counts"] * 2)
    assert check.status is Status.WRONG
    assert check.reason.endswith("dprobs, earlier in the backward pass, is not correct yet; "
                                 "if this gradient uses it, fix dprobs first")
    assert "earlier" not in ex.result("dprobs", expected["probs"] * 2).reason


def test_failure_line_reads_well(ex):
    with pytest.raises(CheckFailed, match=r"^dprobs cannot be checked yet: see the report above\.$"):
        ex.check("dprobs", [1.0])


def test_dataset_contexts_and_targets():
    vocab = makemore.Vocabulary(["emma", "ab"])
    X, Y = makemore.build_dataset(["emma", "ab"], vocab, block_size=3)
    decode = lambda row: "".join(vocab.itos[int(i)] for i in row)  # noqa: E731
    assert [decode(x) for x in X] == ["...", "..e", ".em", "emm", "mma", "...", "..a", ".ab"]
    assert decode(Y) == "emma.ab."


def test_while_nbgrader_validates_the_scoreboard_fails_once_naming_each_step(ex, setup, monkeypatch):
    """With the course's nbgrader configuration (Validator.validate_all and its cue), the checks do
    not fail one by one: the scoreboard fails once, "n/26 correct" and a line per step not yet right.
    Under any other configuration each check still fails, with its reason (Validate shows no report)."""
    from checker.environment import SCOREBOARD_VALIDATES_ENV_VAR, VALIDATING_ENV_VAR

    monkeypatch.setenv(VALIDATING_ENV_VAR, "1")
    monkeypatch.delenv(SCOREBOARD_VALIDATES_ENV_VAR, raising=False)
    with pytest.raises(CheckFailed, match=r"^dlogprobs is not done yet: replace the placeholder"):
        ex.check("dlogprobs", None)
    monkeypatch.setenv(SCOREBOARD_VALIDATES_ENV_VAR, "1")
    ex.check("dlogprobs", None)  # no raise: the scoreboard says it
    right = makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32)["probs"]
    ex.check("dprobs", right)
    with pytest.raises(CheckFailed) as failed:
        ex.summary()
    lines = str(failed.value).splitlines()
    assert lines[0] == f"1/26 correct in {ex.title}." and lines[1] == "Not yet right:"
    assert lines[2] == "  dlogprobs: not done yet" and len(lines) == 2 + 25
    monkeypatch.delenv(VALIDATING_ENV_VAR)
    assert ex.summary().correct == 1  # outside Validate, the scoreboard never raises
