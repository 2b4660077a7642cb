"""What every browser test shares: one JupyterLab, one Chromium, and the moves a learner makes.

One JupyterLab server (on 127.0.0.1, serving a temporary copy of the
notebooks) and one headless Chromium are started the first time a test asks
for them and stopped when the test session ends, however many test modules
use them (see conftest.py). The helpers open a chapter in a fresh workspace,
press Run All as a learner would and wait for every cell, switch the theme
(written to the user settings before a page loads, so a page always starts
in the theme it is tested in, Mermaid diagrams included), and find the
course's own outputs in the page.

Without Chromium the tests are skipped with a message; with
LAB_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser is a failure.
LAB_BROWSER_ROOT points the tests at another checkout (its notebooks and its
labsupport), which is how the "before" numbers of the accessibility audit
were measured on main with the same test.
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

ROOT = pathlib.Path(__file__).resolve().parents[2]
COURSE_ROOT = pathlib.Path(os.environ.get("LAB_BROWSER_ROOT", ROOT)).resolve()
SHOTS = ROOT / "tests" / "browser" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def require_browser():
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


def api(base, token, path):
    with urllib.request.urlopen(f"{base}{path}?token={token}", timeout=5) as answer:
        return json.load(answer)


def wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 with its own settings, serving a temporary copy of the notebooks."""

    def __init__(self, root):
        self.root = root
        shutil.copytree(COURSE_ROOT / "notebooks", root / "notebooks")
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.settings = root / "user-settings" / "@jupyterlab"
        for extension in ("notebook-extension", "apputils-extension"):
            (self.settings / extension).mkdir(parents=True)
        # Render every cell (no windowing), so the test can see every prompt; no news pop-up.
        (self.settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
        (self.settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false", "checkForUpdates": false}')
        self.set_theme("light")
        env = dict(os.environ, LABSUPPORT_PROGRESS=str(root / "progress.json"), JUPYTER_CONFIG_DIR=str(root / "config"),
                   JUPYTERLAB_SETTINGS_DIR=str(root / "user-settings"), PYTHONPATH=str(COURSE_ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            wait(lambda: api(self.base, self.token, "/api/status"), 60, "JupyterLab to answer")
        except BaseException:
            self.stop()
            raise

    def __iter__(self):
        """``base, token = jupyterlab``, as the first browser tests wrote it."""
        return iter((self.base, self.token))

    def set_theme(self, theme):
        """The theme every page opened from now on starts in."""
        (self.settings / "apputils-extension" / "themes.jupyterlab-settings").write_text(
            json.dumps({"theme": THEMES[theme]}))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Shared:
    """The one server and the one browser of a test session, started on first use."""

    lab = browser = _playwright = None

    @classmethod
    def jupyterlab(cls, root_factory):
        if cls.lab is None:
            require_browser()
            cls.lab = JupyterLab(root_factory())
        return cls.lab

    @classmethod
    def chromium(cls):
        if cls.browser is None:
            require_browser()
            from playwright.sync_api import sync_playwright
            cls._playwright = sync_playwright().start()
            cls.browser = cls._playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                          args=CHROMIUM_FLAGS)
        return cls.browser

    @classmethod
    def stop(cls):
        if cls.browser is not None:
            cls.browser.close()
            cls._playwright.stop()
            cls.browser = cls._playwright = None
        if cls.lab is not None:
            cls.lab.stop()
            cls.lab = None


def open_notebook(browser, lab, notebook, viewport=(1400, 1000)):
    """Open ``notebook`` in a fresh workspace and wait until its kernel is connected and idle; returns the page
    (``page.console_errors`` collects what the browser console reported)."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    workspace = f"test-{secrets.token_hex(4)}"          # a fresh workspace: only this notebook is open
    page.goto(f"{lab.base}/lab/workspaces/{workspace}/tree/notebooks/{notebook}?token={lab.token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    wait(lambda: kernel_idle(lab, notebook), 90, "the kernel to be connected and idle")
    return page


def kernel_idle(lab, notebook):
    sessions = [s for s in api(lab.base, lab.token, "/api/sessions") if s["path"].endswith(notebook)]
    return sessions and all(s["kernel"]["execution_state"] == "idle" and s["kernel"]["connections"] > 0
                            for s in sessions)


def run_all(page, lab, notebook, timeout=300):
    """Run → Run All Cells, as a learner would, and wait until every code cell has run."""
    page.locator("li.lm-MenuBar-item", has_text="Run").click()
    page.locator("li.lm-Menu-item", has_text="Run All Cells").first.click()

    def all_cells_ran():
        prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        return prompts and all(p.strip()[1:-2].isdigit() for p in prompts) and kernel_idle(lab, notebook)

    wait(all_cells_ran, timeout, f"every cell of {notebook} to run")


def open_and_run(browser, lab, notebook, viewport=(1400, 1000)):
    page = open_notebook(browser, lab, notebook, viewport)
    run_all(page, lab, notebook)
    return page


def assert_no_cell_errors(page):
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.all_inner_texts()[:3]


def our_console_errors(errors):
    """Console errors caused by the course (widgets, diagrams), not by the offline machine."""
    offline = ("net::ERR_", "Failed to load resource", "favicon", "Failed to fetch")
    return [e for e in errors if not any(marker in e for marker in offline)]


def screenshot(page, name, locator=None):
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = locator if locator is not None else page
    target.screenshot(path=str(SHOTS / name))
