"""checker.grading.nbgrader_speedups gives nbgrader the same answers, faster: compared here with the real
`alembic` command and the real jsonschema."""

import sys

import jsonschema
import pytest
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from checker.grading import nbgrader_speedups

from course import ROOT, run


def test_the_gradebook_revision_is_the_one_alembic_reports():
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:////tmp/unused.db") as ini:
        printed = run("alembic", "-c", ini, "heads", cwd=ROOT).stdout
    assert printed.split()[0] == nbgrader_speedups._alembic_head()


@pytest.mark.parametrize("metadata", [
    {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "a", "schema_version": 3},
    {"grade": True, "solution": False, "locked": True, "points": -1, "grade_id": "a", "schema_version": 3},
    {"grade": "yes", "schema_version": 3},
    {"schema_version": 3},
])
def test_compiled_schemas_raise_what_jsonschema_raises(metadata):
    schema = MetadataValidatorV3().schema
    compiled = nbgrader_speedups._CompiledSchemas()
    try:
        jsonschema.validate(metadata, schema)
        expected = None
    except jsonschema.ValidationError as error:
        expected = error.message
    try:
        compiled.validate(metadata, schema)
        got = None
    except jsonschema.ValidationError as error:
        got = error.message
    assert got == expected


def test_grading_processes_skip_rfc3987_syntax_and_still_validate_notebooks():
    probe = """
import sys
import checker.grading.run, nbformat
broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
broken.cells[0]["execution_count"] = "one"
try:
    nbformat.validate(broken)
    print("accepted")
except nbformat.ValidationError:
    print("rejected")
print("rfc3987_syntax" if sys.modules.get("rfc3987_syntax") else "skipped")
"""
    assert run(sys.executable, "-c", probe).stdout.split() == ["rejected", "skipped"]
