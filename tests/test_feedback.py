"""The MathJax a feedback page carries (checker/grading/feedback.py); pages rendered by make grade
and nbgrader: test_grade_e2e.py, test_nbgrader_workflow.py, and in a browser offline, e2e/."""

import sys

import pytest

from checker.grading import feedback


def test_the_template_leaves_mathjax_a_place_that_the_exporter_fills():
    page = feedback.inline_mathjax("https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js")
    assert page.startswith("<script>\nwindow.MathJax = {") and "cdnjs" not in page
    assert page.endswith(f"<script>{feedback.MATHJAX_PLACEHOLDER}</script>")  # a real page: course.fetched_from_the_network
    script = feedback._mathjax_script()
    assert "</script" not in script and len(script) > 2_000_000  # only its own element ends; tex-svg-full


def test_without_the_mathjax_package_one_sentence_says_what_to_install(monkeypatch):
    feedback._mathjax_script.cache_clear()
    monkeypatch.setitem(sys.modules, "mathjax", None)  # as if not installed: importing it fails
    try:
        with pytest.raises(RuntimeError, match=r"^Feedback pages carry MathJax from the django-static-mathjax package"):
            feedback.inline_mathjax()  # when the template is rendered, before any page is written
    finally:
        feedback._mathjax_script.cache_clear()
