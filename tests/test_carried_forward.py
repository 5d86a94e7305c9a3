"""Error carried forward (checker/chain.py): a step wrong only because an earlier answer is wrong is
reported as right given that answer, names the first wrong step, and earns its points by default."""

import csv

import pytest
import torch
import torch.nn.functional as F

from checker import Status
from checker.chain import Chain
from checker.grading.run import scratch_course
from checker.lessons import chain_rule, digits_mlp, makemore
from course import LESSONS, SOLUTIONS, read, run, solutions_by_id, with_answers
from test_diagnosis_catalogue import CATALOGUE

EXERCISE_1 = "04_makemore_atomic_backprop/makemore_atomic_backprop.ipynb"
SOLUTION_CODE = solutions_by_id(SOLUTIONS / EXERCISE_1)


@pytest.fixture(scope="module")
def setup():
    return makemore.MakemoreSetup()


@pytest.mark.parametrize("forward, params, data", [
    (makemore.forward, lambda: makemore.MakemoreSetup().params, lambda: (makemore.MakemoreSetup().Xb, makemore.MakemoreSetup().Yb)),
    (digits_mlp.forward, lambda: digits_mlp.DigitsSetup().params, lambda: (digits_mlp.DigitsSetup().xb, digits_mlp.DigitsSetup().yb)),
    (chain_rule._graph_forward, lambda: chain_rule.ChainRuleSetup().graph, lambda: ()),
], ids=["exercise 1", "lesson 3", "lesson 1's graph"])
def test_each_step_given_autograds_upstream_is_autograds_gradient(forward, params, data):
    """The steps' VJPs add up to the whole backward pass: given autograd's own upstream gradients,
    every step's carried-forward reference is autograd's gradient of that tensor."""
    params, data = params(), data()
    chain = Chain(forward, params, *data)
    from checker.references import graph_gradients

    truth = graph_gradients(forward, params, *data, dtype=torch.float64)
    for name in truth:
        reference = chain.given(name, {c: truth[c] for c in chain.consumers[name] if c != "loss"})
        torch.testing.assert_close(reference.truth, truth[name], rtol=1e-12, atol=1e-14, msg=name)


def test_the_tensors_used_twice_have_both_consumers(setup):
    chain = Chain(makemore.forward, setup.params, setup.Xb, setup.Yb)
    for name, uses in makemore.BRANCHES.items():  # written out by hand in makemore.py
        assert chain.consumers[name] == sorted(uses), name
    assert chain.consumers["logprobs"] == ["loss"] and chain.consumers["C"] == ["emb"]


def answers_with_a_slip(setup, slip_step: str, slip):
    """Exercise 1 as a learner writes it: the solutions' formulas, run on the learner's own earlier
    answers, except at `slip_step`, where `slip(namespace)` gives the wrong answer."""
    tensors = makemore.forward(setup.params, setup.Xb, setup.Yb)
    C, W1, b1, W2, b2, bngain, bnbias = setup.parameters
    namespace = {"torch": torch, "F": F, "n": setup.batch_size, "Xb": setup.Xb, "Yb": setup.Yb, **tensors,
                 **dict(zip(makemore.PARAMETER_NAMES, (C, W1, b1, W2, b2, bngain, bnbias)))}
    answers = {}
    for name in makemore.GRADIENT_ORDER:
        exec(SOLUTION_CODE[f"answer_d{name}"], namespace)
        if name == slip_step:
            namespace[f"d{name}"] = slip(namespace)
        answers[name] = namespace[f"d{name}"].clone()
    return answers


def slips():
    """One real slip per step: the mistake catalogue's first for that gradient, else a doubled answer."""
    catalogue = {}
    for exercise, label, wrong, _ in CATALOGUE:
        if exercise == "ex1":
            catalogue.setdefault(label[1:], wrong)
    return [(name, catalogue.get(name)) for name in makemore.GRADIENT_ORDER]


@pytest.mark.parametrize("step, catalogued", slips(), ids=[name for name, _ in slips()])
def test_one_slip_costs_one_step(setup, step, catalogued):
    lesson = dict(setup=setup, T=makemore.forward(setup.params, setup.Xb, setup.Yb), n=setup.batch_size,
                  G=makemore.autograd_gradients(setup.params, setup.Xb, setup.Yb, torch.float32),
                  Xb=setup.Xb, Yb=setup.Yb, ex3=makemore.exercise3(setup))

    def slip(ns):
        """The catalogued slip where it keeps the shape (a wrong shape is refused before any
        judging) and is not all zeros (steps given zeros show no work: they earn no carried
        credit, see the sheet of zeros below), else the answer doubled; for the two gradients
        that are zero, a small offset."""
        right = ns[f"d{step}"]
        wrong = catalogued(lesson).to(torch.float32) if catalogued is not None else None
        if wrong is None or wrong.shape != right.shape or not bool(wrong.any()):
            wrong = 2 * right
        return wrong if (wrong - right).abs().max() > 1e-3 else right + 0.01

    exercise = makemore.exercise1(setup)
    answers = answers_with_a_slip(setup, step, slip)
    results = {name: exercise.result(f"d{name}", answers[name]) for name in makemore.GRADIENT_ORDER}
    assert results[step].status is Status.WRONG
    others = {name: r for name, r in results.items() if name != step}
    assert {r.status for r in others.values()} <= {Status.CORRECT, Status.CARRIED}, \
        {n: r.reason for n, r in others.items() if r.status not in (Status.CORRECT, Status.CARRIED)}
    for name, result in others.items():
        if result.status is Status.CARRIED:
            assert f"only because d{step}, earlier in the backward pass" in result.reason, (name, result.reason)
            # exact/approx are measured against autograd's gradient, which a carried step misses
            assert "PyTorch's autograd" not in result.reason and not result.exact, (name, result.reason)
    board = exercise.scoreboard().rows()
    carried = [r.reason for r in board if r.status is Status.CARRIED]
    if carried:  # the long sentence once; the rows after it, its first sentence
        assert "only because" in carried[0] and all("only because" not in r for r in carried[1:]), carried
    full = sum(r.status in (Status.CORRECT, Status.CARRIED) for r in results.values())
    assert full == 25  # the default policy: every step but the slip
    if any(r.status is Status.CARRIED for r in others.values()):
        assert sum(r.passed for r in results.values()) < 25  # what autograd alone (policy "none") gives


def test_an_answer_changed_in_place_after_its_check_is_judged_as_it_was_checked(setup):
    exercise = makemore.exercise1(setup)
    answers = answers_with_a_slip(setup, "C", lambda ns: ns["dC"])  # all right
    assert exercise.result("dlogprobs", answers["logprobs"]).passed
    answers["logprobs"].mul_(2)  # the learner's tensor, doubled after its check passed
    dprobs = (1.0 / makemore.forward(setup.params, setup.Xb, setup.Yb)["probs"]) * answers["logprobs"]
    result = exercise.result("dprobs", dprobs)
    assert result.status is Status.WRONG  # the kept copy of dlogprobs is right: this step is wrong in itself


def test_a_step_whose_upstream_is_not_checked_is_judged_against_autograd(setup):
    exercise = makemore.exercise1(setup)
    answers = answers_with_a_slip(setup, "logprobs", lambda ns: ns["dlogprobs"] * setup.batch_size)
    assert exercise.result("dprobs", answers["probs"]).status is Status.WRONG  # dlogprobs never checked


def test_lesson_1s_graph_carries_forward():
    exercise = chain_rule.graph_exercise()
    graph = chain_rule.ChainRuleSetup().graph
    e, f, g = graph["e"], graph["f"], graph["g"]
    dg = 2 * (2 * e + 3 * f)  # a slip: doubled
    dq = g
    dm = dn = dq
    results = [exercise.result(label, value) for label, value in
               (("dg", dg), ("dq", dq), ("dm", dm), ("dn", dn), ("de", 2 * dm), ("df", 3 * dn))]
    assert [r.status for r in results] == [Status.WRONG] + [Status.CORRECT] * 5
    # and when the slip is upstream of the others, they are carried
    exercise = chain_rule.graph_exercise()
    wrong_dq = 2 * g
    results = [exercise.result(label, value) for label, value in
               (("dg", 2 * e + 3 * f), ("dq", wrong_dq), ("dm", wrong_dq), ("dn", wrong_dq),
                ("de", 2 * wrong_dq), ("df", 3 * wrong_dq))]
    assert [r.status for r in results] == [Status.CORRECT, Status.WRONG] + [Status.CARRIED] * 4


STUDENTS = {
    # the lecture's answers with one slip; (score by default, score with --carried-credit none)
    "forgot_1_over_n": ({"answer_dlogprobs": "dlogprobs = torch.zeros_like(logprobs)\ndlogprobs[range(n), Yb] = -1.0"}, 25, 0),
    "biased_variance": ({"answer_dbndiff2": "dbndiff2 = (1.0/n)*torch.ones_like(bndiff2) * dbnvar"}, 25, 19),
}


def submissions():
    lesson = lambda: read(LESSONS / EXERCISE_1)  # noqa: E731
    return {(student, str(EXERCISE_1)): with_answers(lesson(), {**SOLUTION_CODE, **slip})
            for student, (slip, *_) in STUDENTS.items()}


def class_submissions():
    """This file's students in the one graded class (tests/graded_class.py), graded by default."""
    return submissions()


def test_make_grade_gives_error_carried_forward_its_points_unless_told_otherwise(graded_class, tmp_path):
    graded = graded_class.view(__name__)
    assert {student: float(row["score"]) for student, row in graded.rows.items()} == \
        {student: default for student, (_, default, _) in STUDENTS.items()}
    page = graded.path("feedback", "forgot_1_over_n", str(EXERCISE_1)).with_suffix(".html").read_text()
    assert "right given earlier answers" in page and "only because dlogprobs" in page
    assert "full credit" in page
    course = scratch_course(tmp_path, submissions())
    run("make", "-s", "grade", f"COURSE={course}", "GRADE_ARGS=--jobs 2 --carried-credit none")
    with open(course / "grades.csv") as f:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert scores == {student: none for student, (_, _, none) in STUDENTS.items()}


def test_an_answer_that_is_an_earlier_answers_memory_is_pointed_out(setup):
    """`dlogits = dnorm_logits` then `dlogits += ...`: the checked dnorm_logits changes with it."""
    exercise = makemore.exercise1(setup)
    answers = answers_with_a_slip(setup, "C", lambda ns: ns["dC"])  # all right
    dnorm_logits = answers["norm_logits"].clone()
    assert exercise.result("dnorm_logits", dnorm_logits).passed
    dlogits = dnorm_logits  # no clone
    dlogits += answers["logits"] - answers["norm_logits"]
    result = exercise.result("dlogits", dlogits)
    assert result.passed  # right, and yet:
    assert "dlogits is the same memory as your dnorm_logits" in result.reason
    assert "has also changed dnorm_logits since its check" in result.reason and "clone()" in result.reason
    assert "same memory" not in exercise.result("dh", answers["h"]).reason


def test_memory_shared_without_an_in_place_change_is_not_pointed_out():
    exercise = chain_rule.graph_exercise()
    graph = chain_rule.ChainRuleSetup().graph
    dq = graph["g"] * 1.0
    assert exercise.result("dq", dq).passed
    dm = dq  # a sum hands its gradient on: the same tensor is right, and nothing rewrote dq
    assert "same memory" not in exercise.result("dm", dm).reason


def _true_zero_steps(exercise) -> set:
    return {name for name, reference in exercise._references.items() if not bool(reference.truth.abs().max() > 1e-6)}


@pytest.mark.parametrize("build", [lambda: makemore.exercise1(makemore.MakemoreSetup()),
                                   lambda: digits_mlp.gradients_exercise(), lambda: chain_rule.graph_exercise()],
                         ids=["exercise 1", "lesson 3", "lesson 1's graph"])
def test_a_sheet_of_zeros_scores_only_the_steps_whose_true_gradient_is_zero(build):
    """Carried credit pays for real work: zeros upstream make every later step 'right given' zeros,
    and that shows nothing (Exercise._degenerate)."""
    exercise = build()
    passed = set()
    for name, reference in exercise._references.items():
        result = exercise.result(f"d{name}", torch.zeros_like(reference.expected))
        assert result.status is not Status.CARRIED, name
        if result.passed:
            passed.add(name)
    assert passed == _true_zero_steps(exercise)


def test_a_constant_that_fits_the_step_anyway_earns_no_carried_credit(setup):
    """Upstream answers that make a step's expected value one constant (dbnbias given a constant
    dhpreact) do not let a constant answer through as 'right given earlier answers'."""
    exercise = makemore.exercise1(setup)
    answers = answers_with_a_slip(setup, "C", lambda ns: ns["dC"])
    for name in makemore.GRADIENT_ORDER[: makemore.GRADIENT_ORDER.index("hpreact")]:
        exercise.result(f"d{name}", answers[name])
    constant = torch.full_like(answers["hpreact"], 0.5)  # a wrong dhpreact, constant everywhere
    assert exercise.result("dhpreact", constant).status is Status.WRONG
    dbnbias = constant.sum(0, keepdim=True)  # right given that dhpreact, and a constant itself
    assert exercise.result("dbnbias", dbnbias).status is Status.WRONG


def test_an_upstream_answer_of_the_wrong_shape_is_named_not_a_false_fix(setup):
    """`dcounts_sum_inv = (counts*dprobs).sum(1)` without keepdim is (32,) for a (32, 1): wrong. Kept,
    the lecture's `dcounts_sum` on it broadcasts to (32, 32); the check names dcounts_sum_inv, not a
    sum over dim 1 (which gives wrong values), and what it says holds: with dcounts_sum_inv fixed,
    the same dcounts_sum lines are right."""
    n = setup.batch_size
    tensors = makemore.forward(setup.params, setup.Xb, setup.Yb)
    namespace = {"torch": torch, "F": F, "n": n, "Xb": setup.Xb, "Yb": setup.Yb, **tensors}
    answers = {}
    for name in ("logprobs", "probs", "counts_sum_inv", "counts_sum"):  # the solutions' lines...
        exec(SOLUTION_CODE[f"answer_d{name}"], namespace)
        if name == "counts_sum_inv":  # ...but this one without keepdim
            namespace["dcounts_sum_inv"] = (namespace["counts"] * namespace["dprobs"]).sum(1)
        answers[name] = namespace[f"d{name}"]
    exercise = makemore.exercise1(setup)
    for name in ("logprobs", "probs"):
        assert exercise.result(f"d{name}", answers[name]).passed
    first = exercise.result("dcounts_sum_inv", answers["counts_sum_inv"])
    assert first.status is Status.WRONG
    assert first.reason.startswith(f"dcounts_sum_inv has shape ({n},), but counts_sum_inv has shape ({n}, 1)")
    assert "keep the summed dimension with keepdim=True" in first.reason
    then = exercise.result("dcounts_sum", answers["counts_sum"])
    assert tuple(answers["counts_sum"].shape) == (n, n)  # the right formula on the (32,) upstream
    assert then.status is Status.INVALID
    assert then.reason == (f"dcounts_sum has shape ({n}, {n}), but counts_sum has shape ({n}, 1). dcounts_sum is "
                           f"built from dcounts_sum_inv, and your dcounts_sum_inv has shape ({n},) where "
                           f"counts_sum_inv has shape ({n}, 1), so it broadcasts differently from the gradient it "
                           f"stands for: fix dcounts_sum_inv first (see its check), then run this cell again.")
    assert "sum the gradient over dim" not in then.reason
    # summed over dim 1 anyway: wrong, and the sentence still points upstream, not at this step
    counts_sum = tensors["counts_sum"]
    summed = (-counts_sum**-2 * answers["counts_sum_inv"]).sum(1, keepdim=True)
    again = exercise.result("dcounts_sum", summed)
    assert again.status is Status.WRONG and "fix dcounts_sum_inv first" in again.reason
    assert "this step itself needs fixing" not in again.reason
    # what it said holds: dcounts_sum_inv fixed, both dcounts_sum lines are right
    fixed = answers["counts_sum_inv"].reshape(n, 1)
    assert exercise.result("dcounts_sum_inv", fixed).passed
    assert exercise.result("dcounts_sum", -counts_sum**-2 * fixed).passed
    assert exercise.result("dcounts_sum", (-counts_sum**-2 * fixed).sum(1, keepdim=True)).passed
