"""bench/measured.json: the figures `make train RECORD=1` and `make bench RECORD=1` measured last.

The lesson and the README quote these figures; tests/test_measured.py checks that they quote them
as recorded, so a new measurement that changes them makes the texts change with it.
"""

import json
from pathlib import Path

MEASURED = Path(__file__).resolve().parent / "measured.json"


def record(name: str, figures: dict) -> None:
    """Stores `figures` under `name`, keeping every other entry."""
    measured = json.loads(MEASURED.read_text()) if MEASURED.exists() else {}
    measured[name] = figures
    MEASURED.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n")
    print(f"recorded {name} in {MEASURED.name}")
