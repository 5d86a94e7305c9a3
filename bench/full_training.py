"""`make train`: run the Exercise 4 solution notebook in full mode (200,000 steps) and report.

Prints the notebook's own training, loss and timing lines, and the wall time of the whole run.
The executed notebook is written to the path given as the first argument.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

SOLUTION = Path(__file__).resolve().parent.parent / "solutions/07_makemore_training/makemore_training.ipynb"
REPORTED = ("steps in", "train ", "trained", "not there yet", "step takes", "autograd step", "your step", "FastStep ")


def main(output: Path):
    os.environ["BACKPROP_NINJA_FAST"] = "0"  # the kernel inherits it: full mode
    notebook = nbformat.read(SOLUTION, as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, kernel_name="backprop-ninja", timeout=3600, allow_errors=True,
                   resources={"metadata": {"path": str(SOLUTION.parent)}}).execute()
    elapsed = time.perf_counter() - started
    nbformat.write(notebook, output)
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                print(f"error: {out['ename']}: {out['evalue']}")
            for line in out.get("text", "").splitlines():
                if any(marker in line for marker in REPORTED):
                    print(line)
    print(f"notebook wall time: {elapsed:.0f} s (written to {output})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("full_training.ipynb"))
