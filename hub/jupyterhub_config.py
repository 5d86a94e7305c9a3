"""JupyterHub for `make hub`: one instructor and two students, local Unix users, on 127.0.0.1.

Every user's server is `jupyterhub-singleuser` from the users' environment, a venv every user can
run (`make hub` builds it in /opt/backprop-ninja/venv from the system's Python: the repository's
.venv is built from root's Python, which other users cannot run): the checker, nbgrader, the course
kernel and JupyterHub. Students get JupyterLab with nbgrader's Assignment List
(jupyter/student/ turns the instructor's tools off); the instructor gets the Formgrader, in a clone
of the course in their home folder. nbgrader's exchange is the shared folder nbgrader documents.
The users and passwords are made by hub/admin.py (`make hub` runs it; `make hub-clean` undoes it).
"""

import importlib.util
import os
from pathlib import Path

HUB = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("hub_admin", HUB / "admin.py")  # the users and their environment
admin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(admin)
STATE = admin.STATE

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
c.Authenticator.allowed_users = {admin.INSTRUCTOR, *admin.STUDENTS}
c.Authenticator.admin_users = {admin.INSTRUCTOR}

c.Spawner.cmd = [str(admin.VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def environment(spawner) -> None:
    """Each server runs in its user's home folder with admin.server_environment(): the users'
    environment, its kernels, hub/nbgrader_config.py and the exchange. The students' own ~/.jupyter
    turns the instructor's tools off (hub/admin.py)."""
    spawner.environment.update(admin.server_environment())
    spawner.notebook_dir = f"/home/{spawner.user.name}"


c.Spawner.pre_spawn_hook = environment

# The browser test (e2e/test_hub.py) drives the hub through its REST API as a service, with a token it
# makes for the run; an administrator's hub has no such service.
if os.environ.get("BACKPROP_NINJA_HUB_TOKEN"):
    c.JupyterHub.services = [{"name": "course-test", "api_token": os.environ["BACKPROP_NINJA_HUB_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "course-test", "services": ["course-test"],
                                "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users"]}]
