"""A class on a real JupyterHub, in a real browser: `make hub-test` (as root; needs Debian's chromium).

`make hub-setup` has made the hub's users (an instructor and two students), the exchange and the
instructor's course. This test starts JupyterHub itself (hub/jupyterhub_config.py, with a service
token of its own for the REST API), resets the class (hub/admin.py reset) and walks it in headless
Chromium: the instructor releases lesson 04 in the Formgrader; each student logs in with their Unix
password, fetches it from the Assignment List, answers it (alice fully, bob with a slip: dlogprobs
without its 1/n) and submits; the instructor collects, autogrades each submission and generates and
releases feedback in the Formgrader; each student fetches the feedback and opens its page. Scores:
26/26 and 25/26 (bob's later steps are right given his dlogprobs: error carried forward). The
answers are typed into the notebooks through Jupyter's contents API (what JupyterLab's save does),
not key by key. Screenshots of each step: e2e/screenshots/hub-*.png.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

from browser import CHROMIUM, CHROMIUM_FLAGS, ROOT, SCREENSHOTS
from checker.grading.notebooks import solutions_by_id, with_answers

STATE = ROOT / "hub" / "state"
HUB_VENV = Path(os.environ.get("BACKPROP_NINJA_HUB_VENV", "/opt/backprop-ninja/venv"))
PORT = int(os.environ.get("BACKPROP_NINJA_HUB_PORT", "8010"))
HUB = f"http://127.0.0.1:{PORT}"
LESSON = "04_makemore_atomic_backprop"
NOTEBOOK = f"{LESSON}/makemore_atomic_backprop.ipynb"
COURSE = "backprop-ninja"
SOLUTION = solutions_by_id(ROOT / "solutions" / NOTEBOOK)
ANSWERS = {"alice": SOLUTION,  # bob forgets the 1/n of the mean in dlogprobs: one step lost, the rest carried
           "bob": {**SOLUTION, "answer_dlogprobs": SOLUTION["answer_dlogprobs"].replace("-1.0/n", "-1.0")}}
EXPECTED = {"alice": 26.0, "bob": 25.0}


def request(method: str, url: str, token: str, data=None, form: bool = False, timeout: float = 60):
    body = None
    headers = {"Authorization": f"token {token}"}
    if data is not None and form:
        body = "&".join(f"{k}={v}" for k, v in data.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    with urllib.request.urlopen(urllib.request.Request(url, body, headers, method=method), timeout=timeout) as reply:
        text = reply.read().decode()
    return json.loads(text) if text else None


@pytest.fixture(scope="module")
def hub():
    """JupyterHub on 127.0.0.1 for this test, the class reset; yields (users, the service's token).
    Stops the hub, its proxy and every server it spawned afterwards."""
    assert os.geteuid() == 0, "the hub's servers run as their Unix users: run make hub-test as root"
    users = json.loads((STATE / "users.json").read_text())
    subprocess.run([str(HUB_VENV / "bin" / "python"), str(ROOT / "hub" / "admin.py"), "reset"], check=True)
    token = secrets.token_hex(16)
    env = {**os.environ, "BACKPROP_NINJA_HUB_TOKEN": token, "PATH": f"{HUB_VENV / 'bin'}:{os.environ['PATH']}"}
    log = open(STATE / "hub-test.log", "w")
    process = subprocess.Popen([str(HUB_VENV / "bin" / "jupyterhub"), "-f", str(ROOT / "hub" / "jupyterhub_config.py")],
                               cwd=STATE, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{HUB}/hub/api/", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, (STATE / "hub-test.log").read_text()[-3000:]
                time.sleep(0.5)
        yield users, token
    finally:
        process.send_signal(signal.SIGTERM)  # JupyterHub stops the servers it spawned, then its proxy
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        for name in [users["instructor"], *users["students"]]:
            subprocess.run(["pkill", "-u", name], capture_output=True)
        log.close()


def user_token(hub_token: str, name: str) -> str:
    return request("POST", f"{HUB}/hub/api/users/{name}/tokens", hub_token, {"note": "hub-test", "expires_in": 3600})["token"]


def log_in(browser, users: dict, name: str):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(f"{HUB}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", users["passwords"][name])
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{name}/lab**", timeout=180_000)  # the hub spawns the server on first login
    page.wait_for_selector(".jp-LabShell", timeout=60_000)
    return page


def assignment_list(page):
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_text("Assignment List", exact=True).click()
    expect(page.get_by_text("Released assignments")).to_be_visible(timeout=30_000)
    return page


def formgrader_row(page, lesson: str = LESSON):
    return page.locator("tr", has=page.locator("td.name", has_text=lesson))


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"hub-{name}.png"))


def test_a_class_on_jupyterhub(hub):
    users, token = hub
    instructor, students = users["instructor"], users["students"]
    short = {name: name.removeprefix("bn-") for name in students}  # bn-alice -> alice
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        teacher = log_in(browser, users, instructor)
        shot(teacher, "01-instructor-lab")

        # the instructor releases lesson 04 in the Formgrader
        teacher.goto(f"{HUB}/user/{instructor}/formgrader/manage_assignments")
        row = formgrader_row(teacher)
        row.locator("td.release a").click()
        expect(row.locator("td.status")).to_have_text("released", timeout=60_000)
        shot(teacher, "02-released")

        # each student fetches it, answers it and submits it
        pages = {}
        for name in students:
            page = assignment_list(log_in(browser, users, name))
            page.get_by_role("button", name="Fetch", exact=True).click()
            expect(page.get_by_role("button", name="Submit", exact=True).first).to_be_visible(timeout=60_000)
            shot(page, f"03-{short[name]}-fetched")
            contents = f"{HUB}/user/{name}/api/contents/{NOTEBOOK}"
            own = user_token(token, name)
            fetched = nbformat.from_dict(request("GET", contents, own)["content"])
            answered = with_answers(fetched, ANSWERS[short[name]])
            request("PUT", contents, own, {"type": "notebook", "format": "json",
                                           "content": json.loads(nbformat.writes(answered))})
            page.get_by_role("button", name="Submit", exact=True).first.click()
            expect(page.get_by_role("button", name="Fetch Feedback")).to_be_visible(timeout=60_000)
            shot(page, f"04-{short[name]}-submitted")
            pages[name] = page

        # the instructor collects, autogrades, generates and releases feedback, in the Formgrader
        teacher.goto(f"{HUB}/user/{instructor}/formgrader/manage_assignments")
        row = formgrader_row(teacher)
        row.locator("td.collect a").click()
        expect(row.locator("td.num-submissions")).to_have_text(str(len(students)), timeout=60_000)
        teacher.goto(f"{HUB}/user/{instructor}/formgrader/manage_submissions/{LESSON}")
        for name in students:
            submission = teacher.locator("tr", has=teacher.locator("td", has_text=name))
            submission.locator("td.autograde a").click()
            expect(teacher.locator(".modal-body")).to_contain_text("Successfully autograded", timeout=600_000)
            teacher.locator(".modal-footer button", has_text="OK").click()
            expect(teacher.locator(".modal-body")).to_have_count(0, timeout=30_000)
        teacher.reload()
        for name in students:
            submission = teacher.locator("tr", has=teacher.locator("td", has_text=name))
            expect(submission.locator("td.score")).to_contain_text(f"{EXPECTED[short[name]]:g} / 26", timeout=30_000)
        shot(teacher, "05-autograded")
        teacher.goto(f"{HUB}/user/{instructor}/formgrader/manage_assignments")
        row = formgrader_row(teacher)
        row.locator("td.generate-feedback a").click()
        expect(teacher.locator(".modal-body")).to_contain_text("Successfully generated feedback", timeout=600_000)
        teacher.locator(".modal-footer button", has_text="OK").click()
        row.locator("td.release-feedback a").click()
        expect(teacher.locator(".modal-body")).to_contain_text("Successfully released feedback", timeout=120_000)
        teacher.locator(".modal-footer button", has_text="OK").click()
        shot(teacher, "06-feedback-released")

        # each student fetches the feedback and opens its page
        for name, page in pages.items():
            page.get_by_role("button", name="Fetch Feedback").click()
            feedback = Path(f"/home/{name}/{LESSON}/feedback")
            for _ in range(120):
                found = sorted(feedback.glob("*/makemore_atomic_backprop.html"))
                if found:
                    break
                time.sleep(0.5)
            assert found, f"{name} has no feedback page"
            relative = found[-1].relative_to(f"/home/{name}")
            page.goto(f"{HUB}/user/{name}/files/{relative}")
            text = page.locator("body").inner_text()
            assert re.search(rf"Score: {EXPECTED[short[name]]:g}(\.0)? / 26(\.0)?", text), text[:500]
            shot(page, f"07-{short[name]}-feedback")
        browser.close()

    scores = request("GET", f"{HUB}/user/{instructor}/formgrader/api/submissions/{LESSON}", user_token(token, instructor))
    assert {s["student"]: s["score"] for s in scores} == {name: EXPECTED[short[name]] for name in students}
