"""Code answers (lesson 2's Value, lesson 3's evaluation functions, the capstone's Functions) judged
in the grader: `make grade` gives the solutions full marks and a blank lesson 0, and a cheat whose
code looks around the kernel for the checker's references (frame introspection, which the rules
do not see) finds none there: what worked where the references were in the kernel gets 0. (The
capstone's rules also refuse its `._references`; lesson 2's allow private attributes, and lesson 3's
cheat names none.)"""

import pytest

from checker.lessons import capstone, digits_evaluation, scalar_engine
from course import ROOT, SOLUTIONS, nbgrader_meta, read, solutions_by_id, through_the_grader, with_answers

LESSONS = {
    "02": "02_scalar_autograd_engine/scalar_autograd_engine.ipynb",
    "03": "03_mlp_by_hand_digits/mlp_by_hand_digits.ipynb",
    "08": "08_capstone_autograd_function/capstone_autograd_function.ipynb",
}

# Walks up the frames of whatever called the learner's code, as pure Python: no import, no dunder.
FRAMES = '''
def _frames():
    def peek():
        yield found.gi_frame.f_back.f_back
    found = peek()
    frame = next(found)
    while frame is not None:
        yield frame.f_locals
        frame = frame.f_back
'''

# Lesson 2: every node's _backward copies the reference gradient of the leaf it belongs to, from the
# exercise the checker's frames hold; the ops themselves pass nothing on.
VALUE_THIEF = FRAMES + '''

def _steal(node):
    leaves = case = None
    for seen in _frames():
        if leaves is None and "leaves" in seen and "case" in seen:
            leaves, case = seen["leaves"], seen["case"]
        elif leaves is not None and "self" in seen:
            try:
                references = seen["self"]._exercises[case.formula]._references
            except (AttributeError, KeyError):
                continue
            for name, leaf in leaves.items():
                if leaf is node:
                    node.grad = references[name].truth.item()
            return


Value._backward = property(lambda self: (lambda: _steal(self)), lambda self, function: None)
'''

# Lesson 3: the area the checker computed before calling the function, from its frame.
AUC_THIEF = FRAMES + '''

def auc_pairs(scores, labels):
    for seen in _frames():
        if "expected" in seen:
            return seen["expected"]
    return 0.5


auc_ranks = auc_pairs
'''

# The capstone: backward by central differences of forward (gradcheck cannot tell), and the float32
# gradients copied from the exercise the checker's frames hold.
FUNCTION_THIEF = FRAMES + '''

def _differences(formula, inputs, dout, eps=1e-6):
    grads = []
    for i, x in enumerate(inputs):
        grad = torch.zeros_like(x) if x.is_floating_point() else None
        if grad is not None and x.numel() <= 100:
            flat = grad.view(-1)
            for k in range(x.numel()):
                step = torch.zeros_like(x).view(-1)
                step[k] = eps
                step = step.view_as(x)
                moved = [formula(*inputs[:i], x + sign * step, *inputs[i + 1:]) for sign in (1, -1)]
                flat[k] = ((moved[0] - moved[1]) * dout).sum() / (2 * eps)
        grads.append(grad)
    return tuple(grads)


def _thief(name, formula):
    class Stolen(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            ctx.save_for_backward(*inputs)
            return formula(*inputs)

        @staticmethod
        def backward(ctx, dout):
            if dout.dtype == torch.float32:
                for seen in _frames():
                    try:
                        references = seen["self"]._exercises[name]._references
                    except (KeyError, AttributeError, TypeError):
                        continue
                    stolen = tuple(r.expected for r in references.values())
                    return stolen + (None,) * (len(ctx.saved_tensors) - len(stolen))
            return _differences(formula, ctx.saved_tensors, dout)
    return Stolen


def _batchnorm(x, gain, bias):
    return gain * (x - x.mean(0, keepdim=True)) / (x.var(0, keepdim=True) + 1e-5) ** 0.5 + bias


Tanh = _thief("Tanh", torch.tanh)
Linear = _thief("Linear", lambda x, weight, bias: x @ weight + bias)
BatchNorm1dBessel = _thief("BatchNorm1dBessel", _batchnorm)
CrossEntropy = _thief("CrossEntropy", F.cross_entropy)
'''

CHEATS = {  # lesson: (answer cells replaced, the graded checks they cost, the status)
    # the Value's frame walk is refused by the graded kernel's guard: flagged from that cell on
    "02": ({"answer_value": None}, ["check_add_mul", "check_pow", "check_sub_neg", "check_relu_tanh", "check_backward"],
           "flagged"),
    # the AUC functions' frame walk, refused while the course's checks call them: flagged from their cell on
    "03": ({"answer_roc_auc": None}, ["check_roc_curve", "check_auc_pairs", "check_auc_ranks"], "flagged"),
    "08": ({"answer_tanh": FUNCTION_THIEF, "answer_linear": "", "answer_batchnorm": "", "answer_cross_entropy": ""},
           ["check_tanh", "check_linear", "check_batchnorm", "check_cross_entropy"], "flagged"),
}


def cheat(lesson: str) -> dict:
    """The solution's answers, with the cheat in place of some."""
    answers = solutions_by_id(SOLUTIONS / LESSONS[lesson])
    replaced = CHEATS[lesson][0]
    if lesson == "02":
        return {**answers, "answer_value": answers["answer_value"] + "\n\n" + VALUE_THIEF}
    if lesson == "03":
        roc_curve = answers["answer_roc_auc"].split("\ndef auc_pairs")[0]
        return {**answers, "answer_roc_auc": roc_curve + "\n\n" + AUC_THIEF}
    return {**answers, **replaced}


def points(lesson: str, grade_ids=None) -> float:
    cells = read(ROOT / "lessons" / LESSONS[lesson]).cells
    return sum(float(nbgrader_meta(c).get("points", 0)) for c in cells if nbgrader_meta(c).get("grade")
               and (grade_ids is None or nbgrader_meta(c)["grade_id"] in grade_ids))


def submission(lesson: str, answers: dict):
    return with_answers(read(ROOT / "lessons" / LESSONS[lesson]), answers)


SUBMISSIONS = {f"{kind}_{lesson}": (lesson, kind) for lesson in LESSONS for kind in ("full", "blank", "cheat")}


def class_submissions():
    """This file's students in the one graded class (tests/graded_class.py)."""
    notebooks = {"full": lambda lesson: solutions_by_id(SOLUTIONS / LESSONS[lesson]), "blank": lambda lesson: {},
                 "cheat": cheat}
    return {(student, LESSONS[lesson]): submission(lesson, notebooks[kind](lesson))
            for student, (lesson, kind) in SUBMISSIONS.items()}


@pytest.fixture(scope="module")
def grades(graded_class):
    return graded_class.view(__name__).rows


@pytest.mark.parametrize("student", SUBMISSIONS)
def test_make_grade(grades, student):
    lesson, kind = SUBMISSIONS[student]
    row = grades[student]
    total = points(lesson)
    expected = {"full": total, "blank": 0.0, "cheat": total - points(lesson, CHEATS[lesson][1])}[kind]
    status = CHEATS[lesson][2] if kind == "cheat" else "graded"
    assert (float(row["score"]), float(row["max_score"]), row["status"]) == (expected, total, status), row


def test_the_cheats_work_where_the_references_are_in_the_process(monkeypatch):
    """In JupyterLab the exercise, references and all, is in the learner's process: there the cheats
    pass (as they did in a graded kernel when it held the references). In the grader's verdict on
    what the probe handed out, they fail."""
    import torch
    import torch.nn.functional as F

    monkeypatch.setenv("BACKPROP_NINJA_SEED", "4242")
    for module, key, source, names in (
            (scalar_engine, "scalar_engine:engine_exercise", cheat("02")["answer_value"] + "\n" +
             cheat("02")["answer_backward"] + "\nValue.backward = backward", scalar_engine.engine_exercise().names),
            (capstone, "capstone:functions_exercise", FUNCTION_THIEF, capstone.functions_exercise().names)):
        namespace = {"torch": torch, "F": F, "math": __import__("math")}
        exec(source, namespace)
        ex = getattr(module, key.split(":")[1])()
        for name in names:
            yours = namespace["Value"] if module is scalar_engine else namespace[name]
            assert ex.result(name, yours).passed, name
            assert not ex.result(name, through_the_grader(module, key, name, yours)).passed, name
    assert digits_evaluation.evaluation_exercise().names  # lesson 3's cheat read what the old check computed first
