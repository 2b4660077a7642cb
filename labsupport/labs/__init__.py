"""Chapter experiments: each module composes the parts above into one measurement a lesson shows.

* 01: ``examples.py`` (more stateless servers), ``capacity.py`` (requests served at once).
  02: ``draining.py`` (a drain that waits, one that hands its sessions over, and a crash in the middle).
  03: ``comparison.py`` (the article's ten rows, and one more).
* 04: ``latency.py`` (the latency ladder), ``dependencies.py`` (store calls and outages),
  ``readiness.py`` (health checks that include a shared dependency, liveness, failing open),
  ``retries.py`` (idempotency under retries).
* 05: ``request_trace.py`` (one request through the eight steps).
* 06: ``disposability.py``, ``balancing.py``, ``recovery.py`` (detecting a dead instance),
  ``live_deploys.py`` (deploys under traffic, blue-green with the sessions copied), ``rebalancing.py``
  (scaling a hash ring and moving the carts that changed owner), ``calibration.py`` (a simulation against the live lab),
  ``queueing.py`` (waiting time against utilisation on a live instance: the hockey stick),
  ``gray_failure.py`` (a slow or paused instance), ``partition.py`` (a partition is not a crash).
* 07: ``replication.py`` (failover, synchronous writes, read-your-writes), ``recovery_time.py``
  (restarting a node whose state is on disk), ``split_brain.py`` (a paused leader, a paused worker,
  fencing tokens).
* 08: ``hybrid.py`` (a hybrid shop under chaos). The chapters' exercises live in ``labsupport.exercises``.
* 10: ``nginx.py`` (nginx from deploy/nginx), ``processes.py`` (the shop as OS processes behind it),
  ``real_infra.py`` (kills and latencies on them), ``kubernetes.py`` (deploy/k8s, field by field).
"""

from .balancing import (
                           PARETO_SHAPE,
                           POLICIES_COMPARED,
                           BalancingResult,
                           Placement,
                           bounded_load_placement,
                           compare_balancing,
                           hashing_imbalance,
                           keys_moved,
                           user_activity,
)
from .calibration import CalibrationResult, compare_with_model
from .capacity import BusyMeter
from .comparison import (
                           EXPERIMENTS,
                           Comparison,
                           Experiment,
                           Observation,
                           Suite,
                           run_comparison,
)
from .dependencies import (
                           InstanceAnswers,
                           StoreCalls,
                           ask_every_instance,
                           count_store_calls,
                           load_by_traffic,
                           wait_until_in_rotation,
)
from .disposability import DisposabilityResult, create_and_destroy
from .draining import DrainComparison, DrainRun, HandOffCrash, compare_drains, crash_during_handoff
from .examples import (
                           PRICES,
                           FunctionPerCall,
                           PriceQuotes,
                           StaticFiles,
                           VisitCounter,
                           function_server,
                           price_server,
                           static_file_server,
)
from .gray_failure import (
                           SETUPS,
                           PausedInstanceResult,
                           Setup,
                           SlowInstanceResult,
                           SlowRun,
                           paused_instance_experiment,
                           slow_instance_experiment,
)
from .hybrid import (
                           PARTS,
                           SHOPPERS,
                           CatalogApp,
                           CatalogService,
                           ChaosCosts,
                           FailureCost,
                           HybridShop,
                           Shopper,
                           failure_cost,
                           hybrid_chaos,
)
from .kubernetes import LESSONS, Lesson, ManifestError, kubernetes_lessons, load_manifests, manifest_value
from .latency import RUNGS, Ladder, measure_ladder
from .live_deploys import (
                           BLUE_GREENS,
                           STRATEGIES,
                           BlueGreenComparison,
                           DeployComparison,
                           DeployLedger,
                           compare_blue_green,
                           compare_deploys,
                           deploy_under_traffic,
)
from .nginx import INSTALL_HINT as NGINX_INSTALL_HINT
from .nginx import Nginx, find_nginx, nginx_version, render_template, template_lines, upstream_servers
from .partition import PartitionResult, PartitionRun, partition_experiment
from .processes import PROXIES, ProcessStartError, ServeProcess, ShopProcesses, StatefulProcesses, StatelessProcesses
from .queueing import (
                           UTILISATIONS,
                           HockeyStick,
                           LivePoint,
                           StopwatchInstance,
                           WorkerApp,
                           measure_hockey_stick,
)
from .readiness import HEALTH_SETUPS, HealthSetup, ReadinessResult, ReadinessRow, readiness_experiment
from .real_infra import (
                           KillResult,
                           PinnedKillResult,
                           ProxyComparison,
                           compare_proxies,
                           kill_mid_traffic,
                           kill_pinned_process,
)
from .rebalancing import (
                           SHOPS_COMPARED,
                           RebalanceComparison,
                           RebalanceRun,
                           compare_rebalancing,
                           owner_changes,
)
from .recovery import DetectionResult, DetectionRun, measure_detection
from .recovery_time import RECOVERY_SIZES, RecoveryRun, RecoveryTime, recovery_experiment, seeded_writes
from .replication import (
                           FailoverResult,
                           ReadYourWrites,
                           WriteLatency,
                           failover_experiment,
                           read_your_writes_experiment,
                           write_latency_experiment,
)
from .request_trace import RequestTrace, trace_request
from .retries import InFlightOutcome, RetryingClient, kill_mid_request, wait_until_idle
from .split_brain import (
                           INVOICE_LOCK,
                           InvoiceLeader,
                           PausedWorkerResult,
                           SplitBrainResult,
                           paused_worker_experiment,
                           split_brain_experiment,
)

__all__ = [
    "StaticFiles", "FunctionPerCall", "VisitCounter", "PriceQuotes", "PRICES", "static_file_server",
    "function_server", "price_server", "BusyMeter",
    "run_comparison", "Suite", "Comparison", "Experiment", "Observation", "EXPERIMENTS",
    "Ladder", "measure_ladder", "RUNGS",
    "StoreCalls", "count_store_calls", "load_by_traffic", "InstanceAnswers", "ask_every_instance",
    "wait_until_in_rotation",
    "RetryingClient", "InFlightOutcome", "kill_mid_request", "wait_until_idle",
    "RequestTrace", "trace_request",
    "create_and_destroy", "DisposabilityResult", "compare_balancing", "BalancingResult", "keys_moved",
    "user_activity", "POLICIES_COMPARED", "PARETO_SHAPE", "hashing_imbalance", "bounded_load_placement", "Placement",
    "measure_detection", "DetectionRun", "DetectionResult",
    "measure_hockey_stick", "HockeyStick", "LivePoint", "StopwatchInstance", "WorkerApp", "UTILISATIONS",
    "deploy_under_traffic", "compare_deploys", "DeployLedger", "DeployComparison", "STRATEGIES",
    "compare_blue_green", "BlueGreenComparison", "BLUE_GREENS",
    "compare_drains", "DrainComparison", "DrainRun", "crash_during_handoff", "HandOffCrash",
    "compare_rebalancing", "RebalanceComparison", "RebalanceRun", "owner_changes", "SHOPS_COMPARED",
    "compare_with_model", "CalibrationResult",
    "HybridShop", "CatalogApp", "CatalogService", "Shopper", "FailureCost", "ChaosCosts", "PARTS", "SHOPPERS",
    "failure_cost", "hybrid_chaos",
    "failover_experiment", "FailoverResult", "write_latency_experiment", "WriteLatency",
    "read_your_writes_experiment", "ReadYourWrites",
    "recovery_experiment", "RecoveryTime", "RecoveryRun", "seeded_writes", "RECOVERY_SIZES",
    "split_brain_experiment", "SplitBrainResult", "InvoiceLeader", "INVOICE_LOCK", "paused_worker_experiment",
    "PausedWorkerResult",
    "slow_instance_experiment", "SlowInstanceResult", "SlowRun", "Setup", "SETUPS", "paused_instance_experiment",
    "PausedInstanceResult", "partition_experiment", "PartitionResult", "PartitionRun",
    "readiness_experiment", "ReadinessResult", "ReadinessRow", "HealthSetup", "HEALTH_SETUPS",
    "Nginx", "find_nginx", "nginx_version", "render_template", "template_lines", "upstream_servers",
    "NGINX_INSTALL_HINT",
    "ServeProcess", "ShopProcesses", "StatelessProcesses", "StatefulProcesses", "PROXIES", "ProcessStartError",
    "KillResult", "PinnedKillResult", "ProxyComparison", "kill_mid_traffic", "kill_pinned_process", "compare_proxies",
    "Lesson", "LESSONS", "ManifestError", "kubernetes_lessons", "load_manifests", "manifest_value",
]
