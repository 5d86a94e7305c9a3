"""Paths and helpers for tests that drive the course's real tools (make, nbgrader, JupyterLab)."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
# nbgrader runs alembic through PATH: put this interpreter's venv first.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def run(*command, cwd=ROOT, timeout=600):
    """Run a command; on failure, fail with its output (stdout and stderr) in the message."""
    done = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def notebooks(folder: Path):
    return sorted(p.relative_to(folder) for p in folder.glob("*/*.ipynb"))


def read(path: Path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_code(cell) -> str:
    """The instructor's code between ### BEGIN SOLUTION and ### END SOLUTION."""
    source = cell.source
    return source[source.index("### BEGIN SOLUTION") + len("### BEGIN SOLUTION"):source.index("### END SOLUTION")].strip("\n")
