"""`make train`: run the Exercise 4 solution notebook in full mode (200,000 steps) and report.

Prints the notebook's own training, loss and timing lines, and the wall time of the whole run.
The executed notebook is written to the path given as the first argument. With `--neighbour` a
busy program keeps one core busy meanwhile. torch.compile starts with an empty cache, as on a
learner's first run. With `--record` the figures go into bench/measured.json, where the lesson's
and the README's quoted times are checked against them (tests/test_measured.py).
"""

import argparse
import datetime
import os
import re
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from measured import record
from neighbour import busy_neighbour

SOLUTION = Path(__file__).resolve().parent.parent / "solutions/07_makemore_training/makemore_training.ipynb"
REPORTED = ("steps in", "train ", "trained", "not there yet", "step takes", "autograd step", "your step", "FastStep ",
            "torch.compile")


TRAINED = re.compile(r"([\d,]+) steps in (\d+) s, your step (?:compiled with torch.compile in (\d+) s|run as plain)")
VALIDATION = re.compile(r"train ([\d.]+) +val ([\d.]+)")


def main(output: Path, neighbour: bool, keep: bool):
    os.environ["BACKPROP_NINJA_FAST"] = "0"  # the kernel inherits these: full mode, a cold compile cache
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="backprop-ninja-inductor-")
    os.environ.pop("OMP_NUM_THREADS", None)  # the kernel's threads are the checker's choice, as a learner's
    notebook = nbformat.read(SOLUTION, as_version=4)
    started = time.perf_counter()
    with busy_neighbour(neighbour):
        NotebookClient(notebook, kernel_name="backprop-ninja", timeout=3600, allow_errors=True,
                       resources={"metadata": {"path": str(SOLUTION.parent)}}).execute()
    elapsed = time.perf_counter() - started
    nbformat.write(notebook, output)
    lines = [line for cell in notebook.cells for out in cell.get("outputs", []) for line in out.get("text", "").splitlines()]
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                print(f"error: {out['ename']}: {out['evalue']}")
    for line in lines:
        if any(marker in line for marker in REPORTED):
            print(line)
    print(f"notebook wall time: {elapsed:.0f} s{' beside a busy neighbour' if neighbour else ''} (written to {output})")
    if keep:
        trained = next(m for m in map(TRAINED.search, lines) if m)
        validation = next(m for m in map(VALIDATION.search, lines) if m)
        record(f"full_training_{'neighbour' if neighbour else 'quiet'}", {
            "date": datetime.date.today().isoformat(), "cpus": os.cpu_count(),
            "steps": int(trained[1].replace(",", "")), "seconds": int(trained[2]),
            "compile_seconds": int(trained[3]) if trained[3] else None,
            "train_loss": float(validation[1]), "val_loss": float(validation[2]), "notebook_seconds": round(elapsed)})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=Path("full_training.ipynb"))
    parser.add_argument("--neighbour", action="store_true", help="keep one core busy meanwhile")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/measured.json")
    arguments = parser.parse_args()
    main(arguments.output, arguments.neighbour, arguments.record)
