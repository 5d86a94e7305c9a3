"""Real nbgrader runs over the makemore lessons: the lecture's reference answers earn full marks,
the blank lessons earn 0."""

import csv
import shutil

import pytest

from checker.grading import max_points

from course import ROOT, SOLUTIONS, nbgrader_meta, read, run, solutions_by_id

MAKEMORE = sorted(p.relative_to(SOLUTIONS) for p in SOLUTIONS.glob("0[4-7]_makemore_*/*.ipynb"))


def lecture_answers(relpath) -> dict:
    """The answer cells as the lecture wrote them: our solutions, except that the lecture's
    `dbnmeani` in Exercise 1 drops the summed dimension (shape (64,) for a (1, 64) tensor)."""
    answers = solutions_by_id(SOLUTIONS / relpath)
    if "answer_dbnmeani" in answers:
        keepdim = "(-dbndiff).sum(0, keepdim=True)"
        assert keepdim in answers["answer_dbnmeani"]
        answers["answer_dbnmeani"] = answers["answer_dbnmeani"].replace(keepdim, "(-dbndiff).sum(0)")
    return answers


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    """{(assignment, student): (score, max_score)} after generating, submitting and autograding."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for relpath in MAKEMORE:
        assignment = relpath.parts[0]
        shutil.copytree(SOLUTIONS / assignment, course / "solutions" / assignment)
        run("nbgrader", "generate_assignment", assignment, cwd=course)
        lesson = read(course / "lessons" / relpath)
        submit(course, "blank", relpath, lesson)
        answers = lecture_answers(relpath)
        for cell in lesson.cells:
            if nbgrader_meta(cell).get("solution"):
                placeholder = cell.source.splitlines()[0]
                cell.source = placeholder + "\n" + answers[nbgrader_meta(cell)["grade_id"]]
        submit(course, "lecture", relpath, lesson)
        run("nbgrader", "autograde", assignment, cwd=course)
    run("nbgrader", "export", cwd=course)
    with open(course / "grades.csv") as f:
        return {(row["assignment"], row["student_id"]): (float(row["score"]), float(row["max_score"]))
                for row in csv.DictReader(f)}


def submit(course, student, relpath, notebook):
    import nbformat

    path = course / "submitted" / student / relpath
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)


@pytest.mark.parametrize("relpath", MAKEMORE, ids=str)
def test_lecture_answers_full_marks_blank_lesson_zero(scores, relpath):
    assignment, total = relpath.parts[0], max_points(ROOT, relpath.parts[0])
    assert total > 0
    assert scores[(assignment, "lecture")] == (total, total)
    assert scores[(assignment, "blank")] == (0.0, total)
