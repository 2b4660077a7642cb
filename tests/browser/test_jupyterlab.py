"""The course in a real browser: JupyterLab in headless Chromium, driven by Playwright.

A learner's first minutes, automated, on chapters 00, 02 and 06: open the
chapter, wait for the kernel, press Run All, then, without re-running
anything, use the widgets the way a person would. After Run All:

* no prediction shows a measured number: each says "Lock in your prediction
  to see what the lab measured"; locking one in shows the measurement;
* the "Try it yourself" dashboard is live: Kill turns its tile dead, the
  keyboard focus moves to that tile's Restart button (not to the page), with
  traffic running the ledger moves, and Pause marks a tile PAUSED (in words
  and with a lab-fault-paused class) until Heal;
* no cell shows an error and the course causes no console error.

Before Run All, chapter 00 is checked as a learner first opens it: the
experiment outputs that would answer a prediction are folded, and its
Mermaid diagram is drawn (as an SVG image with the diagram's title as its
alt text). Screenshots go to tests/browser/screenshots/.
Without Chromium the test is skipped with a message; with LAB_REQUIRE_BROWSER=1
(set by .ci/run) a missing browser is a failure.
"""

import re
import urllib.parse

import pytest

from labsupport.labs import EXPERIMENTS
from tests.browser import lab
from tests.browser.conftest import browser, jupyterlab  # noqa: F401  (for modules that import them from here)
from tests.browser.lab import SHOTS  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]   # minutes; one JupyterLab, one Chromium

WAITING = "Lock in your prediction to see what the lab measured."

# The names other browser test modules import from here.
_api, _wait, _assert_no_cell_errors = lab.api, lab.wait, lab.assert_no_cell_errors


def predictions_wait(page):
    """Every prediction on the page says to lock in first and shows no number; returns how many there are."""
    predictions = page.locator(".lab-predict")
    for index in range(predictions.count()):
        feedback = predictions.nth(index).locator(".lab-quiz-feedback").inner_text().strip()
        assert feedback == WAITING, f"prediction {index + 1} shows {feedback!r} before Lock in"
        assert not re.search(r"\d", feedback)
        assert predictions.nth(index).locator(".lab-predict-anyway").is_visible()
    return predictions.count()


def lock_in_the_first_prediction(page):
    """Answer the first prediction and lock it in: now the measurement appears next to it."""
    first = page.locator(".lab-predict").first
    first.scroll_into_view_if_needed()
    if first.locator("input[type='radio']").count():
        first.locator("input[type='radio']").first.check()
    else:
        first.locator("input[type='text']").fill("0")
    first.locator(".lab-quiz-lock").click()
    feedback = first.locator(".lab-quiz-feedback")
    lab.wait(lambda: "You predicted" in feedback.inner_text(), 10, "the measurement after Lock in")
    assert WAITING not in feedback.inner_text() and "the lab measured" in feedback.inner_text()


def play_with_the_last_dashboard(page, shot):
    """Kill an UP instance of the chapter's last dashboard, check the tile and the focus, run traffic."""
    board = page.locator(".lab-dashboard").last
    board.scroll_into_view_if_needed()
    tile = board.locator(".lab-tile.lab-tile-up").first
    name_class = next(c for c in tile.get_attribute("class").split() if c.startswith("lab-tile-name-"))
    name = name_class.removeprefix("lab-tile-name-")
    kill = board.locator(f".{name_class} .lab-kill")
    assert kill.inner_text() == f"Kill {name}"                    # a name of its own, not one of three "Kill"
    kill.focus()
    page.keyboard.press("Enter")                                  # the keyboard, as well as the mouse
    board.locator(f".{name_class}.lab-tile-dead").wait_for(timeout=10_000)
    lab.wait(lambda: page.evaluate("document.activeElement.classList.contains('lab-restart')"), 10,
             "the focus to move to the Restart button")
    assert page.evaluate("document.activeElement.textContent") == f"Restart {name}"
    assert "kill " + name in board.locator(".lab-status").inner_text()
    ledger = board.locator(".lab-ledger")
    before = ledger.inner_text()
    board.locator(".lab-traffic").click()
    lab.wait(lambda: ledger.inner_text() != before, 30, "the ledger to change while traffic runs")
    pause_and_heal_a_tile(page, board)
    lab.screenshot(page, shot, board)
    board.locator(".lab-traffic").click()                         # stop the traffic again


def pause_and_heal_a_tile(page, board):
    """Pause an UP instance: its tile shows PAUSED in words and a lab-fault-paused class; Heal takes both away."""
    tile = board.locator(".lab-tile.lab-tile-up").first
    name_class = next(c for c in tile.get_attribute("class").split() if c.startswith("lab-tile-name-"))
    paused = board.locator(f".{name_class}")
    paused.locator(".lab-pause").click()
    board.locator(f".{name_class}.lab-fault-paused").wait_for(timeout=10_000)
    assert "PAUSED" in paused.locator(".lab-fault-paused").first.inner_text().upper()
    assert paused.locator(".lab-pause").is_disabled() and not paused.locator(".lab-heal").is_disabled()
    paused.locator(".lab-heal").click()
    lab.wait(lambda: "lab-fault-paused" not in paused.get_attribute("class"), 10, "Heal to end the pause")
    assert "pause " in board.locator(".lab-status-history").inner_text() + board.locator(".lab-status").inner_text()


def test_chapter_00_opens_folded_and_after_run_all_its_dashboard_and_quiz_respond(jupyterlab, browser):  # noqa: F811
    notebook = "00_the_thirty_second_deploy.ipynb"
    page = lab.open_notebook(browser, jupyterlab, notebook)
    folded = page.locator(".jp-CodeCell", has_text="shop_ledger = shop_deploy.report")
    assert folded.count() == 1 and folded.locator(".jp-OutputArea-output").count() == 0   # folded when opened
    lab.run_all(page, jupyterlab, notebook)
    lab.assert_no_cell_errors(page)
    assert predictions_wait(page) == 4                            # two predictions, each shown twice
    mermaid = page.locator(".jp-RenderedMermaid svg, .jp-RenderedMermaid img[src^='data:image/svg+xml']")
    assert mermaid.count() >= 1                                   # JupyterLab drew the Mermaid diagram
    assert page.locator(".jp-RenderedMermaid img").first.get_attribute("alt") == "Two systems behind load balancers"
    play_with_the_last_dashboard(page, "dashboard-00-after-kill.png")

    quiz = page.locator(".lab-quiz:not(.lab-predict)").first
    quiz.scroll_into_view_if_needed()
    radios = quiz.locator(".lab-choice-group").first.locator("input[type='radio']")
    assert len(set(radios.evaluate_all("inputs => inputs.map(i => i.name)"))) == 1     # one group
    radios.first.check()
    quiz.locator(".lab-quiz-check").first.click()
    feedback = quiz.locator(".lab-quiz-feedback").first
    lab.wait(lambda: feedback.inner_text().strip() != "", 10, "the quiz to show feedback")
    lab.screenshot(page, "quiz-feedback.png", quiz)
    lock_in_the_first_prediction(page)
    assert not lab.our_console_errors(page.console_errors), lab.our_console_errors(page.console_errors)[:5]
    page.close()


@pytest.mark.parametrize("notebook", ["02_stateful.ipynb", "06_why_stateless_won.ipynb"])
def test_after_run_all_predictions_wait_and_the_dashboard_plays(jupyterlab, browser, notebook):  # noqa: F811
    page = lab.open_and_run(browser, jupyterlab, notebook)
    lab.assert_no_cell_errors(page)
    assert predictions_wait(page) >= 2
    play_with_the_last_dashboard(page, f"dashboard-{notebook[:2]}-after-kill.png")
    lock_in_the_first_prediction(page)
    assert not lab.our_console_errors(page.console_errors), lab.our_console_errors(page.console_errors)[:5]
    page.close()


NODE_BOXES = """
(svgText) => {
  const holder = document.createElement("div");
  holder.innerHTML = svgText;
  document.body.appendChild(holder);
  const box = (id) => { const node = holder.querySelector(`[id*="flowchart-${id}-"]`);
                        const r = node.getBoundingClientRect(); return [r.x, r.y]; };
  const found = Object.fromEntries(["R1", "R2", "R3", "B1", "B2", "B3", "C1", "C2", "C3"].map((id) => [id, box(id)]));
  holder.remove();
  return found;
}
"""


def test_03s_table_fits_the_notebook_and_06s_deploys_read_in_the_texts_order(jupyterlab, browser):  # noqa: F811
    page = lab.open_notebook(browser, jupyterlab, "03_side_by_side.ipynb", viewport=(1280, 900))
    cell = page.locator(".jp-CodeCell", has_text="mine.side_by_side").first       # not folded: "Your turn"
    table = cell.locator(".jp-OutputArea-output table").first
    table.scroll_into_view_if_needed()
    area = cell.locator(".jp-OutputArea-output").last.bounding_box()
    assert table.bounding_box()["width"] <= area["width"]                         # no sideways scrolling
    dimensions = len(EXPERIMENTS)                                                 # the suite's rows (11 today)
    assert table.locator("th[scope='colgroup']").count() == dimensions            # one heading per dimension
    right = table.locator("td").evaluate_all("cells => cells.map(c => getComputedStyle(c).textAlign)")
    assert set(right) == {"left"}                                                 # text columns read left
    lab.screenshot(page, "comparison-03.png", table)
    page.close()

    page = lab.open_notebook(browser, jupyterlab, "06_why_stateless_won.ipynb", viewport=(1280, 900))
    image = page.locator(".jp-RenderedMermaid img[alt^='Three ways to deploy']")
    image.scroll_into_view_if_needed()
    svg = image.get_attribute("src").split(",", 1)[1]
    boxes = page.evaluate(NODE_BOXES, urllib.parse.unquote(svg))
    for row in ("R", "B", "C"):                                   # each strategy reads left to right...
        assert boxes[f"{row}1"][0] < boxes[f"{row}2"][0] < boxes[f"{row}3"][0], boxes
    assert boxes["R1"][1] < boxes["B1"][1] < boxes["C1"][1], boxes  # ...rolling, blue-green, canary, top to bottom
    assert image.bounding_box()["height"] <= 700                     # fits a screen
    lab.screenshot(page, "deploys-06.png", image)
    page.close()
