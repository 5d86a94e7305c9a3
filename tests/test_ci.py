"""The GitHub workflows: CI runs `.ci/run` on every push and pull request, and a pushed tag v*
builds the sdist and the wheel and publishes them to PyPI by trusted publishing, with no token."""

import re

import yaml

from course import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> tuple[dict, dict]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    return workflow, workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True


def runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def uses(job: dict, action: str) -> list[dict]:
    return [step for step in job["steps"] if step.get("uses", "").startswith(f"{action}@")]


def test_ci_runs_ci_run_on_every_push_and_pull_request():
    workflow, on = load("ci.yml")
    assert set(on) == {"push", "pull_request"} and not any(on.values()), "no branch or path filters"
    [job] = workflow["jobs"].values()
    assert uses(job, "actions/checkout") and runs(job) == ["bash .ci/run"]
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), flags=re.M)


def test_a_tag_builds_the_sdist_and_the_wheel_and_publishes_them_by_trusted_publishing():
    workflow, on = load("release.yml")
    assert on == {"push": {"tags": ["v*"]}}
    jobs = workflow["jobs"]
    [build] = [job for job in jobs.values() if any("python -m build" in run for run in runs(job))]
    [publish] = [job for job in jobs.values() if uses(job, "pypa/gh-action-pypi-publish")]

    # both artifacts: `python -m build` alone builds the sdist, then the wheel from it
    [command] = [run for run in runs(build) if run.startswith("python -m build")]
    assert {"--sdist", "--wheel"} & set(command.split()) in (set(), {"--sdist", "--wheel"})
    assert "python -m pip install -r requirements-build.txt" in runs(build)
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", pin) for pin in (ROOT / "requirements-build.txt").read_text().splitlines()
               if pin and not pin.startswith("#"))
    [upload] = uses(build, "actions/upload-artifact")
    [download] = uses(publish, "actions/download-artifact")
    assert upload["with"]["name"] == download["with"]["name"]
    assert publish["needs"] in ("build", ["build"]) and jobs["build"] is build

    # trusted publishing: an OIDC token for the `pypi` environment, never a stored password or token
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"] in ("pypi", {"name": "pypi"})
    [step] = uses(publish, "pypa/gh-action-pypi-publish")
    assert not {"password", "user", "username"} & set(step.get("with") or {})
    assert "secrets." not in (WORKFLOWS / "release.yml").read_text()
