"""JupyterHub for `make hub`: one instructor and two students, local Unix users, on 127.0.0.1.

Every user's server is `jupyterhub-singleuser` from the users' environment, a venv every user can
run (`make hub` builds it in /opt/backprop-ninja/venv from the system's Python: the repository's
.venv is built from root's Python, which other users cannot run): the checker, nbgrader, the course
kernel and JupyterHub. Students get JupyterLab with nbgrader's Assignment List
(jupyter/student/ turns the instructor's tools off); the instructor gets the Formgrader, in a clone
of the course in their home folder. nbgrader's exchange is the shared folder nbgrader documents.
The users and passwords are made by hub/admin.py (`make hub` runs it; `make hub-clean` undoes it).
"""

import json
import os
from pathlib import Path

HUB = Path(__file__).resolve().parent
ROOT = HUB.parent
STATE = Path(os.environ.get("BACKPROP_NINJA_HUB_STATE", HUB / "state"))
USERS = json.loads((STATE / "users.json").read_text())  # {"instructor": name, "students": [names]}
VENV = Path(os.environ.get("BACKPROP_NINJA_HUB_VENV", "/opt/backprop-ninja/venv"))
EXCHANGE = os.environ.get("BACKPROP_NINJA_EXCHANGE", "/usr/local/share/nbgrader/exchange")

c = get_config()  # noqa: F821 (JupyterHub provides it)
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("BACKPROP_NINJA_HUB_PORT", "8010"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [str(HUB / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")

# PAM: the users' own Unix passwords
c.Authenticator.allowed_users = {USERS["instructor"], *USERS["students"]}
c.Authenticator.admin_users = {USERS["instructor"]}

c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def environment(spawner) -> None:
    """What each server runs with: the course's environment first on PATH (nbgrader runs alembic
    through it), its kernels, the students' nbgrader configuration (hub/nbgrader_config.py: course id
    and exchange). The students' own ~/.jupyter turns the instructor's tools off (hub/admin.py)."""
    name = spawner.user.name
    env = spawner.environment
    env["PATH"] = f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    env["JUPYTER_PATH"] = str(VENV / "share" / "jupyter")
    env["JUPYTER_CONFIG_PATH"] = str(HUB)  # hub/nbgrader_config.py: every server reads it
    env["BACKPROP_NINJA_EXCHANGE"] = EXCHANGE
    spawner.notebook_dir = f"/home/{name}"


c.Spawner.pre_spawn_hook = environment

# The browser test (e2e/test_hub.py) drives the hub through its REST API as a service, with a token it
# makes for the run; an administrator's hub has no such service.
if os.environ.get("BACKPROP_NINJA_HUB_TOKEN"):
    c.JupyterHub.services = [{"name": "course-test", "api_token": os.environ["BACKPROP_NINJA_HUB_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "course-test", "services": ["course-test"],
                                "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users"]}]
