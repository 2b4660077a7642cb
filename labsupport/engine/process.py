"""One lab server as an OS process of its own: start, serve, drain on SIGTERM, exit.

Inside a notebook every instance is a thread pool in the kernel's process,
and ``kill()`` imitates a crash. Outside it, an instance is a process that an
operator (nginx's admin, docker compose, Kubernetes) starts and stops with
signals. This module is what ``python -m labsupport serve`` runs (chapter 10):

* it binds exactly the address it was given (``--host``, ``--port``) and fails
  loudly if the port is taken, instead of quietly taking another one;
* it writes one line to stderr when it starts and one when it stops, so the
  operator's log says when the process was up, and nothing else;
* on SIGTERM (what ``docker stop`` and Kubernetes send first) or Ctrl-C it stops
  *gracefully*, exactly as ``Instance.stop()`` does: new requests are refused,
  those in flight finish, then the process exits with status 0. SIGKILL cannot
  be caught: that is the crash chapter 10 inflicts with ``Popen.kill()``.

A server that listens beyond loopback can be reached by other machines, so
``serve_until_stopped`` says so in a one-line warning. Like every lab server,
it answers only requests whose ``Host`` names this machine (``rebinding.py``);
in a container it is reached by other names (a Kubernetes Service's, a compose
service's), which its operator lists with ``--allow-host`` or ``LAB_ALLOW_HOSTS``
(``allowed_host_names``). Nothing is allowed unless it is listed.
"""

import argparse
import ipaddress
import math
import os
import re
import signal
import sys
import threading

from ..errors import InvalidArgumentError
from .instance import Instance
from .listener import Listener

__all__ = ["ProcessInstance", "NumberOption", "check_host", "is_loopback", "serve_until_stopped", "STOP_SIGNALS",
           "PREFIX", "ALLOW_HOSTS_ENV", "check_host_name", "allowed_host_names"]

STOP_SIGNALS = ("SIGTERM", "SIGINT")          # SIGINT is Ctrl-C in a terminal; Windows has no real SIGTERM
PREFIX = "labsupport serve:"                  # every line the process writes starts with this
ALLOW_HOSTS_ENV = "LAB_ALLOW_HOSTS"           # more Host names to answer to, comma-separated
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")    # a DNS name or an IPv4 address, as a Host header carries it


class NumberOption:
    """An argparse ``type=``: a number from ``minimum`` to ``maximum``; anything else exits 2 with a message."""

    def __init__(self, what, minimum, maximum=math.inf, whole=False):
        self.what, self.minimum, self.maximum, self.whole = what, minimum, maximum, whole
        self.__name__ = what                   # argparse names the type in some messages

    def __call__(self, text):
        try:
            value = int(text) if self.whole else float(text)
        except ValueError:
            value = None
        if value is None or not self.minimum <= value <= self.maximum:
            kind = "a whole number" if self.whole else "a number"
            upper = f" to {self.maximum}" if self.maximum != math.inf else " or more"
            raise argparse.ArgumentTypeError(f"{self.what} must be {kind} from {self.minimum}{upper}, not {text!r}")
        return value


def check_host(host):
    """``host`` must be an IPv4 address (or "localhost"): what a lab listener can bind."""
    if host == "localhost":
        return host
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise InvalidArgumentError(f"--host must be an IPv4 address, such as 127.0.0.1 (this machine only) or "
                                   f"0.0.0.0 (every interface, in a container), not {host!r}") from None
    return host


def check_host_name(name):
    """``name``, lower-cased, if it can be a Host header's name (no port, no wildcard); else InvalidArgumentError."""
    cleaned = name.strip().lower()
    if not _HOST_NAME.fullmatch(cleaned):
        raise InvalidArgumentError(f"--allow-host takes a host name such as stateless-shop, one per option, "
                                   f"without a port (any port is accepted) and without wildcards, not {name.strip()!r}")
    return cleaned


def allowed_host_names(given, environ):
    """The names from ``--allow-host`` (a list, or None) and ``LAB_ALLOW_HOSTS`` in ``environ``, checked, once each."""
    from_env = [part for part in environ.get(ALLOW_HOSTS_ENV, "").split(",") if part.strip()]
    return tuple(dict.fromkeys(check_host_name(name) for name in [*(given or []), *from_env]))


def is_loopback(host):
    """True when ``host`` (an IPv4 address or "localhost") is reachable only from this machine."""
    if host == "localhost":
        return True
    return ipaddress.ip_address(host).is_loopback


class ProcessInstance(Instance):
    """An ``Instance`` bound to exactly the host and port it was given (port 0: any free port).

    A lab instance in a notebook may come back on a new port after a restart,
    because the lab's balancer follows it. A process that an nginx upstream or
    a Kubernetes Service points at must be where the configuration says, or
    fail at once.
    """

    def __init__(self, app_factory, host="127.0.0.1", port=0, allowed_hosts=(), **options):
        super().__init__(app_factory, **options)
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.allowed_hosts = tuple(allowed_hosts)     # Host names besides loopback (--allow-host)

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def address(self):
        return (self.host, self.port)

    def _bind(self):
        # An OSError ("address in use") reaches the caller.
        return Listener((self.host, self.port), self, allowed_hosts=self.allowed_hosts)


def serve_until_stopped(server, label, summary, log=None, drain_s=10.0, host="127.0.0.1"):
    """Start ``server``, report it, wait for SIGTERM or SIGINT, stop it gracefully, report that.

    ``server`` has ``start()``, ``stop(timeout)``, ``close()`` and ``url``;
    ``label`` names it in the log ("shop-1 (stateless-shop v1)"); ``summary(server)``
    says in a few words what it did ("served 57 requests"). Returns the name of
    the signal that stopped it. ``start()`` errors (a taken port) propagate.
    """
    log = log if log is not None else sys.stderr
    stopping = threading.Event()
    received = []

    def on_signal(signum, _frame):
        received.append(signal.Signals(signum).name)
        stopping.set()

    # Handlers go in before start(): a SIGTERM that arrives early still gets a graceful stop.
    previous = {}
    for name in STOP_SIGNALS:
        number = getattr(signal, name)
        previous[number] = signal.signal(number, on_signal)
    try:
        server.start()
        if not is_loopback(host):
            print(f"{PREFIX} warning: {label} listens on {host}, so other machines can reach it; "
                  f"use --host 127.0.0.1 unless a proxy or container network needs it", file=log, flush=True)
        names = f"; also answers to Host {', '.join(server.allowed_hosts)}" if server.allowed_hosts else ""
        print(f"{PREFIX} {label} listening on {server.url} (pid {os.getpid()}){names}", file=log, flush=True)
        while not stopping.wait(0.5):        # a timeout, so Ctrl-C is noticed on every platform
            pass
        server.stop(timeout=drain_s)
        print(f"{PREFIX} {label} stopped on {received[0]} after draining; {summary(server)}", file=log, flush=True)
        return received[0]
    finally:
        server.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
