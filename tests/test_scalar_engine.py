"""Lesson 02's checks of a whole Value class: references from PyTorch's float64 autograd, each wrong
local gradient named by its op, one sentence for an unfinished class, and the grader's own seed."""

import math

import pytest
import torch

from checker import CheckFailed, Status
from checker.grading import verify
from checker.lessons import scalar_engine
from checker.environment import DEFAULT_SEED, SEED_ENV_VAR
from course import ANSWER_HOLDERS, SOLUTIONS, checker_frames_holding_answers, solutions_by_id, through_the_grader

NOTEBOOK = SOLUTIONS / "02_scalar_autograd_engine" / "scalar_autograd_engine.ipynb"
ANSWERS = solutions_by_id(NOTEBOOK)
CORRECT_TANH = "(1 - t**2) * out.grad"


def engine(**replacements):
    """The solution's Value class (with its backward attached), its source edited by `replacements`
    {name: (old, new)}: a learner's class with that one slip."""
    source = ANSWERS["answer_value"] + "\n" + ANSWERS["answer_backward"]
    for old, new in replacements.values():
        assert old in source, old
        source = source.replace(old, new)
    namespace = {"math": math}
    exec(source, namespace)
    Value = namespace["Value"]
    Value.backward = namespace["backward"]
    Value.__radd__ = lambda self, other: self + other  # as the lesson's conveniences cell does
    return Value


@pytest.fixture(scope="module")
def ex():
    return scalar_engine.engine_exercise(seed=DEFAULT_SEED)


def test_references_are_pytorch_float64_and_agree_with_the_solution_engine(ex):
    Value = engine()
    for name, case in ex.cases.items():
        leaves = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for k, v in case.inputs.items()}
        case.expression(**leaves).backward()
        mine = {k: Value(float(v)) for k, v in case.inputs.items()}
        case.expression(**mine).backward()
        for leaf, reference in ex._exercises[case.formula]._references.items():
            assert reference.truth.dtype == torch.float64 and reference.truth.item() == leaves[leaf].grad.item()
            assert reference.expected.dtype == torch.float32
            assert mine[leaf].grad == pytest.approx(reference.truth.item(), rel=1e-12, abs=1e-12), (name, leaf)


def test_the_solution_passes_every_row(ex):
    Value = engine()
    for name in ex.names:
        rows = ex.rows(name, Value)
        assert all(r.passed for r in rows), rows
        assert ex.result(name, Value).passed
    assert ex.summary().correct == len(ex.names) == 5


@pytest.mark.parametrize("check, op, slip, hint", [
    ("relu_tanh", "tanh", (CORRECT_TANH, "(1 - t) * out.grad"), "(1 - t) * out.grad; the derivative of tanh"),
    ("relu_tanh", "tanh", (CORRECT_TANH, "(1 - self.data**2) * out.grad"), "the OUTPUT"),
    ("relu_tanh", "relu", ("(out.data > 0) * out.grad", "out.grad"), "relu passes no gradient"),
    ("add_mul", "add", ("grad += out.grad\n            other.grad += out",
                        "grad = out.grad\n            other.grad = out"), "use `+=`"),
    ("add_mul", "mul", ("self.grad += other.data * out.grad", "self.grad += self.data * out.grad"), "OTHER operand"),
    ("add_mul", "mul", ("self.grad += other.data * out.grad", "self.grad += other.data"), "multiply it by out.grad"),
    ("pow", "pow", ("k * self.data ** (k - 1)", "k * self.data ** k"), "the exponent drops by one"),
    ("sub_neg", "sub", ("return self + (-other)", "return self + other * 1"), "sub: the forward is wrong"),
])
def test_a_wrong_local_gradient_is_named_by_its_op(ex, check, op, slip, hint):
    Value = engine(slip=slip)
    for name in (check, "backward"):  # the backward check finds it too, by name
        result = ex.result(name, Value)
        assert result.status is Status.WRONG and result.reason.startswith(op + ": "), result.reason
        assert hint in result.reason, result.reason


def test_a_wrong_walk_is_blamed_on_backward_not_the_ops(ex):
    fires_on_arrival = ("    def fire(v):\n        v._backward()\n        for c in v._prev:\n"
                        "            fire(c)\n    fire(self)")
    depth_first = engine(walk=("    for v in reversed(topo):\n        v._backward()", fires_on_arrival))
    result = ex.result("backward", depth_first)
    assert result.status is Status.WRONG and "the walk in backward is the problem" in result.reason
    assert "exactly once" in result.reason
    no_seed = engine(seed=("self.grad = 1.0", "pass"))
    assert "still 0: set self.grad = 1.0" in ex.result("backward", no_seed).reason
    assert all(ex.result(name, depth_first).passed for name in ex.names if name != "backward")


class NoOps:
    def __init__(self, data, _children=(), _op=""):
        self.data, self.grad, self._prev, self._op = data, 0.0, _children, _op


class NoPrev(NoOps):
    def __mul__(self, other):
        out = NoPrev(self.data * other.data)
        out._prev = None
        return out

    def __add__(self, other):
        return self * other


def test_an_unfinished_class_gets_one_sentence_never_an_exception(ex, capsys):
    Value = engine()
    cases = {
        "not done yet: replace the placeholder `Value = None`": None,
        "Value is an int (3)": 3,
        "pass the class itself": Value(1.0),
        "Value has no __add__ method yet": NoOps,
        "has no _prev": NoPrev,
        "Value.__init__ raised ZeroDivisionError": engine(bad=("self.data = data", "self.data = data / 0")),
        "a new Value's grad starts at 0.0": engine(none=("self.grad = 0.0", "self.grad = None")),
        "is a Value, but it must be a plain number": engine(value=("other.grad += self.data * out.grad",
                                                                   "other.grad += self * out.grad")),
        "the _backward made by Value.tanh raised NameError": engine(name=(CORRECT_TANH, "(1 - tt**2) * out.grad")),
        "Value.__pow__ raised RecursionError": engine(loop=("out = Value(self.data**k",
                                                            "return self ** k\n        out = Value(0")),
    }
    for sentence, Value in cases.items():
        name = "relu_tanh" if "tanh" in sentence else "pow" if "__pow__" in sentence else "add_mul"
        result = ex.result(name, Value)
        assert result.status in (Status.NOT_DONE, Status.INVALID, Status.WRONG) and sentence in result.reason, \
            (sentence, result.reason)
        with pytest.raises(CheckFailed):
            ex.check(name, Value)
    no_backward = engine()
    del no_backward.backward
    assert "no backward method yet" in ex.result("backward", no_backward).reason
    assert "the names are add_mul" in ex.result("tanh", Value).reason
    assert capsys.readouterr().err == ""


def test_the_notebook_helpers_print_a_sentence_for_an_unfinished_value(capsys):
    for unfinished in (None, 3):
        scalar_engine.draw_graph(unfinished)
        assert scalar_engine.compare_with_torch(unfinished) is None
    out = capsys.readouterr().out
    assert out.count("Finish Value above") == 3 and "needs one of your Values" in out
    assert scalar_engine.compare_with_torch(engine()) < 1e-15
    assert scalar_engine.compare_with_torch(engine(slip=(CORRECT_TANH, "(1 - t) * out.grad"))) > 1e-3


def test_the_grader_draws_other_numbers_and_its_hidden_check_runs_the_class(monkeypatch):
    default = scalar_engine.engine_exercise(seed=DEFAULT_SEED)
    monkeypatch.setenv(SEED_ENV_VAR, "12345")
    graded = scalar_engine.engine_exercise()
    for name in default.names:
        numbers = [[float(x) for x in exercise.cases[name].inputs.values()] for exercise in (default, graded)]
        assert numbers[0] != numbers[1]
    verify.hidden_check("scalar_engine:engine_exercise", "backward", engine())
    with pytest.raises(AssertionError, match="the grader.s own check of relu_tanh"):
        verify.hidden_check("scalar_engine:engine_exercise", "relu_tanh",
                            engine(slip=(CORRECT_TANH, "(1 - t) * out.grad")))


# ---- the two halves: the probe in the kernel, the judge in the grader

KEY = "scalar_engine:engine_exercise"


def raising_value():
    Value = engine()

    class Meta(type):
        def __getattribute__(cls, name):
            raise RuntimeError("no peeking")
    return Meta("Value", (), {})


CLASSES = {  # a learner's Value class: right, wrong, unusable
    "right": engine,
    "tanh slip": lambda: engine(slip=(CORRECT_TANH, "(1 - t) * out.grad")),
    "mul slip": lambda: engine(slip=("self.grad += other.data * out.grad", "self.grad += self.data * out.grad")),
    "sub forward": lambda: engine(slip=("return self + (-other)", "return self + other * 1")),
    "no seed": lambda: engine(seed=("self.grad = 1.0", "pass")),
    "depth-first walk": lambda: engine(walk=("    for v in reversed(topo):\n        v._backward()",
                                             "    def fire(v):\n        v._backward()\n        for c in v._prev:\n"
                                             "            fire(c)\n    fire(self)")),
    "placeholder": lambda: None,
    "an int": lambda: 3,
    "an instance": lambda: engine()(1.0),
    "no ops": lambda: NoOps,
    "no _prev": lambda: NoPrev,
    "__init__ raises": lambda: engine(bad=("self.data = data", "self.data = data / 0")),
    "grad None": lambda: engine(none=("self.grad = 0.0", "self.grad = None")),
    "grad a Value": lambda: engine(value=("other.grad += self.data * out.grad", "other.grad += self * out.grad")),
    "a long error": lambda: engine(long=(CORRECT_TANH, "(1 - t**2) * out.grad if t < 2 else 0\n"
                                                       "            raise ValueError('x' * 5000)")),
    "recursion": lambda: engine(loop=("out = Value(self.data**k", "return self ** k\n        out = Value(0")),
    "a metaclass that raises": raising_value,
}


@pytest.mark.parametrize("answer", CLASSES)
def test_the_grader_says_what_the_lab_says(monkeypatch, answer):
    """rows(name, Value) in JupyterLab == rows(name, Probed(what the probe handed out)) in the grader."""
    monkeypatch.setenv(SEED_ENV_VAR, "4242")
    ex = scalar_engine.engine_exercise()
    Value = CLASSES[answer]()
    verdicts = []
    for name in ex.names:
        lab = ex.rows(name, Value)
        assert repr(ex.rows(name, through_the_grader(scalar_engine, KEY, name, Value))) == repr(lab), name
        verdicts.append(all(row.passed for row in lab))
    assert all(verdicts) == (answer == "right"), verdicts


def lazy_spy(found: list):
    """The solution's Value, whose leaves look around the checker's frames when the checker calls their
    _backward: as a cheat would, for references to copy."""
    Value = engine()
    init = Value.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._backward = lambda: found.extend(checker_frames_holding_answers())
    Value.__init__ = __init__
    return Value


def test_the_probe_holds_no_reference_and_hands_none_out(monkeypatch):
    monkeypatch.setenv(SEED_ENV_VAR, "4242")
    ex = scalar_engine.engine_exercise()
    found = []
    spy = lazy_spy(found)
    assert ex.result("add_mul", spy).passed and found  # in JupyterLab the exercise is there to see
    answers = {round(r.truth.item(), 9) for exercise in ex._exercises.values()
               for r in exercise._references.values()} - {0.0}
    zero = engine()  # no _backward passes anything on: every leaf's grad stays 0
    zero._backward = property(lambda self: (lambda: None), lambda self, function: None)
    for name in ex.names:
        found.clear()
        handed_out = scalar_engine.probe(KEY, name, spy)
        assert found == [], found
        handed_out = scalar_engine.probe(KEY, name, zero)
        numbers = [v for run in handed_out["runs"].values() for v in run.get("grads", {}).values()]
        assert answers.isdisjoint(round(v, 9) for v in numbers if isinstance(v, float)), name


def test_a_graded_kernel_gets_a_hand_in_with_no_reference(monkeypatch):
    from checker.environment import GRADED_ENV_VAR
    from checker.handout import HandIn

    monkeypatch.setenv(GRADED_ENV_VAR, "1")
    ex = scalar_engine.engine_exercise()
    assert type(ex) is HandIn and ex.ready("the graph") and not any(hasattr(ex, a) for a in ANSWER_HOLDERS)


# ---- what the lesson says about running backward twice, measured by its own cells

def _cells_by_id():
    from course import nbgrader_meta, read

    return {nbgrader_meta(c).get("grade_id"): c.source for c in read(NOTEBOOK).cells}


def test_running_backward_twice_is_what_the_lesson_says(capsys):
    import contextlib
    import io
    import re

    cells = _cells_by_id()
    namespace = {"torch": torch, "Value": engine(),
                 "ex": type("Ready", (), {"ready": staticmethod(lambda needed="": True)})()}
    exec(cells["code_015"].split("\n\nif ex.ready")[0], namespace)  # the course's backward_by_counting
    for cell in ("code_run_twice_engine", "code_run_twice"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(cells[cell], namespace)
        namespace[cell] = out.getvalue()
    text = cells["md_run_twice"]
    # the course's walk is not the learner's; a second walk compounds, by the factors the text quotes
    assert not re.search(r"[Yy]our `backward_by_counting`", text)
    claimed = re.search(r"at ([\d.]+), ([\d.]+) and ([\d.]+) times their\s+first values", text).groups()
    measured = re.findall(r"grad / first: +([\d.]+) +([\d.]+) +([\d.]+)", namespace["code_run_twice_engine"])
    assert [tuple(m) for m in measured] == [claimed, claimed], (claimed, measured)
    assert all(float(r) > 5 for r in claimed) and "not a second copy" in text  # not 2: they compound
    # PyTorch: the same gradients again (exactly twice), and a third backward fails on freed saved tensors
    torch_text = cells["md_run_twice_torch"]
    assert "afresh at every\n`backward()`" in torch_text and "counts while it records" not in text + torch_text
    assert "twice its first gradient" in torch_text
    assert "x.grad / first: [2.0, 2.0]" in namespace["code_run_twice"]
    assert re.search(r"a third backward: .*saved tensors after they have already been freed", namespace["code_run_twice"])
