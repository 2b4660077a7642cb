"""Simulations of what one machine cannot show: a day of autoscaling at 1,000
instances, a rolling deploy that waits for long sessions, a region failure,
and a queue run for a million requests.

The live lab runs a handful of real servers on one machine. These models
take over where it stops: the same ideas (stateless instances are
interchangeable, stateful ones hold sessions) at the scale of a real fleet.
Each model lives in its own small module, is driven by a ``seed`` and returns
a result whose ``table()`` is the same on every run. Most are simpy models;
``queueing.py`` needs no simpy (one FIFO queue is a heap of "worker free
at" times) and puts queueing theory's formulas beside what it measures.
``replication.py`` says what each way of copying state to another region
loses and costs; ``day_traffic.py`` is the day of users the autoscaling
model serves.
``simulate_cluster`` is the bridge for throughput: the lab's own cluster at
request level, to compare with a live run; ``hpa.py`` is the scaling rule
that both the simulated day and the live autoscaler follow. Chapter 06 runs
the autoscaling, region and queueing models (W2, W6, W12); the rolling
deploy model checks at scale what chapters 02 (F5) and 06 (W5) show live.
"""

from .autoscaling import (
                         AutoscalingComparison,
                         AutoscalingResult,
                         compare_autoscaling,
                         simulate_autoscaling,
)
from .calibration import ClusterSimResult, simulate_cluster
from .figures import CARD, INK, OKABE_ITO, Folded, folded, new_axes, on_card
from .hpa import Instances, Percent, ScalingRule
from .queueing import (
                         ARRIVALS,
                         SERVICES,
                         QueueResult,
                         arrival_gaps_ms,
                         erlang_c,
                         mdc_mean_wait_ms,
                         mmc_mean_wait_ms,
                         mmc_wait_percentile_ms,
                         service_times_ms,
                         simulate_queue,
                         theory_mean_wait_ms,
)
from .regions import (
                         REGION_NAMES,
                         REPLICATIONS,
                         RegionFailureComparison,
                         RegionFailureResult,
                         compare_region_failure,
                         simulate_region_failure,
)
from .replication import AsyncReplica, Loss, NoReplica, SyncReplica, make_replication
from .rolling_deploy import (
                         DRAIN_TIMEOUTS,
                         DeployResult,
                         DrainTradeoff,
                         compare_drain_timeouts,
                         simulate_rolling_deploy,
)

__all__ = [
    "simulate_autoscaling", "compare_autoscaling", "AutoscalingResult", "AutoscalingComparison",
    "simulate_rolling_deploy", "compare_drain_timeouts", "DeployResult", "DrainTradeoff", "DRAIN_TIMEOUTS",
    "simulate_region_failure", "compare_region_failure", "RegionFailureResult", "RegionFailureComparison",
    "REGION_NAMES", "REPLICATIONS", "NoReplica", "AsyncReplica", "SyncReplica", "Loss", "make_replication",
    "simulate_cluster", "ClusterSimResult",
    "ScalingRule", "Percent", "Instances", "OKABE_ITO", "CARD", "INK", "on_card", "new_axes", "folded", "Folded",
    "simulate_queue", "QueueResult", "erlang_c", "mmc_mean_wait_ms", "mmc_wait_percentile_ms", "mdc_mean_wait_ms",
    "theory_mean_wait_ms", "arrival_gaps_ms", "service_times_ms", "ARRIVALS", "SERVICES",
]
