"""The times the lesson and the README quote are the ones `make train` and `make bench` measured.

They are recorded in bench/measured.json (`make train RECORD=1`, `make train NEIGHBOUR=1 RECORD=1`,
`make bench RECORD=1`); a new measurement that changes a figure makes this test fail until the texts
quote it. No test here times anything: the benchmarks do, and print their figures.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MEASURED = json.loads((ROOT / "bench/measured.json").read_text())
LESSON = ROOT / "solutions/07_makemore_training/makemore_training.ipynb"


def markdown(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def quiet():
    return MEASURED["full_training_quiet"]


@pytest.fixture(scope="module")
def neighbour():
    return MEASURED["full_training_neighbour"]


@pytest.fixture(scope="module")
def loop():
    return MEASURED["training_loop"]


def test_the_recorded_full_runs_trained_200000_steps_to_the_goal(quiet, neighbour):
    for run in (quiet, neighbour):
        assert run["steps"] == 200_000 and run["val_loss"] <= 2.11 and run["cpus"] == 2


def test_the_lesson_quotes_the_full_training_times(quiet, neighbour):
    text = flat(markdown(LESSON))
    assert (f"On the course's 2-core machine the 200,000 steps took {quiet['seconds']} s, compiling your step "
            f"included, and {neighbour['seconds']} s while another program kept one of the two cores busy") in text
    # the losses the lesson reports are the ones the recorded run reached
    assert f"train {quiet['train_loss']:.4f} and val {quiet['val_loss']:.4f}" in text


def test_the_lessons_compile_claims_hold(quiet, neighbour, loop):
    text = flat(markdown(LESSON))
    assert "about 1.6 times as fast, after 10-20 s of compiling" in text
    per_second = loop["steps_per_second"]
    assert 1.4 <= per_second["compiled, 1 thread (the lesson)"] / per_second["plain, 1 thread"] <= 1.9
    for seconds in (quiet["compile_seconds"], neighbour["compile_seconds"], loop["compile_seconds"]):
        assert 10 <= seconds <= 20


def test_the_readme_reports_the_benchmark(quiet, neighbour, loop):
    readme = flat((ROOT / "README.md").read_text())
    per_second = loop["steps_per_second"]
    lesson, default = "compiled, 1 thread (the lesson)", f"plain, {loop['default_threads']} threads (PyTorch's default)"
    assert (f"{per_second[lesson]:,} steps per second quiet and {per_second[lesson + ', neighbour']:,} beside a busy "
            f"program (a ratio of {per_second[lesson] / per_second[lesson + ', neighbour']:.2f})") in readme
    assert (f"with PyTorch's default {loop['default_threads']} threads, {per_second[default]:,} quiet and "
            f"{per_second[default + ', neighbour']:,} beside it") in readme
    assert (f"the 200,000 steps took {quiet['seconds']} s quiet and {neighbour['seconds']} s beside a busy program, "
            "compiling included") in readme
    assert (f"{per_second['plain, 1 thread']:,} and {per_second['plain, 1 thread, neighbour']:,} when the step is "
            "not compiled") in readme
    assert f"(measured {loop['date']})" in readme
