"""The guard (checker/grading/guard.py) in real graded kernels, warm and cold, through CourseExecute:
what a learner's cell may not do is refused and recorded for the grader, and what ordinary learner
code and the libraries do is not. (The lessons' own solutions, with zero refusals: test_grading.py.)"""

import nbformat
import pytest
from traitlets.config import Config

from checker.grading import guard
from checker.grading.preprocessors import CourseExecute

# (cell, the event the guard records, a word of its detail); each cell is refused
REFUSED = [
    ("def g():\n    yield 1\ng().gi_frame.f_back.f_builtins['getattr']", "object.__getattr__", "gi_frame"),
    ("try:\n    1 / 0\nexcept Exception as error:\n    error.__traceback__.tb_frame.f_globals", "object.__getattr__", "tb_frame"),
    ("torch.sys._getframe()", "sys._getframe", ""),
    ("torch.sys.modules['inspect'].currentframe()", "sys._getframe", ""),
    ("torch.sys.modules['traceback'].extract_stack()", "sys._getframe", ""),
    ("(lambda: 0).__code__", "object.__getattr__", "__code__"),
    ("torch.sys.modules['gc'].get_objects()", "gc.get_objects", ""),
    ("torch.sys.modules['ctypes'].CDLL(None)", "ctypes.dlopen", ""),
    ("exec('x = 1')", "compile", "x = 1"),
    ("eval('1 + 1')", "compile", "1 + 1"),
    ("compile('1', 'mine', 'eval')", "compile", "1"),
    ("import subprocess", "backprop_ninja.import", "subprocess"),
    ("import pickle", "backprop_ninja.import", "pickle"),
    # the checker's autograd helper built by unpickling, its name never written in a cell
    ("open('h.bin', 'wb').write(bytes.fromhex('63636865636b65722e6c6573736f6e732e6d616b656d6f72650a6175746f67726164'\n"
     "'5f6772616469656e74730a2e'))\nimport numpy as np\nnp.load('h.bin', allow_pickle=True)", "pickle.find_class",
     "checker.lessons.makemore.autograd_gradients"),
    ("import os\nos.system('true')", "os.system", ""),
    ("open('/etc/passwd').read()", "open", "/etc/passwd"),
    ("torch.sys.addaudithook(print)\nraise RuntimeError('refused quietly, as Python does')", "sys.addaudithook", ""),
]
MAGIC = "%precision {sorted.__name__ + 'x'}"  # IPython evaluates {...} in a magic's arguments: refused, the magic still runs
AUTOMAGIC = "time x = 1"  # without %: not a magic in a graded kernel
ALLOWED = [
    "raise ValueError('a bug of mine')",  # its traceback is shown (IPython reads tb_frame after the cell)
    "from typing import List, TypeVar\nT = TypeVar('T')\ndef f(x: List[int]) -> int:\n    return len(x)\nprint(f([1, 2]))",
    "from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\nprint(Point(1, 2))",
    "from dataclasses import dataclass, field\n@dataclass\nclass D:\n    a: int = 1\n    b: list = field(default_factory=list)\nprint(D())",
    "import enum\nclass E(enum.Enum):\n    A = 1\nprint(E.A, E(1), enum.Enum('F', 'X Y').X)",
    "print(torch.__version__, type(torch.zeros(1)).__name__, hasattr(torch, 'zeros'))",
    "%timeit -n 2 -r 2 sum(range(10))",
    "%time y = sum(range(10))\nprint('y', y)",
    # a learner keeping a log of their numbers, and their own tensors, in the scratch folder
    "import os, csv, json, tempfile, pathlib\nwith open('log.csv', 'w', newline='') as f:\n"
    "    csv.writer(f).writerow([1, 2])\njson.dump({'a': 1}, open('log.json', 'w'))\n"
    "print(sorted(p.name for p in pathlib.Path(os.getcwd()).iterdir() if p.suffix in ('.csv', '.json')))\n"
    "with tempfile.NamedTemporaryFile(dir='.') as t:\n    t.write(b'x')",
    "torch.save({'w': torch.ones(2)}, 'mine.pt')\nprint(torch.load('mine.pt')['w'].sum().item())",
    "%precision 3",
    "from IPython.display import display\ndisplay(torch.ones(2))",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.title('$x^2$')\nplt.show()",
    "with torch.no_grad():\n    y = torch.ones(2) * 2\ntorch.set_grad_enabled(False)\ntorch.set_grad_enabled(True)",
    "import math, random, itertools, functools, time\nimport numpy as np\nimport torch.nn.functional as F\n"
    "print(F.softmax(torch.ones(3), 0), np.ones(2), math.pi, random.random() < 1)",
    "open('mine.txt', 'w').write('in my scratch folder')\nprint(open('mine.txt').read())",
    "def gen():\n    yield from range(3)\nprint(list(gen()), [i * i for i in range(3)], sorted({3, 1}))",
]
CELLS = ["import torch"] + [c for c, _, _ in REFUSED] + [MAGIC, AUTOMAGIC] + ALLOWED


@pytest.fixture(scope="module", params=[True, False], ids=["warm kernel", "cold kernel"])
def graded(request, tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    scratch = course / "autograded" / "alice" / "lesson"
    scratch.mkdir(parents=True)
    config = Config()
    config.CourseDirectory.root = str(course)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    executor = CourseExecute(config=config, kernel_name="backprop-ninja", timeout=120, warm_kernels=request.param)
    nb, resources = executor.preprocess(nb, {"metadata": {"path": str(scratch)}})
    return nb, resources["backprop_ninja"]["refusals"], scratch


def errors(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


@pytest.mark.parametrize("index", range(len(REFUSED)), ids=[c.splitlines()[-1][:40] for c, _, _ in REFUSED])
def test_the_learners_use_is_refused_and_recorded(graded, index):
    nb, refusals, _ = graded
    cell, event, detail = REFUSED[index]
    position = 1 + index
    failed = errors(nb.cells[position])
    # (numpy shows a refused unpickling as its own UnpicklingError; the record is what counts)
    expected = {"sys.addaudithook": "RuntimeError", "pickle.find_class": "UnpicklingError"}.get(event, "Refused")
    assert failed and failed[0].ename == expected, nb.cells[position].outputs
    mine = [r for r in refusals if r["cell_index"] == position]
    assert mine, refusals
    assert mine[0]["event"] == event and detail in mine[0]["detail"], mine
    assert mine[0]["cell"] == nb.cells[position].execution_count
    assert mine[0]["source"] == cell.splitlines()[mine[0]["line"] - 1].strip()


def test_a_magics_expanded_argument_is_refused_and_automagic_is_off(graded):
    nb, refusals, _ = graded
    magic = CELLS.index(MAGIC)
    assert [r["event"] for r in refusals if r["cell_index"] == magic] == ["compile"]
    automagic = nb.cells[CELLS.index(AUTOMAGIC)]
    assert [e.ename for e in errors(automagic)] == ["SyntaxError"]
    assert not [r for r in refusals if r["cell_index"] == CELLS.index(AUTOMAGIC)]


def test_ordinary_learner_code_and_the_libraries_are_not_refused(graded):
    nb, refusals, scratch = graded
    first = CELLS.index(ALLOWED[0])
    assert not [r for r in refusals if r["cell_index"] >= first], refusals
    assert len(refusals) == len(REFUSED) + 1
    shown = errors(nb.cells[first])
    assert [e.ename for e in shown] == ["ValueError"] and len(shown[0].traceback) > 1  # the whole traceback
    for cell in nb.cells[first + 1:]:
        assert not errors(cell), (cell.source, cell.outputs)
    text = "".join(o.get("text", "") for c in nb.cells[first + 1:] for o in c.outputs)
    assert "Point(x=1, y=2)" in text and "D(a=1, b=[])" in text and "E.A E.A F.X" in text
    plot = next(c for c in ALLOWED if "plt.plot" in c)
    assert any("image/png" in o.get("data", {}) for o in nb.cells[CELLS.index(plot)].outputs)
    assert "['log.csv', 'log.json']" in text and "\ny 45\n" in text and "2.0" in text
    assert "in my scratch folder" in text
    assert not (scratch / "mine.txt").exists()  # written in memory (sandbox.py), gone with the kernel


def test_the_record_is_kept_in_the_autograded_notebook(graded):
    nb, refusals, _ = graded
    assert nb.metadata["backprop_ninja"]["refusals"] == refusals


def test_a_line_the_guard_did_not_write_is_reported(tmp_path):
    channel = tmp_path / "channel"
    channel.write_text('\n{"event": "open", "detail": "/etc/passwd", "cell": 3, "line": 1, "source": "x"}\n{"event": "op')
    assert [r["event"] for r in guard.refusals(channel)] == ["open", "guard.channel"]
    assert guard.refusals(tmp_path / "none") == []


def test_a_kernel_that_silences_the_channel_ends_instead_of_running_unrecorded(tmp_path):
    """os.close is not audited: a learner can close every file the kernel holds, the channel with
    them; the next refusal cannot be recorded, so the kernel ends (the grader: 'not graded')."""
    from nbclient.exceptions import DeadKernelError

    scratch = tmp_path / "autograded" / "alice" / "lesson"
    scratch.mkdir(parents=True)
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    cells = ["import torch\nfor fd in range(3, 1024):\n    try:\n        if torch.os.fstat(fd).st_mode & 0o170000 == 0o100000:  # a file\n"
             "            torch.os.close(fd)\n    except OSError:\n        pass",
             "exec('x = 1')", "print('never')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    executor = CourseExecute(config=config, kernel_name="backprop-ninja", timeout=60)
    with pytest.raises(DeadKernelError):
        executor.preprocess(nb, {"metadata": {"path": str(scratch)}})
