"""Exercise 4's training helpers: the fast step, the graded training check, and gradient unpacking."""

import pytest
import torch

from checker import CheckFailed, Status
from checker.lessons import makemore, training


@pytest.fixture(scope="module")
def setup():
    return makemore.MakemoreSetup(n_hidden=training.N_HIDDEN)


def batches(setup, count):
    ix = torch.randint(0, setup.Xtr.shape[0], (count, setup.batch_size), generator=torch.Generator().manual_seed(3))
    return [(setup.Xtr[i], setup.Ytr[i]) for i in ix]


def test_fast_step_trains_like_autograd(setup):
    reference = training.copy_parameters(setup.params, requires_grad=True)
    fast_params = training.copy_parameters(setup.params)
    fast = training.FastStep(fast_params, setup.batch_size)
    for Xb, Yb in batches(setup, 20):
        expected_loss = training.autograd_step(reference, Xb, Yb, 0.1)
        torch.testing.assert_close(fast(Xb, Yb, 0.1), expected_loss.detach())
    for name in makemore.PARAMETER_NAMES:
        # b1 is left alone by FastStep: its true gradient is zero, autograd's is float32 noise
        torch.testing.assert_close(fast_params[name], reference[name].detach(), atol=1e-5, rtol=1e-4)


def test_reference_gradients_are_autograds_on_the_training_forward(setup):
    ex = training.exercise4(setup)
    params = training.copy_parameters(setup.params, requires_grad=True)
    training.forward(params, setup.Xb, setup.Yb)["loss"].backward()
    for name in makemore.PARAMETER_NAMES:
        assert ex.result(f"d{name}", params[name].grad.clone()).exact
    assert ex.given["demb"].shape == (setup.batch_size, 3, makemore.N_EMBD)


def test_unpack_gradients_never_raises(capsys):
    assert training.unpack_gradients(None) == (None,) * 7
    assert training.unpack_gradients(tuple(range(7))) == tuple(range(7))
    assert training.unpack_gradients([1, 2]) == (None,) * 7
    assert "backward returned 2 values; it must return the 7 gradients" in capsys.readouterr().out
    training.unpack_gradients(torch.zeros(3))
    assert "backward returned a Tensor" in capsys.readouterr().out


def test_training_check(monkeypatch, capsys):
    monkeypatch.setenv(training.FAST_ENV_VAR, "1")
    with pytest.raises(CheckFailed, match="not trained yet"):
        training.check_training([], None)
    with pytest.raises(CheckFailed, match="goal: below 2.5"):
        training.check_training([0.45] * 1000, 2.9)  # 10**0.45 = 2.82
    training.check_training([0.3] * 1000, 2.2)
    assert "✓ trained" in capsys.readouterr().out
    monkeypatch.setenv(training.FAST_ENV_VAR, "0")
    assert training.max_steps() == 200_000
    with pytest.raises(CheckFailed, match=r"validation loss 2.1300 \(goal: at most 2.11\)"):
        training.check_training([0.3], 2.13)


def test_learning_rate_decays_after_100k_steps():
    assert training.learning_rate(99_999) == 0.1 and training.learning_rate(100_000) == 0.01


def test_bessel_slips_are_recognised():
    setup = makemore.MakemoreSetup()
    n = setup.batch_size
    ex1, ex3 = makemore.exercise1(setup), makemore.exercise3(setup)
    tensors = makemore.forward(setup.params, setup.Xb, setup.Yb)
    truth = makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float64)
    check = ex1.result("dbndiff2", (truth["bndiff2"] * (n - 1) / n).float())
    assert check.status is Status.WRONG and "Bessel's correction" in check.reason

    dhpreact, bnraw = ex3.given["dhpreact"], tensors["bnraw"]
    scale = setup.params["bngain"] * tensors["bnvar_inv"] / n
    biased = scale * (n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0))
    check = ex3.result("dhprebn", biased)
    assert check.status is Status.WRONG and "biased variance" in check.reason
    right = scale * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
    assert ex3.result("dhprebn", right).passed


def test_what_lesson_7_says_of_steps_and_time_holds_in_both_modes(monkeypatch, capsys):
    """Its numbers are training's own, the plot cell says what fast mode's curve cannot show, and no
    sentence quotes a duration but the measured ones tests/test_measured.py checks against
    bench/measured.json (how long training takes depends on the machine: see `make train`)."""
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course import SOLUTIONS, nbgrader_meta, read

    cells = {nbgrader_meta(c).get("grade_id"): c for c in
             read(SOLUTIONS / "07_makemore_training" / "makemore_training.ipynb").cells}
    text = " ".join("\n".join(c.source for c in cells.values() if c.cell_type == "markdown").split())
    measured = [re.escape("On the course's 2-core machine the 200,000 steps took ") + r"\d+ s, compiling your step "
                r"included, and \d+ s while another program kept one of the two cores busy",
                re.escape("about 1.6 times as fast, after 10-20 s of compiling"),
                re.escape("a second thread mostly waits for the first")]  # not a time: the One thread paragraph
    for sentence in measured:
        text, found = re.subn(sentence, "", text)
        assert found == 1, sentence
    assert not re.search(r"\b(minutes?|seconds?|hours?|quick(ly)?|a few)\b", text, re.I), "a timing claim"
    intro, curve = cells["md_001"].source, cells["md_015"].source
    assert f"{training.MAX_STEPS:,} steps" in intro and f"trains for {training.FAST_STEPS:,} steps only" in intro
    assert f"after {training.LR_DECAY_STEP:,} steps" in intro
    assert training.learning_rate(training.LR_DECAY_STEP - 1) == 0.1 and training.learning_rate(training.LR_DECAY_STEP) == 0.01
    assert f"drop at step {training.LR_DECAY_STEP:,}" in curve and f"ends at step {training.FAST_STEPS:,}" in curve
    blocks = [int(b.replace(",", "")) for b in re.search(r"\(([\d,]+) in full mode, ([\d,]+) in fast mode\)", curve).groups()]
    monkeypatch.setattr(plt, "show", lambda: plt.close("all"))
    for steps, block in zip((training.MAX_STEPS, training.FAST_STEPS), blocks):
        namespace = {"lossi": [0.5] * steps, "torch": torch, "plt": plt, "training": training}
        exec(cells["code_016"].source, namespace)
        assert namespace["block"] == block, (steps, namespace["block"])
        said = capsys.readouterr().out
        assert ("ends before step 100,000" in said) == (steps <= training.LR_DECAY_STEP), said
    assert training.FAST_STEPS < training.LR_DECAY_STEP < training.MAX_STEPS


def test_nbgrader_validate_trains_for_the_fast_steps_as_lesson_7_says(monkeypatch):
    """Lesson 7: "nbgrader's Validate and the grader train for those 4,000 steps too"."""
    from checker.environment import FAST_ENV_VAR, VALIDATING_ENV_VAR

    monkeypatch.delenv(FAST_ENV_VAR, raising=False)
    monkeypatch.delenv(VALIDATING_ENV_VAR, raising=False)
    assert training.max_steps() == training.MAX_STEPS
    monkeypatch.setenv(VALIDATING_ENV_VAR, "1")  # what nbgrader's Validator sets around the kernel
    assert training.max_steps() == training.FAST_STEPS == 4_000
