"""Every grading kernel is sandboxed, warm (forked from the zygote) or cold (nbgrader's own start):
it reads nothing of the course but the checker and the data, writes only in its scratch folder,
connects nowhere, and stays within its memory, file size, time and output limits."""

import time

import nbformat
import pytest
from traitlets.config import Config

from checker.grading import run, sandbox
from checker.grading.preprocessors import KERNELS_FOLDER, OUT_OF_TIME, CourseExecute

PROBE = """
import os, socket
def attempt(name, action):
    try:
        action()
        print(name, 'allowed')
    except Exception as error:
        print(name, 'refused', type(error).__name__)
attempt('read_solutions', lambda: open('../../../solutions/secret.txt').read())
attempt('read_other_student', lambda: open('../../../submitted/bob/lesson/bob.ipynb').read())
attempt('list_course', lambda: os.listdir('../../..'))
attempt('write_course', lambda: open('../../../planted.txt', 'w').write('x'))
attempt('write_tmp', lambda: open('/tmp/backprop-ninja-planted.txt', 'w').write('x'))
attempt('write_scratch', lambda: open('mine.txt', 'w').write('x'))
attempt('connect', lambda: socket.create_connection(('127.0.0.1', 22), timeout=2))
attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 9)))
attempt('other_kernels', lambda: os.listdir(KERNELS))
attempt('jupyter_runtime', lambda: os.listdir(RUNTIME))
attempt('big_file', lambda: open('big.bin', 'wb').write(b'x' * (70 << 20)))
attempt('big_memory', lambda: bytearray(6 << 30))
attempt('checker', lambda: __import__('checker.lessons.makemore'))
attempt('own_user', lambda: os.getuid() != 0 or 1 / 0)
attempt('signal_init', lambda: os.kill(1, 0))
attempt('write_cgroup', lambda: open('/sys/fs/cgroup/cgroup.procs', 'w').write(str(os.getpid())))
def fill():  # files under the 64 MB cap, 360 MB in all
    for number in range(6):
        with open(f'fill{number}.bin', 'wb') as f:
            f.write(b'x' * (60 << 20))
attempt('disk_in_all', fill)
from ipykernel.connect import get_connection_file
attempt('write_private', lambda: open(os.path.join(os.path.dirname(get_connection_file()), 'mine.bin'), 'wb').write(b'x'))
print('policy_left', os.environ.get('BACKPROP_NINJA_SANDBOX'))
"""
EXPECTED = {"read_solutions": "refused", "read_other_student": "refused", "list_course": "refused",
            "write_course": "refused", "write_tmp": "refused", "write_scratch": "allowed",
            "connect": "refused", "udp": "refused", "other_kernels": "refused", "jupyter_runtime": "refused",
            "big_file": "refused", "big_memory": "refused", "checker": "allowed", "own_user": "allowed",
            "signal_init": "refused", "write_cgroup": "refused", "disk_in_all": "refused", "write_private": "refused",
            "policy_left": "None"}


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "secret.txt").write_text("the answers")
    (tmp_path / "submitted" / "bob" / "lesson").mkdir(parents=True)
    (tmp_path / "submitted" / "bob" / "lesson" / "bob.ipynb").write_text("{}")
    (tmp_path / "autograded" / "alice" / "lesson").mkdir(parents=True)
    return tmp_path


def probe():
    from jupyter_core.paths import jupyter_runtime_dir

    return f"KERNELS = {str(KERNELS_FOLDER)!r}\nRUNTIME = {jupyter_runtime_dir()!r}\n" + PROBE


def execute(course, cells, **settings):
    """The sandbox alone: the guard (test_guard.py) would refuse the probe's imports and files first."""
    settings.setdefault("guard", False)
    config = Config()
    config.CourseDirectory.root = str(course)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    executor = CourseExecute(config=config, kernel_name="backprop-ninja", timeout=120, **settings)
    resources = {"metadata": {"path": str(course / "autograded" / "alice" / "lesson")}}
    return executor.preprocess(nb, resources)


def test_this_machine_can_sandbox_fully():
    # CI's machine has Landlock ABI 7, network and mount namespaces: the tests below need them
    assert (sandbox.missing(), sandbox.weaker()) == ("", "")


@pytest.mark.parametrize("warm", [True, False], ids=["warm kernel", "cold kernel"])
def test_a_graded_kernel_is_sandboxed(course, warm):
    nb, _ = execute(course, [probe()], warm_kernels=warm)
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    seen = dict(line.split(" ", 2)[:2] for line in text.splitlines() if line.strip())
    assert seen == EXPECTED, text
    assert not (course / "planted.txt").exists()
    # what it wrote in its scratch folder went to memory and ended with it: nothing on the disk
    assert [p.name for p in (course / "autograded" / "alice" / "lesson").iterdir() if p.name != ".kernel"] == []


def test_a_notebook_that_uses_up_its_time_is_stopped_and_graded_on_what_ran(course):
    cells = ["import time\ntime.sleep(0.1)", "time.sleep(60)", "print('never')"]
    started = time.monotonic()
    nb, resources = execute(course, cells, notebook_budget=8)  # the cell timeout stays 120 s
    assert time.monotonic() - started < 20
    assert nb.cells[0].outputs == []
    assert "CellTimeoutError" in [o.get("ename") for o in nb.cells[1].outputs]  # stopped at the budget
    assert [o.get("ename") for o in nb.cells[2].outputs] == [OUT_OF_TIME]
    assert resources["nbgrader"]["out_of_time"]


def test_output_past_the_cap_is_cut(course):
    nb, _ = execute(course, ["print('x' * 3_000_000)", "print('after')"], output_limit_kb=64)
    texts = [o.get("text", "") for c in nb.cells for o in c.outputs]
    assert sum(map(len, texts)) < 64 * 1024
    assert any("output cut here" in t for t in texts)


def test_make_grade_refuses_where_the_sandbox_is_missing(monkeypatch, tmp_path, capsys):
    (tmp_path / "solutions" / "lesson").mkdir(parents=True)
    (tmp_path / "nbgrader_config.py").write_text("")
    (tmp_path / "submitted" / "alice" / "lesson").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sandbox, "missing", lambda: "this Linux kernel has no Landlock")
    assert run.main(["--jobs", "1"]) == 2
    out = capsys.readouterr().out.strip()
    assert out.startswith("Cannot sandbox the grading kernels here: this Linux kernel has no Landlock.")
    assert "--no-sandbox" in out and len(out.splitlines()) == 1
