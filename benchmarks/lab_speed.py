"""How fast is the lab? Latency, throughput, start/kill/restart times and memory, measured in one run.

Run: .venv/bin/python benchmarks/lab_speed.py

The load comes from a second process, as it would from real clients: the lab's
servers all share one Python process (and its GIL), and clients in that same
process would compete with them for it.

The targets (ratios in the same run, so a noisy machine affects both sides):
  through-balancer p50 latency  <= 2x direct p50
  through-balancer throughput   >= 0.5x direct throughput
"""

import http.client
import multiprocessing
import os
import socket
import socketserver
import statistics
import sys
import threading
import time

import psutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from labsupport import Cluster, RedisServer, shutdown_all  # noqa: E402

SAMPLES = 2000
THREADS = 4
THROUGHPUT_SECONDS = 3.0


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


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


def http_round_trips(address, n):
    conn = http.client.HTTPConnection(*address)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        conn.request("GET", "/health")
        conn.getresponse().read()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return times


def throughput(address, threads, seconds):
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


def timed(action):
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def main():
    rows = []
    client = multiprocessing.get_context("spawn").Pool(1)      # the load generator: another process
    floor = raw_socket_round_trips(SAMPLES)
    with Cluster.stateless(instances=3, service_ms=0, workers=64) as shop:
        instance = shop.instances[0]
        direct = client.apply(http_round_trips, (instance.address, SAMPLES))
        balanced = client.apply(http_round_trips, (shop.balancer.server.address, SAMPLES))
        direct_rps = client.apply(throughput, (instance.address, THREADS, THROUGHPUT_SECONDS))
        balanced_rps = client.apply(throughput, (shop.balancer.server.address, THREADS, THROUGHPUT_SECONDS))
    client.close()
    client.join()
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
    with Cluster.stateless(instances=10) as big:
        for i in range(10):
            big.user(f"u{i}").add("book")
        rss_with_ten = me.memory_info().rss
    shutdown_all()

    rows += [
        ("raw TCP round trip p50 / p99 (floor)", f"{percentile(floor, 50):.3f} / {percentile(floor, 99):.3f} ms"),
        ("direct to instance p50 / p99", f"{percentile(direct, 50):.3f} / {percentile(direct, 99):.3f} ms"),
        ("through balancer p50 / p99", f"{percentile(balanced, 50):.3f} / {percentile(balanced, 99):.3f} ms"),
        (f"throughput direct, {THREADS} client threads", f"{direct_rps:,.0f} requests/s"),
        (f"throughput via balancer, {THREADS} client threads", f"{balanced_rps:,.0f} requests/s"),
        ("start a 3-instance stateful cluster", f"{start_stateful_ms:.1f} ms"),
        ("start a 3-instance stateless cluster (Redis included)", f"{start_stateless_ms:.1f} ms"),
        ("  of which: start Redis alone", f"{redis_ms:.1f} ms"),
        ("kill an instance", f"{kill_ms:.1f} ms"),
        ("restart an instance", f"{restart_ms:.1f} ms"),
        ("process RSS with a 10-instance cluster", f"{rss_with_ten / 2**20:.0f} MiB (+{(rss_with_ten - rss_before) / 2**20:.1f} MiB)"),
    ]
    p50_ratio = percentile(balanced, 50) / percentile(direct, 50)
    rps_ratio = balanced_rps / direct_rps
    width = max(len(name) for name, _ in rows)
    print(f"{'measurement':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()
    print(f"target: balancer p50 <= 2x direct      measured {p50_ratio:.2f}x  ({'met' if p50_ratio <= 2 else 'MISSED'})")
    print(f"target: balancer rps >= 0.5x direct    measured {rps_ratio:.2f}x  ({'met' if rps_ratio >= 0.5 else 'MISSED'})")
    print(f"(mean direct {statistics.mean(direct):.3f} ms over {SAMPLES} requests; machine: {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
