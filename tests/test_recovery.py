"""recovery.py: a dead instance is taken out of rotation by itself, and stateless users notice nothing.

Without traffic only the health checks can notice; under traffic the first
request that meets the dead instance does, and it is retried elsewhere. The
stateless shop's users see no failure either way; the stateful shop's users
who were pinned to the dead instance lose their sessions.
"""

import math

import pytest

from labsupport import InvalidArgumentError
from labsupport.labs import measure_detection


def test_a_killed_stateless_instance_is_detected_and_users_notice_nothing():
    result = measure_detection(health_intervals=(0.05,), users=3)
    idle, busy = result.runs
    assert idle.detected and busy.detected
    assert not idle.under_traffic and busy.under_traffic
    assert idle.retried == 0 and not math.isnan(busy.detection_ms)
    assert (busy.failed, busy.unknown, busy.lost_sessions) == (0, 0, 0)
    assert busy.report.actions > 0
    assert "taken out of rotation" in repr(result) and "detected after ms" in result.timings().table()


def test_a_killed_stateful_instance_is_detected_but_its_sessions_are_gone():
    result = measure_detection(health_intervals=(0.05,), kind="stateful", users=3)
    assert all(run.detected for run in result.runs)
    assert result.runs[1].lost_sessions > 0


@pytest.mark.parametrize("options", [dict(health_intervals=()), dict(health_intervals=(0,)), dict(users=0)])
def test_bad_settings_are_refused(options):
    with pytest.raises(InvalidArgumentError):
        measure_detection(**options)
