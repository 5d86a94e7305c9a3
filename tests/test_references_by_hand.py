"""Every lesson's references against something written apart from the checker: the networks again
from torch.nn.functional's layers, differentiated in float64, and the blocks' gradients derived by
hand. The other tests compare learners' answers with the references; these make sure the
references themselves are the lessons' gradients, so a slip in a lesson's forward pass fails here."""

import pytest
import torch
import torch.nn.functional as F

from checker.lessons import capstone, digits_mlp, makemore, training

PARAMETERS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")


def same(reference, independent, what):
    torch.testing.assert_close(reference.truth, independent, rtol=1e-9, atol=1e-12, msg=lambda m: f"{what}: {m}")


def float64_gradients(loss_and_tensors, params: dict, *data) -> dict:
    """d loss / d every parameter and every tensor the forward pass names, in float64."""
    leaves = {k: v.double().requires_grad_() for k, v in params.items()}
    loss, tensors = loss_and_tensors(leaves, *data)
    for t in tensors.values():
        t.retain_grad()
    loss.backward()
    return {**{k: v.grad for k, v in leaves.items()}, **{k: t.grad for k, t in tensors.items()}}


def lecture_mlp(P, Xb, Yb):
    """The lecture's network, from torch.nn.functional: embedding, linear, batchnorm with Bessel's
    n-1 in the variance (as the lecture's training forward), tanh, linear, cross-entropy."""
    emb = F.embedding(Xb, P["C"])
    embcat = emb.flatten(1)
    hprebn = F.linear(embcat, P["W1"].T, P["b1"])
    variance = torch.var(hprebn, 0, correction=1, keepdim=True)
    hpreact = P["bngain"] * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(variance + 1e-5) + P["bnbias"]
    h = torch.tanh(hpreact)
    logits = F.linear(h, P["W2"].T, P["b2"])
    return F.cross_entropy(logits, Yb), dict(emb=emb, embcat=embcat, hprebn=hprebn, hpreact=hpreact, h=h, logits=logits)


@pytest.fixture(scope="module")
def makemore_setup():
    return makemore.MakemoreSetup()


def test_exercises_1_to_3_are_the_gradients_of_the_lectures_network(makemore_setup):
    setup = makemore_setup
    G = float64_gradients(lecture_mlp, setup.params, setup.Xb, setup.Yb)
    ex1, ex2, ex3 = makemore.exercise1(setup), makemore.exercise2(setup), makemore.exercise3(setup)
    for name in (*PARAMETERS, "emb", "embcat", "hprebn", "hpreact", "h", "logits"):
        same(ex1._references[name], G[name], name)
    n, picked = setup.batch_size, F.one_hot(setup.Yb, 27).double()
    with torch.no_grad():
        probs = F.softmax(lecture_mlp({k: v.double() for k, v in setup.params.items()}, setup.Xb, setup.Yb)[1]["logits"], 1)
    # by hand: loss = -mean(logprobs[i, Yb[i]]), so dlogprobs is -1/n at the picked entries, then 1/p
    same(ex1._references["logprobs"], -picked / n, "logprobs")
    same(ex1._references["probs"], -picked / n / probs, "probs")
    same(ex2._references["logits"], (probs - picked) / n, "Exercise 2's logits")  # softmax - one-hot, over n
    for name in ("hprebn", "bngain", "bnbias"):
        same(ex3._references[name], G[name], f"Exercise 3's {name}")
    torch.testing.assert_close(ex3.given["dhpreact"].double(), G["hpreact"], rtol=1e-4, atol=1e-7)


def test_exercise_4_and_the_capstones_network_are_the_gradients_of_the_lectures_network():
    setup = makemore.MakemoreSetup(n_hidden=training.N_HIDDEN)
    G = float64_gradients(lecture_mlp, setup.params, setup.Xb, setup.Yb)
    ex4, mlp = training.exercise4(setup), capstone.mlp_exercise(setup)
    for name in PARAMETERS:
        same(ex4._references[name], G[name], f"Exercise 4's {name}")
        same(mlp._references[name], G[name], f"the capstone's {name}")
    torch.testing.assert_close(ex4.given["demb"].double(), G["emb"], rtol=1e-4, atol=1e-7)


def digits_mlp_loss(P, x, y):
    l1 = F.linear(x.double(), P["w1"].T, P["b1"])
    l2 = F.relu(l1)
    out = F.linear(l2, P["w2"].T, P["b2"])
    return F.mse_loss(out.squeeze(-1), y.double()), dict(l1=l1, l2=l2, out=out)


def test_lesson_3_is_the_gradient_of_linear_relu_linear_mse():
    setup = digits_mlp.DigitsSetup()
    G = float64_gradients(digits_mlp_loss, setup.params, setup.xb, setup.yb)
    for exercise in (digits_mlp.gradients_exercise(setup), digits_mlp.modules_exercise(setup)):
        for name, reference in exercise._references.items():
            same(reference, G[name], name)
    assert len(digits_mlp.gradients_exercise(setup)._references) == 7


def test_the_capstones_functions_have_their_hand_derived_gradients():
    ex = capstone.functions_exercise(seed=makemore.DEFAULT_SEED)

    def references(name):
        case = ex.cases[name]
        inputs = {k: v.double() if v.is_floating_point() else v for k, v in case.inputs.items()}
        return ex._exercises[name]._references, inputs, case.upstream.double()

    refs, x, up = references("Tanh")
    same(refs["x"], (1 - torch.tanh(x["x"]) ** 2) * up, "Tanh")

    refs, x, up = references("Linear")
    same(refs["x"], up @ x["weight"].T, "Linear x")
    same(refs["weight"], x["x"].T @ up, "Linear weight")
    same(refs["bias"], up.sum(0), "Linear bias")

    refs, x, up = references("BatchNorm1dBessel")
    n = x["x"].shape[0]
    centred = x["x"] - x["x"].mean(0, keepdim=True)
    inv_std = ((centred**2).sum(0, keepdim=True) / (n - 1) + 1e-5) ** -0.5
    bnraw = centred * inv_std
    same(refs["x"], x["gain"] * inv_std / n * (n * up - up.sum(0) - n / (n - 1) * bnraw * (up * bnraw).sum(0)), "BatchNorm x")
    same(refs["gain"], (bnraw * up).sum(0, keepdim=True), "BatchNorm gain")
    same(refs["bias"], up.sum(0, keepdim=True), "BatchNorm bias")

    refs, x, dloss = references("CrossEntropy")
    logits, targets = x["logits"], x["targets"]
    same(refs["logits"], (F.softmax(logits, 1) - F.one_hot(targets, 5)) / logits.shape[0] * dloss, "CrossEntropy")
