"""`make grade` over every lesson: the reference answers (for the makemore exercises, written the
lecture's way) earn full marks under the grader's own seed, and the blank lessons earn 0."""

import pytest

from checker.grading.run import max_points, scratch_course

from course import LESSONS, ROOT, SOLUTIONS, not_done_failure, notebooks, read, solutions_by_id, with_answers

ALL = notebooks(SOLUTIONS)


def lecture_answers(relpath) -> dict:
    """The answer cells as the lecture wrote them: our solutions, except that the lecture's
    `dbnmeani` in Exercise 1 drops the summed dimension (shape (64,) for a (1, 64) tensor)."""
    answers = solutions_by_id(SOLUTIONS / relpath)
    if "answer_dbnmeani" in answers:
        keepdim = "(-dbndiff).sum(0, keepdim=True)"
        assert keepdim in answers["answer_dbnmeani"]
        answers["answer_dbnmeani"] = answers["answer_dbnmeani"].replace(keepdim, "(-dbndiff).sum(0)")
    return answers


def answered(relpath):
    """The released lesson with the reference answers typed into its answer cells."""
    return with_answers(read(LESSONS / relpath), lecture_answers(relpath))


def class_submissions():
    """This file's students in the one graded class (tests/graded_class.py): every lesson blank,
    and answered the lecture's way."""
    return {(student, str(relpath)): notebook for relpath in ALL
            for student, notebook in (("blank", read(LESSONS / relpath)), ("reference", answered(relpath)))}


@pytest.fixture(scope="module")
def graded(graded_class):
    return graded_class.view(__name__)


@pytest.fixture(scope="module")
def scores(graded):
    """{(assignment, student): (score, max_score, status)} after `make grade` of every lesson."""
    return graded, {key: (float(row["score"]), float(row["max_score"]), row["status"])
                    for key, row in graded.rows_by_lesson.items()}


@pytest.mark.parametrize("relpath", ALL, ids=str)
def test_reference_answers_full_marks_blank_lesson_zero(scores, relpath):
    assignment, total = relpath.parts[0], max_points(ROOT, relpath.parts[0])
    assert total > 0
    _, scores = scores
    assert scores[(assignment, "reference")] == (total, total, "graded")
    assert scores[(assignment, "blank")] == (0.0, total, "graded")


@pytest.mark.parametrize("relpath", ALL, ids=str)
def test_a_blank_lessons_checks_fail_because_they_are_not_done(scores, relpath):
    """Not for any other reason: a NameError in a lesson's own code would also score 0."""
    view, _ = scores
    graded = [c for c in read(view.path("autograded", "blank", str(relpath))).cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded
    for cell in graded:
        assert not_done_failure(cell.outputs), (cell.metadata["nbgrader"]["grade_id"], cell.outputs)


@pytest.mark.parametrize("relpath", ALL, ids=str)
def test_the_guard_refuses_nothing_of_a_lesson_answered_or_blank(scores, relpath):
    """The guard (checker/grading/guard.py) ran in every graded kernel: the lesson's own cells, its
    hidden tests, the reference answers and the libraries they use did nothing it refuses."""
    graded, _ = scores
    for student in ("reference", "blank"):
        kept = read(graded.path("autograded", student, str(relpath))).metadata.get("backprop_ninja", {})
        assert kept.get("refusals") == [], (student, kept)


def test_every_student_is_in_the_gradebook_before_the_workers_start(tmp_path):
    """Two workers grading one student's first two lessons at once both created the student, and the
    second failed on the gradebook's unique key ('not graded'): 4 runs in 22 of 8 blank lessons of one
    student with --jobs 2. make grade now enters every student first, alone."""
    from nbgrader.api import Gradebook
    from checker.grading.run import register_gradebook

    course = scratch_course(tmp_path, {("ann", str(ALL[0])): "not graded here"})
    register_gradebook(course, [ALL[0].parts[0]], ["ann", "bob"])
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert sorted(student.id for student in gradebook.students) == ["ann", "bob"]
        assert [a.name for a in gradebook.assignments] == [ALL[0].parts[0]]
