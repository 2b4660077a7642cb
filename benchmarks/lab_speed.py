"""How fast is the lab? Latency and throughput direct, through nginx and through the lab's balancer, in one run.

Run from the repository root:

    .venv/bin/python benchmarks/lab_speed.py            (about half a minute)
    .venv/bin/python benchmarks/lab_speed.py --quick    (a few seconds, same code, fewer requests)

Three ways to reach the SAME instance of the stateless shop (``GET /health``):

* direct:   the client talks to the instance;
* nginx:    through nginx (when ``nginx`` is on PATH), a C reverse proxy with a
            keep-alive upstream: the anchor, what a real balancer's hop costs;
* balancer: through the lab's own balancer (``labsupport.engine.Balancer``).

The load comes from a second process, as it would from real clients: the lab's
servers all share one Python process (and its GIL), and clients in that same
process would compete with them for it. The three targets take turns in short
rounds, so a burst of noise from the machine lands on all of them alike.

The targets (ratios in the same run, so a noisy machine affects both sides):
  balancer p50 latency  <= 1.3x nginx p50   and   <= 2x direct p50
  balancer throughput   >= 0.5x direct throughput
After the table: start/kill/restart times and the memory of a 10-instance cluster.
"""

import argparse
import http.client
import multiprocessing
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

import psutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from labsupport import Cluster, RedisServer, shutdown_all  # noqa: E402

FULL = {"samples": 3000, "rounds": 10, "threads": 4, "throughput_s": 6.0}
QUICK = {"samples": 300, "rounds": 2, "threads": 2, "throughput_s": 0.6}
WARM_UP = 50                    # requests per target before any measurement (pooled connections, caches)
TARGET_P50_VS_NGINX = 1.3
TARGET_P50_VS_DIRECT = 2.0
TARGET_RPS_VS_DIRECT = 0.5

NGINX_CONF = """\
# Written by benchmarks/lab_speed.py; everything nginx writes stays in this folder.
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream lab {{
        server {upstream};
        keepalive 32;                       # reuse connections to the instance, as the lab's balancer does
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://lab;
            proxy_http_version 1.1;
            proxy_set_header Connection "";    # keep the upstream connection open
            proxy_set_header Host {upstream};  # the instance's own name, as the lab's balancer sends it
        }}
    }}
}}
"""


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Nginx:
    """nginx in front of one address, configured and run inside a temporary folder; a context manager."""

    def __init__(self, upstream_address):
        self.upstream = "%s:%d" % upstream_address
        self.address = ("127.0.0.1", free_port())
        self._folder = None
        self._process = None

    def __enter__(self):
        self._folder = tempfile.TemporaryDirectory(prefix="lab-speed-nginx-")
        folder = self._folder.name
        conf = os.path.join(folder, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(folder=folder, upstream=self.upstream, port=self.address[1]))
        self._process = subprocess.Popen([shutil.which("nginx"), "-p", folder, "-c", conf,
                                          "-e", os.path.join(folder, "error.log")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(self.address, timeout=1).close()
                return self
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.02)

    def __exit__(self, *exc):
        if self._process.poll() is None:
            self._process.terminate()             # SIGTERM: nginx's fast shutdown
            self._process.wait(timeout=10)
        self._process.stderr.close()
        self._folder.cleanup()


# -- what the client process runs -------------------------------------------------------
def http_round_trips(address, n):
    """``n`` sequential requests on one keep-alive connection; milliseconds per round trip."""
    conn = http.client.HTTPConnection(*address)
    times = []
    for i in range(WARM_UP + n):
        started = time.perf_counter()
        conn.request("GET", "/health")
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{address} answered {answer.status}")
        if i >= WARM_UP:
            times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return times


def throughput(address, threads, seconds):
    """Requests answered per second by ``threads`` keep-alive clients in ``seconds``."""
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def client(i):
        conn = http.client.HTTPConnection(*address)
        while time.perf_counter() < deadline:
            conn.request("GET", "/health")
            conn.getresponse().read()
            counts[i] += 1
        conn.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / seconds


def raw_socket_round_trips(n):
    """The floor: one small message there and back over a loopback TCP socket."""

    class Echo(socketserver.BaseRequestHandler):
        def handle(self):
            while data := self.request.recv(64):
                self.request.sendall(data)

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with socket.create_connection(server.server_address) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            times = []
            for _ in range(n):
                started = time.perf_counter()
                sock.sendall(b"ping")
                sock.recv(64)
                times.append((time.perf_counter() - started) * 1000)
        server.shutdown()
    return times


# -- the measurements --------------------------------------------------------------------
def measure_hop(config):
    """{target name: (latencies in ms, requests/s)} for direct, nginx (if installed) and balancer."""
    client = multiprocessing.get_context("spawn").Pool(1)      # the load generator: another process
    try:
        with Cluster.stateless(instances=1, service_ms=0, workers=64) as shop:
            targets = {"direct": shop.instances[0].address, "balancer": shop.balancer.server.address}
            if shutil.which("nginx"):
                with Nginx(shop.instances[0].address) as nginx:
                    targets["nginx"] = nginx.address
                    return _take_turns(client, targets, config)
            return _take_turns(client, targets, config)
    finally:
        client.close()
        client.join()


def _take_turns(client, targets, config):
    latencies = {name: [] for name in targets}
    rps = {name: [] for name in targets}
    rounds = config["rounds"]
    for _ in range(rounds):
        for name, address in targets.items():
            latencies[name] += client.apply(http_round_trips, (address, config["samples"] // rounds))
    for _ in range(rounds):
        for name, address in targets.items():
            rps[name].append(client.apply(throughput, (address, config["threads"], config["throughput_s"] / rounds)))
    return {name: (latencies[name], sum(rps[name]) / rounds) for name in targets}


def timed(action):
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def measure_lifecycle(instances):
    """Start, kill and restart times, and the memory of a cluster of ``instances``."""
    with Cluster.stateless(instances=3) as shop:
        kill_ms, _ = timed(lambda: shop.kill("shop-2"))
        restart_ms, _ = timed(lambda: shop.restart("shop-2"))
    redis_ms, redis = timed(lambda: RedisServer().start())
    redis.close()
    start_stateful_ms, cluster = timed(lambda: Cluster.stateful(instances=3))
    cluster.close()
    start_stateless_ms, cluster = timed(lambda: Cluster.stateless(instances=3))
    cluster.close()
    me = psutil.Process()
    rss_before = me.memory_info().rss
    with Cluster.stateless(instances=instances) as big:
        for i in range(instances):
            big.user(f"u{i}").add("book")
        rss_loaded = me.memory_info().rss
    shutdown_all()
    return [
        ("start a 3-instance stateful cluster", f"{start_stateful_ms:.1f} ms"),
        ("start a 3-instance stateless cluster (Redis included)", f"{start_stateless_ms:.1f} ms"),
        ("  of which: start Redis alone", f"{redis_ms:.1f} ms"),
        ("kill an instance", f"{kill_ms:.1f} ms"),
        ("restart an instance", f"{restart_ms:.1f} ms"),
        (f"process RSS with a {instances}-instance cluster",
         f"{rss_loaded / 2**20:.0f} MiB (+{(rss_loaded - rss_before) / 2**20:.1f} MiB)"),
    ]


def print_table(headers, rows):
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def verdict(name, measured, target, at_most):
    met = measured <= target if at_most else measured >= target
    sign = "<=" if at_most else ">="
    return (name, f"{sign} {target}x", f"{measured:.2f}x", "met" if met else "MISSED")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: same measurements, fewer requests")
    config = QUICK if parser.parse_args(argv).quick else FULL

    floor = raw_socket_round_trips(config["samples"])
    hop = measure_hop(config)
    lifecycle = measure_lifecycle(instances=3 if config is QUICK else 10)

    print(f"GET /health on one stateless instance; {config['samples']} sequential requests per target, "
          f"throughput with {config['threads']} client threads for {config['throughput_s']:.1f} s per target")
    rows = [("raw TCP round trip (floor)", f"{percentile(floor, 50):.3f}", f"{percentile(floor, 99):.3f}", "")]
    for name in ("direct", "nginx", "balancer"):
        if name in hop:
            times, rps = hop[name]
            rows.append((name, f"{percentile(times, 50):.3f}", f"{percentile(times, 99):.3f}", f"{rps:,.0f}"))
        else:
            rows.append((name, "-", "-", "- (nginx is not on PATH)"))
    print_table(("path", "p50 ms", "p99 ms", "requests/s"), rows)
    print()

    p50 = {name: percentile(times, 50) for name, (times, _) in hop.items()}
    checks = []
    if "nginx" in hop:
        checks.append(verdict("balancer p50 / nginx p50", p50["balancer"] / p50["nginx"], TARGET_P50_VS_NGINX, True))
    checks.append(verdict("balancer p50 / direct p50", p50["balancer"] / p50["direct"], TARGET_P50_VS_DIRECT, True))
    checks.append(verdict("balancer requests/s / direct", hop["balancer"][1] / hop["direct"][1],
                          TARGET_RPS_VS_DIRECT, False))
    print_table(("target", "wanted", "measured", "verdict"), checks)
    print()
    print_table(("lifecycle and memory", "value"), lifecycle)
    print(f"(machine: {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
