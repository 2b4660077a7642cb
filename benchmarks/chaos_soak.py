"""The long versions of the lab's trust tests: chaos, load and fuzzing, with figures.

Run: .venv/bin/python benchmarks/chaos_soak.py            (about a minute)
     .venv/bin/python benchmarks/chaos_soak.py --quick    (seconds: the same three parts, smaller)

* chaos:  stateless and stateful shops, 5 instances, 50 users, thousands of
          actions, one instance killed (and restarted at the next strike) every
          40 actions; the ledger of each.
* load:   200 concurrent keep-alive connections to the balancer for 10 s:
          requests served, errors, and whether threads, sockets and memory
          came back to where they started.
* fuzz:   thousands of random byte strings and malformed requests against the
          balancer and an instance: answers by status class, crashes, hangs.
Every loop is bounded in count and time and talks only to 127.0.0.1.
"""

import argparse
import collections
import http.client
import os
import random
import socket
import sys
import threading
import time

import psutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from labsupport import Chaos, Cluster, shutdown_all  # noqa: E402

SEED = 2026
FULL = {"users": 50, "actions": 80, "connections": 200, "load_s": 10.0, "fuzz_cases": 3000}
QUICK = {"users": 10, "actions": 20, "connections": 20, "load_s": 1.0, "fuzz_cases": 200}


def chaos_rows(users, actions):
    rows = []
    for kind in ("stateless", "stateful"):
        with Cluster(kind, instances=5, seed=SEED) as shop:
            report = shop.run_traffic(users=users, actions=actions, seed=SEED,
                                      chaos=Chaos(every_actions=40, seed=SEED))
        kills = sum(e.startswith("killed") for e in report.chaos_events)
        rows.append((kind, report.actions, kills, report.ok, report.failed_actions, report.unknown_outcomes,
                     report.lost_sessions, report.relogins, report.lost_items, report.duplicated_items))
    return rows


def load_row(connections, seconds):
    me = psutil.Process()
    threads_before = threading.active_count()
    rss_before = me.memory_info().rss
    counts = collections.Counter()
    with Cluster.stateless(instances=3, seed=SEED, workers=32) as shop:
        host, port = shop.url.replace("http://", "").split(":")
        deadline = time.monotonic() + seconds

        def client():
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            while time.monotonic() < deadline:
                try:
                    conn.request("GET", "/health")
                    answer = conn.getresponse()
                    answer.read()                        # finish the answer before reusing the connection
                    counts[answer.status // 100 * 100] += 1
                except (OSError, http.client.HTTPException):
                    counts["connection errors"] += 1
                    conn.close()
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.close()

        workers = [threading.Thread(target=client) for _ in range(connections)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        rss_loaded = me.memory_info().rss
    shutdown_all()
    time.sleep(0.5)
    leaked_threads = threading.active_count() - threads_before
    open_sockets = len([c for c in me.net_connections(kind="inet") if c.status != psutil.CONN_TIME_WAIT])
    return counts, leaked_threads, open_sockets, rss_before, rss_loaded, me.memory_info().rss


def fuzz_row(cases):
    rng = random.Random(SEED)
    outcomes = collections.Counter()
    pieces = [b"GET ", b"POST ", b"/cart", b"/login", b" HTTP/1.1\r\n", b"Content-Length: ", b"99999999",
              b"\r\n\r\n", b'{"user": ', b"\x00\xff", b"Transfer-Encoding: chunked\r\n", b"../" * 5, b"%00",
              b"<host>", b"<host>"]          # the target's own Host line: without one, the Host check answers first
    with Cluster.stateless(instances=2, seed=SEED) as shop:
        targets = [("balancer", shop.balancer.server.address), ("instance", shop.instances[0].address)]
        for i in range(cases):
            data = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) + rng.randbytes(rng.randint(0, 64))
            name, address = targets[i % 2]
            data = data.replace(b"<host>", f"Host: 127.0.0.1:{address[1]}\r\n".encode())
            try:
                with socket.create_connection(address, timeout=5) as sock:
                    try:
                        sock.sendall(data)
                        sock.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass                  # answered and closed early: read the answer below
                    answer = sock.recv(65536)
                status = answer[9:12].decode() if answer.startswith(b"HTTP/1.1 ") else "closed"
                outcomes[f"{name} {status[0] + 'xx' if status != 'closed' else status}"] += 1
                if b"Traceback" in answer or status.startswith("5") and status not in ("502", "503"):
                    outcomes["PROBLEM"] += 1
            except TimeoutError:
                outcomes["HANG"] += 1
        still = http.client.HTTPConnection(*shop.balancer.server.address, timeout=5)
        still.request("GET", "/health")
        serving = still.getresponse().status == 200
        still.close()
    return outcomes, serving


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds: fewer users, connections and fuzz cases")
    size = QUICK if parser.parse_args(argv).quick else FULL
    print(f"CHAOS (5 instances, {size['users']} users x {size['actions']} actions, a kill every 40 actions)")
    header = ("shop", "actions", "kills", "ok", "failed", "unknown", "users who lost a session", "re-logins",
              "lost items", "duplicated")
    widths = [max(len(h), 9) for h in header]
    print("  ".join(f"{h:>{w}}" for h, w in zip(header, widths)))
    for row in chaos_rows(size["users"], size["actions"]):
        print("  ".join(f"{v:>{w}}" for v, w in zip(row, widths)))
    print()
    seconds = size["load_s"]
    counts, leaked_threads, open_sockets, rss0, rss1, rss2 = load_row(size["connections"], seconds)
    print(f"LOAD ({size['connections']} keep-alive connections to the balancer for {seconds:g} s)")
    print(f"  answers by status: {dict(counts)}  ({sum(counts.values()) / seconds:,.0f} requests/s)")
    print(f"  threads left after shutdown_all: {leaked_threads}; open sockets: {open_sockets}")
    print(f"  RSS before / loaded / after: {rss0 / 2**20:.0f} / {rss1 / 2**20:.0f} / {rss2 / 2**20:.0f} MiB")
    print()
    outcomes, serving = fuzz_row(size["fuzz_cases"])
    print(f"FUZZ ({size['fuzz_cases']:,} random and malformed requests)")
    for key, value in sorted(outcomes.items()):
        print(f"  {key:<20} {value}")
    print(f"  still serving afterwards: {serving}")


if __name__ == "__main__":
    main()
