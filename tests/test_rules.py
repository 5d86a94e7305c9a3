"""The rules of an answer (checker/rules.py): autograd's use is flagged with the cell, the line and
the construct; unusual code is for review only; ordinary Python and IPython, in the styles learners
write, and every cell the lessons show, are never flagged. Grading with these rules, end to end, is
in test_grading_integrity.py."""

import re

import nbformat
import pytest

from checker.grading.preprocessors import DECISIONS, FLAG, ApplyRules
from checker.rules import flagged_checks, is_course_cell, judge, namespace, rule_for, scan_code

from course import LESSONS, SOLUTIONS, notebooks, read
from submissions import ALTERNATIVES_A, ALTERNATIVES_B, CHEATS, CHEATS_NEEDING_GRADER

EXERCISE_1 = "04_makemore_atomic_backprop"


def course_cells(lesson):
    return [c.source for relpath in notebooks(LESSONS) if relpath.parts[0] == lesson
            for c in read(LESSONS / relpath).cells if c.cell_type == "code" and is_course_cell(c)]


def scan(source, lesson=EXERCISE_1, answer_cell=True):
    """Every finding in `source`, typed in an answer cell of `lesson`: 'line 2 ...', review ones marked."""
    found = scan_code(source, rule_for(lesson), namespace(course_cells(lesson), [source]), answer_cell)
    return [f"{f} (for review)" if f.review else str(f) for f in found]


# What learners write and the old rules zeroed: none of it is flagged, nor for review.
@pytest.mark.parametrize("lesson, source", [
    (EXERCISE_1, "display(dlogprobs)"),
    (EXERCISE_1, "row = '{:>10} ' * 3\nprint(row.format('name', 'shape', 'max'))"),
    (EXERCISE_1, "device = 'cuda' if torch.cuda.is_available() else 'cpu'\ndh = dh.to(device)"),
    (EXERCISE_1, "torch.set_grad_enabled(False)\ndh = dlogits @ W2.T"),
    (EXERCISE_1, "if hasattr(dlogits, 'shape'):\n    print(dlogits.shape)"),
    (EXERCISE_1, "print(torch.__version__)"),
    (EXERCISE_1, "print(type(dh).__name__, dh.dtype)"),
    (EXERCISE_1, "from typing import Optional\n\ndef grad_of_tanh(h: torch.Tensor, dh: Optional[torch.Tensor]) -> torch.Tensor:\n"
                 "    return (1 - h**2) * dh\n\ndhpreact = grad_of_tanh(h, dh)"),
    (EXERCISE_1, "assert not dlogits.requires_grad"),
    (EXERCISE_1, "%precision 4\ndbnvar = -0.5 * bnvar_inv**3 * dbnvar_inv"),
    (EXERCISE_1, "%timeit dh = dlogits @ W2.T"),
    (EXERCISE_1, "%%time\ndh = dlogits @ W2.T"),
    (EXERCISE_1, "%matplotlib inline"),
    (EXERCISE_1, "with torch.no_grad():\n    dh = dlogits @ W2.T"),
    (EXERCISE_1, "shape = getattr(setup, 'Xb').shape"),
    (EXERCISE_1, "import os\nimport numpy as np"),  # imports are the guard's business
    (EXERCISE_1, "if dlogprobs is None or not ex.result('dlogprobs', dlogprobs, record=False).passed:\n"
                 "    print('not yet')"),  # as lesson 4 shows it
    ("03_mlp_by_hand_digits", "rows = [ex.result(f'd{name}', g, record=False) for name, g in grads.items()]"),  # lesson 3's text
    ("03_mlp_by_hand_digits", "class Lin:\n    def __init__(self, w, b):\n        self.w, self.b = w, b\n"
                              "    def __call__(self, x):\n        self.x = x\n        return x @ self.w + self.b\n"
                              "    def backward(self, dout):\n        self.dw = self.x.T @ dout\n        return dout @ self.w.T\n"
                              "layer = Lin(w1, b1)\nout = layer(xb)\ndx = layer.backward(torch.ones_like(out))"),
    ("03_mlp_by_hand_digits", "class Model:\n    def __init__(self, layers, loss):\n        self.layers, self.loss = layers, loss\n"
                              "    def backward(self):\n        self.loss.backward()\n"
                              "        for l in reversed(self.layers):\n            l.backward()\n"
                              "model = Model([Lin(w1, b1)], Mse())\nmodel.backward()"),  # fastai's layer walk
    ("02_scalar_autograd_engine", "x = Value(2.0)\ny = (x * x).tanh()\ny.backward()\nprint(x.grad, y.grad)"),
    ("02_scalar_autograd_engine", "def backward(self):\n    self.grad = 1.0\n    for v in reversed(topo):\n        v._backward()"),
    ("08_capstone_autograd_function",  # the capstone's gradcheck demo, in an answer cell
     "class Square(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n"
     "        return x * x\n    @staticmethod\n    def backward(ctx, dy):\n        x, = ctx.saved_tensors\n        return 2 * x * dy\n"
     "x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)\ntorch.autograd.gradcheck(Square.apply, (x,))"),
])
def test_ordinary_python_and_ipython_are_never_flagged(lesson, source):
    assert scan(source, lesson) == []


# Unambiguous autograd: flagged, with the line and the construct.
@pytest.mark.parametrize("lesson, source, first", [
    (EXERCISE_1, "dW1 = W1.grad", "line 1 reads `.grad` of a tensor"),  # the lesson's own tensor
    (EXERCISE_1, "lin = torch.nn.Linear(64, 27)\ndW2 = lin.weight.grad", "line 2 reads `.grad` of a tensor"),
    (EXERCISE_1, "x = 1\nF.softmax(logits, 1).sum().backward()", "line 2 calls `.backward(` on a tensor"),
    (EXERCISE_1, "out = torch.nn.Linear(64, 27)(h)\nout.backward(dlogits)", "line 2 calls `.backward(` on a tensor"),
    (EXERCISE_1, "torch.Tensor.backward(loss)", "line 1 calls `.backward(` on a tensor"),
    (EXERCISE_1, "x = h.clone()\nx.requires_grad_()", "line 2 turns `requires_grad` on"),
    (EXERCISE_1, "x = torch.zeros(3, requires_grad=True)", "line 1 turns `requires_grad` on"),
    (EXERCISE_1, "x = h.clone()\nx.requires_grad = True", "line 2 turns `requires_grad` on"),
    (EXERCISE_1, "x = h.clone()\nsetattr(x, 'requires_grad', True)", "line 2 turns `requires_grad` on"),
    (EXERCISE_1, "P = {k: v.detach().requires_grad_() for k, v in setup.params.items()}", "line 1 turns `requires_grad` on"),
    ("07_makemore_training", "p = training.copy_parameters(params, requires_grad=True)", "line 1 turns `requires_grad` on"),
    (EXERCISE_1, "g = torch.autograd.grad(loss, [h])", "line 1 uses `torch.autograd.grad`"),
    (EXERCISE_1, "from torch.autograd import grad\ng = grad(loss, [h])", "line 2 uses `torch.autograd.grad`"),
    (EXERCISE_1, "ag = torch.autograd\ng = ag.grad(loss, [h])", "line 2 uses `torch.autograd.grad`"),
    (EXERCISE_1, "J = torch.autograd.functional.jacobian(torch.tanh, hpreact)",
     "line 1 uses `torch.autograd.functional.jacobian`"),
    (EXERCISE_1, "_, f = torch.func.vjp(torch.tanh, hpreact)", "line 1 uses `torch.func.vjp`"),
    (EXERCISE_1, "dhpreact = torch.ops.aten.tanh_backward(dh, h)",
     "line 1 calls autograd's own derivative `torch.ops.aten.tanh_backward`"),
    (EXERCISE_1, "g = getattr(W1, 'grad')", "line 1 reads `.grad` of a tensor"),
    (EXERCISE_1, "exec('g = W1.grad')", "line 1 reads `.grad` of a tensor"),
    (EXERCISE_1, "%timeit W1.grad", "line 1 reads `.grad` of a tensor"),
    (EXERCISE_1, "match W1:\n    case torch.Tensor(grad=g):\n        pass", "line 2 reads `.grad` of a tensor"),
    (EXERCISE_1, "y = torch.tanh(h)\nfn = y.grad_fn", "line 2 uses autograd's graph (`.grad_fn`)"),
    ("02_scalar_autograd_engine", "import torch\nt = torch.tensor(2.0, requires_grad=True)", "line 2 turns `requires_grad` on"),
    ("02_scalar_autograd_engine", "import torch\nt = torch.tensor(2.0)\ny = torch.tanh(t)\ny.backward()",
     "line 4 calls `.backward(` on a tensor"),
    # the capstone: requires_grad is handed out (gradcheck wants it); autograd's answers are not
    ("08_capstone_autograd_function",
     "class Tanh(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n"
     "        return torch.tanh(x)\n    @staticmethod\n    def backward(ctx, dy):\n        x, = ctx.saved_tensors\n"
     "        with torch.enable_grad():\n            x = x.detach().requires_grad_()\n            y = x.tanh()\n"
     "        y.backward(dy)\n        return x.grad", "line 12 calls `.backward(` on a tensor"),
    ("08_capstone_autograd_function", "g = torch.autograd.grad(y, x)", "line 1 uses `torch.autograd.grad`"),
    ("08_capstone_autograd_function", "x = torch.randn(3, requires_grad=True)\ntorch.tanh(x).sum().backward()",
     "line 2 calls `.backward(` on a tensor"),
])
def test_autograd_use_is_flagged_with_its_line_and_construct(lesson, source, first):
    found = scan(source, lesson)
    assert found and found[0] == first, found


# Unusual and maybe innocent: for review, never flagged.
@pytest.mark.parametrize("lesson, source, answer_cell, review", [
    (EXERCISE_1, "T = makemore.forward(setup.params, Xb, Yb)", True,
     "line 1 runs the lesson's forward pass (`makemore.forward(`): numerical differentiation looks like that"),
    ("05_makemore_fused_cross_entropy", "loss = F.cross_entropy(logits, Yb)", True,
     "line 1 runs the lesson's forward pass (`F.cross_entropy(`): numerical differentiation looks like that"),
    ("07_makemore_training", "cache = training.forward(params, Xb, Yb)", True,
     "line 1 runs the lesson's forward pass (`training.forward(`): numerical differentiation looks like that"),
    (EXERCISE_1, "name = 'gr' + 'ad'\ng = getattr(W1, name)", True, "line 2 `getattr` with a name made at run time"),
    (EXERCISE_1, "code = 'g = 1'\nexec(code)", True, "line 2 runs code made at run time (`exec`)"),
    (EXERCISE_1, "v = eval(input())", True, "line 1 runs code made at run time (`eval`)"),
    (EXERCISE_1, "for _ in range(9):\n    c = ex.result('dlogprobs', d, record=False)\n    d[0, 0] += c.maxdiff", True,
     "line 3 reads a check's report (`.maxdiff`) in a loop"),
    (EXERCISE_1, "%env SEED=1", True, "line 1 uses the IPython magic `%env`"),
    (EXERCISE_1, "!ls", True, "line 1 runs a shell command"),
    (EXERCISE_1, "x = h.clone()\nx.requires_grad_(flag)", True,
     "line 2 turns `requires_grad` on (by a value computed at run time)"),
])
def test_what_is_unusual_is_for_review_only(lesson, source, answer_cell, review):
    assert scan(source, lesson, answer_cell) == [f"{review} (for review)"]


def test_the_forward_pass_is_for_review_only_in_answer_cells_of_exercises_1_to_4():
    assert scan("T = makemore.forward(setup.params, Xb, Yb)", answer_cell=False) == []
    assert scan("loss = F.cross_entropy(logits, target)", "01_chain_rule_building_blocks") == []


@pytest.mark.parametrize("name, answers", [("A", ALTERNATIVES_A), ("B", ALTERNATIVES_B)])
def test_right_answers_in_other_styles_are_not_flagged(name, answers):
    assert len(answers) == 26
    assert {grade_id: scan(code) for grade_id, code in answers.items() if scan(code)} == {}


# (those the graded kernel's guard refuses at run time are the guard's evidence, test_guard.py)
@pytest.mark.parametrize("cheat", [name for name, (_, status, words) in CHEATS.items()
                                   if status == "flagged" and "kernel refused" not in words])
def test_every_flagged_cheat_names_its_construct(cheat):
    answers, _, words = CHEATS[cheat]
    found = [f for f in scan(answers[next(iter(answers))]) if "(for review)" not in f]
    assert found and words in found[0], found


@pytest.mark.parametrize("cheat", ["exercise_as_oracle", "scoreboard_as_oracle"])
def test_the_exercise_as_an_oracle_is_for_review(cheat):
    """The oracle finds the answer under the kernel's references; once verdicts are made in the
    grader, it finds nothing there. Until then, the instructor is told."""
    found = scan(CHEATS_NEEDING_GRADER[cheat]["answer_dlogprobs"])
    assert found and all("(for review)" in f for f in found) and "in a loop" in found[0]


# Every cell a lesson shows, as if a learner typed it into a cell of their own, passes: except these,
# which show PyTorch's own autograd at work, as the lesson's text says answers may not.
AUTOGRAD_DEMONSTRATIONS = {
    ("01_chain_rule_building_blocks", "w = torch.linspace(-2, 2, 5)"),
    ("01_chain_rule_building_blocks", 'blk = setup.block("softmax_jacobian")'),  # the checker's Jacobian, shown
    ("02_scalar_autograd_engine", "x = torch.tensor([1.5, -0.5], dtype=torch.float64, requires_grad=True)"),
    ("02_scalar_autograd_engine", "import warnings"),
    ("02_scalar_autograd_engine", "x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, requires_grad=True)"),
    ("02_scalar_autograd_engine", "t = torch.ones(3, requires_grad=True) * 2"),
    ("02_scalar_autograd_engine", "p = torch.tensor([1.0, 2.0], requires_grad=True)"),
    ("03_mlp_by_hand_digits", "from dataclasses import replace"),
    ("03_mlp_by_hand_digits", "if classifier is None:"),  # the checker's ROC area beside the learner's
    ("07_makemore_training", "if backward is None:"),
    ("07_makemore_training", "fast_params = training.copy_parameters(params)"),
    ("08_capstone_autograd_function", "x = torch.randn(4, generator=g, requires_grad=True)"),
    ("08_capstone_autograd_function", "if ex.ready():"),
}
HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


@pytest.mark.parametrize("folder", [SOLUTIONS, LESSONS], ids=["solutions", "lessons"])
def test_every_cell_a_lesson_shows_passes_the_rules(folder):
    flagged = set()
    for relpath in notebooks(folder):
        lesson = relpath.parts[0]
        cells = [c for c in read(folder / relpath).cells if c.cell_type == "code"]
        for cell in cells:
            shown = HIDDEN_TESTS.sub("", cell.source)  # the learner never sees the hidden tests
            others = [c.source for c in cells if c is not cell and is_course_cell(c)]
            found = scan_code(shown, rule_for(lesson), namespace(others, [shown]), not is_course_cell(cell))
            assert not [f for f in found if f.review], (lesson, shown[:80], found)
            if found:
                assert is_course_cell(cell), (lesson, shown[:80], found)
                flagged.add((lesson, shown.splitlines()[0]))
    assert flagged == AUTOGRAD_DEMONSTRATIONS


# Lesson text that offers autograd ("call `loss.backward()`") must say in the same sentence that
# answers may not: lesson 2's `.grad` and `.backward()` are its Value's own.
ADVICE = re.compile(r"\b(call|use|read|try|run|compare)\w*\b[^.\n]{0,40}`[^`]*"
                    r"(\.grad\b|\.backward\(|requires_grad|torch\.autograd\.(?!Function)|torch\.func\b)[^.]*\.?", re.I)


@pytest.mark.parametrize("relpath", notebooks(SOLUTIONS), ids=str)
def test_no_lesson_text_offers_what_the_rules_forbid(relpath):
    for cell in read(SOLUTIONS / relpath).cells:
        if cell.cell_type != "markdown":
            continue
        for match in ADVICE.finditer(cell.source):
            if relpath.parts[0] == "02_scalar_autograd_engine" and match.group(2) in (".grad", ".backward("):
                continue
            around = cell.source[max(0, match.start() - 40):match.end() + 80]
            assert "may not" in around, match.group(0)


@pytest.mark.parametrize("relpath", notebooks(SOLUTIONS), ids=str)
def test_no_lesson_flags_its_own_solutions_or_its_blank_lesson(relpath):
    for folder in (SOLUTIONS, LESSONS):
        verdict = judge(read(folder / relpath).cells, relpath.parts[0])
        assert (verdict.broke, verdict.review) == (None, [])


def code(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def notebook_with_an_offense():
    return [
        code("import torch\nfrom checker.lessons import makemore\nW = torch.ones(2, requires_grad=True)\nW.grad",
             locked=True),  # the course's own cells are trusted
        code("a = 1", solution=True, grade_id="answer_a"),
        code("check(a)", grade=True, grade_id="check_a", locked=True),
        code("x = 1\nb = W.grad"),  # a cell the learner added
        code("check(b)", grade=True, grade_id="check_b", locked=True),
        code("c = 2", solution=True, grade_id="answer_c"),
        code("check(c)", grade=True, grade_id="check_c", locked=True),
        code("import torch\nW = torch.ones(2, requires_grad=True)\nW.grad"),  # a course cell unlocked by hand is still the course's
    ]


def test_checks_from_the_first_offense_on_are_flagged():
    findings = flagged_checks(notebook_with_an_offense(), EXERCISE_1)
    assert set(findings) == {"check_b", "check_c"}
    assert findings["check_b"] == ("cell 4 line 2 reads `.grad` of a tensor; this course's answers must be derived "
                                   "by hand, so checks from there on earn no points")


def test_what_the_guard_refused_is_evidence_like_a_rule():
    cells = notebook_with_an_offense()
    cells[3] = code("b = 2")
    cells[5].execution_count = 7
    refusals = [{"event": "calls `torch.autograd.grad`", "detail": "from a helper", "execution_count": 7, "line": 3},
                {"event": "calls `.backward(`", "cell": 0, "line": 1}]  # the course's own cell: not the learner's
    assert flagged_checks(cells, EXERCISE_1, refusals) == {
        "check_c": "answer_c line 3 ran code the grading kernel refused: calls `torch.autograd.grad` (from a "
                   "helper); this course's answers must be derived by hand, so checks from there on earn no points"}


def apply_rules(cells, course, student="alice"):
    nb = nbformat.v4.new_notebook(cells=cells)
    preprocessor = ApplyRules()
    preprocessor.config.CourseDirectory.root = str(course)
    nb, _ = preprocessor.preprocess(nb, {"nbgrader": {"assignment": EXERCISE_1, "student": student}})
    return nb


def test_apply_rules_zeroes_flagged_checks_and_notes_items_for_review(tmp_path):
    cells = notebook_with_an_offense()
    cells[1] = code("a = 1\nT = makemore.forward(setup.params, Xb, Yb)", solution=True, grade_id="answer_a")
    nb = apply_rules(cells, tmp_path)
    assert [c.outputs[0]["ename"] for c in nb.cells if c.outputs and c.outputs[0].get("output_type") == "error"] == [FLAG, FLAG]
    note = nb.cells[1].outputs[-1]["data"]["text/plain"]
    assert note == ("For your instructor's review: answer_a line 2 runs the lesson's forward pass (`makemore.forward(`): "
                    "numerical differentiation looks like that. Your score is not affected.")
    assert nb.metadata[DECISIONS]["flagged"].startswith("cell 4 line 2 reads `.grad`")
    assert nb.metadata[DECISIONS]["for_review"] == [note[len("For your instructor's review: "):-len(". Your score is not affected.")]]


def test_an_overrule_in_the_course_leaves_the_checks_their_points(tmp_path):
    (tmp_path / "overrules.csv").write_text(f"student_id,assignment,note\nalice,{EXERCISE_1},read it: her own tensor\n")
    nb = apply_rules(notebook_with_an_offense(), tmp_path)
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    assert nb.metadata[DECISIONS]["flagged"] == ""
    assert nb.metadata[DECISIONS]["overruled"].startswith("flag overruled by the instructor: read it: her own tensor "
                                                          "(the rules said: cell 4 line 2 reads `.grad`")
    assert apply_rules(notebook_with_an_offense(), tmp_path, student="bob").metadata[DECISIONS]["flagged"]


def test_the_learner_sees_the_graders_verdict_in_their_kernel(tmp_path):
    """In a real kernel, as in JupyterLab: a check run before the offending cell is unaffected, every
    check after it reports the rule, in the words the grade will use, before any grade."""
    from nbclient import NotebookClient

    from course import solutions_by_id, with_answers

    folder = tmp_path / EXERCISE_1
    folder.mkdir()
    answers = solutions_by_id(SOLUTIONS / EXERCISE_1 / "makemore_atomic_backprop.ipynb")
    answers["answer_dprobs"] = "dprobs = (1.0 / probs) * dlogprobs\n_p = W1.detach().clone().requires_grad_()"
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
        # the offending line, whole and without its comment; "which" at most once
        assert "line 3 of a cell you ran, `_p = W1.detach().clone().requires_grad_()`, turns `requires_grad` on: " \
            "this course's answers must be derived by hand, so when graded every check from that cell on scores 0" \
            in report, report
        assert report.count("which") <= 1, report


# Walks around the scan a red team found (tests/attacks.py): the real module or builtin handed in
# where Python evaluates it in the enclosing scope, reached through a class, or rebound by a pattern.
@pytest.mark.parametrize("source, words", [
    ("def f(torch=torch):\n    return torch.autograd.functional.vjp(lambda x: x.log(), probs, probs)\nd = f()",
     "uses autograd's `autograd.functional.vjp`"),
    ("t = [torch for torch in [torch]][0]\ng = t.autograd.grad", "uses autograd's `autograd.grad`"),
    ("class K:\n    T = torch\nj = K.T.autograd.functional.jacobian", "uses autograd's `autograd.functional.jacobian`"),
    ("def f(tt=torch):\n    return tt.func.vjp", "uses autograd's `func.vjp`"),
    ("def f(m=makemore):\n    return m.autograd_gradients(setup.params, Xb, Yb, torch.float32)",
     "uses the checker's own gradients (`.autograd_gradients`)"),
    ("G = vars(makemore)['autograd_gradients']", "uses the checker's own gradients"),
    ("from checker.lessons.makemore import autograd_gradients as g", "imports the checker's own gradients"),
    ("match 1:\n    case exec:\n        pass", "rebinds the builtin `exec`, which the hidden tests use"),
    ("open = lambda *a, **k: None", "rebinds the builtin `open`, which the hidden tests use"),
], ids=["default-argument", "comprehension", "class-body", "torch.func", "checker-helper-default",
        "checker-helper-by-string", "checker-helper-import", "match-rebinds-exec", "open-rebound"])
def test_an_alias_does_not_hide_autograd_or_the_checkers_gradients(source, words):
    found = scan(source)
    assert found and words in found[0] and "(for review)" not in found[0], found


@pytest.mark.parametrize("source, words", [
    ("def f(g=getattr):\n    return g(probs, 'gr' + 'ad')", "passes the builtin `getattr` around as a value"),
    ("def f(e=exec):\n    e('x = 1')", "passes the builtin `exec` around as a value"),
    ("import functools\nclass W: pass\nw = functools.update_wrapper(W(), probs, assigned=('grad',))",
     "names autograd's attribute `grad` as a string"),
])
def test_a_builtin_handed_around_or_an_attribute_named_as_a_string_is_for_review(source, words):
    found = scan(source)
    assert found and all("(for review)" in f for f in found) and words in found[0], found


def test_an_answer_cell_marked_locked_is_still_the_learners(tmp_path):
    """nbgrader restores locked cells but not a solution cell a learner marked locked: which cells
    are the course's is read from the lesson's source."""
    cells = [c for c in notebook_with_an_offense() if "nbgrader" in c.metadata]  # no added cell
    answer = next(c for c in cells if c.metadata["nbgrader"].get("grade_id") == "answer_c")
    answer.source = "c = W.grad"
    answer.metadata["nbgrader"]["locked"] = True
    assert judge(cells, EXERCISE_1).broke is None  # by the submitted metadata alone: missed
    course_ids = frozenset(c.metadata["nbgrader"].get("grade_id") for c in cells
                           if c.metadata.get("nbgrader", {}).get("locked") and not c.metadata["nbgrader"].get("solution"))
    assert judge(cells, EXERCISE_1, course_ids=course_ids).broke is not None
