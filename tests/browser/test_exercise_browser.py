"""A learner's exercise in a real browser: type a solution into chapter 01's scaffold cell and see "passed".

JupyterLab in headless Chromium (the session's shared server and browser,
``lab.py``): open chapter 01, click into the cell with the ``Denylist``
scaffold, replace its code with a correct denylist by typing it, run that cell
and the checker below it with Shift+Enter, and read the checker's verdict in
the page. Nothing else of the chapter needs to run: the exercise section
imports what it uses.
"""

import pytest

from tests.browser import lab

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]   # one JupyterLab, one Chromium

TYPED_SOLUTION = '''import time


class Denylist:
    def __init__(self, cache):
        self.cache = cache

    def revoke(self, token_id, expires_at):
        self.cache.put("revoked:" + token_id, True, ttl_s=max(1, expires_at - time.time()))

    def is_revoked(self, token_id):
        return self.cache.get("revoked:" + token_id) is not None
'''


def test_typing_a_denylist_into_the_scaffold_makes_the_checker_say_passed(jupyterlab, browser):
    page = lab.open_notebook(browser, jupyterlab, "01_stateless.ipynb")
    scaffold = page.locator(".jp-CodeCell", has_text="EXERCISE 01").first
    checker = page.locator(".jp-CodeCell", has_text="check_logout(Denylist)").first
    scaffold.scroll_into_view_if_needed()
    assert "not yet:" in checker.locator(".jp-OutputArea").inner_text()      # the committed verdict

    scaffold.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(TYPED_SOLUTION)
    assert "NotImplementedError" not in scaffold.locator(".cm-content").inner_text()
    page.keyboard.press("Shift+Enter")                 # run the class's cell; the checker's cell is next
    page.keyboard.press("Shift+Enter")                 # run the checker
    verdict = checker.locator(".jp-OutputArea")
    lab.wait(lambda: "passed:" in verdict.inner_text(), 120, "the checker to say passed")
    checker.scroll_into_view_if_needed()
    lab.screenshot(page, "exercise-01-passed.png")
    assert "old tokens accepted" in verdict.inner_text()
    lab.assert_no_cell_errors(page)
    page.close()
