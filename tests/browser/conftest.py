"""One JupyterLab server and one Chromium for every browser test of the session (see lab.py)."""

import pytest

from tests.browser import lab


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory):
    """The shared JupyterLab (a ``lab.JupyterLab``: ``base``, ``token``, ``set_theme()``)."""
    yield lab.Shared.jupyterlab(lambda: tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="session")
def browser():
    """The shared headless Chromium."""
    yield lab.Shared.chromium()


def pytest_sessionfinish(session):
    lab.Shared.stop()
