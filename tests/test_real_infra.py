"""Chapter 10 on this machine: shop processes behind a real nginx, killed with SIGKILL (labs/processes.py, nginx.py).

Pins G1 and G2 with real processes, a real nginx and a real Redis: killing a
stateless process mid-traffic loses nothing; killing a stateful one loses
exactly its users' sessions (nginx tells them Host: localhost, or the Host check
would refuse every request). Also pins the nginx configuration's promise about
retries (a POST without an Idempotency-Key is never resent once it reached a
process; one with a key is), that the templates are valid nginx, that the lab
balancer stands in when nginx is missing, and that nothing outlives close(), nor
a kernel killed outright.
Without nginx the nginx tests skip with what to install (CI installs it).
"""

import http.client
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading

import psutil
import pytest

from labsupport import Chaos, DependencyMissingError, InvalidArgumentError, run_traffic
from labsupport.engine import wait_until
from labsupport.labs import (
    NGINX_INSTALL_HINT,
    Nginx,
    ProcessStartError,
    ServeProcess,
    StatefulProcesses,
    StatelessProcesses,
    find_nginx,
    kill_mid_traffic,
    kill_pinned_process,
    nginx,
    processes,
    render_template,
    upstream_servers,
)
from labsupport.shop import User

pytestmark = pytest.mark.timeout(120)

ROOT = pathlib.Path(__file__).resolve().parent.parent

needs_nginx = pytest.mark.skipif(find_nginx() is None, reason=f"nginx is not installed; {NGINX_INSTALL_HINT}")


def send(url, method, path, body=None, headers=None):
    """One request on a fresh connection: (status, JSON body)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        answer = connection.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode(errors="replace")}
    finally:
        connection.close()


@needs_nginx
def test_g1_a_stateless_process_sigkilled_mid_traffic_behind_nginx_loses_nothing_and_close_leaves_nothing():
    before = {p.pid for p in psutil.Process().children()}      # e.g. a JupyterLab the browser tests share
    with StatelessProcesses(processes=3, seed=7) as shop:
        assert shop.behind_nginx
        pids = [p.pid for p in shop.processes] + [shop.proxy._process.pid, shop.redis.pid]
        for pid in pids[:4]:                                                      # nginx too: loopback only
            assert {c.laddr.ip for c in psutil.Process(pid).net_connections("inet")
                    if c.status == psutil.CONN_LISTEN} == {"127.0.0.1"}
        folders = [shop.workdir, shop.proxy.workdir]
        command_lines = " ".join(" ".join(psutil.Process(p.pid).cmdline()) for p in shop.processes)
        assert shop.redis.password not in command_lines and "LAB_SHOP_SECRET" not in command_lines   # environment only
        assert all(psutil.Process(p.pid).environ()["REDIS_URL"] == shop.redis.url for p in shop.processes)
        result = kill_mid_traffic(shop, victim="shop-2", users=20, actions=40, seed=7)
        report = result.report
        assert report.actions == 800 and report.chaos_events == ["killed shop-2"]
        assert (report.lost_sessions, report.lost_items, report.duplicated_items) == (0, 0, 0)
        assert report.failed_actions == report.unknown_outcomes == 0
        assert 0 < report.by_instance["shop-2"] < report.by_instance["shop-1"]   # served until it died
        assert result.exit_status == -9 and not shop.process("shop-2").alive
        log = result.victim_log.splitlines()
        assert len(log) == 1 and "listening on" in log[0]                       # no stop line: it never knew
    assert not {p.pid for p in psutil.Process().children()} - before
    assert not any(psutil.pid_exists(pid) for pid in pids if pid is not None)
    assert not any(os.path.exists(folder) for folder in folders)
    with pytest.raises(OSError):
        send(shop.url, "GET", "/health")


@needs_nginx
def test_g2_killing_a_stateful_process_behind_nginx_loses_exactly_its_users_sessions():
    with StatefulProcesses(processes=3, seed=7) as shop:
        assert shop.behind_nginx
        result = kill_pinned_process(shop, users=12, seed=7)
        assert result.pinned and len(result.pinned) < 12
        assert result.lost == result.pinned and result.exactly_its_users
        assert result.report.lost_sessions == len(result.pinned)
        assert result.report.lost_items == result.items_pinned > 0
        assert not shop.process(result.victim).alive


@needs_nginx
@pytest.mark.parametrize("idempotency_key, status, cart", [(None, 502, {}), ("retry-me-1", 200, {"book": 1})])
def test_nginx_resends_a_post_that_reached_a_dying_process_only_with_an_idempotency_key(idempotency_key, status, cart):
    with StatelessProcesses(processes=2, seed=7, service_ms=1000) as shop:
        token = User(shop.processes[0].url, "alice").login().credential      # straight to a process, not via nginx
        auth = {"Authorization": f"Bearer {token}"}
        key = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        answers = []
        post = threading.Thread(target=lambda: answers.append(
            send(shop.url, "POST", "/cart/items", {"sku": "book", "qty": 1}, {**auth, **key})))
        post.start()
        # nginx's first request opens its first connection to a process: that process holds the POST now.
        assert wait_until(lambda: any(busy(p) for p in shop.processes), timeout=10)
        holder = next(p for p in shop.processes if busy(p))
        holder.kill()
        post.join()
        assert answers[0][0] == status
        assert send(shop.url, "GET", "/cart", headers=auth)[1]["items"] == cart


def busy(process):
    """Does this process have an open connection (from nginx) on its port?"""
    return process.alive and any(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == process.port
                                 for c in psutil.Process(process.pid).net_connections("inet"))


@needs_nginx
@pytest.mark.parametrize("site, variable", [("stateless-shop.conf.template", "$http_idempotency_key"),
                                            ("stateful-shop.conf.template", "$cookie_lb_route")])
def test_the_templates_are_valid_nginx_and_leave_nginx_variables_alone(site, variable, tmp_path):
    config = render_template(site, LISTEN="127.0.0.1:8080", SHOP_SERVERS=upstream_servers([("127.0.0.1", 9001)]))
    assert "${" not in config and "server 127.0.0.1:9001 max_fails=1" in config and variable in config
    (tmp_path / "site.conf").write_text(config)
    (tmp_path / "nginx.conf").write_text(render_template("nginx.lab.conf.template", WORKDIR=str(tmp_path)))
    check = subprocess.run([find_nginx(), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                                  "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def test_a_template_without_its_values_is_refused():
    with pytest.raises(InvalidArgumentError, match="needs a value for LISTEN"):
        render_template("stateless-shop.conf.template", SHOP_SERVERS="")


def test_without_nginx_the_lab_balancer_stands_in_and_a_killed_process_restarts_on_its_port(monkeypatch):
    monkeypatch.setattr(processes, "find_nginx", lambda: None)     # a machine without nginx
    with StatelessProcesses(processes=2, seed=7) as shop:
        assert not shop.behind_nginx and "nginx-light" in shop.proxy_note
        port = shop.process("shop-2").port
        report = shop.run_traffic(users=6, actions=20, seed=7,
                                  chaos=Chaos(every_actions=60, victims=["shop-2"], restart=False))
        assert report.chaos_events == ["killed shop-2"]
        assert (report.lost_sessions, report.lost_items, report.failed_actions) == (0, 0, 0)
        restarted = shop.restart("shop-2")
        assert restarted.alive and restarted.port == port and restarted.log().count("listening on") == 2
        assert send(shop.url, "GET", "/health") == (200, {"status": "ok"})


def test_nginx_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(nginx, "find_nginx", lambda: None)
    with pytest.raises(DependencyMissingError,
                       match="nginx is not installed; install it with 'sudo apt-get install nginx-light'"):
        Nginx("stateless-shop.conf.template", [("127.0.0.1", 9)])


def test_run_traffic_needs_a_url_or_a_cluster_and_chaos_needs_a_cluster():
    with pytest.raises(InvalidArgumentError, match="url="):
        run_traffic(users=1, actions=1)
    with pytest.raises(InvalidArgumentError, match="chaos needs a cluster"):
        run_traffic(url="http://127.0.0.1:9", users=1, actions=1, chaos="kill one instance every 1 s")


def ended(pid):
    """Has process ``pid`` ended? A zombie has: it only waits for its new parent to collect its exit status."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.skipif(sys.platform == "win32", reason="sessions are a POSIX idea; the watchdog part holds everywhere")
def test_a_killed_kernel_leaves_no_serve_process_and_no_nginx_behind():
    """The kernel is SIGKILLed (no Python runs, no atexit): the watchdog ends its serve processes and nginx.

    Each child runs in a session of its own, so ipykernel's clean-up of its process group leaves it to the lab.
    """
    kernel = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import json, sys
        from labsupport.labs import StatelessProcesses
        shop = StatelessProcesses(processes=2, seed=7)
        children = [p.pid for p in shop.processes] + ([shop.proxy._process.pid] if shop.behind_nginx else [])
        print(json.dumps(children), flush=True)
        sys.stdin.readline()                          # wait to be killed
    """)], env=dict(os.environ, PYTHONPATH=str(ROOT)), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        children = json.loads(kernel.stdout.readline())
        assert all(os.getsid(pid) == pid for pid in children)          # each leads a session of its own
    finally:
        kernel.kill()
        kernel.communicate()
    assert len(children) == (3 if find_nginx() else 2)
    assert wait_until(lambda: all(ended(pid) for pid in children), timeout=10), "a child outlived the kernel"


def test_a_process_that_cannot_start_says_why(tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_SHOP_SECRET", raising=False)
    process = ServeProcess("stateless-shop", "shop-9", tmp_path, ["--db", str(tmp_path / "carts.sqlite3")]).launch()
    with pytest.raises(ProcessStartError, match="(?s)shop-9 did not start; its log says: .*set LAB_SHOP_SECRET"):
        process.wait_ready()
    assert not process.alive and process.exit_status == 2
