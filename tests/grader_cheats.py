"""Cheats that worked while a graded kernel held the references and decided its own verdicts, and
that verdicts made in the grader (checker/grading/judge.py) defeat: each is typed into a BLANK
lesson, so nothing but the cheat could earn a point, and each must score 0 (the sheet of zeros
scores its true-zero steps only: `expected`).

Each entry: lesson notebook, {answer cell grade_id: code}, cells added ({grade_id: code}: a cell of
the learner's own just before that cell), the score it must get.
"""

from checker.lessons import makemore
from submissions import CHEATS_NEEDING_GRADER, CHEATS_NEEDING_GUARD

EX1 = "04_makemore_atomic_backprop/makemore_atomic_backprop.ipynb"
EX2 = "05_makemore_fused_cross_entropy/makemore_fused_cross_entropy.ipynb"
EX3 = "06_makemore_fused_batchnorm/makemore_fused_batchnorm.ipynb"
EX4 = "07_makemore_training/makemore_training.ipynb"
LESSON1 = "01_chain_rule_building_blocks/chain_rule_building_blocks.ipynb"
ORDER = makemore.GRADIENT_ORDER


def every_answer(code_for) -> dict:
    return {f"answer_d{name}": code_for(name) for name in ORDER}


# An IPython input transformer that turns every later cell that checks an answer into `pass`,
# registered through a generator frame's globals (no `get_ipython` in the source).
SILENCE_CHECK_CELLS = (
    "def _gen():\n    yield\n"
    "_g = _gen()\n"
    "_ip = _g.gi_frame.f_globals['get_ipython']()\n"
    "_ip.input_transformers_post.append(lambda lines: ['pass\\n'] if any('check' in l for l in lines) else lines)\n")

# The hidden test runs `exec(open(verify.py).read(), ...)`: with exec a no-op it never checks.
EXEC_REPLACED = "import builtins\nbuiltins.exec = lambda *args, **kwargs: None\n"

# A tensor whose comparisons all say yes: in a kernel that compared, it passed every check.
SAYS_YES = (
    "class _Yes(torch.Tensor):\n"
    "    @classmethod\n"
    "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
    "        name = getattr(func, '__name__', '')\n"
    "        if name in ('allclose', 'equal', 'eq', '__eq__', 'isclose'):\n"
    "            return True\n"
    "        return super().__torch_function__(func, types, args, kwargs or {})\n")

# A hook that displays, in every check cell, a forged hand-in of the right shape after the real one.
FORGED_HAND_IN = (
    "from IPython.display import display\n"
    "def _forge(result):\n"
    "    display({'application/vnd.backprop-ninja.answer+json': {'exercise': 'exercise1', 'label': 'dlogprobs',\n"
    "             'answer': {'kind': 'tensor', 'dtype': 'float32', 'shape': [32, 27], 'requires_grad': False,\n"
    "                        'device': 'cpu', 'data': ''}}}, raw=True)\n"
    "get_ipython().events.register('post_run_cell', _forge)\n")

# A number returned by a check cell is nbgrader's partial credit: make every check cell return 1.0.
PARTIAL_CREDIT = (
    "def _one(result):\n"
    "    get_ipython().displayhook(1.0)\n"
    "get_ipython().events.register('post_run_cell', _one)\n")

# Reading the report's text for torch.testing's "greatest difference ... at index": an oracle.
REPORT_TEXT_ORACLE = (
    "dlogprobs = torch.zeros_like(logprobs)\n"
    "for _ in range(100):\n"
    "    text = str(ex.result('dlogprobs', dlogprobs, record=False))\n"
    "    if 'at index (' not in text:\n        break\n"
    "    i, j = (int(k) for k in text.split('at index (')[1].split(')')[0].split(','))\n"
    "    dlogprobs[i, j] -= 1.0 / n\n")

CHEATS = {
    # name: (notebook, answers, cells added, score it must get)
    "references_through_self": (EX1, every_answer(
        lambda name: f"self = ex\nd{name} = self._references['{name}'].expected.clone()"), {}, 0),
    "references_through_type": (EX1, every_answer(
        lambda name: f"E = type(ex)\nd{name} = E.__dict__['result'](ex, 'd{name}', None).expected"), {}, 0),
    "carried_forward_chain_given": (EX1, every_answer(
        lambda name: f"d{name} = ex.chain.given('{name}', {{}}).expected"), {}, 0),
    "report_text_oracle": (EX1, {"answer_dlogprobs": REPORT_TEXT_ORACLE}, {}, 0),
    "tensor_that_says_yes": (EX1, every_answer(
        lambda name: f"d{name} = torch.zeros(1).as_subclass(_Yes)"), {"answer_dlogprobs": SAYS_YES}, 0),
    "exec_replaced": (EX1, {}, {"answer_dlogprobs": EXEC_REPLACED}, 0),
    "check_cells_silenced": (EX1, {}, {"answer_dlogprobs": SILENCE_CHECK_CELLS}, 0),
    "forged_hand_in": (EX1, {}, {"answer_dlogprobs": FORGED_HAND_IN}, 0),
    "partial_credit_forged": (EX1, {}, {"answer_dlogprobs": PARTIAL_CREDIT}, 0),
    # every step "right given" a zero upstream: only the steps whose true gradient is zero score
    "sheet_of_zeros": (EX1, every_answer(lambda name: f"d{name} = torch.zeros_like({name})"), {}, 2),  # dlogit_maxes, db1
    "references_of_exercise_2": (EX2, {"answer_dlogits": "dlogits = ex._references['logits'].expected.clone()"}, {}, 0),
    "given_as_answer_exercise_3": (EX3, {"answer_dhprebn": "dhprebn = ex.given['dhpreact'].clone()"}, {}, 0),
    # Exercise 4's result from variables set by hand: the grader computes it from the parameters
    "training_result_typed_in": (EX4, {}, {"check_training": "lossi = [0.0] * 1000\nval_loss = 1.0\n"}, 0),
    "lesson1_references": (LESSON1, {"answer_dx": "dx = ex_scalar._references['x'].expected.clone()"}, {}, 0),
}

# The cheats on the checker's own state in the kernel, which the rules no longer name: typed into
# a blank Exercise 1, each scores 0.
CHEATS.update({f"kernel_{name}": (EX1, answers, {}, 0) for name, answers in CHEATS_NEEDING_GRADER.items()})
CHEATS.update({f"guarded_{name}": (EX1, answers, {}, 0) for name, answers in CHEATS_NEEDING_GUARD.items()})
