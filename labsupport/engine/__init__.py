"""The engine: what every lab server is made of.

* ``instance.py``: one server instance you start, stop, kill and restart (capacity model included);
  ``listener.py`` is its socket side, ``http1.py`` how HTTP/1.1 heads are read and written on the wire,
  ``messages.py`` what a request and an answer look like to an application, and ``rebinding.py`` the
  Host and Origin checks that keep every lab server to this machine.
* ``application.py``: what an instance runs (``handle``, ``held_state``, ``close``); ``held_state.py``:
  what an application keeps in memory, measured by walking it.
* ``balancer.py``: the reverse proxy in front of the instances; ``pool.py``: its record of each instance;
  ``policies.py``: how it picks one (and which clients a canary gets); ``forwarding.py``: one hop, a request
  passed on to an instance and its answer brought back; ``attempts.py``: one request tried on one instance
  after another (when a retry is safe); ``health.py``: its health checks (readiness or liveness);
  ``defences.py``: its defences against gray failure (timeouts, a retry
  budget, failing open, and ``outliers.py``: outlier ejection); ``moved.py``: how it keeps finding a session
  handed to another instance.
* ``faults.py``: faults short of a crash (an instance paused or slow, the path to it cut) and how they show.
* ``lifecycle.py``: the one shell (start, close, ``with``) of everything the lab starts;
  ``registry.py``: everything the lab started, closed at the end; ``workspace.py``: the one private temp
  folder per process; ``watchdog.py``: child processes die with the lab; ``events.py``: the quiet log servers
  write to; ``waiting.py``: waiting with a deadline; ``tables.py``: results as text and HTML tables.
* ``process.py``: one instance as an OS process of its own, drained on SIGTERM (chapter 10).

Nothing here knows about shops, games or lessons: those live in the folders that build on this one.
"""

from .application import Application
from .attempts import IDEMPOTENT_METHODS, Attempts
from .balancer import Balancer, PooledInstance
from .defences import (
                    Defences,
                    FailClosed,
                    FailOpen,
                    NoEjection,
                    OutlierEjection,
                    RetryBudget,
                    UnlimitedRetries,
)
from .events import Event, EventLog
from .faults import MAX_SLOW_MS, Fault, Partitioned, Paused, Slowed
from .forwarding import HOP_BY_HOP, Upstream, copy_both_ways, forwarded_fields, tunnel_bytes
from .health import UNHEALTHY_AFTER, HealthCheck
from .held_state import AttributeState, HeldState, Infrastructure, measure
from .http1 import (
                    MAX_HEAD,
                    MAX_HEADERS,
                    BadMessage,
                    Headers,
                    Reader,
                    RequestHead,
                    ResponseHead,
                    http_date,
                    parse_request_head,
                    parse_response_head,
                    request_bytes,
                    response_head_bytes,
)
from .instance import Capacity, Instance
from .lifecycle import Closable
from .listener import SUPPORTED_METHODS, Listener
from .messages import MAX_BODY_BYTES, HTTPError, RelayedResponse, Request, Response
from .moved import MOVED_HEADER, MovedSessions, moved_to, not_followed
from .policies import (
                    POLICIES,
                    STICKY_COOKIE,
                    CanarySplit,
                    ConsistentHash,
                    HashPolicy,
                    LeastConnections,
                    ModuloHash,
                    Policy,
                    RandomChoice,
                    RoundRobin,
                    SplitByRequest,
                    SplitByUser,
                    Sticky,
                    make_policy,
                    route_key,
                    stable_hash,
)
from .process import (
                    ALLOW_HOSTS_ENV,
                    STOP_SIGNALS,
                    NumberOption,
                    ProcessInstance,
                    allowed_host_names,
                    check_host,
                    check_host_name,
                    is_loopback,
                    serve_until_stopped,
)
from .rebinding import LOOPBACK_NAMES, host_problem, origin_problem
from .registry import register, running, shutdown_all, unregister
from .tables import GroupedTable, ResultTable, Table, format_duration, html_table, text_table
from .waiting import wait_until
from .watchdog import guard, release
from .workspace import lab_folder, new_folder, remove_leftovers

__all__ = [
    "Application", "HeldState", "AttributeState", "Infrastructure", "measure", "Closable",
    "Instance", "Capacity", "Listener", "SUPPORTED_METHODS", "Request", "Response", "RelayedResponse", "HTTPError",
    "MAX_BODY_BYTES",
    "Balancer", "PooledInstance", "Policy", "RoundRobin", "LeastConnections", "RandomChoice", "Sticky",
    "HashPolicy", "ConsistentHash", "ModuloHash", "make_policy", "POLICIES", "STICKY_COOKIE", "route_key",
    "stable_hash", "CanarySplit", "SplitByRequest", "SplitByUser",
    "MovedSessions", "MOVED_HEADER", "moved_to", "not_followed",
    "register", "unregister", "running", "shutdown_all", "lab_folder", "new_folder", "remove_leftovers",
    "guard", "release", "Event", "EventLog", "wait_until",
    "Table", "ResultTable", "GroupedTable", "text_table", "html_table", "format_duration",
    "Headers", "RequestHead", "ResponseHead", "BadMessage", "Reader", "parse_request_head", "parse_response_head",
    "request_bytes", "response_head_bytes", "http_date", "MAX_HEAD", "MAX_HEADERS",
    "Upstream", "HOP_BY_HOP", "forwarded_fields", "tunnel_bytes", "copy_both_ways",
    "LOOPBACK_NAMES", "host_problem", "origin_problem",
    "Fault", "Paused", "Slowed", "Partitioned", "MAX_SLOW_MS",
    "Defences", "RetryBudget", "UnlimitedRetries", "OutlierEjection", "NoEjection", "FailOpen", "FailClosed",
    "Attempts", "IDEMPOTENT_METHODS", "HealthCheck", "UNHEALTHY_AFTER",
    "ProcessInstance", "NumberOption", "check_host", "is_loopback", "serve_until_stopped", "STOP_SIGNALS",
    "ALLOW_HOSTS_ENV", "check_host_name", "allowed_host_names",
]
