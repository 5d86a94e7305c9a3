"""`make hub` and `make hub-clean`: the Unix users, the exchange and the instructor's course.

    python hub/admin.py setup    # prints what it makes; passwords in hub/state/users.json (mode 600)
    python hub/admin.py reset    # the class before anything is released (the browser test starts so)
    python hub/admin.py clean    # removes exactly what setup made (its record in hub/state/made.json)

Needs root: it creates users with `useradd` and sets their passwords with `chpasswd`.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

HUB = Path(__file__).resolve().parent
ROOT = HUB.parent
STATE = Path(os.environ.get("BACKPROP_NINJA_HUB_STATE", HUB / "state"))
INSTRUCTOR = "bn-instructor"
STUDENTS = ("bn-alice", "bn-bob")
EXCHANGE = Path(os.environ.get("BACKPROP_NINJA_EXCHANGE", "/usr/local/share/nbgrader/exchange"))
COURSE = "backprop-ninja"  # the instructor's clone: /home/<instructor>/backprop-ninja
# The users' environment: a venv every user can run (`make hub` builds it from the system's Python)
VENV = Path(os.environ.get("BACKPROP_NINJA_HUB_VENV", "/opt/backprop-ninja/venv"))


def server_environment() -> dict:
    """What every user's server runs with (hub/jupyterhub_config.py), and the instructor's commands
    here: the users' environment first on PATH (nbgrader runs alembic through it), its kernels,
    hub/nbgrader_config.py (course id and exchange) and the exchange itself."""
    return {"PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin", "JUPYTER_PATH": str(VENV / "share" / "jupyter"),
            "JUPYTER_CONFIG_PATH": str(HUB), "BACKPROP_NINJA_EXCHANGE": str(EXCHANGE)}


def say(line: str) -> None:
    print(f"make hub: {line}", flush=True)


def run(*command, user: str | None = None, **kwargs):
    if user:
        command = ("runuser", "-u", user, "--", *command)
    return subprocess.run(command, check=True, text=True, **kwargs)


def user_exists(name: str) -> bool:
    return subprocess.run(["id", "-u", name], capture_output=True).returncode == 0


def record(made: dict) -> None:
    (STATE / "made.json").write_text(json.dumps(made, indent=1))


def setup() -> None:
    if os.geteuid() != 0:
        sys.exit("make hub creates Unix users (useradd, chpasswd): run it as root.")
    STATE.mkdir(parents=True, exist_ok=True)
    made = json.loads((STATE / "made.json").read_text()) if (STATE / "made.json").exists() else {"users": [], "exchange": False}
    users_file = STATE / "users.json"
    known = json.loads(users_file.read_text()) if users_file.exists() else {}
    passwords = known.get("passwords", {})
    for name in (INSTRUCTOR, *STUDENTS):
        if not user_exists(name):
            run("useradd", "--create-home", "--shell", "/bin/bash", name)
            made["users"].append(name)
            record(made)  # at once: `make hub-clean` must find every user made, even after a failure
            say(f"created the Unix user {name} (home /home/{name})")
        passwords.setdefault(name, secrets.token_urlsafe(12))
        run("chpasswd", input=f"{name}:{passwords[name]}\n")
    for name in STUDENTS:  # JupyterLab without the instructor's tools: the course's student configuration
        config = Path(f"/home/{name}/.jupyter")
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "jupyter" / "student" / "jupyter_server_config.json", config)
        shutil.copy(ROOT / "jupyter" / "student" / "labconfig" / "page_config.json", config / "labconfig")
        run("chown", "-R", f"{name}:{name}", str(config))
    say(f"{', '.join(STUDENTS)}: JupyterLab with the Assignment List and Validate, without the Formgrader "
        f"(~/.jupyter/jupyter_server_config.json and labconfig/page_config.json, from jupyter/student/)")
    if not EXCHANGE.exists():
        EXCHANGE.mkdir(parents=True)
        made["exchange"] = True
        record(made)
        say(f"created nbgrader's exchange {EXCHANGE}")
    EXCHANGE.chmod(0o777)  # as nbgrader documents: every user releases, fetches and submits here
    say(f"the exchange {EXCHANGE} is mode 777")
    course = Path(f"/home/{INSTRUCTOR}") / COURSE
    if not course.exists():
        run("git", "clone", "--quiet", str(ROOT), str(course))  # as root: git refuses to read another user's repository
        run("chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", str(course))
        say(f"cloned the course into {course} for {INSTRUCTOR}")
    else:
        say(f"kept the course {course}: it is the instructor's, and may hold their work")
    jupyter = Path(f"/home/{INSTRUCTOR}/.jupyter")
    jupyter.mkdir(exist_ok=True)
    (jupyter / "nbgrader_config.py").write_text(
        f'c = get_config()  # noqa: F821\nc.CourseDirectory.root = "{course}"\n')
    shutil.chown(jupyter, INSTRUCTOR, INSTRUCTOR)
    shutil.chown(jupyter / "nbgrader_config.py", INSTRUCTOR, INSTRUCTOR)
    say(f"{jupyter}/nbgrader_config.py points the Formgrader at {course}")
    as_instructor('nbgrader generate_assignment "*"')  # the gradebook learns the lessons, as `make lessons` does
    say(f"registered the lessons in {course}/gradebook.db")
    users_file.write_text(json.dumps({"instructor": INSTRUCTOR, "students": list(STUDENTS), "passwords": passwords}, indent=1))
    users_file.chmod(0o600)
    say(f"logins and passwords: {users_file} (readable by root only)")


def as_instructor(command: str) -> None:
    """A shell command in the instructor's course, as the instructor, with their server's environment."""
    env = [f"{k}={v}" for k, v in {"HOME": f"/home/{INSTRUCTOR}", **server_environment()}.items()]
    run("env", *env, "bash", "-c", f"cd /home/{INSTRUCTOR}/{COURSE} && {command}", user=INSTRUCTOR,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def reset() -> None:
    """A class that has not started: the exchange's copy of the course, the students' fetched lessons
    and the instructor's submissions, grades and gradebook removed; the lessons registered again."""
    shutil.rmtree(EXCHANGE / COURSE, ignore_errors=True)
    for name in STUDENTS:
        for lesson in Path(f"/home/{name}").glob("0*_*"):
            shutil.rmtree(lesson)
        shutil.rmtree(f"/home/{name}/.local/share/jupyter/nbgrader_cache", ignore_errors=True)  # their submissions' record
    course = Path(f"/home/{INSTRUCTOR}") / COURSE
    for folder in ("submitted", "autograded", "feedback", "report"):
        shutil.rmtree(course / folder, ignore_errors=True)
    for file in ("gradebook.db", "grades.csv", "grades_canvas.csv"):
        (course / file).unlink(missing_ok=True)
    as_instructor('nbgrader generate_assignment "*"')
    say("the class is reset: nothing released, fetched, submitted or graded; the lessons are registered")


def clean() -> None:
    made_file = STATE / "made.json"
    if not made_file.exists():
        say("nothing to remove: hub/state/made.json is not there")
        return
    made = json.loads(made_file.read_text())
    for name in made["users"]:
        subprocess.run(["pkill", "-u", name], capture_output=True)
        if user_exists(name):
            run("userdel", "--remove", name, stderr=subprocess.DEVNULL)
            say(f"removed the Unix user {name} and /home/{name}")
    if made.get("exchange") and EXCHANGE.exists():
        shutil.rmtree(EXCHANGE)
        say(f"removed the exchange {EXCHANGE}")
    shutil.rmtree(STATE)
    say(f"removed {STATE}")


if __name__ == "__main__":
    {"setup": setup, "reset": reset, "clean": clean}[sys.argv[1]]()
