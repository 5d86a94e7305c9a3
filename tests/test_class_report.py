"""The class report (`make report`, checker/grading/class_report.py) counts what the grader decided.

Its verdicts are the grading run's own: the shared graded class (tests/graded_class.py) holds
lesson 04 submissions with known slips, graded by the real `make grade`. Here a class of 30
made-up students is built from copies of them (nine finished, six who forgot the 1/n, ...), and
the real `make report` must count exactly the slips put in; the Canvas file has one row each.
"""

import csv
import shutil
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from checker.grading.class_report import CSV_COLUMNS, KINDS
from checker.grading.judge import VERDICTS_KEY, JudgeAnswers
from course import run

LESSON = "04_makemore_atomic_backprop"
NOTEBOOK = f"{LESSON}/makemore_atomic_backprop.ipynb"
CHECKS = 26

# made-up students: (test file, its student in the graded class, how many copies)
CLASS = {
    "finished": ("test_grade_e2e", "full", 9),
    "forgot_1_over_n": ("test_carried_forward", "forgot_1_over_n", 6),
    "biased_variance": ("test_carried_forward", "biased_variance", 5),
    "half_done": ("test_grade_e2e", "half", 4),
    "blank": ("test_grade_e2e", "blank", 3),
    "autograd_cheat": ("test_grade_e2e", "grad_cheat", 2),
    "kernel_died": ("test_grade_e2e", "os_exit", 1),
}


def verdicts(graded_class, test_file: str, student: str) -> list[dict]:
    path = graded_class.view(test_file).path("autograded", student, NOTEBOOK)
    return nbformat.read(path, as_version=4).metadata[VERDICTS_KEY[0]][VERDICTS_KEY[1]]


def kinds(found: list[dict]) -> list[str]:
    names = {"correct": "right", "carried": "carried", "wrong": "wrong", "not_done": "not done", "invalid": "cannot check"}
    return ["flagged" if v.get("flagged") else names[v["status"]] for v in found]


@pytest.fixture(scope="module")
def graded(graded_class):
    """{made-up kind: the verdicts the grader kept for its original}, after checking each original's
    verdicts against what its slip must give."""
    kept = {name: verdicts(graded_class, test_file, student) for name, (test_file, student, _) in CLASS.items()
            if name != "kernel_died"}
    for name, found in kept.items():
        assert len(found) == CHECKS, (name, len(found))
    # the Formgrader shows each check cell by its grade_id, which names the gradient as the report does
    assert [v["grade_id"] for v in kept["finished"]] == [f"check_{v['check']}" for v in kept["finished"]]
    assert kinds(kept["finished"]) == ["right"] * CHECKS
    assert kinds(kept["blank"]) == ["not done"] * CHECKS
    assert kinds(kept["half_done"]) == ["right"] * 13 + ["not done"] * 13
    assert kinds(kept["autograd_cheat"]) == ["flagged"] * CHECKS  # its first answer cell breaks the rule
    slip = kept["forgot_1_over_n"]
    assert [(v["check"], v["mistake"]) for v in slip if v["status"] == "wrong"] == \
        [("dlogprobs", "did you forget the 1/n from the mean?")]
    assert Counter(kinds(slip)) == {"wrong": 1, "carried": CHECKS - 1}
    slip = kept["biased_variance"]
    assert [v["check"] for v in slip if v["status"] == "wrong"] == ["dbndiff2"]
    assert "Bessel" in next(v["mistake"] for v in slip if v["status"] == "wrong")
    assert Counter(kinds(slip)) == {"wrong": 1, "carried": 6, "right": CHECKS - 7}  # 25 points; 19 with no credit
    return kept


@pytest.fixture(scope="module")
def report(graded_class, graded, tmp_path_factory) -> Path:
    """A course of 30 made-up students, each a copy of a graded original, and `make report` run on it."""
    course = tmp_path_factory.mktemp("class-of-30")
    rows = []
    for name, (test_file, student, copies) in CLASS.items():
        view = graded_class.view(test_file)
        original = view.rows[student]
        for number in range(copies):
            made_up = f"{name}_{number + 1:02d}"
            rows.append({**original, "student_id": made_up})
            source = view.path("autograded", student, NOTEBOOK).parent
            if source.is_dir():
                shutil.copytree(source, course / "autograded" / made_up / LESSON)
    with open(course / "grades.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = run("make", "-s", "report", f"COURSE={course}")
    assert "Class report in report/index.html" in done.stdout, done.stdout + done.stderr
    return course


def test_thirty_made_up_students_are_counted_as_their_slips(graded, report):
    with open(report / "report" / "checks.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == CHECKS
    expected = {}
    for name, (_, _, copies) in CLASS.items():
        for v, kind in zip(graded.get(name, []), kinds(graded.get(name, []))):
            expected.setdefault(v["check"], Counter())[kind] += copies
    for row in rows:
        assert row["lesson"] == LESSON
        assert {k: int(row[k.replace(" ", "_")]) for k in KINDS} == {k: expected[row["check"]][k] for k in KINDS}, row
        assert int(row["students"]) == 29  # the one whose kernel died has no verdicts
    by_check = {row["check"]: row for row in rows}
    assert by_check["dlogprobs"]["wrong"] == "6" and by_check["dlogprobs"]["first_wrong"] == "6"
    assert by_check["dlogprobs"]["top_mistake"] == "did you forget the 1/n from the mean?"
    assert by_check["dlogprobs"]["top_mistake_students"] == "6"
    assert by_check["dbndiff2"]["first_wrong"] == "5" and by_check["dbndiff2"]["top_mistake_students"] == "5"
    assert sum(int(row["first_wrong"]) for row in rows) == 6 + 5  # nobody else went wrong


def test_the_page_shows_the_mistakes_the_heatmap_and_who_needs_help(report):
    page = (report / "report" / "index.html").read_text()
    assert page.count('<img alt="" src="data:image/png;base64,') == 3  # histogram, top mistakes, heatmap
    assert "http://" not in page and "https://" not in page  # nothing to fetch: it opens offline
    assert "did you forget the 1/n from the mean?" in page and "Bessel" in page
    assert "kernel_died_01" in page and "the kernel died" in page  # not graded, with its reason
    assert "autograd_cheat_01" in page and "flagged" in page
    help_table = page.split("Students who may need help")[1].split("</table>")[0]
    assert help_table.index("autograd_cheat_01") < help_table.index("half_done_01")  # 0 points before 13


def test_canvas_gets_one_row_per_student_and_the_points_possible(report):
    with open(report / "grades_canvas.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LESSON]
    assert rows[1] == ["Points Possible", "", "", "", "", str(CHECKS)]
    students = {row[3]: row[5] for row in rows[2:]}
    assert len(students) == 30 == len(rows) - 2
    assert students["finished_01"] == "26" and students["half_done_04"] == "13" and students["blank_03"] == "0"
    assert students["forgot_1_over_n_01"] == "25"  # carried steps earn their points by default
    assert students["kernel_died_01"] == ""  # not graded: the instructor decides


def test_make_grade_writes_the_report_and_the_canvas_file_and_pages_name_their_checks(graded_class):
    view = graded_class.view("test_grade_e2e")
    course = graded_class.course
    assert (course / "report" / "index.html").is_file() and (course / "grades_canvas.csv").is_file()
    assert "Class report in report/index.html; grades for Canvas in grades_canvas.csv." in view.progress
    page = view.path("feedback", "full", NOTEBOOK).with_suffix(".html").read_text()
    assert ">check dlogprobs</a>" in page and ">check dC</a>" in page
    assert ">Test cell</a>" not in page


def test_verdicts_a_notebook_brings_along_never_reach_the_report():
    forged = [{"cell": 0, "grade_id": "check_dlogprobs", "check": "dlogprobs", "status": "correct"}]
    nb = nbformat.v4.new_notebook(metadata={VERDICTS_KEY[0]: {VERDICTS_KEY[1]: forged}})
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    # not graded by the course's kernel: nothing of ours, and the forged verdicts go
    nb, _ = JudgeAnswers().preprocess(nb, {})
    assert VERDICTS_KEY[1] not in nb.metadata[VERDICTS_KEY[0]]
    # graded: the grader's own verdicts replace them (here, a notebook without checks: none)
    nb.metadata[VERDICTS_KEY[0]][VERDICTS_KEY[1]] = forged
    nb, _ = JudgeAnswers().preprocess(nb, {"backprop_ninja": {"seed": 1, "fast": True}})
    assert nb.metadata[VERDICTS_KEY[0]][VERDICTS_KEY[1]] == []


def test_make_report_without_grades_says_what_to_do(tmp_path):
    import subprocess

    from course import ENV, ROOT

    done = subprocess.run(["make", "-s", "report", f"COURSE={tmp_path}"], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert "has no grades.csv: grade the class first (make grade), then make report." in done.stdout
