"""The notebook conventions every lesson follows, and that lessons/ is what `make lessons` generates."""

import json

import pytest

from checker.grading.install_line import install_block, install_command, message
from course import LESSONS, ROOT, SOLUTIONS, nbgrader_meta, notebooks, read, run

SOURCES = notebooks(SOLUTIONS)


def test_there_are_lessons():
    assert SOURCES, "no notebooks under solutions/"


@pytest.mark.parametrize("relpath", SOURCES, ids=str)
def test_solution_follows_the_conventions(relpath):
    nb = read(SOLUTIONS / relpath)
    # any Python 3 kernel with the checker runs a lesson; grading and nbval name the course kernel
    assert nb.metadata.kernelspec.name == "python3"
    first_code = next(c for c in nb.cells if c.cell_type == "code").source
    assert first_code.startswith(install_block()), \
        "the first code cell must say how to install the checker, as `make install-line` writes it"
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


@pytest.mark.parametrize("on_pypi", [False, True], ids=["from a clone", "from PyPI"])
def test_the_install_block_says_its_sentence_and_nothing_else(on_pypi):
    """Both the sentence of today and the one for after the first release (`ON_PYPI`) are valid code."""
    block = install_block(on_pypi).replace("import checker ", "import checker_not_installed ")
    with pytest.raises(Exception) as raised:
        exec(block, {})
    assert type(raised.value).__name__ == "CheckerMissing" and str(raised.value) == "".join(message(on_pypi))
    assert install_command(on_pypi) in str(raised.value) and "OWNER" not in block


def test_the_readme_installs_the_checker_as_the_lessons_say():
    assert install_command() in (ROOT / "README.md").read_text()


def test_no_placeholder_is_left_where_a_learner_or_pypi_reads():
    """The course once said `git+https://github.com/OWNER/...`, an address nobody could install from."""
    places = [ROOT / "README.md", ROOT / "pyproject.toml", *(ROOT / "docs").glob("*.md"),
              *(SOLUTIONS / p for p in SOURCES), *LESSONS.glob("*/*.ipynb")]
    assert [str(p.relative_to(ROOT)) for p in places if "OWNER" in p.read_text()] == []


def test_lessons_are_what_make_lessons_generates(tmp_path):
    run("make", "-s", "lessons", f"RELEASE_DIR={tmp_path / 'lessons'}", f"GRADEBOOK=sqlite:///{tmp_path / 'gradebook.db'}")
    fresh = tmp_path / "lessons"
    assert notebooks(fresh) == notebooks(LESSONS), "lessons/ and solutions/ hold different notebooks: run `make lessons`"
    for relpath in notebooks(fresh):
        assert json.loads((LESSONS / relpath).read_text()) == json.loads((fresh / relpath).read_text()), \
            f"lessons/{relpath} is stale: run `make lessons` and commit the result"
