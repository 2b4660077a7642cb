"""The shop as separate OS processes behind a real proxy: the lab of chapter 10 (claims G1, G2).

Everywhere else in the course the instances are threads in the notebook's
kernel. Here each one is a process of its own, started exactly as an operator
would start it (``python -m labsupport serve stateless-shop --port ...``), and
crashed exactly as a machine would crash it: ``Popen.kill()`` sends SIGKILL,
which no process can catch or clean up after. Nothing is shared through
Python objects any more, so what the processes share has to be given to them:

* the stateless shop's processes get one SQLite file for carts, the address of
  one Redis for the token denylist, and the signing secret, all through their
  environment (never the command line, where ``ps`` shows them to everyone);
* the stateful shop's processes get nothing: each keeps its sessions to itself.

Each process starts in a session of its own and is guarded by the lab's
``watchdog``: if the kernel itself is killed, its shop processes die with it,
and ipykernel's clean-up of its own process group at shutdown leaves them to
the lab, which stops them gracefully. Logs and the SQLite file go into the
kernel's private lab folder (``engine/workspace.py``).

In front of them runs nginx, configured from ``deploy/nginx/`` (``nginx.py``).
When nginx is not installed, the lab's own balancer takes its place, with the
same policy, and ``proxy_note`` says what to install; the processes, the kill
and the ledger are the same either way. The object looks like a ``Cluster`` to
``run_traffic`` and ``Chaos`` (``url``, ``instances``, ``kill``, ``restart``).
"""

import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys

from ..engine import watchdog, workspace
from ..engine.balancer import Balancer
from ..engine.lifecycle import Closable
from ..engine.process import ALLOW_HOSTS_ENV
from ..engine.waiting import wait_until
from ..errors import DependencyMissingError, InvalidArgumentError, LabError, UnknownInstanceError
from ..shop.traffic import run_traffic
from ..state.redis_server import start_redis
from .nginx import INSTALL_HINT, Nginx, find_nginx

__all__ = ["ServeProcess", "ShopProcesses", "StatelessProcesses", "StatefulProcesses", "PROXIES", "ProcessStartError"]

PROXIES = ("auto", "nginx", "lab")
SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]   # the folder holding labsupport: children import this copy
_STARTED = re.compile(r"listening on ((?:http|ws)://[\d.]+:(\d+))")


class ProcessStartError(LabError, RuntimeError):
    """A ``serve`` process exited, or did not say it was listening in time; the message quotes its log."""


class ServeProcess(Closable):
    """One ``python -m labsupport serve <app>`` child: ``launch``, ``kill`` (SIGKILL), ``stop`` (SIGTERM).

    It is registered once launched, so ``shutdown_all()`` and the end of the kernel stop it (``close()``
    is a graceful stop), and the watchdog kills it if the kernel dies first.
    """

    def __init__(self, app, name, workdir, options=(), environment=None):
        self.app, self.name, self.options = app, name, list(options)
        self.environment = dict(environment or {})
        self.log_path = pathlib.Path(workdir, f"{name}.log")
        self.port = 0                                  # 0 at first; a restart comes back on the same port
        self.url = None
        self._process = None
        self._starts_seen = 0                          # start lines in the log before the latest launch

    @property
    def alive(self):
        return self._process is not None and self._process.poll() is None

    @property
    def address(self):
        return ("127.0.0.1", self.port)

    @property
    def exit_status(self):
        """None while it runs; 0 after a graceful stop; minus the signal number after a kill (POSIX)."""
        return self._process.poll() if self._process is not None else None

    @property
    def pid(self):
        return self._process.pid if self._process is not None else None

    def launch(self):
        """Start the process and return at once (``wait_ready`` waits for it): starting many is faster."""
        # The kernel's environment, less any Host names an operator allowed: the lab's processes answer to
        # loopback names only, unless the caller gives names in ``environment`` on purpose (tests do).
        inherited = {key: value for key, value in os.environ.items() if key != ALLOW_HOSTS_ENV}
        environment = {**inherited, **self.environment,
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))}
        self._starts_seen = len(self._start_lines())
        command = [sys.executable, "-m", "labsupport", "serve", self.app, "--port", str(self.port),
                   "--name", self.name, *self.options]
        with open(self.log_path, "ab") as log:
            # A session of its own, as for redis-server (see engine/watchdog.py): signals for the kernel's
            # process group leave it alone; the lab stops it, or the watchdog if the kernel dies first.
            self._process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        watchdog.guard(self._process)
        self._opened()
        return self

    def wait_ready(self, timeout=30.0):
        """Wait for the start line in the process's log; learn its port from it."""
        started = wait_until(lambda: len(self._start_lines()) > self._starts_seen or not self.alive, timeout, 0.02)
        if not started or not self.alive:
            self.kill()
            raise ProcessStartError(f"{self.name} did not start; its log says: {self.log()[-600:]}")
        self.url, port = self._start_lines()[-1]
        self.port = int(port)
        return self

    def log(self):
        """What the process wrote to stderr: one line per start and stop (and any error)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _start_lines(self):
        return _STARTED.findall(self.log())               # (url, port) per start: a restart appends one

    def kill(self):
        """Crash it: SIGKILL (TerminateProcess on Windows). No handler runs, nothing is drained."""
        if self.alive:
            self._process.kill()
            self._process.wait()
        self._release()

    def terminate(self):
        """Ask it to stop (SIGTERM) and return at once: it drains its work in progress, logs a line, exits."""
        if self.alive:
            self._process.send_signal(signal.SIGTERM)

    def stop(self, timeout=15.0):
        """SIGTERM, then wait for the exit (SIGKILL after ``timeout`` s); returns the exit status."""
        self.terminate()
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._release()
        return self._process.returncode if self._process is not None else None

    def _release(self):
        """The process has ended: the watchdog need not look after it any more."""
        if self._process is not None:
            watchdog.release(self._process)

    def _close(self):
        """What ``close()``, ``shutdown_all()`` and the end of the kernel do: a graceful stop."""
        self.stop(timeout=5.0)

    def __repr__(self):
        return f"<ServeProcess {self.name} {self.app} {'alive' if self.alive else 'not running'} pid={self.pid}>"


class ShopProcesses(Closable):
    """Shop processes behind nginx (or the lab's balancer). Build one with a subclass below.

    A subclass says which app the processes run, which ``deploy/nginx`` site
    fronts them, which policy stands in when nginx is missing, and what shared
    state the processes are given (``_shared_state``).
    """

    app = None
    site = None
    lab_policy = None

    def __init__(self, processes=3, proxy="auto", seed=7, service_ms=0.0, workers=8):
        if isinstance(processes, bool) or not isinstance(processes, int) or not 1 <= processes <= 10:
            raise InvalidArgumentError(f"processes must be a whole number from 1 to 10, not {processes!r}")
        if proxy not in PROXIES:
            raise InvalidArgumentError(f"proxy must be one of {', '.join(PROXIES)}, not {proxy!r}")
        self.seed = seed
        self.proxy = None
        self.proxy_name = self.proxy_note = ""
        self.behind_nginx = False
        self.workdir = workspace.new_folder("processes")     # logs and the shared database, private to you
        self.processes = []
        self._opened()
        try:
            environment = self._shared_state()
            options = ["--workers", str(workers), "--service-ms", str(service_ms)]
            self.processes = [ServeProcess(self.app, f"shop-{n}", self.workdir, options + self._options(), environment)
                              for n in range(1, processes + 1)]
            for process in self.processes:
                process.launch()
            for process in self.processes:
                process.wait_ready()
            self.proxy = self._start_proxy(proxy)
        except BaseException:
            self.close()
            raise

    def _shared_state(self):
        """For subclasses: start what the processes share; returns the environment they get."""
        return {}

    def _options(self):
        """For subclasses: extra command-line options (never secrets)."""
        return []

    def _start_proxy(self, choice):
        program = find_nginx() if choice in ("auto", "nginx") else None
        if program is None and choice == "nginx":
            raise DependencyMissingError(f"nginx is not installed; {INSTALL_HINT}")
        addresses = [process.address for process in self.processes]
        if program is not None:
            proxy = Nginx(self.site, addresses, program).start()
            self.proxy_name, self.behind_nginx = "nginx", True
            self.proxy_note = f"{proxy.version} in front of {len(addresses)} processes (deploy/nginx/{self.site})"
            return proxy
        balancer = Balancer(self.lab_policy, seed=self.seed, name="lab-balancer").start()
        for process in self.processes:
            balancer.add_instance(process.name, process.address)
        self.proxy_name = "the lab's balancer"
        self.proxy_note = f"the lab's balancer ({self.lab_policy}) in front of {len(addresses)} processes"
        if choice == "auto":
            self.proxy_note += f", because nginx is not installed here; to use nginx, {INSTALL_HINT}"
        return balancer

    # -- what Cluster offers, for run_traffic and Chaos ------------------------------------
    @property
    def url(self):
        return self.proxy.url

    @property
    def instances(self):
        return list(self.processes)

    def process(self, name):
        for process in self.processes:
            if process.name == name:
                return process
        raise UnknownInstanceError(name, [p.name for p in self.processes])

    def kill(self, name):
        """SIGKILL the process called ``name``: its memory is gone, its connections cut."""
        self.process(name).kill()

    def restart(self, name):
        """Start a killed or stopped process again, on the same port (the proxy's configuration names it)."""
        process = self.process(name)
        process.kill()
        return process.launch().wait_ready()

    def run_traffic(self, users=20, actions=30, seed=None, chaos=None, url=None):
        """Virtual users shopping through the proxy (or ``url``); ``chaos`` kills processes. A ``Report``."""
        return run_traffic(self, users, actions, self.seed if seed is None else seed, chaos, url=url)

    def _close(self):
        if self.proxy is not None:
            self.proxy.close()
        for process in self.processes:
            process.terminate()                   # all at once: each drains in parallel with the others
        for process in self.processes:
            process.close()
        self._close_shared_state()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _close_shared_state(self):
        """For subclasses: stop what ``_shared_state`` started."""

    def __repr__(self):
        alive = sum(process.alive for process in self.processes)
        return f"{type(self).__name__}({alive} of {len(self.processes)} processes alive)"


class StatelessProcesses(ShopProcesses):
    """``stateless-shop`` processes sharing one SQLite file, one Redis and one secret; nginx round robin."""

    app = "stateless-shop"
    site = "stateless-shop.conf.template"
    lab_policy = "round_robin"
    redis = None                               # the RedisServer the processes share, once started

    def _shared_state(self):
        self.database = str(pathlib.Path(self.workdir, "carts.sqlite3"))
        self.redis = start_redis()             # None without any Redis: the denylist then lives in the database
        environment = {"LAB_SHOP_SECRET": secrets.token_hex(32)}
        if self.redis is not None:
            environment["REDIS_URL"] = self.redis.url
        return environment

    def _options(self):
        return ["--db", self.database]

    def _close_shared_state(self):
        if self.redis is not None:
            self.redis.close()


class StatefulProcesses(ShopProcesses):
    """``stateful-shop`` processes, each keeping its own sessions; nginx hashes a routing cookie."""

    app = "stateful-shop"
    site = "stateful-shop.conf.template"
    lab_policy = "consistent_hash"
