"""How the suite shares its two workers (``-n 2 --dist loadgroup`` in pytest.ini, pytest-xdist).

A file's tests stay together on one worker: a notebook's cells must run in order in one
kernel (nbval), and a module's fixtures are built once. A module that must stay whole for
another reason names its group itself: the browser tests share one JupyterLab and one
Chromium (``xdist_group("browser")``), the re-run tests one long-lived kernel. Other tests
marked slow (minutes each: fresh installs, whole chapters) are handed out first and one by
one, so the two workers finish together rather than one waiting for the other's last long
test. This file sits at the top so it also covers ``pytest notebooks/...`` run on its own.
"""

import pytest


@pytest.hookimpl(tryfirst=True)          # before xdist reads the groups in its own hook
def pytest_collection_modifyitems(items):
    """Give every test an xdist group (its file's, or its own if slow); the slow ones go first."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            alone = item.get_closest_marker("slow") is not None
            item.add_marker(pytest.mark.xdist_group(item.nodeid if alone else str(item.path)))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)      # stable: slow first, in order
