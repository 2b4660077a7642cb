"""The course in a real browser: JupyterLab in headless Chromium, driven by Playwright.

A learner's first minutes, automated: open a chapter, wait for the kernel,
run every cell, then use the widgets the way a person would: press a tile's
Kill button and watch it turn dead, start traffic and watch the ledger move,
answer a question and read its feedback. Also checks that Mermaid diagrams
render as SVG and that no cell shows an error. Screenshots are saved in
tests/browser/screenshots/.

Without Chromium the test is skipped with a message; with LAB_REQUIRE_BROWSER=1
(set by .ci/run) a missing browser is a failure.
"""

import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.slow          # minutes, not seconds: `pytest -m "not slow"` skips it while you work

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "browser" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]


def _require_browser():
    if os.path.exists(CHROMIUM):
        return
    message = ("Chromium not found: install it (Debian/Ubuntu: apt-get install chromium) to run the browser test; "
               "Playwright's own browser download is not used")
    if os.environ.get("LAB_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _api(base, token, path):
    with urllib.request.urlopen(f"{base}{path}?token={token}", timeout=5) as answer:
        return json.load(answer)


def _wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a temporary copy of the notebooks."""
    _require_browser()
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    port, token = _free_port(), secrets.token_hex(16)
    settings = root / "user-settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "apputils-extension").mkdir(parents=True)
    # Render every cell (no windowing), so the test can see every prompt; no news pop-up.
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    env = dict(os.environ, LABSUPPORT_PROGRESS=str(root / "progress.json"), JUPYTER_CONFIG_DIR=str(root / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(root / "user-settings"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _api(base, token, "/api/status"), 60, "JupyterLab to answer")
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _open_and_run(browser, base, token, notebook):
    """Open a notebook, wait for its kernel to be idle, run all cells, wait until done."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    workspace = f"test-{secrets.token_hex(4)}"          # a fresh workspace: only this notebook is open
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/notebooks/{notebook}?token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)

    def kernel_idle():
        sessions = [s for s in _api(base, token, "/api/sessions") if s["path"].endswith(notebook)]
        return sessions and all(s["kernel"]["execution_state"] == "idle" and s["kernel"]["connections"] > 0
                                for s in sessions)

    _wait(kernel_idle, 90, "the kernel to be connected and idle")
    # Run All, as a learner would: no chapter stops its servers at the end, so the dashboards stay live.
    page.locator("li.lm-MenuBar-item", has_text="Run").click()
    page.locator("li.lm-Menu-item", has_text="Run All Cells").first.click()

    def all_cells_ran():
        prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        return prompts and all(p.strip()[1:-2].isdigit() for p in prompts) and kernel_idle()

    _wait(all_cells_ran, 240, f"every cell of {notebook} to run")
    return page, errors


def _assert_no_cell_errors(page):
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.all_inner_texts()[:3]


def _our_console_errors(errors):
    """Console errors caused by the course (widgets, diagrams), not by the offline machine."""
    offline = ("net::ERR_", "Failed to load resource", "favicon", "Failed to fetch")
    return [e for e in errors if not any(marker in e for marker in offline)]


def test_chapter_00_runs_and_its_dashboard_and_quiz_respond(jupyterlab, browser):
    base, token = jupyterlab
    page, errors = _open_and_run(browser, base, token, "00_the_thirty_second_deploy.ipynb")
    _assert_no_cell_errors(page)
    mermaid = page.locator(".jp-RenderedMermaid svg, .jp-RenderedMermaid img[src^='data:image/svg+xml']")
    assert mermaid.count() >= 1                     # JupyterLab drew the Mermaid diagram as SVG

    tile = page.locator(".lab-tile").first
    tile.scroll_into_view_if_needed()
    page.locator(".lab-tile").first.wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-before.png"))
    name_class = next(c for c in tile.get_attribute("class").split() if c.startswith("lab-tile-name-"))
    ledger = page.locator(".lab-ledger").first
    ledger_before = ledger.inner_text()
    page.locator(f".{name_class} .lab-kill").click()
    page.locator(f".{name_class}.lab-tile-dead").wait_for(timeout=10_000)
    page.locator(".lab-traffic").first.click()
    _wait(lambda: ledger.inner_text() != ledger_before, 30, "the ledger to change while traffic runs")
    page.screenshot(path=str(SHOTS / "dashboard-after-kill.png"))
    page.locator(".lab-traffic").first.click()

    quiz = page.locator(".lab-quiz:not(.lab-predict)").first
    quiz.scroll_into_view_if_needed()
    quiz.locator("input[type='radio'], input[type='checkbox']").first.check()
    quiz.locator(".lab-quiz-check").first.click()
    feedback = quiz.locator(".lab-quiz-feedback").first
    _wait(lambda: feedback.inner_text().strip() != "", 10, "the quiz to show feedback")
    page.screenshot(path=str(SHOTS / "quiz-feedback.png"))
    assert not _our_console_errors(errors), _our_console_errors(errors)[:5]
    page.close()


def test_a_later_chapter_with_a_dashboard_runs_clean(jupyterlab, browser):
    base, token = jupyterlab
    page, errors = _open_and_run(browser, base, token, "02_stateful.ipynb")
    _assert_no_cell_errors(page)
    assert page.locator(".lab-tile").count() >= 1
    assert not _our_console_errors(errors), _our_console_errors(errors)[:5]
    page.close()
