"""Grading: what `make grade` and `make validate` run in the grader's own processes, never in a
learner's kernel (nbgrader and jupyter_client are imported here and nowhere else in `checker`).

    run.py                the grading run (`python -m checker.grading`), grades.csv, scratch courses
    preprocessors.py      the course's steps in nbgrader's autograde: where the hidden tests load
                          from, the kernels' seed and environment, the rules' zeros
    verify.py             the hidden tests' entry point: the one file here that runs inside a
                          graded kernel, executed from its source, standard library only
    validate.py           `make validate`: a learner's pre-submission check, in a fresh kernel
    feedback.py           what a feedback page shows (an nbgrader preprocessor)
    warm_kernels.py       kernels forked from a warm zygote (kernel_zygote.py), for speed
    nbgrader_speedups.py  nbgrader's slow start-up paths made fast, with the same results
    notebooks.py          reading the course's nbgrader notebooks (tests, benchmarks, grading)
"""
