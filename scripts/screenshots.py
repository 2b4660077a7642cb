"""Take the screenshots in docs/ again, from the notebooks as they are now, in a real browser.

    .venv/bin/python scripts/screenshots.py

Uses the browser tests' JupyterLab and Chromium (tests/browser/lab.py; needs
Chromium). Chapter 00 runs top to bottom in the light and in the dark theme;
then, as a learner would, one instance is killed from the "Try it yourself"
dashboard while traffic runs, a question is answered, and a prediction is
left waiting. Chapters 03 and 06 are only opened: their committed outputs
and diagrams are what the screenshots show.
"""

import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import lab  # noqa: E402

DOCS = ROOT / "docs"
TALL = (1280, 2200)


def chapter_00(browser, jupyterlab, theme):
    jupyterlab.set_theme(theme)
    try:
        page = lab.open_and_run(browser, jupyterlab, "00_the_thirty_second_deploy.ipynb", viewport=(1280, 1000))
    finally:
        jupyterlab.set_theme("light")
    board = page.locator(".lab-dashboard").last
    board.scroll_into_view_if_needed()
    board.locator(".lab-traffic").click()
    time.sleep(3)
    board.locator(".lab-tile-name-shop-2 .lab-kill").click()
    time.sleep(4)
    board.screenshot(path=str(DOCS / ("dashboard.png" if theme == "light" else "dashboard-dark.png")))
    board.locator(".lab-traffic").click()
    if theme == "light":
        waiting = page.locator(".lab-predict").nth(1)           # the copy under the experiment: still waiting
        waiting.scroll_into_view_if_needed()
        waiting.screenshot(path=str(DOCS / "prediction-waiting.png"))
        quiz = page.locator(".lab-quiz:not(.lab-predict)").first
        quiz.scroll_into_view_if_needed()
        quiz.locator("input[type='radio']").nth(1).check()
        quiz.locator(".lab-quiz-check").first.click()
        time.sleep(1)
        quiz.locator(".lab-quiz-question").first.screenshot(path=str(DOCS / "quiz.png"))
    page.close()


def opened_only(browser, jupyterlab):
    page = lab.open_notebook(browser, jupyterlab, "03_side_by_side.ipynb", viewport=TALL)
    table = page.locator(".jp-CodeCell", has_text="mine.side_by_side").first.locator("table").first
    table.scroll_into_view_if_needed()
    table.screenshot(path=str(DOCS / "comparison-03.png"))
    page.close()
    page = lab.open_notebook(browser, jupyterlab, "06_why_stateless_won.ipynb", viewport=TALL)
    diagram = page.locator(".jp-RenderedMermaid", has=page.locator("img[alt^='Three ways to deploy']"))
    diagram.scroll_into_view_if_needed()
    diagram.screenshot(path=str(DOCS / "deploys-06.png"))
    page.close()


def main():
    with tempfile.TemporaryDirectory(prefix="lab-screenshots-") as scratch:
        try:
            jupyterlab = lab.Shared.jupyterlab(lambda: pathlib.Path(scratch))
            browser = lab.Shared.chromium()
            opened_only(browser, jupyterlab)
            for theme in ("light", "dark"):
                chapter_00(browser, jupyterlab, theme)
        finally:
            lab.Shared.stop()
    print("saved:", ", ".join(sorted(p.name for p in DOCS.glob("*.png"))))


if __name__ == "__main__":
    main()
