"""Exercise 4's training loop: one PyTorch thread in a learner's kernel, and the compiled step.

The compiled step and its fallback run in a subprocess each, with a cache of their own, so the
test pays a cold compile as a learner's first full run does, and the checker's own process keeps
PyTorch's state untouched.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def kernel_output(code: str, env: dict) -> str:
    """What the course's kernel prints for `code`, started with `env`."""
    manager, client = start_new_kernel(kernel_name="backprop-ninja", env=env)
    try:
        printed = []
        reply = client.execute_interactive(code, timeout=120, output_hook=lambda message: printed.append(
            message["content"].get("text", "")) if message["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(printed)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_learners_kernel_runs_pytorch_on_one_thread_and_the_learner_can_change_it():
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    printed = kernel_output("import torch\nprint(torch.get_num_threads())\nimport checker\n"
                            "print(torch.get_num_threads())\ntorch.set_num_threads(2)\nprint(torch.get_num_threads())",
                            env)
    before, after_import, after_set = printed.split()
    assert before != "1", "PyTorch's default here is one thread: the test cannot see the checker's choice"
    assert (after_import, after_set) == ("1", "2")
    # an explicit OMP_NUM_THREADS is the user's choice, and stays
    assert kernel_output("import checker, torch\nprint(torch.get_num_threads())",
                         {**env, "OMP_NUM_THREADS": "2"}).split() == ["2"]


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=lambda p: p.parent.name)
def test_every_lesson_says_why_it_runs_on_one_thread(notebook):
    intro = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    assert "**One thread.** Importing the checker sets PyTorch" in intro
    assert "`torch.set_num_threads(1)`" in intro and "a second thread mostly waits for the first" in intro
    if "02_scalar" not in notebook.parent.name:  # lesson 2's cells may not use torch at all
        assert "`torch.set_num_threads(2)` in a cell changes it back" in intro


# Trains 30 steps with the lesson's solution backward, compiled or not, beside a plain copy that
# runs manual_step call by call, and prints JSON: whether it compiled, what it printed, and how far
# apart the two copies' parameters ended.
TRAIN_BOTH = textwrap.dedent("""
    import contextlib, io, json, sys
    import torch, torch.nn.functional as F
    from pathlib import Path
    from checker.grading.notebooks import solutions_by_id
    from checker.lessons import makemore, training
    answers = solutions_by_id(Path(sys.argv[1]))
    namespace = {"torch": torch, "F": F}
    for grade_id in ("answer_embedding_backward", "answer_backward"):
        exec(answers[grade_id], namespace)
    setup = makemore.MakemoreSetup(n_hidden=training.N_HIDDEN)
    params, plain = training.copy_parameters(setup.params), training.copy_parameters(setup.params)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        step = training.TrainingStep(params, setup.Xtr, setup.Ytr, namespace["backward"], setup.batch_size,
                                     compile=True)
    batches = torch.randint(0, setup.Xtr.shape[0], (30, setup.batch_size), generator=setup.generator)
    with torch.inference_mode():
        for i, ix in enumerate(batches):
            lr = 0.1 if i < 15 else 0.01  # a new rate must not recompile
            loss = step(ix, lr)
            expected = training.manual_step(plain, setup.Xtr[ix], setup.Ytr[ix], lr, namespace["backward"])
            assert abs(loss.item() - expected.item()) < 1e-4, (i, loss.item(), expected.item())
    print(json.dumps({"compiled": step.compiled, "printed": printed.getvalue(), "described": step.describe(),
                      "moved": max((params[k] - setup.params[k]).abs().max().item() for k in params),
                      "apart": max((params[k] - plain[k]).abs().max().item() for k in params)}))
""")


def train_both(tmp_path, **env) -> dict:
    environment = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"),
                   "TORCH_LOGS": "recompiles", **env}
    done = subprocess.run([sys.executable, "-c", TRAIN_BOTH, str(SOLUTIONS[6])], capture_output=True, text=True,
                          env=environment, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Recompiling" not in done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_compiled_step_trains_as_the_plain_one(tmp_path):
    assert "07_makemore_training" in str(SOLUTIONS[6])
    result = train_both(tmp_path)
    assert result["compiled"], result
    assert result["printed"] == ""
    assert result["described"].startswith("compiled with torch.compile in ")
    assert result["moved"] > 1e-3  # it trained
    assert result["apart"] < 1e-4  # as the plain step did, up to float32 rounding


def test_without_a_cxx_compiler_the_step_says_so_and_trains_plainly(tmp_path):
    result = train_both(tmp_path, CXX=str(tmp_path / "no-such-compiler"))
    assert not result["compiled"]
    assert result["printed"].startswith("torch.compile could not compile your training step here (")
    assert result["printed"].rstrip().endswith("so it runs as plain PyTorch: the same maths, more slowly.")
    assert result["printed"].count("\n") == 1, result["printed"]
    assert result["described"] == "run as plain PyTorch"
    assert result["moved"] > 1e-3 and result["apart"] == 0.0
