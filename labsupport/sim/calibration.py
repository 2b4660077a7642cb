"""The lab's cluster as a request-level simulation, to check the simulations against reality.

The live lab runs ``instances`` servers, each serving at most ``workers``
requests at once and spending ``service_ms`` on each; a round-robin balancer
spreads the requests; ``clients`` send requests in a closed loop (the next one
as soon as the last answer arrives). This model is the same thing in simpy:
each instance is a ``simpy.Resource`` with ``workers`` slots. Run the same
scenario live and here: if the numbers agree, the large simulations of
chapter 06 rest on a model that matches the machine (chapter 06, W2).

What it can and cannot say. Everything in it is fixed: service takes
exactly ``service_ms`` (no network, no jitter) and each client sends its
next request the moment the last answer arrives (a closed loop); only the
clients' start times are random (seeded). With enough clients to keep
every slot busy the throughput is ``instances * workers * 1000 / service_ms``
requests per second and the extra clients queue; with fewer, it is
``clients * 1000 / service_ms`` and *nobody ever waits*: every latency is
exactly ``service_ms``. That is not how a real service behaves below full
load. Real requests arrive at random and their work varies, so queues form
long before the workers are saturated, and waiting time climbs steeply as
utilisation nears 100 %. This model is for throughput (capacity = instances x
workers / service time); for waiting time use ``queueing.simulate_queue``
and the live hockey stick of chapter 06 (claim W12).
"""

import itertools
import random
from dataclasses import dataclass, field

import simpy

from ..checks import require_int, require_number, require_seed
from ..engine.tables import ResultTable

__all__ = ["simulate_cluster", "ClusterSimResult"]


@dataclass(frozen=True, repr=False)
class ClusterSimResult(ResultTable):
    """Throughput and latencies of one closed-loop run of the simulated cluster."""
    instances: int
    workers: int
    service_ms: float
    clients: int
    requests: int
    seed: int
    duration_s: float
    throughput_rps: float
    bound_rps: float
    latencies_ms: tuple = field(compare=False)

    def latency_ms(self, percentile):
        """The ``percentile`` (0-100) latency in ms, nearest-rank: latency_ms(50) is the median."""
        require_number("percentile", percentile, maximum=100)
        ordered = sorted(self.latencies_ms)
        rank = max(1, -(-len(ordered) * percentile // 100))      # ceil without floats
        return ordered[int(rank) - 1]

    @property
    def mean_latency_ms(self):
        return sum(self.latencies_ms) / len(self.latencies_ms)

    @property
    def series(self):
        return {"request": list(range(1, len(self.latencies_ms) + 1)), "latency_ms": list(self.latencies_ms)}

    def _table_data(self):
        headers = ("instances", "workers", "service ms", "clients", "requests", "throughput req/s",
                   "bound req/s", "mean ms", "p50 ms", "p99 ms")
        row = [self.instances, self.workers, self.service_ms, self.clients, self.requests,
               self.throughput_rps, self.bound_rps, self.mean_latency_ms, self.latency_ms(50),
               self.latency_ms(99)]
        return f"Simulated cluster, closed loop (seed {self.seed})", headers, [row]

    def plot(self, ax=None):
        """A histogram of the latencies on ``ax`` (a new figure if None); returns the Axes."""
        if ax is None:
            import matplotlib.pyplot as plt
            ax = plt.subplots()[1]
        ax.hist(self.latencies_ms, bins=30)
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("requests")
        return ax


class _Run:
    """What the clients share: how many requests are left and what each one took."""

    def __init__(self, requests):
        self.left = requests
        self.latencies_ms = []
        self.first_sent = None
        self.last_done = 0.0


def _client(env, servers, balancer, run, service_ms, think_ms, start_ms):
    yield env.timeout(start_ms)
    while run.left > 0:
        run.left -= 1
        sent = env.now
        run.first_sent = sent if run.first_sent is None else min(run.first_sent, sent)
        server = servers[next(balancer)]            # round robin, blind to queues
        with server.request() as slot:
            yield slot
            yield env.timeout(service_ms)
        run.latencies_ms.append(round(env.now - sent, 6))   # hide float dust such as 20.000000000000004
        run.last_done = env.now
        if think_ms:
            yield env.timeout(think_ms)


def simulate_cluster(instances=3, workers=4, service_ms=20, clients=12, requests=600, seed=7, think_ms=0):
    """Simulate ``clients`` closed-loop clients sending ``requests`` requests in total.

    Time is in milliseconds. Returns a :class:`ClusterSimResult` with
    ``throughput_rps``, ``bound_rps`` (the capacity limit) and
    ``latency_ms(p)``. Service and think times are fixed, so below
    saturation every latency is exactly ``service_ms``: use it for
    throughput, not for waiting times (see the module docstring).
    """
    instances = require_int("instances", instances)
    workers = require_int("workers", workers)
    clients = require_int("clients", clients)
    requests = require_int("requests", requests)
    service_ms = require_number("service_ms", service_ms, allow_minimum=False)
    think_ms = require_number("think_ms", think_ms)
    seed = require_seed(seed)
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=workers) for _ in range(instances)]
    balancer = itertools.cycle(range(instances))
    run = _Run(requests)
    for _ in range(clients):          # clients start within one service time of each other
        env.process(_client(env, servers, balancer, run, service_ms, think_ms, rng.uniform(0, service_ms)))
    env.run()
    duration_s = (run.last_done - run.first_sent) / 1000
    bound = min(instances * workers / service_ms, clients / (service_ms + think_ms)) * 1000
    return ClusterSimResult(instances=instances, workers=workers, service_ms=service_ms, clients=clients,
                            requests=requests, seed=seed, duration_s=duration_s,
                            throughput_rps=requests / duration_s, bound_rps=bound,
                            latencies_ms=tuple(run.latencies_ms))
