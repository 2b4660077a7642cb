"""Shared fixtures: every test leaves the lab as it found it."""

import threading
import time

import pytest

from labsupport import shutdown_all


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch):
    """Quiz answers go to a file of this test's own, never to the learner's ~/.stateless_course."""
    path = tmp_path / "progress.json"
    monkeypatch.setenv("LABSUPPORT_PROGRESS", str(path))
    return path


@pytest.fixture(autouse=True)
def _clean_lab():
    yield
    shutdown_all()


def wait_for(condition, timeout=5.0, interval=0.01):
    """Poll ``condition()`` until it is truthy or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def lab_threads():
    """Threads the lab started (everything except the main thread and pytest's own)."""
    return [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()
            and not t.name.startswith(("pytest", "Dummy"))]
