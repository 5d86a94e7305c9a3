"""Reading the course's nbgrader notebooks, for maintainers' tools (tests, benchmarks)."""

import os
import sys
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def tool_environment() -> dict:
    """This process's environment with its venv's bin first on PATH: nbgrader runs alembic through PATH."""
    return {**os.environ, "PATH": f"{Path(sys.executable).absolute().parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_code(cell) -> str:
    """The instructor's code between ### BEGIN SOLUTION and ### END SOLUTION."""
    source = cell.source
    return source[source.index(BEGIN) + len(BEGIN):source.index(END)].strip("\n")


def solutions_by_id(path) -> dict:
    """{grade_id: solution code} for every answer cell of a solution notebook."""
    return {nbgrader_meta(c)["grade_id"]: solution_code(c) for c in read(path).cells if nbgrader_meta(c).get("solution")}


def with_answers(lesson, answers: dict):
    """The released `lesson` with `answers[grade_id]` typed under each answer cell's first line
    (its TODO placeholder), as a learner would; answer cells not in `answers` stay blank."""
    for cell in lesson.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in answers:
            cell.source = cell.source.splitlines()[0] + "\n" + answers[grade_id]
    return lesson
