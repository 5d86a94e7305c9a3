"""An instructor's and two students' path through nbgrader's own commands, as its documentation
tells it, on a copy of the course with a local exchange: generate, release, fetch, submit, collect,
autograde, feedback both ways, export. The scores are `make grade`'s, and neither CSV overwrites
the other. Students run nbgrader as docs/instructors.md has them on JupyterHub: no `--course`, no
`--Exchange.root`; the students' config the repository ships (hub/nbgrader_config.py) sits in their
Jupyter config path, as an administrator installs it, and BACKPROP_NINJA_EXCHANGE names the exchange."""

import csv
import shutil
import subprocess

import nbformat
import pytest

from course import ENV, LESSONS, fetched_from_the_network, ROOT, SOLUTIONS, read, run, solutions_by_id, with_answers

LESSON = "04_makemore_atomic_backprop"
NOTEBOOK = "makemore_atomic_backprop.ipynb"
SLIP = {"answer_dbndiff2": "dbndiff2 = (1.0/n)*torch.ones_like(bndiff2) * dbnvar  # the biased variance"}
STUDENTS = {"alice": ({}, 26.0), "bob": (SLIP, 25.0)}  # bob's later steps are right given his slip
STUDENTS_CONFIG = ROOT / "hub" / "nbgrader_config.py"


def students_nbgrader(base, exchange, config=STUDENTS_CONFIG):
    """`student(name, *args)`: nbgrader run by a student of a hub whose administrator installed
    `config` (None: no file) in a system config folder (here on JUPYTER_CONFIG_PATH, as /etc/jupyter
    would be), each student in a home of their own, with their own empty ~/.jupyter."""
    system = base / "etc-jupyter"
    system.mkdir(parents=True, exist_ok=True)
    if config is not None:
        shutil.copy(config, system / "nbgrader_config.py")

    def student(name, *args, check=True):
        home = base / name
        (home / ".jupyter").mkdir(parents=True, exist_ok=True)
        env = {**ENV, "BACKPROP_NINJA_EXCHANGE": str(exchange), "HOME": str(home), "JUPYTER_CONFIG_PATH": str(system),
               "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "JUPYTER_DATA_DIR": str(home / ".jupyter-data")}
        command = ("nbgrader", *args)
        if check:
            return run(*command, cwd=home, env=env)
        return subprocess.run(command, cwd=home, env=env, capture_output=True, text=True, timeout=600)

    return student


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    base = tmp_path_factory.mktemp("nbgrader")
    course = base / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS / LESSON, course / "solutions" / LESSON)
    exchange = base / "exchange"
    env = {**ENV, "BACKPROP_NINJA_EXCHANGE": str(exchange)}

    def instructor(*args):
        return run("nbgrader", *args, cwd=course, env=env)

    student = students_nbgrader(base, exchange)

    instructor("generate_assignment", LESSON)  # lessons/ already exists in the repository: regenerated
    instructor("release_assignment", LESSON)
    for name, (slip, _) in STUDENTS.items():
        student(name, "fetch_assignment", LESSON)
        fetched = base / name / LESSON / NOTEBOOK
        answers = {**solutions_by_id(SOLUTIONS / LESSON / NOTEBOOK), **slip}
        nbformat.write(with_answers(read(fetched), answers), fetched)
        student(name, "submit", LESSON, f"--student={name}")  # (nbgrader takes the login name otherwise)
    instructor("collect", LESSON)
    instructor("autograde", LESSON)
    instructor("generate_feedback", LESSON)
    instructor("release_feedback", LESSON)
    for name in STUDENTS:
        student(name, "fetch_feedback", LESSON, f"--student={name}")
    instructor("export")
    return base, course


def test_the_released_lesson_is_the_repositorys(workflow):
    _, course = workflow
    assert read(course / "lessons" / LESSON / NOTEBOOK).cells == read(LESSONS / LESSON / NOTEBOOK).cells


def test_scores_feedback_and_export(workflow):
    base, course = workflow
    with open(course / "nbgrader_export.csv") as f:
        exported = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    assert exported == {name: score for name, (_, score) in STUDENTS.items()}
    for name in STUDENTS:  # the feedback page reached the student through the exchange
        pages = list((base / name / LESSON / "feedback").rglob("*.html"))
        assert pages, name
    bob = next((base / "bob" / LESSON / "feedback").rglob("*.html")).read_text()
    assert "right given earlier answers" in bob
    assert fetched_from_the_network(bob) == []  # nbgrader's own feedback renders its maths offline too


def test_make_grade_agrees_and_keeps_its_own_csv(workflow):
    _, course = workflow
    run("make", "-s", "grade", f"COURSE={course}", "GRADE_ARGS=--jobs 2")
    with open(course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert {name: float(row["score"]) for name, row in rows.items()} == {n: s for n, (_, s) in STUDENTS.items()}
    assert {"status", "reason"} <= set(next(iter(rows.values())))
    assert (course / "nbgrader_export.csv").exists()  # not overwritten, not removed


def test_the_shipped_students_config_alone_finds_the_course_and_the_exchange(tmp_path):
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(LESSONS / LESSON, course / "lessons" / LESSON)
    run("nbgrader", "release_assignment", LESSON, cwd=course, env={**ENV, "BACKPROP_NINJA_EXCHANGE": str(exchange)})

    student = students_nbgrader(tmp_path / "hub", exchange)
    listed = student("carol", "list")
    assert f"backprop-ninja {LESSON}" in listed.stdout + listed.stderr
    student("carol", "fetch_assignment", LESSON)
    assert read(tmp_path / "hub" / "carol" / LESSON / NOTEBOOK).cells == read(LESSONS / LESSON / NOTEBOOK).cells

    # Without the file, BACKPROP_NINJA_EXCHANGE alone does nothing: nbgrader knows neither (issue 25).
    without = students_nbgrader(tmp_path / "bare", exchange, config=None)("dave", "fetch_assignment", LESSON, check=False)
    assert without.returncode != 0 and not (tmp_path / "bare" / "dave" / LESSON).exists()
