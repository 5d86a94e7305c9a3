"""nbgrader configuration for backprop-ninja: `solutions/` are the sources, `lessons/` the release."""

import importlib.util
import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)
COURSE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "backprop-ninja"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"

# Every notebook runs in the course's own kernel, never a stray `python3` kernelspec.
c.Execute.kernel_name = "backprop-ninja"
c.Execute.timeout = 120  # seconds per cell, for `nbgrader validate` too

# Validate (JupyterLab's button, `make validate`) lists the cells that failed. While validating, the
# checks do not fail one by one: the lesson's scoreboard cell, a course cell and not a graded one,
# fails once with "n/26 correct" and each step not yet right on a line (checker/report.py).
# validate_all lets a course cell's failure count, and an answer cell's that raised.
c.Validator.validate_all = True
os.environ["BACKPROP_NINJA_VALIDATE_ALL"] = "1"  # the kernel's cue (checker/environment.py)

# The answer cells keep a runnable placeholder (`dX = None  # TODO`) above the solution region,
# so the stub must not raise: "Run All" on a fresh lesson has to reach the scoreboard.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A learner who deletes a graded cell gets it back when grading.
c.OverwriteCells.add_missing_cells = True

# `lessons/` is committed: `nbgrader generate_assignment <lesson>` regenerates it (and registers the
# lesson in the gradebook) instead of skipping an existing release.
c.GenerateAssignment.force = True

# The exchange (release_assignment, fetch_assignment, submit, collect, release_feedback): a folder of
# this course by default, git-ignored; on JupyterHub set BACKPROP_NINJA_EXCHANGE to the shared one
# (nbgrader's usual /usr/local/share/nbgrader/exchange, world-writable).
c.Exchange.root = os.environ.get("BACKPROP_NINJA_EXCHANGE") or os.path.join(COURSE, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)  # nbgrader wants it to exist already

# `nbgrader export` writes its own CSV; `make grade` writes grades.csv (with status and reason).
c.CsvExportPlugin.to = "nbgrader_export.csv"

# Before nbgrader's own sanitize steps, a submission's cells are put back the way the lesson has
# them (checker/grading/lesson_cells.py): a duplicated cell, an answer deleted with its check, lost
# metadata or reordered cells are graded as a marker would, where nbgrader's steps would stop.
c.Autograde.sanitize_preprocessors = [
    "checker.grading.lesson_cells.RestoreLessonCells",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Autograding, the same for `make grade`, `nbgrader autograde` and the Formgrader: nbgrader's own
# steps, with the course's three (checker/grading/preprocessors.py). The hidden tests load the
# grader's checker; kernels get the grading seed and fast mode from here, never from the shell;
# checks from the first learner cell that breaks the lesson's rules (checker/rules.py) score 0.
c.Autograde.autograde_preprocessors = [
    "checker.grading.preprocessors.LocateHiddenTests",
    "checker.grading.preprocessors.CourseExecute",
    "checker.grading.judge.JudgeAnswers",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "checker.grading.preprocessors.ApplyRules",
    "checker.grading.preprocessors.CreditCarriedForward",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# What the graded kernel's guard refused (checker/grading/guard.py) stays in the autograded notebook.
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("backprop_ninja",)}
# Grading seeds are secret, one per student: .grading_secret beside the gradebook (checker/grading/seeds.py).
# c.CourseExecute.seed = 12345 would give every student the same one.
c.CourseExecute.timeout = 120  # seconds per cell: an infinite loop costs its cell, not the whole run
# A step that is right given the learner's own earlier answers (error carried forward): "full"
# credit, "half" or "none" (as if it were wrong). make grade GRADE_ARGS="--carried-credit half".
c.CreditCarriedForward.credit = "full"

# Feedback pages: grades, then each graded cell without its hidden tests' code (their results
# stay), then the page's CSS. See checker/grading/feedback.py.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "checker.grading.feedback.OmitHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Their maths render offline: nbgrader's `feedback` template, with MathJax written into the page
# (checker/grading/templates/feedback/ comes first) instead of loaded from a CDN.
# (find_spec finds a package without importing it: torch stays out of every nbgrader command.)
_checker, _nbgrader = (importlib.util.find_spec(p).submodule_search_locations[0] for p in ("checker", "nbgrader"))
c.HTMLExporter.extra_template_basedirs = [
    os.path.join(_checker, "grading", "templates"),
    os.path.join(_nbgrader, "server_extensions", "formgrader", "templates"),
]
c.HTMLExporter.filters = {"inline_mathjax": "checker.grading.feedback.inline_mathjax"}
c.GenerateFeedback.exporter_class = "checker.grading.feedback.FeedbackExporter"

# One grading run per course at a time: nbgrader's own autograde (its command, the Formgrader's
# button) holds the course's grading lock, as `make grade` does, and refuses to start while another
# run grades (checker/grading/run_lock.py, loaded by path: no nbgrader command imports torch).
_spec = importlib.util.spec_from_file_location("_backprop_ninja_run_lock", os.path.join(_checker, "grading", "run_lock.py"))
_run_lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_run_lock)
_run_lock.hold_during_nbgrader_autograde()
