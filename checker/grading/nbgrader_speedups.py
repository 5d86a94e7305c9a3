"""A faster nbgrader for `make grade`, with the same results.

nbgrader checks every cell's nbgrader metadata with `jsonschema.validate(metadata, schema)`, which
checks the schema itself and builds a new validator on every call: for a lesson of 90 cells that
is 0.4 s of each 3.5 s autograde on this machine. `install()` gives nbgrader's metadata module a
`jsonschema` whose `validate` compiles each schema once. Errors are the same: the best-matching
`ValidationError`, raised. nbgrader is pinned in requirements.txt. tests/test_nbgrader_speedups.py
compares each shortcut with what it replaces; tests/test_grading.py grades every lesson through them.

Creating a gradebook, nbgrader asks the `alembic` command for its newest database revision: a
subprocess that spends 3.4 s importing what this process has already imported. `install()` reads
the same revision from nbgrader's migration scripts in-process (3 ms).

Importing this module before `nbformat` or `nbgrader` also saves each grading process 1.3 s:
jsonschema's format checkers import `rfc3987_syntax` when it is installed (the Jupyter stack
installs it), which compiles ~35 Earley parsers at import time, for the `iri` formats that no
notebook or nbgrader schema uses (python-jsonschema/jsonschema#1428). Marking it as absent makes
jsonschema skip those two format checks, as it does wherever the package is not installed.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # before jsonschema: see above

import jsonschema  # noqa: E402


class _CompiledSchemas:
    """The `jsonschema` module as nbgrader's metadata validation uses it, with cached validators."""

    def __init__(self):
        self._validators = {}  # id(schema) -> (schema, validator); holding the schema keeps its id unique

    def validate(self, instance, schema) -> None:
        entry = self._validators.get(id(schema))
        if entry is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            entry = self._validators[id(schema)] = (schema, cls(schema))
        error = jsonschema.exceptions.best_match(entry[1].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(jsonschema, name)


def _alembic_head() -> str:
    """What `alembic heads` prints first for nbgrader's migrations: the gradebook's newest revision."""
    from pathlib import Path

    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()


def install() -> None:
    from nbgrader import api
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _CompiledSchemas):
        common.jsonschema = _CompiledSchemas()
    api.get_alembic_version = _alembic_head
