"""How the suite shares its two workers (``-n 2 --dist loadgroup`` in pytest.ini, pytest-xdist).

A file's tests stay together on one worker: a notebook's cells must run in order in one
kernel (nbval), and a module's fixtures are built once. A module that must stay whole for
another reason names its group itself: the browser tests share one JupyterLab and one
Chromium (``xdist_group("browser")``), the re-run tests one long-lived kernel. Other tests
marked slow (minutes each: fresh installs, whole chapters) are handed out first and one by
one, longest first, so the two workers finish together rather than one waiting for the
other's last long test (``--no-loadscope-reorder`` keeps this order; xdist would otherwise
start with the files that have the most tests). This file sits at the top so it also covers
``pytest notebooks/...`` run on its own.
"""

import pytest

# The longest units of the suite, minutes each on a two-core machine: every chapter run twice in one
# kernel, every chapter in a fresh venv, the browser tests with their JupyterLab.
LONGEST_FIRST = ("tests/test_reruns.py", "tests/test_fresh_install.py", "tests/browser/")


@pytest.hookimpl(tryfirst=True)          # before xdist reads the groups in its own hook
def pytest_collection_modifyitems(items):
    """Give every test an xdist group (its file's, or its own if slow); the slow ones go first."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            alone = item.get_closest_marker("slow") is not None
            item.add_marker(pytest.mark.xdist_group(item.nodeid if alone else str(item.path)))
    items.sort(key=_start_order)


def _start_order(item):
    """Longest first, then the other slow tests, then the rest (a stable sort keeps each file's order)."""
    longest = [index for index, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)]
    return (longest[0] if longest else len(LONGEST_FIRST), item.get_closest_marker("slow") is None)
