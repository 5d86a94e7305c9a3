"""The grading seed: secret, one per course, student and lesson.

A secret is drawn once per course and kept beside its gradebook (`.grading_secret`, git-ignored,
readable by its owner only; graded kernels cannot read the course folder). Each student's seed for
a lesson is that secret's HMAC of their id and the lesson: nobody can compute the grader's data,
parameters or batch ahead of time, two students' answers differ, and a seed a graded kernel shows
(its notebook can print its own data) is no use for another lesson. `make grade`, `nbgrader
autograde` and the Formgrader read the same file, so they give the same seed.

    seed_for(course_root, "alice", "04_makemore_atomic_backprop")   # the same number every time
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE = ".grading_secret"
LESSONS_DEFAULT_SEED = 2147483647  # never the learner's own seed: numbers copied from their run fail


def course_secret(course_root) -> bytes:
    """The course's secret, drawn and saved on first use (atomically: two graders starting at
    once agree on one secret)."""
    path = Path(course_root) / SECRET_FILE
    if not path.exists():
        drawn = secrets.token_hex(32)
        fd = None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, drawn.encode())
        except FileExistsError:
            pass
        finally:
            if fd is not None:
                os.close(fd)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable grading secret: delete it, and the next grading run draws a "
                           "new one (scores graded with the old one change).")
    return secret.encode()


def seed_for(course_root, student: str, lesson: str = "") -> int:
    """The grading seed of one student for one lesson of this course: 31 bits, never the lessons' own seed."""
    message = f"{student}\n{lesson}" if lesson else str(student)
    digest = hmac.new(course_secret(course_root), message.encode(), hashlib.sha256).digest()
    seed = int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
    return seed + 1 if seed == LESSONS_DEFAULT_SEED else seed
