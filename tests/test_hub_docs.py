"""The JupyterHub section of docs/instructors.md is what `make hub` does (hub/admin.py,
hub/jupyterhub_config.py, the Makefile, hub/Dockerfile): the users, the environment and its pins, the
exchange and its mode, the configuration files and where they go. `make hub-test` (e2e/test_hub.py)
runs the hub itself; this file checks that the page an administrator copies from says the same."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"


def section() -> str:
    text = (ROOT / "docs" / "instructors.md").read_text()
    start = text.index("## JupyterHub\n")
    return " ".join(text[start:text.index("\n## ", start + 1)].split())


def admin():
    spec = importlib.util.spec_from_file_location("hub_admin", HUB / "admin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_users_the_exchange_and_its_mode_are_the_admin_scripts():
    said, module, source = section(), admin(), (HUB / "admin.py").read_text()
    for user in (module.INSTRUCTOR, *module.STUDENTS):
        assert f"`{user}`" in said
    assert f"`{module.EXCHANGE}`, mode 777" in said and "EXCHANGE.chmod(0o777)" in source
    assert f"(`/home/{module.INSTRUCTOR}/{module.COURSE}`)" in said
    assert 'nbgrader generate_assignment "*"' in said and "as_instructor('nbgrader generate_assignment \"*\"')" in source
    assert "c.CourseDirectory.root" in said and "c.CourseDirectory.root" in source


def test_the_students_configuration_is_what_admin_copies_and_the_image_holds():
    said, source, dockerfile = section(), (HUB / "admin.py").read_text(), (HUB / "Dockerfile").read_text()
    for name in ("jupyter_server_config.json", "page_config.json"):
        assert name in said and name in source and f"jupyter/student/{'labconfig/' if name == 'page_config.json' else ''}{name}" in dockerfile
        assert (ROOT / "jupyter" / "student" / ("labconfig" if name == "page_config.json" else "") / name).exists()
    assert "cp /opt/backprop-ninja-course/hub/nbgrader_config.py /etc/jupyter/nbgrader_config.py" in dockerfile
    assert "copy it to `/etc/jupyter/`" in said


def test_the_environment_its_pins_and_the_servers_settings_are_the_hubs():
    said = section()
    makefile = (ROOT / "Makefile").read_text()
    config = (HUB / "jupyterhub_config.py").read_text()
    venv = re.search(r"^HUB_VENV\s*\?=\s*(\S+)", makefile, re.M)[1]
    assert f"-m venv {venv}`" in said and f'"{venv}"' in (HUB / "admin.py").read_text()
    python = re.search(r"^HUB_PYTHON\s*\?=\s*(\S+)", makefile, re.M)[1]
    assert f"`{python} -m venv" in said
    for pin in (ROOT / "requirements-hub.txt").read_text().split():
        if "==" in pin:
            assert f"`{pin}`" in said
    assert "pip install -r requirements.txt -r requirements-hub.txt" in said and \
        "-r requirements.txt -r requirements-hub.txt" in makefile
    assert "ipykernel install --sys-prefix --name backprop-ninja" in said and "--sys-prefix --name $(KERNEL)" in makefile
    assert "admin.server_environment()" in config
    for variable in ("PATH", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "BACKPROP_NINJA_EXCHANGE"):
        assert f"`{variable}`" in said and variable in admin().server_environment()
    assert "jupyterhub-singleuser" in said and '"jupyterhub-singleuser"' in config
    assert "(PAM)" in said and "Authenticator.authenticator_class" not in config  # PAM is JupyterHub's default
    assert "`configurable-http-proxy`" in said and '"configurable-http-proxy"' in (HUB / "package.json").read_text()
    assert "127.0.0.1:8010" in said and '"8010"' in config and 'c.JupyterHub.ip = "127.0.0.1"' in config


def test_make_hub_and_its_test_and_clean_are_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("hub", "hub-setup", "hub-test", "hub-clean"):
        assert re.search(rf"^{target}:", makefile, re.M)
    assert "e2e/test_hub.py" in makefile and "e2e/test_browser.py" in makefile  # make e2e does not start a hub
