"""The engine: what every lab server is made of.

* ``instance.py``: one server instance you start, stop, kill and restart (capacity model included);
  ``listener.py`` is its socket side and ``messages.py`` what a request and an answer look like.
* ``balancer.py``: the reverse proxy in front of the instances; ``policies.py``: how it picks one.
* ``registry.py``: everything the lab started, closed at the end; ``events.py``: the quiet log servers
  write to; ``waiting.py``: waiting with a deadline; ``tables.py``: results as text and HTML tables.
* ``process.py``: one instance as an OS process of its own, drained on SIGTERM (chapter 10).

Nothing here knows about shops, games or lessons: those live in the folders that build on this one.
"""

from .balancer import Balancer, PooledInstance
from .events import Event, EventLog
from .instance import Capacity, Instance
from .listener import SUPPORTED_METHODS, Listener
from .messages import MAX_BODY_BYTES, HTTPError, Request, Response
from .policies import (
                       POLICIES,
                       STICKY_COOKIE,
                       ConsistentHash,
                       LeastConnections,
                       ModuloHash,
                       Policy,
                       RandomChoice,
                       RoundRobin,
                       Sticky,
                       make_policy,
                       route_key,
                       stable_hash,
)
from .process import (
                       STOP_SIGNALS,
                       NumberOption,
                       ProcessInstance,
                       check_host,
                       is_loopback,
                       serve_until_stopped,
)
from .registry import register, running, shutdown_all, unregister
from .tables import ResultTable, Table, format_duration, html_table, text_table
from .waiting import wait_until

__all__ = [
    "Instance", "Capacity", "Listener", "SUPPORTED_METHODS", "Request", "Response", "HTTPError", "MAX_BODY_BYTES",
    "Balancer", "PooledInstance", "Policy", "RoundRobin", "LeastConnections", "RandomChoice", "Sticky",
    "ConsistentHash", "ModuloHash", "make_policy", "POLICIES", "STICKY_COOKIE", "route_key", "stable_hash",
    "register", "unregister", "running", "shutdown_all", "Event", "EventLog", "wait_until",
    "Table", "ResultTable", "text_table", "html_table", "format_duration",
    "ProcessInstance", "NumberOption", "check_host", "is_loopback", "serve_until_stopped", "STOP_SIGNALS",
]
