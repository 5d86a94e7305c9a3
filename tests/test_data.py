"""The data loaders find `data/` from anywhere and refuse missing or damaged files, or files without
their licence, with one sentence. The installed package's own copy: tests/test_wheel.py."""

import shutil
from pathlib import Path

import pytest

from checker import CourseDataError, load_digits, load_names
from checker.data import DATA_ENV_VAR, LICENSES, data_path

REPOSITORY_DATA = Path(__file__).resolve().parents[1] / "data"


def test_names_are_the_makemore_names():
    names = load_names()
    assert len(names) == 32_033
    assert names[:3] == ["emma", "olivia", "ava"]


def test_digits_are_scaled_images_with_labels():
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))


@pytest.mark.parametrize("where", ["lessons/04_x", "autograded/alice/04_x", "elsewhere"])
def test_found_from_any_working_directory(tmp_path, monkeypatch, where):
    folder = tmp_path / where
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    assert data_path("names.txt").name == "names.txt"


def test_environment_variable_points_elsewhere(tmp_path, monkeypatch):
    shutil.copy(data_path("names.txt"), tmp_path / "names.txt")
    with_licence(tmp_path, "names.txt")
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert data_path("names.txt") == tmp_path / "names.txt"


def test_missing_file_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(CourseDataError, match=r"names.txt was not found .*git checkout -- data/"):
        load_names()


def test_damaged_file_says_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "digits.csv.gz").write_bytes(b"not the digits")
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(CourseDataError, match=r"damaged .*git checkout -- data/"):
        load_digits()


def with_licence(folder, filename):
    shutil.copy(REPOSITORY_DATA / LICENSES[filename][0], folder)


def test_a_file_without_its_licence_is_refused(tmp_path, monkeypatch):
    shutil.copy(data_path("names.txt"), tmp_path / "names.txt")
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(CourseDataError, match=r"names.txt has lost its licence, names.LICENSE, .*git checkout -- data/"):
        load_names()
    with_licence(tmp_path, "names.txt")
    assert load_names()[0] == "emma"


def test_a_damaged_licence_is_refused(tmp_path, monkeypatch):
    shutil.copy(data_path("digits.csv.gz"), tmp_path / "digits.csv.gz")
    (tmp_path / "digits.LICENSE").write_text("All rights reserved.\n")
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(CourseDataError, match=r"licence .*digits.LICENSE is damaged .*git checkout -- data/"):
        load_digits()


def test_unknown_file_lists_the_files():
    with pytest.raises(CourseDataError, match="names.txt, digits.csv.gz"):
        data_path("mnist.csv")


def test_course_errors_show_one_line_in_jupyter(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(CourseDataError) as caught:
        load_names()
    rendered = caught.value._render_traceback_()
    assert len(rendered) == 1 and "Traceback" not in rendered[0]
