"""Waiting in line: why an instance at 95 % busy keeps requests waiting far longer than one at 50 %.

An instance with ``servers`` workers and one FIFO queue in front of them is
the textbook multi-server queue. Requests arrive at random (a Poisson
stream: independent arrivals, exponential gaps), each needs ``service_ms``
of a worker, and a request that finds every worker busy waits. How long?
Not "a little longer as the instance gets busier": the mean wait grows like
1 / (1 - utilisation), so it stays small up to about 70 % and then shoots
up. Plotted against utilisation it is the *hockey stick*, and it is why
autoscalers aim at 60-70 % busy instead of 100 %. Chapter 06 (claim W12)
shows it live, simulated here, and from the formulas below.

Queueing theory names the cases by arrivals/service/servers (Kendall):

* **M/M/c** (Poisson arrivals, exponential service): exact. Erlang's C
  formula, ``erlang_c``, gives the probability that a request has to wait,
  and the mean wait is ``C * S / (c * (1 - rho))`` (``mmc_mean_wait_ms``);
  the wait beyond zero is exponential, so percentiles have a formula too.
* **M/D/c** (Poisson arrivals, fixed service, like the lab's capacity
  model): no closed form for c > 1. ``mdc_mean_wait_ms`` uses Cosmetatos'
  approximation: half the M/M/c wait (exact for c = 1: the
  Pollaczek-Khinchine formula) times a correction that grows with idle
  capacity, ``1 + (1 - rho)(c - 1)(sqrt(4 + 5c) - 2) / (16 rho c)``.
  G. P. Cosmetatos, "Approximate explicit formulae for the average queueing
  time in the processes (M/D/r) and (D/M/r)", INFOR 13(3), 1975, 328-331.
  It is close in heavy traffic and overestimates with many servers or in
  light traffic (Y. Kimura, "Refining Cosmetatos' approximation for the
  mean waiting time in the M/D/s queue", J. Oper. Res. Soc. 42, 1991,
  595-603); ``tests/test_queueing.py`` pins how close it is for 4 workers.

``simulate_queue`` runs the queue request by request and puts the formula
beside what it measured. It needs no simpy: with one FIFO queue a request
starts on whichever worker frees up first (at once if one is idle), so a
heap of "worker free at" times is the whole model, and a million requests
take a few seconds.
"""

import heapq
import math
import random
from dataclasses import dataclass, field

from ..checks import require_choice, require_int, require_number, require_seed
from ..engine.tables import ResultTable
from ..errors import InvalidArgumentError

__all__ = ["simulate_queue", "QueueResult", "erlang_c", "mmc_mean_wait_ms", "mmc_wait_percentile_ms",
           "mdc_mean_wait_ms", "theory_mean_wait_ms", "arrival_gaps_ms", "service_times_ms",
           "ARRIVALS", "SERVICES"]

ARRIVALS = ("poisson", "fixed")
SERVICES = ("exponential", "fixed")


def _check(servers, utilisation, service_ms=1.0):
    """Validate the three numbers every formula needs; returns them as int, float, float."""
    servers = require_int("servers", servers)
    utilisation = require_number("utilisation", utilisation, minimum=0.0, allow_minimum=False)
    if utilisation >= 1:
        raise InvalidArgumentError(f"utilisation must be below 1 (such as 0.95), not {utilisation!r}: "
                                   "at 100 % busy or more the queue grows without end")
    service_ms = require_number("service_ms", service_ms, allow_minimum=False)
    return servers, utilisation, service_ms


# -- the formulas --------------------------------------------------------------------------------------

def erlang_c(servers, utilisation):
    """Probability that an arriving request finds all ``servers`` busy and waits (M/M/c, Erlang C).

    ``utilisation`` is the share of the workers' time that is busy (0.7 = 70 %).
    """
    servers, utilisation, _ = _check(servers, utilisation)
    load = servers * utilisation                      # the offered load in Erlangs (busy workers on average)
    term, below = 1.0, 1.0                            # load**k / k!, summed for k = 0 .. servers-1
    for k in range(1, servers):
        term *= load / k
        below += term
    top = term * load / servers / (1 - utilisation)   # load**c / c! / (1 - rho)
    return top / (below + top)


def mmc_mean_wait_ms(servers, service_ms, utilisation):
    """Mean time in the queue (not counting service) of M/M/c, in ms: ``C * S / (c * (1 - rho))``."""
    servers, utilisation, service_ms = _check(servers, utilisation, service_ms)
    return erlang_c(servers, utilisation) * service_ms / (servers * (1 - utilisation))


def mmc_wait_percentile_ms(servers, service_ms, utilisation, percentile):
    """The ``percentile`` (0-100) of the wait in M/M/c, in ms (0 when that many requests do not wait).

    P(wait > t) = C * exp(-t * c * (1 - rho) / S): a request waits with
    probability C, and a waiting one waits an exponential time.
    """
    servers, utilisation, service_ms = _check(servers, utilisation, service_ms)
    percentile = require_number("percentile", percentile, maximum=100)
    beyond = 1 - percentile / 100                     # share of requests waiting longer than the answer
    waiting = erlang_c(servers, utilisation)
    if beyond >= waiting:
        return 0.0
    if beyond == 0:
        return math.inf
    return math.log(waiting / beyond) * service_ms / (servers * (1 - utilisation))


def mdc_mean_wait_ms(servers, service_ms, utilisation):
    """Mean time in the queue of M/D/c (fixed service), in ms: Cosmetatos' approximation (see the module)."""
    servers, utilisation, service_ms = _check(servers, utilisation, service_ms)
    correction = (1 - utilisation) * (servers - 1) * (math.sqrt(4 + 5 * servers) - 2) / (16 * utilisation * servers)
    return 0.5 * mmc_mean_wait_ms(servers, service_ms, utilisation) * (1 + correction)


def theory_mean_wait_ms(servers, service_ms, utilisation, arrivals="poisson", service="exponential"):
    """The formula's mean wait for this queue, and its name: ``(ms, "M/M/c, Erlang C")``.

    Returns ``(None, reason)`` for fixed arrivals, where the course uses no formula.
    """
    require_choice("arrivals", arrivals, ARRIVALS)
    require_choice("service", service, SERVICES)
    if arrivals != "poisson":
        return None, "no formula used for fixed arrivals"
    formula = {"exponential": (mmc_mean_wait_ms, "M/M/c, Erlang C"),
               "fixed": (mdc_mean_wait_ms, "M/D/c, Cosmetatos")}[service]
    return formula[0](servers, service_ms, utilisation), formula[1]


# -- the simulation ------------------------------------------------------------------------------------

def arrival_gaps_ms(requests, mean_gap_ms, arrivals="poisson", seed=7):
    """The gaps between ``requests`` arrivals, in ms: random ("poisson") or all equal ("fixed").

    Poisson gaps are exponential, then scaled so that they add up to exactly
    ``requests x mean_gap_ms``: the run brings exactly the work its
    utilisation asks for, while the arrivals stay as randomly spaced as a
    Poisson stream whose count over the run is known. (A short run of plain
    exponential gaps can be 10 % busier or quieter than asked; for a long
    run the scaling changes nothing.) The live hockey stick
    (``labsupport.labs.queueing``) sends its requests with these gaps, so a
    simulated run can replay exactly the same arrivals.
    """
    require_choice("arrivals", arrivals, ARRIVALS)
    requests = require_int("requests", requests)
    mean_gap_ms = require_number("mean_gap_ms", mean_gap_ms, allow_minimum=False)
    rng = random.Random(f"{require_seed(seed)}-arrivals")
    if arrivals == "fixed":
        return [mean_gap_ms] * requests
    gaps = [rng.expovariate(1.0) for _ in range(requests)]
    scale = requests * mean_gap_ms / sum(gaps)
    return [gap * scale for gap in gaps]


def service_times_ms(requests, service_ms, service="exponential", seed=7):
    """How long each of ``requests`` keeps a worker, in ms: exponential or all ``service_ms``."""
    require_choice("service", service, SERVICES)
    requests = require_int("requests", requests)
    service_ms = require_number("service_ms", service_ms, allow_minimum=False)
    rng = random.Random(f"{require_seed(seed)}-service")
    if service == "fixed":
        return [service_ms] * requests
    return [rng.expovariate(1 / service_ms) for _ in range(requests)]


def _nearest_rank(ordered, percentile):
    """The ``percentile`` (0-100) of an already sorted list, nearest-rank: the median for 50."""
    rank = max(1, math.ceil(len(ordered) * percentile / 100))
    return ordered[rank - 1]


@dataclass(frozen=True, repr=False)
class QueueResult(ResultTable):
    """One run of the queue: what requests waited (ms), how busy the workers were, and the formula beside it."""
    servers: int
    service_ms: float
    utilisation: float                 # what was asked for
    arrivals: str
    service: str
    requests: int
    seed: int
    measured_utilisation: float        # arrival rate x mean service time / workers, from the run itself
    mean_wait_ms: float
    share_waited: float                # share of requests that found every worker busy
    theory_mean_wait_ms: float         # None where no formula applies
    theory: str                        # which formula (or why none)
    waits_ms: tuple = field(compare=False)

    def wait_ms(self, percentile):
        """The ``percentile`` (0-100) wait in ms, nearest-rank: ``wait_ms(99)`` is the p99."""
        require_number("percentile", percentile, maximum=100)
        return _nearest_rank(sorted(self.waits_ms), percentile)

    @property
    def p50_wait_ms(self):
        return self.wait_ms(50)

    @property
    def p95_wait_ms(self):
        return self.wait_ms(95)

    @property
    def p99_wait_ms(self):
        return self.wait_ms(99)

    @property
    def kendall(self):
        """The queue's name in Kendall's notation, such as "M/D/4"."""
        letter = {"poisson": "M", "exponential": "M", "fixed": "D"}
        return f"{letter[self.arrivals]}/{letter[self.service]}/{self.servers}"

    def row(self):
        theory = "-" if self.theory_mean_wait_ms is None else round(self.theory_mean_wait_ms, 2)
        return [self.kendall, round(100 * self.utilisation), round(100 * self.measured_utilisation, 1),
                round(self.mean_wait_ms, 2), theory, round(self.p50_wait_ms, 2), round(self.p95_wait_ms, 2),
                round(self.p99_wait_ms, 2)]

    HEADERS = ("queue", "busy % asked", "busy % measured", "mean wait ms", "formula mean ms",
               "p50 wait ms", "p95 wait ms", "p99 wait ms")

    def _table_data(self):
        title = (f"{self.requests:,} requests, {self.service_ms:g} ms each, {self.servers} workers "
                 f"(seed {self.seed}; formula: {self.theory})")
        return title, self.HEADERS, [self.row()]


def simulate_queue(servers=4, service_ms=20, utilisation=0.8, arrivals="poisson", service="exponential",
                   requests=100_000, seed=7):
    """Simulate ``requests`` requests through one FIFO queue in front of ``servers`` workers.

    Open loop: requests arrive on their own schedule (``arrivals``), whatever
    the queue looks like, at the rate that keeps the workers ``utilisation``
    busy on average. Returns a :class:`QueueResult`; times are in ms.
    """
    servers, utilisation, service_ms = _check(servers, utilisation, service_ms)
    requests = require_int("requests", requests)
    seed = require_seed(seed)
    gaps = arrival_gaps_ms(requests, service_ms / (servers * utilisation), arrivals, seed)
    work = service_times_ms(requests, service_ms, service, seed)
    free_at = [0.0] * servers              # when each worker is next free: a heap, earliest first
    now, waits = 0.0, []
    for gap, needs in zip(gaps, work):
        now += gap                                         # this request arrives
        start = max(now, heapq.heappop(free_at))           # FIFO: it takes the first worker to come free
        waits.append(start - now)
        heapq.heappush(free_at, start + needs)
    rate = (requests - 1) / (now - gaps[0]) if requests > 1 else 1 / gaps[0]   # arrivals per ms, as they came
    theory_ms, theory = theory_mean_wait_ms(servers, service_ms, utilisation, arrivals, service)
    return QueueResult(
        servers=servers, service_ms=service_ms, utilisation=utilisation, arrivals=arrivals, service=service,
        requests=requests, seed=seed,
        measured_utilisation=rate * sum(work) / requests / servers,
        mean_wait_ms=sum(waits) / requests, share_waited=sum(w > 0 for w in waits) / requests,
        theory_mean_wait_ms=theory_ms, theory=theory, waits_ms=tuple(waits))
