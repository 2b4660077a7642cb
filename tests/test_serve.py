"""`python -m labsupport serve`: a lab app as its own OS process (labsupport/__main__.py, engine/process.py).

Pins what an operator relies on: --help explains every option, a bad option
exits 2 with a message saying what to give, the process binds loopback unless
--host says otherwise (and warns when it does), it answers only to loopback Host
names unless --allow-host or LAB_ALLOW_HOSTS lists more, it logs one line per start and
stop, SIGTERM drains the request in flight before exit 0, and processes share
the secret, the database and the Redis they are given (never through argv).
"""

import argparse
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import psutil
import pytest
import redis

import labsupport.__main__ as cli
from labsupport.engine import Instance, host_problem
from labsupport.game import GamePlayer
from labsupport.labs import ServeProcess
from labsupport.shop import StatefulShop
from labsupport.state import start_redis

pytestmark = pytest.mark.timeout(120)

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECRET = "x" * 64


def run_cli(*args, env=None):
    """The real command in a subprocess: (exit status, stdout, stderr)."""
    environment = {key: value for key, value in os.environ.items() if key != "LAB_SHOP_SECRET"}
    environment.update(PYTHONPATH=str(ROOT), **(env or {}))
    done = subprocess.run([sys.executable, "-m", "labsupport", *args], capture_output=True, text=True,
                          env=environment, timeout=60)
    return done.returncode, done.stdout, done.stderr


def get(url, path, headers=None):
    request = urllib.request.Request(url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def post(url, path, body, headers=None):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def processes(tmp_path):
    """Start ServeProcess children; every one is killed at the end of the test."""
    started = []

    def start(app, *options, name="shop-1", env=None):
        process = ServeProcess(app, name, tmp_path, options, env).launch()
        started.append(process)
        return process.wait_ready()

    yield start
    for process in started:
        process.kill()


def listening_addresses(pid):
    return {c.laddr.ip for c in psutil.Process(pid).net_connections("inet") if c.status == psutil.CONN_LISTEN}


# -- the command line --------------------------------------------------------------------------------------------
def test_help_explains_every_option_of_every_app():
    parser = cli.build_parser()
    apps = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["serve"]
    choices = next(a for a in apps._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert sorted(choices) == ["game-server", "stateful-shop", "stateless-shop"]
    for name, app in choices.items():
        for action in app._actions:
            if action.help == argparse.SUPPRESS:
                continue
            assert action.help and len(action.help) > 15, f"{name} {action.option_strings} has no real help"
    status, out, _ = run_cli("serve", "stateless-shop", "--help")
    assert status == 0
    for option in ("--host", "--allow-host", "--port", "--name", "--version", "--drain-timeout", "--db",
                   "--redis-url", "--secret-file", "--workers", "--service-ms", "--queue-limit"):
        assert option in out, option
    assert "LAB_SHOP_SECRET" in out and "LAB_ALLOW_HOSTS" in out and "--secret " not in out


@pytest.mark.parametrize("args, says", [
    (["serve", "stateless-shop", "--db", "x.db", "--port", "99999"], "port must be a whole number from 0 to 65535"),
    (["serve", "stateful-shop", "--workers", "0"], "workers must be a whole number from 1"),
    (["serve", "stateful-shop", "--bogus"], "unrecognized arguments: --bogus"),
    (["serve", "teapot"], "invalid choice: 'teapot'"),
    (["serve", "stateful-shop", "--host", "evil.example"], "--host must be an IPv4 address"),
    (["serve", "stateless-shop", "--db", "x.db"], "set LAB_SHOP_SECRET or pass --secret-file"),
    (["serve", "stateless-shop", "--db", "x.db", "--secret", "hunter2"], "never pass the secret on the command line"),
    (["serve", "stateless-shop", "--secret-file", "/no/such/file", "--db", "x.db"], "cannot read the secret file"),
    (["serve", "game-server", "--name", "bad name!"], "must be 1-40 letters"),
    (["serve", "stateful-shop", "--allow-host", "shop:8000"], "without a port"),
    (["serve", "stateful-shop", "--allow-host", "*.example"], "without wildcards"),
])
def test_a_bad_option_exits_2_with_a_message_that_says_what_to_give(args, says, capsys, monkeypatch):
    monkeypatch.delenv("LAB_SHOP_SECRET", raising=False)
    with pytest.raises(SystemExit) as exit_:
        cli.main(args, environ={})
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_a_bad_name_in_lab_allow_hosts_exits_2_too(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "stateful-shop"], environ={"LAB_ALLOW_HOSTS": "stateless-shop, evil example"})
    assert exit_.value.code == 2 and "not 'evil example'" in capsys.readouterr().err


def test_the_real_command_exits_2_and_a_short_secret_is_refused():
    status, _, err = run_cli("serve", "stateless-shop", "--db", "x.db", env={"LAB_SHOP_SECRET": "short"})
    assert status == 2 and "at least 32 characters" in err


def test_a_taken_port_exits_1_and_says_so():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        status, _, err = run_cli("serve", "stateful-shop", "--port", str(taken.getsockname()[1]))
    assert status == 1 and "cannot listen on 127.0.0.1" in err and "pick another --port" in err


# -- the process ---------------------------------------------------------------------------------------------------
def test_it_listens_on_loopback_by_default_without_a_warning(processes):
    shop = processes("stateful-shop")
    assert shop.url.startswith("http://127.0.0.1:")
    assert listening_addresses(shop.pid) == {"127.0.0.1"}
    assert get(shop.url, "/health") == (200, {"status": "ok"})
    assert "warning" not in shop.log()


def test_any_other_host_gets_a_one_line_warning(processes):
    shop = processes("stateful-shop", "--host", "0.0.0.0")
    assert listening_addresses(shop.pid) == {"0.0.0.0"}
    warnings = [line for line in shop.log().splitlines() if "warning" in line]
    assert len(warnings) == 1 and "listens on 0.0.0.0" in warnings[0] and "other machines" in warnings[0]


# -- the Host check (engine/rebinding.py): loopback names only, unless the operator lists more ---------------------
def test_without_allow_host_only_loopback_names_pass_even_on_every_interface(processes):
    shop = processes("stateful-shop", "--host", "0.0.0.0")
    assert get(shop.url, "/health", {"Host": f"localhost:{shop.port}"}) == (200, {"status": "ok"})
    assert get(shop.url, "/health", {"Host": "localhost"}) == (200, {"status": "ok"})     # what nginx sends
    status, body = get(shop.url, "/health", {"Host": "stateless-shop"})
    assert status == 421 and "'stateless-shop' is not this server" in body["error"]
    assert "also answers" not in shop.log()


def test_allow_host_names_from_the_option_and_the_environment_pass_with_any_port_and_no_others(processes):
    shop = processes("stateful-shop", "--host", "0.0.0.0", "--allow-host", "Stateless-Shop",
                     env={"LAB_ALLOW_HOSTS": "stateless-shop.default.svc.cluster.local, shop-1"})
    for host in ("stateless-shop", "stateless-shop:80", "STATELESS-SHOP:8000",
                 "stateless-shop.default.svc.cluster.local:80", "shop-1"):
        assert get(shop.url, "/health", {"Host": host}) == (200, {"status": "ok"}), host
    for host in ("evil.example", "stateless-shop.evil.example", "shop-2:8000", "stateless-shop.default"):
        status, body = get(shop.url, "/health", {"Host": host})
        assert status == 421 and "or shop-1" in body["error"], host
    start_line = next(line for line in shop.log().splitlines() if "listening on" in line)
    assert start_line.endswith("also answers to Host stateless-shop, stateless-shop.default.svc.cluster.local, shop-1")


def test_the_game_server_process_takes_allow_host_too(processes):
    game = processes("game-server", "--allow-host", "game", name="game-1")
    health = f"http://127.0.0.1:{game.port}"
    assert get(health, "/health", {"Host": "game:80"})[0] == 200
    assert get(health, "/health", {"Host": "game-0.game-headless"})[0] == 421


def test_the_lab_allows_no_other_names_and_its_processes_ignore_the_kernels_lab_allow_hosts(processes, monkeypatch):
    assert host_problem("stateless-shop", 8000) is not None                  # the default: nothing listed
    assert host_problem("stateless-shop:80", 8000, ("stateless-shop",)) is None
    with Instance(StatefulShop, name="shop-1").start() as lab_instance:
        assert lab_instance._httpd.allowed_hosts == ()
    monkeypatch.setenv("LAB_ALLOW_HOSTS", "stateless-shop")                  # set in the kernel by mistake
    shop = processes("stateful-shop")
    assert get(shop.url, "/health", {"Host": "stateless-shop"})[0] == 421


def test_sigterm_drains_the_request_in_flight_then_exits_0_with_one_stop_line(processes, tmp_path):
    shop = processes("stateless-shop", "--db", str(tmp_path / "carts.sqlite3"), "--service-ms", "1500",
                     env={"LAB_SHOP_SECRET": SECRET})
    answers = []
    slow = threading.Thread(target=lambda: answers.append(post(shop.url, "/login", {"user": "alice"})))
    slow.start()
    assert wait_for_connection(shop.pid)
    threading.Event().wait(0.4)               # let the handler take it (the request sleeps 1.5 s inside)
    shop._process.send_signal(signal.SIGTERM)
    slow.join()
    assert answers[0][0] == 200 and answers[0][1]["user"] == "alice"
    assert shop._process.wait(20) == 0
    lines = shop.log().splitlines()
    assert len(lines) == 2 and "listening on" in lines[0]
    assert "stopped on SIGTERM after draining" in lines[1] and "served 1 requests" in lines[1]
    with pytest.raises(OSError):
        socket.create_connection(shop.address, timeout=2).close()


def wait_for_connection(pid, timeout=10.0):
    from labsupport.engine import wait_until
    return wait_until(lambda: any(c.status == psutil.CONN_ESTABLISHED
                                  for c in psutil.Process(pid).net_connections("inet")), timeout)


def test_processes_share_the_secret_the_database_and_the_redis_they_are_given(processes, tmp_path):
    server = start_redis()
    if server is None:
        pytest.skip("no Redis server on this machine")
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    db = str(tmp_path / "carts.sqlite3")
    one = processes("stateless-shop", "--db", db, name="shop-1", env={"LAB_SHOP_SECRET": SECRET,
                                                                     "REDIS_URL": server.url})
    two = processes("stateless-shop", "--db", db, "--secret-file", str(secret_file), name="shop-2",
                    env={"REDIS_URL": server.url})
    assert SECRET not in " ".join(psutil.Process(one.pid).cmdline() + psutil.Process(two.pid).cmdline())
    _, login = post(one.url, "/login", {"user": "alice"})
    auth = {"Authorization": f"Bearer {login['token']}"}
    assert post(one.url, "/cart/items", {"sku": "book", "qty": 2}, auth)[0] == 200
    assert get(two.url, "/cart", auth) == (200, {"user": "alice", "items": {"book": 2}})   # same key, same carts
    assert post(two.url, "/logout", {}, auth)[0] == 200
    assert get(one.url, "/cart", auth)[0] == 401                                            # same denylist
    client = redis.Redis.from_url(server.url)
    assert len(client.keys("shop:deny:*")) == 1
    client.close()
    server.close()


def test_the_game_server_process_holds_rooms_and_saves_results(processes, tmp_path):
    results = tmp_path / "results.sqlite3"
    game = processes("game-server", "--db", str(results), name="game-7")
    assert game.url.startswith("ws://127.0.0.1:")
    assert get(f"http://127.0.0.1:{game.port}", "/health")[0] == 200
    with GamePlayer(game.url, "alice", "room-1") as alice, GamePlayer(game.url, "bob", "room-1") as bob:
        for mover, cell in ((alice, 0), (bob, 3), (alice, 1), (bob, 4), (alice, 2)):
            mover.move(cell)
        assert alice.wait_for("over")
        assert alice.instance == "game-7" and alice.result["winner"] == "alice"
    assert game.stop() == 0
    assert "1 finished games in the results database" in game.log().splitlines()[-1]
