"""The course's data sets, found wherever the checker runs, each verified with its licence.

The repository's `data/` is the one copy kept in git. Building the package (a wheel, or
`pip install` of the repository) copies it into the package as `checker/course_data/` (setup.py),
so an installed checker carries its data. The folder is looked for in this order:
1. the `BACKPROP_NINJA_DATA` environment variable: if set, only that folder;
2. `course_data/` inside the installed package;
3. `data/` beside the package (a clone, with the editable install `make` does);
4. `data/` in the working directory or any folder above it.
Every data file is checked against its sha256, and so is the licence that must travel with it.
"""

import gzip
import hashlib
import os
from functools import cache
from pathlib import Path

import numpy as np

from .errors import CourseDataError

DATA_ENV_VAR = "BACKPROP_NINJA_DATA"
PACKAGE_DATA = Path(__file__).resolve().parent / "course_data"

SHA256 = {
    "names.txt": "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    "digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
}
# The licence each data file is used under, and its sha256: the two are never shipped apart.
LICENSES = {
    "names.txt": ("names.LICENSE", "a59ec5cdb1c1e447e5266a014b3e7ded511f8d6e5a08931e931c87490ff821fe"),
    "digits.csv.gz": ("digits.LICENSE", "8752dfe82d4a768e76ee309b202e7b33906d1ea9004d68cc61564391cc6b1a96"),
}


def _candidate_dirs():
    if os.environ.get(DATA_ENV_VAR):
        yield Path(os.environ[DATA_ENV_VAR])
        return
    yield PACKAGE_DATA
    yield Path(__file__).resolve().parent.parent / "data"
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        yield folder / "data"


def _restore_hint(folder: Path) -> str:
    if folder == PACKAGE_DATA:
        return "reinstall the checker: run the `pip install` you installed it with again, adding `--force-reinstall`"
    return "restore it from the course repository with `git checkout -- data/`"


def data_path(filename: str) -> Path:
    """The verified path of one data file, e.g. `data_path("names.txt")`."""
    if filename not in SHA256:
        raise CourseDataError(
            f"There is no course data file called {filename!r}; the files are {', '.join(SHA256)}."
        )
    searched = []
    for folder in _candidate_dirs():
        path = folder / filename
        if path.is_file():
            _verify(path, SHA256[filename], f"The course data file {path}", _restore_hint(folder))
            license_name, license_sha256 = LICENSES[filename]
            license_path = folder / license_name
            if not license_path.is_file():
                raise CourseDataError(f"The course data file {path} has lost its licence, {license_name}, "
                                      f"which must be beside it: {_restore_hint(folder)}.")
            _verify(license_path, license_sha256, f"The licence {license_path}", _restore_hint(folder))
            return path
        searched.append(str(folder))
    raise CourseDataError(
        f"The course data file {filename} was not found (looked in {', '.join(dict.fromkeys(searched))}): "
        f"in a clone of the course, restore it with `git checkout -- data/`; elsewhere reinstall the checker "
        f"with pip; or set {DATA_ENV_VAR} to the folder that holds it."
    )


@cache
def _digest(path: Path, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verify(path: Path, sha256: str, what: str, hint: str) -> None:
    stat = path.stat()
    if _digest(path, stat.st_size, stat.st_mtime_ns) != sha256:
        raise CourseDataError(f"{what} is damaged (its checksum does not match): {hint}.")


def load_names() -> list[str]:
    """The 32,033 makemore names, in file order."""
    return data_path("names.txt").read_text(encoding="utf-8").splitlines()


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digits: X (1797, 64) float64 in [0, 1] and labels y (1797,) int64."""
    with gzip.open(data_path("digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :64] / 16, table[:, 64].astype(np.int64)
