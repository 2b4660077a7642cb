"""How the suite shares its two workers (``-n 2 --dist loadgroup`` in pytest.ini, pytest-xdist).

A file's tests stay together on one worker: a notebook's cells must run in order in one
kernel (nbval), and a module's fixtures are built once. The browser tests are one group
(``xdist_group("browser")``), so they share one JupyterLab and one Chromium. This file sits
at the top so it also covers ``pytest notebooks/...`` run on its own.
"""

import pytest


@pytest.hookimpl(tryfirst=True)          # before xdist reads the groups in its own hook
def pytest_collection_modifyitems(items):
    """Give each file's tests (nbval's notebook cells included) an xdist group of their own."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(str(item.path)))
