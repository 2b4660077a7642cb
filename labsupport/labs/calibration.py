"""Checking a simulation against the real thing before trusting it at scale.

Chapter 06 uses simpy models for what one laptop cannot run (a thousand
instances, a region failure). A model is only worth its assumptions, so first
run one small scenario both ways: live on the lab's cluster and in
``labsupport.sim.simulate_cluster`` with the same instances, workers, service
time, clients and number of requests, and compare the throughput.

The model knows only the simulated work (``service_ms``); the live lab also
spends time in Python, on the loopback network, on tokens, SQLite and Redis.
So the live throughput sits below the model's, and by how much depends on how
busy the machine is. Each live measurement is therefore repeated on a fresh
cluster and the best run is kept, the usual way to measure a machine's
capability rather than its background noise (``timeit`` does the same).
Chapter 06 (claim W2) uses it.
"""

from dataclasses import dataclass

from ..checks import require_int
from ..engine.tables import Table
from ..errors import InvalidArgumentError
from ..shop.cluster import Cluster
from ..sim import simulate_cluster

__all__ = ["compare_with_model", "CalibrationResult"]


@dataclass(frozen=True)
class CalibrationResult:
    """Live throughputs (one per repeat) and the model's, in requests per second."""
    instances: int
    workers: int
    service_ms: float
    clients: int
    requests: int
    live_rps: tuple
    live_median_ms: float         # median latency of the best live run
    model_rps: float
    model_median_ms: float

    @property
    def best_live_rps(self):
        return max(self.live_rps)

    @property
    def gap(self):
        """How far the best live run is from the model, as a share of the model (0.2 = 20 %)."""
        return abs(self.best_live_rps - self.model_rps) / self.model_rps

    def agrees(self, margin):
        """True when the best live run is within ``margin`` (a share, such as 0.35) of the model."""
        return self.gap <= margin

    def table(self):
        """The numbers behind the comparison (they vary from run to run: show, never check)."""
        rows = [["live (best of %d runs)" % len(self.live_rps), round(self.best_live_rps), self.live_median_ms],
                ["simulated", round(self.model_rps), self.model_median_ms]]
        return Table(["", "requests/s", "median latency ms"], rows,
                     title=f"{self.instances} instances x {self.workers} workers, {self.service_ms:g} ms per "
                           f"request, {self.clients} clients, {self.requests} requests")

    def _repr_html_(self):
        return self.table()._repr_html_()

    def __repr__(self):
        return self.table().table()


def compare_with_model(instances=3, workers=4, service_ms=20, clients=12, requests=600, repeats=3, seed=7):
    """Run the scenario live ``repeats`` times and once in the model; returns a ``CalibrationResult``.

    Each live run uses a fresh stateless cluster whose ``clients`` users send
    ``requests // clients`` requests each, back to back.
    """
    for name, value in (("clients", clients), ("requests", requests), ("repeats", repeats)):
        require_int(name, value, 1)
    if requests < clients:
        raise InvalidArgumentError(f"requests ({requests}) must be at least clients ({clients}): one each")
    runs = []
    for _ in range(repeats):
        with Cluster.stateless(instances=instances, workers=workers, service_ms=service_ms, seed=seed) as shop:
            runs.append(shop.run_traffic(users=clients, actions=requests // clients, seed=seed))
    best = max(runs, key=lambda report: report.throughput)
    model = simulate_cluster(instances=instances, workers=workers, service_ms=service_ms, clients=clients,
                             requests=best.actions, seed=seed)
    return CalibrationResult(instances, workers, service_ms, clients, best.actions,
                             tuple(r.throughput for r in runs), round(best.latency_ms(50), 1),
                             model.throughput_rps, model.latency_ms(50))
