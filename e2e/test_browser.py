"""The student's path in a real browser: `make lab`'s JupyterLab in headless Chromium runs lessons
and shows the checker's HTML reports. Run with `make e2e` (needs Debian's chromium package).

Copies of Exercise 1 are opened in a temporary folder (the course's own notebooks are never
written to): the blank lesson, the instructor's solution, the solution with one slip at the end,
the lesson answered with one slip early on (the steps after it right given it), the keepdim trap
(a sum without keepdim=True, and the right step after it), and an answer cell that raises, under
which the learner asks for hints three times and a fourth. Each is run with JupyterLab's own "Run All
Cells" menu item. A feedback page `make grade` wrote is opened
from disk with the network off: its maths renders; so is the class report of 30 made-up students
built from the ones graded, with its pictures. Screenshots go to e2e/screenshots/.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

from browser import CHROMIUM, CHROMIUM_FLAGS, ROOT, SCREENSHOTS
from checker.grading.notebooks import nbgrader_meta, solutions_by_id, tool_environment, with_answers

NOTEBOOK = "04_makemore_atomic_backprop/makemore_atomic_backprop.ipynb"
GRADIENTS = 26
# Every cell in the DOM (JupyterLab otherwise renders only the cells in view), and no news prompt.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}
RUN_TIMEOUT_MS = 180_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_a_slip(notebook, grade_id="answer_dC", slip="dC = dC * 2  # a slip"):
    """The solution with one slip (by default dC doubled): the browser must show that row as wrong."""
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            cell.source = cell.source.replace("### END SOLUTION", f"{slip}\n### END SOLUTION")
            return notebook
    raise AssertionError(f"the Exercise 1 solution has no {grade_id} cell")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` on a temporary folder with the four notebooks; yields (url, token)."""
    work = tmp_path_factory.mktemp("lab")
    folder = work / "notebooks"
    folder.mkdir()
    shutil.copy(ROOT / "lessons" / NOTEBOOK, folder / "blank.ipynb")
    shutil.copy(ROOT / "solutions" / NOTEBOOK, folder / "solution.ipynb")
    nbformat.write(with_a_slip(nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)), folder / "slip.ipynb")
    # the released lesson answered in full, Bessel's n-1 forgotten: every step after it is right
    # given this answer (error carried forward)
    answers = {**solutions_by_id(ROOT / "solutions" / NOTEBOOK),
               "answer_dbndiff2": "dbndiff2 = (1.0/n)*torch.ones_like(bndiff2) * dbnvar  # a slip"}
    nbformat.write(with_answers(nbformat.read(ROOT / "lessons" / NOTEBOOK, as_version=4), answers),
                   folder / "early_slip.ipynb")
    for name, notebook in learner_notebooks().items():
        nbformat.write(notebook, folder / name)
    settings = work / "settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    yield from serve("lab", work, [f"LAB_DIR={folder}"], {"JUPYTERLAB_SETTINGS_DIR": str(settings)})


def answered(replace: dict):
    """The released lesson answered with the solutions, `replace` (grade_id: code) typed instead."""
    answers = {**solutions_by_id(ROOT / "solutions" / NOTEBOOK), **replace}
    return with_answers(nbformat.read(ROOT / "lessons" / NOTEBOOK, as_version=4), answers)


def learner_notebooks() -> dict:
    """The keepdim trap; an answer cell that raises (its placeholder deleted, as learners do), under
    which the learner, stuck, asks for dh's hint four times in cells of their own."""
    raising = answered({})
    at = next(i for i, c in enumerate(raising.cells) if nbgrader_meta(c).get("grade_id") == "answer_dh")
    raising.cells[at].source = "dh = dlogits @ W2  # a shape error"
    for _ in range(4):
        raising.cells.insert(at + 1, nbformat.v4.new_code_cell('ex.hint("dh")'))
    return {"keepdim.ipynb": answered({"answer_dcounts_sum_inv": "dcounts_sum_inv = (counts * dprobs).sum(1)"}),
            "raising.ipynb": raising}


@pytest.fixture(scope="module")
def instructor(tmp_path_factory):
    """`make instructor`: JupyterLab on the course folder with nbgrader's instructor tools."""
    yield from serve("instructor", tmp_path_factory.mktemp("instructor"), [], {})


def serve(target: str, work: Path, make_args: list, env: dict):
    """`make <target>` on a free 127.0.0.1 port with a random token; yields (url, token), then stops it."""
    port, token = free_port(), os.urandom(16).hex()
    log = open(work / "lab.log", "w+")
    server = subprocess.Popen(
        ["make", "-s", target, *make_args,
         f"LAB_ARGS=--no-browser --ServerApp.port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"],
        cwd=ROOT, env={**tool_environment(), **env, "JUPYTER_RUNTIME_DIR": str(work / "runtime")},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert server.poll() is None, f"make {target} exited early:\n{(work / 'lab.log').read_text()}"
            time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not answer within 60 s:\n{(work / 'lab.log').read_text()}")
        yield url, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()


def run_all_cells(browser, lab, name):
    """Open `name` in JupyterLab, run every cell from the Run menu, wait for the last one."""
    url, token = lab
    page = browser.new_page()
    # a workspace of its own, so JupyterLab does not reopen the notebooks of the other tests
    page.goto(f"{url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={token}")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    expect(notebook.locator(".jp-CodeCell").first).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    # Every code cell's prompt shows an execution count once it has run: "[12]:", not "[ ]:" or "[*]:".
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
        return prompts.length > 0 && prompts.every(text => /^\\[\\d+\\]:$/.test(text));
    }""", timeout=RUN_TIMEOUT_MS)
    return page, notebook


def reports(notebook):
    return notebook.locator("table.backprop-ninja-report")


def scoreboard(notebook):
    return reports(notebook).filter(has=notebook.page.locator("caption")).last


def row(table, label):
    """The row of one gradient: its first cell is exactly `label`."""
    return table.locator("tbody tr").filter(has=table.page.locator("td:first-child code", has_text=re.compile(f"^{label}$")))


def shoot(locator, name):
    """An element's screenshot; the viewport grows first, so a long table is not cut off."""
    locator.page.set_viewport_size({"width": 1400, "height": max(1000, int(locator.bounding_box()["height"]) + 200)})
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=SCREENSHOTS / name)


def test_the_solution_shows_every_check_passed_and_a_full_scoreboard(browser, lab):
    page, notebook = run_all_cells(browser, lab, "solution.ipynb")
    board = scoreboard(notebook)
    expect(board.locator("caption")).to_contain_text(f"{GRADIENTS}/{GRADIENTS} correct")
    verdicts = board.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert verdicts == ["✓ correct"] * GRADIENTS, f"scoreboard verdicts: {verdicts}"
    # each check cell showed its own row (the lesson's diagnosis demo adds rows of its own)
    passed = reports(notebook).locator("tbody tr", has_text="✓ correct")
    assert passed.count() >= 2 * GRADIENTS
    shoot(reports(notebook).first, "solution_first_check.png")
    shoot(board, "solution_scoreboard.png")
    page.screenshot(path=SCREENSHOTS / "solution_page.png")
    page.close()


def test_the_blank_lesson_runs_to_the_end_and_says_not_done_yet(browser, lab):
    page, notebook = run_all_cells(browser, lab, "blank.ipynb")
    board = scoreboard(notebook)
    expect(board.locator("caption")).to_contain_text(f"0/{GRADIENTS} correct, {GRADIENTS} not done yet")
    first = reports(notebook).first
    expect(first).to_contain_text("not done yet: replace the placeholder dlogprobs = None with your gradient")
    expect(first.locator("td code", has_text="dlogprobs = None")).to_be_visible()  # shown as code
    # the failing check is one line, not a traceback from the checker
    error = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").first
    expect(error).to_contain_text("CheckFailed: dlogprobs is not done yet: see the report above.")
    expect(error).not_to_contain_text("Traceback")
    shoot(first, "blank_first_check.png")
    shoot(board, "blank_scoreboard.png")
    page.close()


def test_a_wrong_answer_stands_out(browser, lab):
    page, notebook = run_all_cells(browser, lab, "slip.ipynb")
    board = scoreboard(notebook)
    expect(board.locator("caption")).to_contain_text(f"{GRADIENTS - 1}/{GRADIENTS} correct, 1 wrong (dC)")
    wrong = row(board, "dC")
    expect(wrong).to_contain_text("✗ wrong")
    expect(wrong).to_contain_text("× 2")
    badge = wrong.locator("td:nth-child(2) span")
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") != \
        row(board, "dW1").locator("td:nth-child(2) span").evaluate(
            "b => getComputedStyle(b).backgroundColor"), "a wrong verdict must not look like a correct one"
    shoot(board, "slip_scoreboard.png")
    page.close()


def test_steps_right_given_an_earlier_slip_are_told_apart(browser, lab):
    page, notebook = run_all_cells(browser, lab, "early_slip.ipynb")
    board = scoreboard(notebook)
    expect(board.locator("caption")).to_contain_text("1 wrong (dbndiff2)")
    expect(board.locator("caption")).to_contain_text("right given earlier answers (dbndiff")
    carried = row(board, "dbndiff")
    expect(carried).to_contain_text("↳ right given earlier answers")
    expect(carried).to_contain_text("right given your dbndiff2")
    expect(carried).to_contain_text("only because dbndiff2, earlier in the backward pass")
    colours = {label: row(board, label).locator("td:nth-child(2) span").evaluate(
        "b => getComputedStyle(b).backgroundColor") for label in ("dbndiff", "dbndiff2", "dW2")}
    assert len(set(colours.values())) == 3, f"carried, wrong and correct must look different: {colours}"
    # a carried step does not stop the notebook: its check cell shows no error
    cell = notebook.locator(".jp-CodeCell", has=notebook.page.locator("text=ex.check(\"dbndiff\", dbndiff)"))
    expect(cell.locator("[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    shoot(board, "early_slip_scoreboard.png")
    page.close()


def test_the_keepdim_trap_is_wrong_and_the_next_step_names_it(browser, lab):
    """A sum without keepdim=True is (32,) where (32, 1) is meant: it would broadcast along the wrong
    axis, so it is wrong (with the fix), and the right step after it points back at it."""
    page, notebook = run_all_cells(browser, lab, "keepdim.ipynb")
    board = scoreboard(notebook)
    trap = row(board, "dcounts_sum_inv")
    expect(trap).to_contain_text("✗ wrong")
    expect(trap).to_contain_text("broadcast differently")
    expect(trap).to_contain_text("keepdim=True")
    after = row(board, "dcounts_sum")
    expect(after).to_contain_text("dcounts_sum_inv")
    expect(after).to_contain_text("fix dcounts_sum_inv first")
    expect(after).not_to_contain_text("✓ correct")
    shoot(board, "keepdim_scoreboard.png")
    page.close()


@pytest.fixture(scope="module")
def raising(browser, lab):
    """raising.ipynb after Run All, for the two tests below."""
    page, notebook = run_all_cells(browser, lab, "raising.ipynb")
    yield page, notebook
    page.close()


def test_run_all_goes_on_past_an_answer_cell_that_raises(raising):
    """`dh = dlogits @ W2` raises: Run All still reaches the scoreboard (run_all_cells waits for every
    prompt to be numbered), and dh's check says in one sentence what the answer cell raised."""
    page, notebook = raising
    check = notebook.locator(".jp-CodeCell", has=page.locator("text=ex.check(\"dh\", dh)"))
    error = check.locator("[data-mime-type='application/vnd.jupyter.stderr']")
    expect(error).to_contain_text("dh is not defined, because your answer cell above raised RuntimeError: "
                                  "mat1 and mat2 shapes cannot be multiplied (32x27 and 64x27)")
    expect(error).not_to_contain_text("Traceback")
    board = scoreboard(notebook)
    expect(board.locator("caption")).to_contain_text(f"/{GRADIENTS} correct")
    expect(row(board, "dW2")).to_contain_text("✓ correct")  # the steps that do not need dh are checked
    shoot(check, "raising_check.png")
    shoot(board, "raising_scoreboard.png")


def test_three_hints_one_more_each_time_then_the_last_hint_says_so(raising):
    page, notebook = raising
    shown = notebook.locator(".backprop-ninja-hint")
    expect(shown).to_have_count(4)
    for level in (1, 2, 3):
        expect(shown.nth(level - 1)).to_contain_text(f"Hint {level} of 3 for dh")
    expect(shown.nth(3)).to_contain_text("That was the last hint for dh")
    for level in range(3):
        expect(shown.nth(level)).not_to_contain_text("___")  # a structure, never a blanked answer line
    for index, name in ((0, "hint_1.png"), (2, "hint_3.png"), (3, "hint_last.png")):
        shoot(shown.nth(index), name)


def test_the_students_lab_shows_no_instructor_tools(browser, lab):
    url, token = lab
    page = browser.new_page()
    page.goto(f"{url}/lab/workspaces/student/tree/blank.ipynb?reset&token={token}")
    expect(page.locator(".jp-NotebookPanel .jp-CodeCell").first).to_be_visible(timeout=60_000)
    assert page.request.get(f"{url}/formgrader?token={token}").status == 404
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    seen = []
    for label in [m for m in menus if "grader" in m.lower()]:  # nbgrader's own menu, if it shows one
        page.locator(".lm-MenuBar-itemLabel", has_text=label).click()
        seen += page.locator(".lm-Menu-itemLabel").all_inner_texts()
        page.keyboard.press("Escape")
    assert not [item for item in seen if "Formgrader" in item or "Create Assignment" in item or "Course" in item], seen
    expect(page.get_by_text("Create Assignment")).to_have_count(0)
    shoot(page.locator("#main"), "student_lab.png")
    page.close()


def test_the_instructors_formgrader_lists_the_lessons_and_opens_a_source(browser, instructor):
    url, token = instructor
    page = browser.new_page()
    page.goto(f"{url}/formgrader?token={token}")
    for lesson in ("01_chain_rule_building_blocks", "04_makemore_atomic_backprop", "08_capstone_autograd_function"):
        expect(page.get_by_text(lesson).first).to_be_visible(timeout=60_000)
    shoot(page.locator("body"), "formgrader.png")
    source = page.request.get(f"{url}/lab/tree/solutions/04_makemore_atomic_backprop/makemore_atomic_backprop.ipynb?token={token}")
    assert source.status == 200
    page.close()


FEEDBACK_LESSON = "01_chain_rule_building_blocks/chain_rule_building_blocks.ipynb"  # the most maths


@pytest.fixture(scope="module")
def feedback_page(tmp_path_factory):
    """The feedback page `make grade` writes for lesson 1 answered in full, in a scratch course of
    three students: alice answered in full, bob with dg doubled, carol handed in the blank lesson."""
    from checker.grading.run import scratch_course

    lesson = lambda: nbformat.read(ROOT / "lessons" / FEEDBACK_LESSON, as_version=4)  # noqa: E731
    solutions = solutions_by_id(ROOT / "solutions" / FEEDBACK_LESSON)
    slipped = {**solutions, "answer_graph": solutions["answer_graph"].replace("dg = q ", "dg = 2 * q ", 1)}
    course = scratch_course(tmp_path_factory.mktemp("course"), {
        ("alice", FEEDBACK_LESSON): with_answers(lesson(), solutions),
        ("bob", FEEDBACK_LESSON): with_answers(lesson(), slipped),
        ("carol", FEEDBACK_LESSON): lesson()})
    done = subprocess.run(["make", "-s", "grade", f"COURSE={course}", "GRADE_ARGS=--jobs 1"], cwd=ROOT,
                          env=tool_environment(), capture_output=True, text=True)
    page = course / "feedback" / "alice" / FEEDBACK_LESSON.replace(".ipynb", ".html")
    assert page.is_file(), f"make grade wrote no feedback page:\n{done.stdout}\n{done.stderr}"
    return page


def test_a_feedback_page_renders_its_maths_with_the_network_off(browser, feedback_page):
    page = browser.new_page()
    asked = []
    def offline(route):  # the network is off: anything but the page's own file fails
        if not route.request.url.startswith("file:"):
            asked.append(route.request.url)
            return route.abort("internetdisconnected")
        return route.continue_()
    page.route("**/*", offline)
    page.goto(feedback_page.as_uri())
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("() => MathJax.startup.promise")
    formulas = page.locator("mjx-container[jax='SVG'] > svg")
    assert formulas.count() >= 90, f"only {formulas.count()} formulas rendered"
    assert page.locator("[data-mjx-error]").count() == 0, "MathJax could not typeset a formula"
    prose = " ".join(page.locator(".text_cell_render").all_inner_texts())
    assert "$" not in prose, "raw $...$ left in the derivations"
    assert asked == [], f"the page asked the network for {asked}"
    shoot(page.locator(".text_cell_render", has=page.locator("mjx-container")).nth(1), "feedback_maths.png")
    page.close()


@pytest.fixture(scope="module")
def class_of_30(feedback_page, tmp_path_factory):
    """A class of 30 made-up students, ten copies each of the three graded above (grades.csv rows and
    autograded notebooks), and its report written by the real `make report`."""
    import csv

    graded = feedback_page.parents[3]
    assert (graded / "report" / "index.html").is_file(), "make grade wrote no class report"
    course = tmp_path_factory.mktemp("class-of-30")
    with open(graded / "grades.csv", newline="") as f:
        originals = list(csv.DictReader(f))
    rows = []
    for original in originals:
        for number in range(10):
            made_up = f"{original['student_id']}_{number + 1:02d}"
            rows.append({**original, "student_id": made_up})
            shutil.copytree(graded / "autograded" / original["student_id"], course / "autograded" / made_up)
    with open(course / "grades.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    subprocess.run(["make", "-s", "report", f"COURSE={course}"], cwd=ROOT, env=tool_environment(), check=True,
                   capture_output=True, text=True)
    return course / "report" / "index.html"


def test_the_class_report_shows_its_pictures_with_the_network_off(browser, class_of_30):
    """The report of 30 students (ten finished, ten with dg doubled, ten blank) opens from disk with
    no network: its tables, the mistake named, and its pictures, drawn into the page."""
    page = browser.new_page()
    asked = []
    def offline(route):
        if not route.request.url.startswith(("file:", "data:")):
            asked.append(route.request.url)
            return route.abort("internetdisconnected")
        return route.continue_()
    page.route("**/*", offline)
    page.goto(class_of_30.as_uri())
    pictures = page.locator("img")
    assert pictures.count() == 3  # scores, top mistakes, students × checks
    sizes = pictures.evaluate_all("imgs => imgs.map(i => i.complete ? [i.naturalWidth, i.naturalHeight] : [0, 0])")
    assert all(w > 200 for w, _ in sizes), sizes
    assert sizes[2][1] > 400, sizes  # the heatmap has a row for each of the 30 students
    text = page.inner_text("body")
    assert " ".join(text.split()).startswith("What the class got wrong 30 students, 1 lesson, 30 submissions graded.")
    mistakes = page.locator("table", has_text="the grader's words")
    assert "a contribution counted twice, or an extra factor 2\t10" in mistakes.inner_text()  # bob's ten copies
    assert asked == [], f"the page asked the network for {asked}"
    shoot(page.locator("body"), "class_report.png")
    page.close()
