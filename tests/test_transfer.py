"""Lesson 9 (checker/lessons/transfer.py): the learner's own gradient checker, then layers no lesson
taught. Every named slip is recognised, right answers in other styles pass, what the lesson says
about step sizes and float64 is what its own table shows, and `make grade` gives the solution full
marks, each slip exactly its lost points and a step right given a wrong earlier one its credit."""

import math
import re

import pytest

from checker import Status
from checker.lessons import transfer
from checker.rules import namespace, rule_for, scan_code
from attacks_transfer import CHEATS, REVIEW, RIGHT
from course import LESSONS, SOLUTIONS, read, solutions_by_id, with_answers

LESSON = "09_transfer_new_layers"
NOTEBOOK = f"{LESSON}/transfer_new_layers.ipynb"
SOLUTION = solutions_by_id(SOLUTIONS / NOTEBOOK)


@pytest.fixture(scope="module")
def setup():
    return transfer.TransferSetup()


def solution_namespace(*grade_ids) -> dict:
    """What the solution's answer cells `grade_ids` define, run after the lesson's own setup cells."""
    cells = read(SOLUTIONS / NOTEBOOK).cells
    code = {c.metadata["nbgrader"]["grade_id"]: c.source for c in cells if c.cell_type == "code"}
    namespace = {}
    exec(code["code_002"], namespace)  # the imports and the setup
    for grade_id in ("code_014", "code_018", "code_024", "code_028", "code_032"):
        exec(code[grade_id], namespace)
    for grade_id in grade_ids:
        exec(SOLUTION[grade_id], namespace)
    return namespace


EXERCISES = {"numerical": transfer.numerical_exercise, "layernorm": transfer.layernorm_exercise,
             "gelu_tanh": transfer.gelu_tanh_exercise, "gelu_erf": transfer.gelu_erf_exercise,
             "dropout": transfer.dropout_exercise, "flatten": transfer.flatten_exercise,
             "attention": transfer.attention_exercise}


def every_slip(setup):
    for part, factory in EXERCISES.items():
        exercise = factory(setup)
        for name, reference in exercise._references.items():
            for hint, tensor in reference.mistakes.items():
                yield part, name, hint, tensor


def test_every_block_has_named_slips(setup):
    named = {(part, name) for part, name, _, _ in every_slip(setup)}
    assert named >= {("numerical", "w"), ("layernorm", "h"), ("layernorm", "gain"), ("gelu_tanh", "a"),
                     ("gelu_erf", "z"), ("dropout", "u"), ("flatten", "emb"), ("flatten", "W"),
                     ("attention", "scores"), ("attention", "q"), ("attention", "k"), ("attention", "v")}


@pytest.mark.parametrize("seed", [0, 2147483647])
def test_each_slip_is_named_by_its_check(seed):
    """On the lesson's seed and the grader's: each slip, as a learner's answer in the lesson's dtype,
    is wrong and named by its own sentence, never by another slip's."""
    setup = transfer.TransferSetup(seed)
    for part, name, hint, tensor in every_slip(setup):
        exercise = EXERCISES[part](setup)
        dtype = exercise._references[name].expected.dtype
        check = exercise.result(f"d{name}", tensor.to(dtype))
        assert check.status is Status.WRONG, (part, name, hint, check.reason)
        assert check.mistake == hint, (part, name, check.reason)


ANSWER_CELLS = ("answer_numerical_grad", "answer_layernorm", "answer_gelu_tanh", "answer_gelu_erf", "answer_dropout",
                "answer_flatten", "answer_attention")
GRADIENTS = {"layernorm": ("dbias", "dgain", "dh"), "gelu_tanh": ("da",), "gelu_erf": ("dz",), "dropout": ("du",),
             "flatten": ("db", "dW", "demb"), "attention": ("dP", "dv", "dscores", "dq", "dk")}

# Right answers as other learners write them: other functions, other orders, einsum, loops.
OTHER_STYLES = {
    "answer_numerical_grad": '''
def numerical_grad(f, x, h):
    flat = x.detach().clone().reshape(-1)
    out = torch.empty_like(flat)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        plus = f(flat.view(x.shape)).item()
        flat[i] = old - h
        minus = f(flat.view(x.shape)).item()
        flat[i] = old
        out[i] = (plus - minus) / (2 * h)
    return out.view(x.shape)

def rel_error(a, b):
    num = torch.abs(a - b)
    den = torch.maximum(torch.abs(a) + torch.abs(b), torch.full_like(num, 1e-12))
    return torch.max(num / den).item()
''',
    "answer_layernorm": '''
xc = h - h.mean(dim=-1, keepdim=True)
inv = 1.0 / torch.sqrt(h.var(dim=-1, unbiased=False, keepdim=True) + 1e-5)
xhat = xc * inv
dbias = dln.sum(dim=0)
dgain = torch.einsum("nd,nd->d", dln, xhat)
g = dln * gain
D = h.shape[-1]
dh = inv / D * (D * g - g.sum(-1, keepdim=True) - xhat * (g * xhat).sum(-1, keepdim=True))
''',
    "answer_gelu_tanh": '''
c = (2 / torch.pi) ** 0.5
inner = c * (a + 0.044715 * a.pow(3))
th = inner.tanh()
da = dgelu * (0.5 * (1 + th) + 0.5 * a * (1 - th * th) * c * (1 + 0.134145 * a * a))
''',
    "answer_gelu_erf": '''
normal = torch.distributions.Normal(0.0, 1.0)
dz = dgelu * (normal.cdf(z) + z * normal.log_prob(z).exp())
''',
    "answer_dropout": '''
du = torch.where(mask, ddrop / (1 - p), torch.zeros_like(ddrop))
''',
    "answer_flatten": '''
db = dlin.sum(0).sum(0)
flat = emb.reshape(emb.shape[0], emb.shape[1] // 2, -1)
dW = torch.einsum("btk,bth->kh", flat, dlin)
demb = torch.einsum("bth,kh->btk", dlin, W).reshape(emb.shape)
''',
    "answer_attention": '''
dv = P.transpose(0, 1) @ dout
dP = torch.einsum("td,sd->ts", dout, v)
rows = []
for i in range(P.shape[0]):
    p_i, g_i = P[i], dP[i]
    rows.append(p_i * (g_i - (p_i * g_i).sum()))
dscores = torch.stack(rows)
scale = 1 / d ** 0.5
dq = scale * dscores.mm(k)
dk = scale * dscores.t().mm(q)
''',
}


def test_right_answers_in_other_styles_pass(setup):
    namespace = solution_namespace()
    for cell in ANSWER_CELLS:
        exec(OTHER_STYLES[cell], namespace)
    assert not scan_code("\n".join(OTHER_STYLES.values()), rule_for(LESSON), namespace_for([]), True)
    assert EXERCISES["numerical"](setup).result("dw", namespace["numerical_grad"](transfer.wiggle, setup.wiggle_w,
                                                                               transfer.H)).passed
    for part, labels in GRADIENTS.items():
        exercise = EXERCISES[part](setup)
        for label in labels:
            check = exercise.result(label, namespace[label])
            assert check.passed and check.status is Status.CORRECT, (part, label, check.reason)


def namespace_for(sources):
    cells = [c.source for c in read(LESSONS / NOTEBOOK).cells if c.cell_type == "code"]
    return namespace(cells, sources)


def test_the_numerical_gradients_own_slips_and_a_float32_answer(setup, capsys):
    exercise = transfer.numerical_exercise(setup)
    ns = solution_namespace("answer_numerical_grad")
    w = setup.wiggle_w
    right = exercise.result("dw", ns["numerical_grad"](transfer.wiggle, w, transfer.H), record=False)
    assert right.passed and "the checker's own central difference" in right.reason and "autograd" not in right.reason
    one_sided = exercise.result("dw", transfer._forward_difference(transfer.wiggle, w, transfer.H), record=False)
    assert one_sided.status is Status.WRONG and "one-sided difference" in one_sided.reason
    own_step = exercise.result("dw", ns["numerical_grad"](transfer.wiggle, w, 1e-3), record=False)
    assert "another step than the h it is given" in own_step.reason
    in_float32 = exercise.result("dw", ns["numerical_grad"](transfer.wiggle, w.float(), transfer.H), record=False)
    assert in_float32.status is Status.INVALID and "dtype torch.float32" in in_float32.reason


def test_what_the_lesson_says_about_step_sizes_is_what_its_table_shows(capsys):
    ns = solution_namespace("answer_numerical_grad")
    capsys.readouterr()
    errors = transfer.step_size_table(ns["numerical_grad"])
    printed = capsys.readouterr().out
    float64, float32 = errors["float64"], errors["float32"]
    best64, best32 = min(float64, key=float64.get), min(float32, key=float32.get)
    text = " ".join(c.source for c in read(SOLUTIONS / NOTEBOOK).cells if c.cell_type == "markdown")
    said = ("in float64 the error is smallest around $h = 10^{-5}$ to $10^{-6}$, near $10^{-10}$; in float32 it is "
            "never better than about $10^{-5}$, at $h = 10^{-2}$, and at $h = 10^{-6}$ it is already some percent")
    assert said in " ".join(text.split())
    assert best64 in (1e-5, 1e-6) and 1e-11 <= float64[best64] <= 1e-9 and float64[1e-6] < 1e-9
    assert best32 == 1e-2 and 1e-5 <= float32[best32] < 1e-4
    assert 0.01 <= float32[1e-6] < 0.1
    assert f"float64: best at h = {best64:.0e}" in printed and "float32: best at h = 1e-02" in printed


def test_rel_error_is_checked_on_known_pairs(capsys):
    rel_error = solution_namespace("answer_numerical_grad")["rel_error"]
    capsys.readouterr()
    transfer.check_rel_error(rel_error)
    assert capsys.readouterr().out.count("✓") == 4
    transfer.check_rel_error(lambda a, b: ((a - b).abs() / (a.abs() + b.abs())).max())
    out = capsys.readouterr().out
    assert "✗ zeros with zeros" in out and "needs a floor" in out and out.count("✓") == 3
    transfer.check_rel_error(lambda a, b: (a - b).abs().max())
    assert "✗ a with -a" in capsys.readouterr().out
    transfer.check_rel_error(None)
    assert "Write rel_error above" in capsys.readouterr().out


def test_the_learners_gradient_check_agrees_with_a_right_answer_and_not_with_a_slip(setup, capsys):
    ns = solution_namespace("answer_numerical_grad", "answer_dropout")
    u, mask, ddrop = (setup.dropout[k] for k in ("u", "mask", "ddrop"))
    f = lambda u64: (transfer.dropout(u64, mask) * ddrop.double()).sum()  # noqa: E731
    capsys.readouterr()
    transfer.gradient_check("du", ns["du"], ns["numerical_grad"], ns["rel_error"], f, u)
    transfer.gradient_check("du", ddrop * mask, ns["numerical_grad"], ns["rel_error"], f, u)
    transfer.gradient_check("du", None, ns["numerical_grad"], ns["rel_error"], f, u)
    right, slip, missing = capsys.readouterr().out.splitlines()
    assert right.endswith("they agree") and "they disagree" in slip and "not compared yet" in missing


def test_calling_numerical_grad_in_an_answer_cell_is_for_review_only():
    source = "dh = numerical_grad(lambda t: (transfer.layer_norm(t, gain, bias) * dln).sum(), h.double(), H).float()"
    found = scan_code(source, rule_for(LESSON), namespace_for([source]), True)
    assert [(str(f), f.review) for f in found] == [
        ("line 1 uses your `numerical_grad` in an answer cell: a numerical gradient checks an analytic answer, "
         "it is not one", True)]
    assert scan_code(source, rule_for(LESSON), namespace_for([source]), False) == []


def findings_in(cells: dict) -> list:
    """(flagged, for review) findings of a student's replaced answer cells, each scanned as grading does."""
    sources = list(cells.values())
    found = [f for source in sources for f in scan_code(source, rule_for(LESSON), namespace_for(sources), True)]
    return [str(f) for f in found if not f.review], [str(f) for f in found if f.review]


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_every_cheat_of_the_corpus_is_flagged(name):
    flagged, _ = findings_in(CHEATS[name])
    assert flagged, f"{name} is not flagged"


@pytest.mark.parametrize("name", sorted(REVIEW))
def test_a_hidden_numerical_gradient_is_for_review(name):
    flagged, review = findings_in(REVIEW[name])
    assert not flagged and any("numerical_grad" in r for r in review), (flagged, review)


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_answers_of_the_corpus_are_neither_flagged_nor_reviewed(name):
    assert findings_in(RIGHT[name]) == ([], [])


def test_the_snooping_numerical_grad_still_computes_the_gradient(setup):
    namespace = solution_namespace()
    exec(SNOOPING_NUMERICAL_GRAD, namespace)
    dw = namespace["numerical_grad"](transfer.wiggle, setup.wiggle_w, transfer.H)
    assert EXERCISES["numerical"](setup).result("dw", dw).passed  # its points are lost to the flag, not to a wrong answer


def test_right_answers_of_the_corpus_are_right(setup):
    namespace = solution_namespace(*ANSWER_CELLS)
    for cells in RIGHT.values():
        run = dict(namespace)
        for cell, source in cells.items():
            exec(source, run)
        if "numerical_grad" in cells.get("answer_numerical_grad", ""):
            dw = run["numerical_grad"](transfer.wiggle, setup.wiggle_w, transfer.H)
            assert EXERCISES["numerical"](setup).result("dw", dw).passed
        for part, labels in GRADIENTS.items():
            for label in labels:
                assert EXERCISES[part](setup).result(label, run[label]).passed, (cells.keys(), label)


# ---- the graded class: this file's students, all in lesson 9 -----------------------------------
POINTS = {"dw": 2, "dbias": 1, "dgain": 1, "dh": 3, "da": 2, "dz": 2, "du": 1, "db": 1, "dW": 2, "demb": 2,
          "dP": 1, "dv": 1, "dscores": 2, "dq": 1, "dk": 1}
TOTAL = sum(POINTS.values())

# A numerical_grad that looks for the grading secret while it works: the course's cells call it, and
# the guard refuses the reads; they count against the cell that defined it (the tester's find).
SNOOPING_NUMERICAL_GRAD = SOLUTION["answer_numerical_grad"].replace("    grad = torch.zeros_like(x)\n", """\
    import os
    for place in ("../../../.grading_secret", "../../.."):
        try:
            LOOT.append(open(place).read() if place.endswith("secret") else os.listdir(place))
        except Exception:
            pass
    grad = torch.zeros_like(x)
""", 1).replace("def numerical_grad", "LOOT = []\n\n\ndef numerical_grad", 1)

STUDENTS = {  # student: (answer cells changed from the solution, score)
    "other_styles": (dict(OTHER_STYLES), TOTAL),
    "slips": ({  # dropout's scaling forgotten, layer norm's statistics taken as constants, attention's 1/√d forgotten in dq
        "answer_dropout": "du = ddrop * mask",
        "answer_layernorm": SOLUTION["answer_layernorm"].replace(
            "dh = (dhhat - dhhat.mean(1, keepdim=True) - hhat * (dhhat * hhat).mean(1, keepdim=True)) / (var + transfer.LN_EPS).sqrt()",
            "dh = dhhat / (var + transfer.LN_EPS).sqrt()"),
        "answer_attention": SOLUTION["answer_attention"].replace("dq = dscores @ k / math.sqrt(d)", "dq = dscores @ k"),
    }, TOTAL - POINTS["du"] - POINTS["dh"] - POINTS["dq"]),
    "wrong_dP_carried": ({  # dP doubled; every later step right given it: only dP's point is lost
        "answer_attention": SOLUTION["answer_attention"].replace("dP = dout @ v.T", "dP = 2 * (dout @ v.T)"),
    }, TOTAL - POINTS["dP"]),
    "autograd_in_attention": ({  # autograd computes the attention gradients: every check from that cell on scores 0
        "answer_attention": "qq, kk, vv = (t.clone().requires_grad_() for t in (q, k, v))\n"
                            "(transfer.attention(qq, kk, vv) * dout).sum().backward()\n"
                            "dq, dk, dv = qq.grad, kk.grad, vv.grad\n"
                            + "\n".join(line for line in SOLUTION["answer_attention"].splitlines()
                                        if line.startswith(("dP", "dscores"))),
    }, TOTAL - sum(POINTS[k] for k in ("dP", "dv", "dscores", "dq", "dk"))),
    "snoops_from_a_course_cell": ({"answer_numerical_grad": SNOOPING_NUMERICAL_GRAD}, 0),  # refused, and flagged from its cell
    # after the review: the new cheat (flagged from the dropout cell on) and a style the corpus lacked,
    # graded by plain `nbgrader autograde` too
    "cheat_attrgetter": (CHEATS["attrgetter_vjp"], sum(POINTS[k] for k in ("dw", "dbias", "dgain", "dh", "da", "dz"))),
    "right_batched_jacobians": (RIGHT["batched_jacobian_attention"], TOTAL),
    "cheat_aten_gelu": (CHEATS["aten_gelu"], sum(POINTS[k] for k in ("dw", "dbias", "dgain", "dh"))),  # 0 from GELU on
    "right_but_unusual": ({**RIGHT["legit_ln_steps"], **RIGHT["legit_func_vmap_ng"],
                           "answer_gelu_erf": RIGHT["legit_grad_is_none_assert"]["answer_gelu_erf"]}, TOTAL),
}


PLAIN_STUDENTS = ("slips", "cheat_attrgetter", "right_batched_jacobians")  # graded by nbgrader autograde too


def class_submissions():
    """This file's students in the one graded class (tests/graded_class.py)."""
    return {(student, NOTEBOOK): with_answers(read(LESSONS / NOTEBOOK), {**SOLUTION, **answers})
            for student, (answers, _) in STUDENTS.items()}


def test_make_grade_gives_each_slip_exactly_its_lost_points(graded_class):
    graded = graded_class.view(__name__)
    assert {student: float(row["score"]) for student, row in graded.rows.items()} == \
        {student: float(score) for student, (_, score) in STUDENTS.items()}
    page = graded.path("feedback", "slips", NOTEBOOK).with_suffix(".html").read_text()
    for slip in ("the scaling is forgotten", "it treats the row&#x27;s mean and variance as constants",
                 "the 1/√d is forgotten"):
        assert slip in page or slip.replace("&#x27;", "'") in page, slip
    assert graded.rows["cheat_aten_gelu"]["status"] == "flagged" and graded.rows["right_but_unusual"]["status"] == "graded"
    snooped = graded.rows["snoops_from_a_course_cell"]
    assert snooped["status"] == "flagged" and "answer_numerical_grad" in snooped["reason"] and "refused" in snooped["reason"]
    carried = graded.path("feedback", "wrong_dP_carried", NOTEBOOK).with_suffix(".html").read_text()
    assert "right given earlier answers" in carried and "only because dP" in carried


def test_the_solution_and_the_blank_lesson_are_in_the_course_and_the_readme():
    readme = (SOLUTIONS.parent / "README.md").read_text()
    assert f"| `{LESSON}` |" in readme and "(15 gradients)" in readme
    hidden = [m for c in read(SOLUTIONS / NOTEBOOK).cells
              for m in re.findall(r'hidden_check"\]\("transfer:(\w+)_exercise", "(\w+)"', c.source)]
    assert sorted(label for _, label in hidden) == sorted(POINTS)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
              for c in read(SOLUTIONS / NOTEBOOK).cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert sum(points.values()) == TOTAL and math.isclose(TOTAL, 23)


@pytest.mark.parametrize("source, found", [
    ("p = torch.nn.Parameter(h.clone())", [("line 1 turns `requires_grad` on (a `Parameter` requires grad)", False)]),
    ("p = torch.nn.Parameter(h.clone(), True)", [("line 1 turns `requires_grad` on (a `Parameter` requires grad)", False)]),
    ("p = torch.nn.Parameter(h.clone(), flag)", [("line 1 turns `requires_grad` on (by a value computed at run time)", True)]),
    ("p = torch.nn.Parameter(h.clone(), requires_grad=False)", []),
    ("b = torch.nn.Buffer(h.clone())", []),  # a Buffer never requires grad unless told
])
def test_a_parameter_is_judged_by_whether_it_requires_grad(source, found):
    assert [(str(f), f.review) for f in scan_code(source, rule_for(LESSON), namespace_for([source]), True)] == found


def test_plain_nbgrader_autograde_gives_the_same_scores(graded_class):
    graded = graded_class.view(__name__)
    plain = {key.split("/")[0].split("--", 1)[1]: score for key, score in graded_class.plain_scores().items()
             if key.startswith("transfer--") and key.endswith(LESSON)}
    assert set(plain) == set(PLAIN_STUDENTS)
    assert plain == {student: float(graded.rows[student]["score"]) for student in PLAIN_STUDENTS}
    assert plain == {student: float(STUDENTS[student][1]) for student in PLAIN_STUDENTS}
