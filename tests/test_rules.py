"""The lessons' rules (checker/rules.py): what a learner's cells may use. Cheats are flagged with
the line and the construct named; right answers in any style, and every lesson's own solutions,
are not. Grading with these rules, end to end, is in test_grading_integrity.py."""

import nbformat
import pytest

from checker.rules import flagged_checks, namespace, rule_for, scan_cells, scan_code

from course import LESSONS, SOLUTIONS, notebooks, read
from submissions import ALTERNATIVES_A, ALTERNATIVES_B, CHEATS

EXERCISE_1 = "04_makemore_atomic_backprop"
COURSE_CELLS = [c.source for c in read(LESSONS / EXERCISE_1 / "makemore_atomic_backprop.ipynb").cells
                if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("locked")]


def scan(source, lesson=EXERCISE_1, course=COURSE_CELLS):
    found = scan_code(source, rule_for(lesson), namespace(course, [source]))
    return str(found) if found else None


@pytest.mark.parametrize("source, found", [
    ("dW = W.grad", "line 1 uses `.grad`"),
    ("x = 1\nloss.backward()", "line 2 uses `.backward(`"),
    ("h.retain_grad()", "line 1 uses `retain_grad`"),
    ("g = torch.autograd.grad(loss, [h])", "line 1 uses the module `torch.autograd`"),
    ("from torch.autograd import grad", "line 1 imports `torch.autograd`"),
    ("import torch.autograd as ag", "line 1 imports `torch.autograd`"),
    ("d = getattr(W, 'grad')", "line 1 uses `getattr`"),
    ("d = ex._references['W'].expected", "line 1 uses `ex._references`, which the lesson does not hand out"),
    ("_, f = torch.func.vjp(torch.tanh, h)", "line 1 uses the module `torch.func`"),
    ("dx = torch.ops.aten.tanh_backward(dh, h)", "line 1 uses the module `torch.ops`"),
    ("y = torch.vmap(torch.sin)(h)", "line 1 uses `torch.vmap` (from `torch.func`)"),
    ("with torch.enable_grad():\n    pass", "line 1 uses `torch.enable_grad` (from `torch.autograd.grad_mode`)"),
    ("x = torch.os.environ", "line 1 reaches the module `os` through `torch.os`"),
    ("m = F.torch.autograd", "line 1 uses the module `torch.autograd` as a value"),
    ("f(torch)", "line 1 uses the module `torch` as a value"),
    ("import os", "line 1 imports `os`"),
    ("from torch import nn", "line 1 uses the module `torch.nn`"),
    ("lin = torch.nn.Linear(3, 4)", "line 1 uses the module `torch.nn`"),
    ("p = torch.nn.Parameter(h)", "line 1 uses the module `torch.nn`"),
    ("a = torch.load('a.pt')", "line 1 uses `torch.load` (from `torch.serialization`)"),
    ("exec('x = 1')", "line 1 uses `exec`"),
    ("v = vars(ex)", "line 1 uses `vars`"),
    ("g = globals()", "line 1 uses `globals`"),
    ("m = __import__('os')", "line 1 uses `__import__`"),
    ("d = type(ex).__dict__", "line 1 uses `.__dict__`"),
    ("ex = None", "line 1 rebinds the checker's `ex`"),
    ("del setup", "line 1 rebinds the checker's `setup`"),
    ("def show(x):\n    pass", None),  # `show` is not imported in this lesson: a learner's own name
    ("torch = None", "line 1 rebinds the module `torch`"),
    ("import numpy as torch", "line 1 binds `torch` to something else"),
    ("open = print", "line 1 rebinds the builtin `open`"),
    ("def f():\n    global ex\n    ex = 1", "line 3 rebinds the checker's `ex`"),
    ("F.softmax = lambda x, d: x", "line 1 changes the module attribute `F.softmax`"),
    ("setup.params = {}", "line 1 changes the checker's `setup.params`"),
    ("g = makemore.autograd_gradients(setup.params, Xb, Yb, torch.float32)",
     "line 1 uses the checker's `checker.lessons.makemore.autograd_gradients`"),
    ("m = makemore", "line 1 uses the module `makemore` as a value"),
    ("c = ex.result('dW1', dW1)", "line 1 uses `ex.result`, which the lesson does not hand out"),
    ("board = ex.summary()\nworst = board.checks[0]", "line 2 reads a check's report as a value (`.checks`)"),
    ("def f(c):\n    return c.maxdiff", "line 2 reads a check's report as a value (`.maxdiff`)"),
    ("class Note:\n    def __init__(self):\n        self.reason = 'mine'", None),  # a learner's own field
    ("%env A=1", "line 1 uses the IPython magic `%env`"),
    ("!ls", "line 1 runs a shell command"),
    ("x = !cat /etc/passwd", "line 1 runs a shell command"),
    ("%timeit loss.backward()", "line 1 uses `.backward(`"),
    ("%%timeit\nx = h.grad", "line 2 uses `.grad`"),
    ("ns = get_ipython().user_ns", "line 1 uses IPython's `get_ipython`"),
    ("s = '{0._references[logprobs].expected}'.format(ex)",
     "line 1 reads `{0._references[logprobs].expected}` through a format string"),
    ("s = str.format('{0.grad}', h)", "line 1 reads `{0.grad}` through a format string"),
    ("s = '{0:{1.grad}}'.format(1, h)", "line 1 reads `{1.grad}` through a format string"),
    ("fmt = '{0.grad}'\ns = fmt.format(h)", "line 2 uses `.format` with a template built at run time "
                                           "(its fields could read any attribute); write the template out, or use an f-string"),
    ("x = Out[3]", "line 1 uses IPython's `Out`"),
    ("match h:\n    case torch.Tensor(grad=g):\n        pass", "line 2 uses `.grad`"),
    ("ｇｅｔａｔｔｒ(h, 'grad')", "line 1 uses `getattr`"),  # identifiers are NFKC-normalised
    ("def f(getattr):\n    pass\ngetattr(h, 'grad')", "line 3 uses `getattr`"),
    ("class A:\n    vars = 1\n    def f(self):\n        return vars(self)", "line 4 uses `vars`"),
])
def test_flags_what_the_rules_do_not_allow(source, found):
    assert scan(source) == found


@pytest.mark.parametrize("source", [
    "dW = h.T @ dlogits  # not W.grad, by hand",
    "print('call loss.backward() in the video')",
    "dgrad = 2 * h",
    "%timeit h.sum()",
    "%matplotlib inline",
    "h?",
    "this is not python (",
    "def forward(self, input):\n    return input * 2",  # a parameter may share a builtin's name
    "def f():\n    ex = 1\n    return ex",  # a local may share the checker's names
    "sum = 0\nfor i in range(3):\n    sum += i",
    "with torch.no_grad():\n    y = h * 2",
    "ex.check('dh', dh)\nex.summary()",
    "from checker import cmp",
    "y = torch.nn.functional.softmax(logits, 1)",
    "import numpy as np\nz = np.random.default_rng(0).normal(size=3)",
    "class Layer:\n    def __init__(self, w):\n        self._w = w\n    def __call__(self, x):\n        return x @ self._w",
    "s = setup.Xb.shape",
    "x = isinstance(h, torch.Tensor)",
    "t = torch.float32",
    "import torch.nn.functional as F",
    "print('{:.4f} and {}'.format(loss.item(), dh.shape))",
    "s = '{name}: {value:.3e}'.format(name='dh', value=1.0)",
])
def test_ordinary_python_is_allowed(source):
    assert scan(source) is None


@pytest.mark.parametrize("name, answers", [("A", ALTERNATIVES_A), ("B", ALTERNATIVES_B)])
def test_right_answers_in_other_styles_are_not_flagged(name, answers):
    assert len(answers) == 26
    assert {grade_id: scan(code) for grade_id, code in answers.items() if scan(code)} == {}


@pytest.mark.parametrize("cheat", CHEATS)
def test_every_cheat_is_flagged_with_its_construct(cheat):
    answers, reason = CHEATS[cheat]
    first = next(iter(answers))
    assert reason in (scan(answers[first]) or ""), scan(answers[first])


@pytest.mark.parametrize("relpath", notebooks(SOLUTIONS), ids=str)
def test_no_lesson_flags_its_own_solutions_or_its_blank_lesson(relpath):
    for folder in (SOLUTIONS, LESSONS):
        assert scan_cells(read(folder / relpath).cells, relpath.parts[0]) == []


@pytest.mark.parametrize("lesson, source, found", [
    # the scalar engine: the learner's own .grad, .backward() and _prev are the lesson; torch is not
    ("02_scalar_autograd_engine", "self.grad += out.grad\nout._backward()\nv._prev", None),
    ("02_scalar_autograd_engine", "import torch", "line 1 imports `torch`"),
    ("02_scalar_autograd_engine", "x = 1\ny = torch.tensor(2.0)", "line 2 uses the module `torch`"),
    ("02_scalar_autograd_engine", "x = v.__dict__", "line 1 uses `.__dict__`"),
    # the capstone: subclassing torch.autograd.Function is the lesson; reading gradients is not
    ("08_capstone_autograd_function", "class Tanh(torch.autograd.Function):\n    pass", None),
    ("08_capstone_autograd_function", "from torch.autograd import Function", None),
    ("08_capstone_autograd_function", "g = torch.autograd.grad(y, x)", "line 1 uses the module `torch.autograd`"),
    ("08_capstone_autograd_function", "y.backward()", "line 1 uses `.backward(`"),
    ("08_capstone_autograd_function", "import functorch", "line 1 imports `functorch`"),
    # every other lesson: the default rule
    (EXERCISE_1, "from torch.autograd import Function", "line 1 imports `torch.autograd`"),
])
def test_lessons_that_use_autograds_vocabulary_have_their_own_rule(lesson, source, found):
    assert scan(source, lesson, course_cells(lesson)) == found


def course_cells(lesson):
    return [c.source for relpath in notebooks(LESSONS) if relpath.parts[0] == lesson
            for c in read(LESSONS / relpath).cells if c.metadata.get("nbgrader", {}).get("locked")]


@pytest.mark.parametrize("lesson, source, found", [
    # a lesson module the course binds hands out what a learner may call again, not its helpers
    ("01_chain_rule_building_blocks", 'dV = chain_rule.autograd_references(chain_rule.soft_cross_entropy, {"V": V})',
     "line 1 uses the checker's `checker.lessons.chain_rule.autograd_references`"),
    ("01_chain_rule_building_blocks", "dz = chain_rule.softmax_jacobian(z).T @ dp",
     "line 1 uses the checker's `checker.lessons.chain_rule.softmax_jacobian`"),
    ("01_chain_rule_building_blocks", "loss = chain_rule.focal_loss(G, Cg, chain_rule.FOCAL_GAMMA)", None),
    ("02_scalar_autograd_engine", "order = scalar_engine.topological_order(out)",
     "line 1 uses the checker's `checker.lessons.scalar_engine.topological_order`"),
    ("03_mlp_by_hand_digits", "auc_pairs = lambda s, l: digits_evaluation.roc_area(s, l)",
     "line 1 uses the checker's `checker.lessons.digits_evaluation.roc_area`"),
    ("03_mlp_by_hand_digits", "t = digits_evaluation.THRESHOLD", None),
    # an exercise under another name than `ex` hands out what `ex` does
    ("01_chain_rule_building_blocks", 'dq = ex_graph.chain.given("q", {"g": g})',
     "line 1 uses `ex_graph.chain`, which the lesson does not hand out"),
    ("01_chain_rule_building_blocks", 'ex_dot.preview("da", ds * b)', None),
    ("03_mlp_by_hand_digits", "cases = ex_evaluation.samples",
     "line 1 uses `ex_evaluation.samples`, which the lesson does not hand out"),
])
def test_lesson_modules_and_exercises_hand_out_their_api_only(lesson, source, found):
    assert scan(source, lesson, course_cells(lesson)) == found


def code(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def test_checks_from_the_first_offense_on_are_flagged():
    cells = [
        code("import torch\nW = torch.ones(2)\nW.grad", locked=True),  # the course's own cells are trusted
        code("a = 1", solution=True, grade_id="answer_a"),
        code("check(a)", grade=True, grade_id="check_a", locked=True),
        code("b = W.grad"),  # a cell the learner added
        code("check(b)", grade=True, grade_id="check_b", locked=True),
        code("c = 2", solution=True, grade_id="answer_c"),
        code("check(c)", grade=True, grade_id="check_c", locked=True),
        code("import torch\nW = torch.ones(2)\nW.grad"),  # a course cell unlocked by hand is still the course's
    ]
    findings = flagged_checks(cells, EXERCISE_1)
    assert set(findings) == {"check_b", "check_c"}
    assert findings["check_b"].startswith("cell 4 line 1 uses `.grad`; this course's answers must be derived by hand")


def test_the_learner_sees_the_graders_verdict_in_their_kernel(tmp_path):
    """In a real kernel, as in JupyterLab: a check run before the offending cell is unaffected, every
    check after it reports the rule, in the words the grade will use, before any grade."""
    from nbclient import NotebookClient

    from course import solutions_by_id, with_answers

    folder = tmp_path / EXERCISE_1
    folder.mkdir()
    answers = solutions_by_id(SOLUTIONS / EXERCISE_1 / "makemore_atomic_backprop.ipynb")
    answers["answer_dprobs"] = "dprobs = (1.0 / probs) * dlogprobs\n_leak = getattr(probs, 'gr' + 'ad')"
    nb = with_answers(read(LESSONS / EXERCISE_1 / "makemore_atomic_backprop.ipynb"), answers)
    nbformat.write(nb, folder / "makemore_atomic_backprop.ipynb")  # the kernel starts beside its notebook
    NotebookClient(nb, kernel_name="backprop-ninja", timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()

    def shown(grade_id):
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") + o.get("evalue", "")
                       for o in cell.outputs)

    assert "correct" in shown("check_dlogprobs") and "a cell you ran" not in shown("check_dlogprobs")
    for later in ("check_dprobs", "check_dC"):
        report = shown(later)
        assert "a cell you ran (`dprobs = None  # TODO" in report, report
        assert "line 3 uses `getattr`" in report and "every check from that cell on scores 0" in report


def test_a_checker_module_no_rule_lists_hands_out_nothing():
    """A course cell that binds a part of the checker no rule lists (its references, its grading)
    gives the learner none of it."""
    course = ["from checker import references\nfrom checker.grading import verify"]
    assert scan("g = references.autograd_references(f, {'x': x})", course=course) == \
        "line 1 uses the checker's `checker.references.autograd_references`"
    assert scan("verify.hidden_check('exercise1', 'dW1', dW1)", course=course) == \
        "line 1 uses the checker's `checker.grading.verify.hidden_check`"
