"""calibration_check.py: the same small scenario live and in the simulation, compared.

The model is a ceiling (it knows only the simulated work), so the live lab
can never beat it; the comparison must report both sides and a gap that is
a share of the model. No timing is asserted beyond "live is not faster than
physically possible".
"""

import pytest

from labsupport import InvalidArgumentError
from labsupport.labs import compare_with_model


def test_live_and_model_are_compared_on_the_same_scenario():
    result = compare_with_model(instances=2, workers=2, service_ms=10, clients=4, requests=40, repeats=2)
    assert len(result.live_rps) == 2 and result.requests == 40
    assert result.model_rps == pytest.approx(4 * 1000 / 10, rel=0.1)      # 4 slots, 10 ms each
    assert result.best_live_rps <= result.model_rps * 1.05                # the model is a ceiling
    assert 0 <= result.gap < 1
    assert result.agrees(1.0) and not result.agrees(-0.1)
    assert "simulated" in repr(result) and "best of 2 runs" in repr(result)


@pytest.mark.parametrize("options", [dict(clients=0), dict(requests=2, clients=4), dict(repeats=0),
                                     dict(requests=1.5)])
def test_bad_settings_are_refused(options):
    with pytest.raises(InvalidArgumentError):
        compare_with_model(**options)
