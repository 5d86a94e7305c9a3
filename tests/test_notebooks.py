"""The notebook conventions every lesson follows, and that lessons/ is what `make lessons` generates."""

import json
import tomllib

import pytest

from course import LESSONS, ROOT, SOLUTIONS, nbgrader_meta, notebooks, read, run

SOURCES = notebooks(SOLUTIONS)
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def test_there_are_lessons():
    assert SOURCES, "no notebooks under solutions/"


@pytest.mark.parametrize("relpath", SOURCES, ids=str)
def test_solution_follows_the_conventions(relpath):
    nb = read(SOLUTIONS / relpath)
    # any Python 3 kernel with the checker runs a lesson; grading and nbval name the course kernel
    assert nb.metadata.kernelspec.name == "python3"
    first_code = next(c for c in nb.cells if c.cell_type == "code").source
    assert first_code.startswith("try:\n    import checker") and \
        f'%pip install "backprop-ninja-checker @ git+{REPOSITORY}"' in first_code, \
        "the first code cell must say how to install the checker, with pyproject.toml's Repository URL"
    graded = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
    answers = [c for c in nb.cells if nbgrader_meta(c).get("solution")]
    assert graded and answers
    for cell in nb.cells:
        assert cell.get("outputs", []) == [], "solutions are committed without outputs"
    for cell in graded:
        assert nbgrader_meta(cell)["points"] > 0 and nbgrader_meta(cell)["locked"]
    # lets JupyterLab's "Run All" continue past a failing check or an answer cell that raises
    # (tests/test_run_all.py; conftest.py still fails any cell that raises under nbval)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code[1:]:
        assert "raises-exception" in cell.metadata.get("tags", []), \
            f"{nbgrader_meta(cell).get('grade_id')} lacks the raises-exception tag"
    assert "raises-exception" not in code[0].metadata.get("tags", []), "without the checker, Run All must stop"
    for cell in answers:
        first_line = cell.source.splitlines()[0]
        assert "= None  # TODO" in first_line, f"answer cell {nbgrader_meta(cell)['grade_id']} needs a runnable placeholder"
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source


def test_the_readme_installs_the_checker_from_the_same_repository():
    assert f'%pip install "backprop-ninja-checker @ git+{REPOSITORY}"' in (ROOT / "README.md").read_text()


def test_lessons_are_what_make_lessons_generates(tmp_path):
    run("make", "-s", "lessons", f"RELEASE_DIR={tmp_path / 'lessons'}", f"GRADEBOOK=sqlite:///{tmp_path / 'gradebook.db'}")
    fresh = tmp_path / "lessons"
    assert notebooks(fresh) == notebooks(LESSONS), "lessons/ and solutions/ hold different notebooks: run `make lessons`"
    for relpath in notebooks(fresh):
        assert json.loads((LESSONS / relpath).read_text()) == json.loads((fresh / relpath).read_text()), \
            f"lessons/{relpath} is stale: run `make lessons` and commit the result"
