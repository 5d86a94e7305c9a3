"""What a student's feedback page shows: their notebook as graded, without the hidden tests' code,
with its maths rendered wherever it is opened, offline too.

nbgrader puts each graded cell's hidden tests back before grading and, by default, shows them in
the feedback. Here they are only the call into the grader's own check (see verify.py): noise for a
student, while its result, the output under the cell, stays. Registered for `GenerateFeedback` in
nbgrader_config.py. Unlike nbgrader's ClearHiddenTests, which guards the instructor's sources, it
never stops the feedback, and leaves the student's own cells as they wrote them.

nbgrader's page loads MathJax from a CDN, so without a network its derivations read as raw `$...$`.
The page is a single file that students open from disk or fetch through nbgrader's exchange (which
carries the HTML file alone), so MathJax travels inside it: templates/feedback/, put before
nbgrader's own `feedback` template in nbgrader_config.py, replaces the page's `mathjax` macro with
`inline_mathjax`, which writes MathJax 3's tex-svg-full.js (from the pinned django-static-mathjax
package: SVG output needs no font files, and "full" loads no extension at run time) into the page.
The template writes a placeholder, and `FeedbackExporter` (c.GenerateFeedback.exporter_class) puts
the 2 MB script in its place once the page is made: nbconvert reparses every page it makes with
BeautifulSoup, which took 0.2 s a page here for the script alone. The page is the same, byte for byte.
"""

import importlib.resources
from functools import cache

from nbconvert.exporters import HTMLExporter
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

MATHJAX_SCRIPT = "static/mathjax/es5/tex-svg-full.js"
MATHJAX_PLACEHOLDER = "/* MathJax 3, put here by checker.grading.feedback.FeedbackExporter */"
# nbconvert's MathJax 2 settings (templates/base/mathjax.html.j2) in MathJax 3's words.
MATHJAX_CONFIG = r"""window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true, tags: 'ams'},
  svg: {fontCache: 'global'}
};"""


@cache
def _mathjax_script() -> str:
    try:
        script = (importlib.resources.files("mathjax") / MATHJAX_SCRIPT).read_text(encoding="utf-8")
    except (ImportError, OSError):
        raise RuntimeError("Feedback pages carry MathJax from the django-static-mathjax package, which this "
                           "environment lacks: install the course's requirements.txt (make venv).") from None
    return script.replace("</script", "<\\/script")  # the page's <script> element must not end early


def inline_mathjax(_cdn_url=None) -> str:
    """The Jinja filter behind the feedback template's `mathjax` macro: MathJax itself (its placeholder,
    until FeedbackExporter fills it in), not a link to it."""
    _mathjax_script()  # a missing package says so before any page is made
    return f"<script>\n{MATHJAX_CONFIG}\n</script>\n<script>{MATHJAX_PLACEHOLDER}</script>"


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, with MathJax itself where the template left its placeholder, and its
    table of contents naming each check ("check dlogprobs") where nbgrader's says "Test cell"."""

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources, **kw)
        output = output.replace(f"<script>{MATHJAX_PLACEHOLDER}</script>", f"<script>{_mathjax_script()}</script>", 1)
        return name_the_checks(output, nb), resources


def check_names(nb) -> dict:
    """{grade_id: "check <name>"} for every graded test cell: the name the grader judged it by
    (judge.py's verdicts), else the grade_id without its `check_` (the course's cells are named so)."""
    import html

    from .judge import VERDICTS_KEY

    judged = {v.get("grade_id"): v.get("check") for v in nb.metadata.get(VERDICTS_KEY[0], {}).get(VERDICTS_KEY[1], [])}
    names = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id"):
            grade_id = meta["grade_id"]
            names[grade_id] = "check " + html.escape(judged.get(grade_id) or grade_id.removeprefix("check_"))
    return names


def name_the_checks(page: str, nb) -> str:
    for grade_id, name in check_names(nb).items():
        page = page.replace(f'<a href="#{grade_id}">Test cell</a>', f'<a href="#{grade_id}">{name}</a>', 1)
    return page


class OmitHiddenTests(ClearHiddenTests):
    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) and not utils.is_solution(cell):  # the course's check cells only
            try:
                self._remove_hidden_test_region(cell)
            except RuntimeError:  # markers a student typed into a check cell: show it as it is
                pass
        return cell, resources


def write_not_graded_page(path, submitted, lesson: str, notebook: str, reason: str) -> None:
    """The feedback page of a submission that could not be graded: why, in one sentence. The
    submission's timestamp.txt and submission_secret.txt go beside it, as nbgrader's own pages
    have them, so `nbgrader release_feedback` can send it to the student."""
    import html
    import shutil
    from pathlib import Path

    path, submitted = Path(path), Path(submitted)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name in ("timestamp.txt", "submission_secret.txt"):
        if (submitted / name).is_file():
            shutil.copy(submitted / name, path.parent / name)
    sentence = reason[:1].upper() + reason[1:]
    path.write_text(
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(notebook)}: not graded</title></head>\n"
        f"<body style='font-family:sans-serif;max-width:50em;margin:2em auto'>\n"
        f"<h1>{html.escape(lesson)}: {html.escape(notebook)}</h1>\n"
        f"<p><b>Your notebook was not graded.</b> {html.escape(sentence.rstrip('.'))}.</p>\n</body></html>\n",
        encoding="utf-8")
