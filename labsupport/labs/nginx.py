"""nginx, the reverse proxy in front of most real sites, started by the lab from ``deploy/nginx/`` (chapter 10).

The lab's own balancer (``engine/balancer.py``) was written to be read. nginx is
what you would run: the configuration files in ``deploy/nginx/`` are the same
ones ``deploy/compose.yaml`` mounts into the official nginx image, and this
module only fills in their ``${PLACEHOLDERS}`` (the addresses of the shop
processes, where to listen) and starts nginx as a child process:

* everything it writes (configuration, pid file, error log, temp files) goes
  into one folder inside the kernel's private lab folder, removed when it stops;
* it listens on 127.0.0.1 only, in the foreground, as one process;
* it tells the shop processes ``Host: localhost`` (the templates say why);
* it registers with the lab's registry, so ``shutdown_all()`` and the end of the
  kernel stop it like every other server; it runs in a session of its own and
  the lab's ``watchdog`` kills it if the kernel dies without cleaning up.

``find_nginx()`` returns None when nginx is not installed; ``INSTALL_HINT``
says how to get it.
"""

import os
import pathlib
import re
import shutil
import socket
import subprocess
import time

from ..engine import watchdog, workspace
from ..engine.lifecycle import Closable
from ..errors import DependencyMissingError, InvalidArgumentError

__all__ = ["find_nginx", "nginx_version", "render_template", "template_lines", "upstream_servers", "Nginx",
           "INSTALL_HINT", "DEPLOY_DIR", "TEMPLATES_DIR"]

DEPLOY_DIR = pathlib.Path(__file__).resolve().parents[2] / "deploy"
TEMPLATES_DIR = DEPLOY_DIR / "nginx"
INSTALL_HINT = ("install it with 'sudo apt-get install nginx-light' (Debian, Ubuntu; Binder and CI install it "
                "from binder/apt.txt and .ci/run) or 'brew install nginx' (macOS)")
# Debian puts nginx in /usr/sbin, which is not on an ordinary user's PATH.
_USUAL_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/bin/nginx", "/opt/homebrew/bin/nginx")
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")      # ${UPPER_CASE}: ours; nginx's own variables are $lower_case


def find_nginx():
    """Path of the nginx program, or None."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((place for place in _USUAL_PLACES if os.access(place, os.X_OK)), None)


def nginx_version(program):
    """"nginx/1.22.1", as the program reports it."""
    answer = subprocess.run([program, "-v"], capture_output=True, text=True, timeout=10)
    return (answer.stderr or answer.stdout).strip().rpartition(": ")[2]


def render_template(name, **values):
    """The template ``deploy/nginx/<name>`` with every ``${NAME}`` replaced by ``values[NAME]``."""
    text = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise InvalidArgumentError(f"the template {name} needs a value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def template_lines(name, directive):
    """The lines of ``deploy/nginx/<name>`` that use ``directive`` (comments left out), stripped."""
    lines = (TEMPLATES_DIR / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip().startswith(directive + " ")]


def upstream_servers(addresses, fail_timeout_s=5):
    """nginx ``server`` lines for ``(host, port)`` pairs: one refused connection benches a process for a while."""
    return "\n".join(f"    server {host}:{port} max_fails=1 fail_timeout={fail_timeout_s}s;"
                     for host, port in addresses)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Nginx(Closable):
    """One nginx process serving ``deploy/nginx/<site>`` in front of ``addresses``; ``url``, ``close()``."""

    def __init__(self, site, addresses, program=None):
        self.site = site
        self.addresses = list(addresses)
        self.program = program or find_nginx()
        if self.program is None:
            raise DependencyMissingError(f"nginx is not installed; {INSTALL_HINT}")
        self.version = nginx_version(self.program)
        self.port = None
        self.workdir = None
        self._process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self):
        return self._process is not None and self._process.poll() is None

    def start(self, timeout=10.0):
        """Write the configuration, start nginx, return once it accepts connections."""
        if self.running:
            return self
        self.workdir = self.workdir or str(workspace.new_folder("nginx"))
        self._opened()
        for _attempt in range(5):                   # the free port may be taken before nginx binds it
            self.port = _free_port()
            self._write_config()
            with open(os.path.join(self.workdir, "stderr.log"), "wb") as stderr:
                # A session of its own and the watchdog, as for every child of the lab (engine/watchdog.py).
                self._process = subprocess.Popen(
                    [self.program, "-p", self.workdir, "-c", os.path.join(self.workdir, "nginx.conf"),
                     "-e", os.path.join(self.workdir, "error.log")],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
            watchdog.guard(self._process)
            if self._wait_ready(timeout):
                return self
            self._terminate()
        raise DependencyMissingError(f"nginx did not start: {self.error_log()[-500:]}")

    def error_log(self):
        """What nginx wrote to its error log (and stderr), for when something goes wrong."""
        text = ""
        for name in ("stderr.log", "error.log"):
            path = os.path.join(self.workdir or "", name)
            if os.path.exists(path):
                text += pathlib.Path(path).read_text(errors="replace")
        return text

    def _write_config(self):
        site = render_template(self.site, LISTEN=f"127.0.0.1:{self.port}",
                               SHOP_SERVERS=upstream_servers(self.addresses))
        main = render_template("nginx.lab.conf.template", WORKDIR=self.workdir)
        pathlib.Path(self.workdir, "site.conf").write_text(site, encoding="utf-8")
        pathlib.Path(self.workdir, "nginx.conf").write_text(main, encoding="utf-8")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def _terminate(self):
        if self._process is not None:
            watchdog.stop(self._process)              # SIGTERM: nginx's fast shutdown
            self._process = None

    def _close(self):
        self._terminate()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __repr__(self):
        return f"<Nginx {self.version} {self.site} {'running' if self.running else 'stopped'}>"
