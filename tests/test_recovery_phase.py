"""recovery.py: idle kills land at a seeded point of the health-check cycle, so detection times cover it.

With nobody shopping, only health checks can notice a dead instance, and
they need two failures in a row: detection takes between one and two
intervals depending on where in the cycle the instance died. The
measurement waits for a health check to reach the victim, then kills it a
seeded share of the interval later (the phase). Nothing can notice before
the next check, which is at least the rest of that interval away.
"""

import random

from labsupport.labs import measure_detection


def test_idle_kills_land_at_a_seeded_phase_and_wait_for_the_next_checks():
    result = measure_detection(health_intervals=(0.1, 0.2), users=2, seed=7)
    idle = [run for run in result.runs if not run.under_traffic]
    assert [run.phase for run in idle] == [random.Random(f"7-{i}").random() for i in (0.1, 0.2)]
    for run in idle:
        assert run.detected
        assert run.detection_ms >= (1 - run.phase) * run.health_interval_s * 1000
        assert run.intervals == run.detection_ms / 1000 / run.health_interval_s
    assert all(run.phase is None for run in result.runs if run.under_traffic)
    assert "killed into the check cycle" in result.timings().table()
