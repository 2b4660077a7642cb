"""capacity.py: a cluster's capacity is a count, instances x workers requests in service at once.

Pins chapter 01, claim S5: with enough users to keep every worker busy, the
most requests served at once equals the cluster's workers (so it grows with
the instances), and it never exceeds them, whatever the wall clock says.
"""

import pytest

from labsupport import Cluster
from labsupport.labs import BusyMeter

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("instances, workers", [(1, 1), (2, 1), (2, 2)])
def test_the_peak_in_service_is_the_clusters_workers(instances, workers):
    with Cluster.stateless(instances=instances, workers=workers, service_ms=20) as shop, BusyMeter(shop) as busy:
        shop.run_traffic(users=8, actions=6, seed=7)
    assert busy.peak == instances * workers
    assert busy.samples > 10


def test_an_idle_cluster_serves_nothing_at_once():
    with Cluster.stateless(instances=2, workers=4) as shop, BusyMeter(shop) as busy:
        assert busy.in_service() == 0
    assert busy.peak == 0 and busy.closed
