"""``python -m labsupport serve <app>``: one lab application as its own OS process (chapter 10).

    python -m labsupport serve stateless-shop --port 8001 --db /tmp/shop.sqlite3
    python -m labsupport serve stateful-shop --port 8002 --name shop-2
    python -m labsupport serve game-server --port 8003 --db /tmp/results.sqlite3
    python -m labsupport serve stateful-shop --host 0.0.0.0 --allow-host shop-2   # in a container
    python -m labsupport serve stateless-shop --help      # every option, explained

It runs the same code the notebooks use, answers ``GET /health``, writes one
line to stderr when it starts and one when it stops, and drains on SIGTERM.
Like every lab server it answers only to requests addressed to 127.0.0.1 or
localhost, plus the names ``--allow-host`` lists (421 for any other Host).
What each application needs lives with it (``shop/process.py``,
``game/process.py``); the signal handling in ``engine/process.py``. A bad
option exits with status 2 and a message saying what to give instead.
"""

import argparse
import os
import sys

from .engine.process import (
    ALLOW_HOSTS_ENV,
    PREFIX,
    NumberOption,
    allowed_host_names,
    check_host,
    check_host_name,
    serve_until_stopped,
)
from .errors import LabError
from .game.process import GameServerProcess
from .shop.process import SECRET_ENV, StatefulShopProcess, StatelessShopProcess

APPS = {process.app: process for process in (StatelessShopProcess, StatefulShopProcess, GameServerProcess)}


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m labsupport", allow_abbrev=False,
                                     description="Run a lab application outside the notebook.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", allow_abbrev=False, help="run one application as its own process",
                                description="Run one application as its own OS process, with the code the "
                                            "notebooks use. SIGTERM or Ctrl-C stops it gracefully (draining).")
    apps = serve.add_subparsers(dest="app", required=True, metavar="APP")
    for name, process in APPS.items():
        app = apps.add_parser(name, help=process.help, description=process.help, allow_abbrev=False)
        app.add_argument("--host", default="127.0.0.1",
                         help="the IPv4 address to listen on (default 127.0.0.1: this machine only). In a "
                              "container, 0.0.0.0, so that other containers can reach it (they will need "
                              "--allow-host); anything but loopback prints a warning")
        app.add_argument("--allow-host", action="append", default=None, metavar="NAME", type=_host_name,
                         help="a Host name to answer to besides 127.0.0.1 and localhost, with any port: the name "
                              "clients use to reach this process, such as a Kubernetes Service or a compose "
                              "service. Repeat it for several names, or list them, comma-separated, in "
                              f"${ALLOW_HOSTS_ENV}. Any other name gets 421, the defence against DNS rebinding")
        app.add_argument("--port", type=NumberOption("port", 0, 65535, whole=True), default=8000,
                         help="the TCP port (default 8000; 0 lets the system pick one, shown in the start line)")
        app.add_argument("--name", default=None,
                         help="the instance name in X-Instance headers and log lines (default: shop-1 or game-1)")
        app.add_argument("--version", default="v1", help="the version in X-Version headers (default v1)")
        app.add_argument("--drain-timeout", type=NumberOption("drain timeout (s)", 0, 3600), default=10.0,
                         metavar="SECONDS", help="how long SIGTERM waits for work in progress (default 10)")
        # A secret on the command line is visible to every user of the machine (ps), so refuse it by name.
        app.add_argument("--secret", action=_RefuseSecret, nargs="?", help=argparse.SUPPRESS)
        process.add_arguments(app)
        app.set_defaults(app_parser=app)               # so a bad value is reported with this app's usage line
    return parser


def _host_name(text):
    """argparse ``type=`` for --allow-host: a bad name exits 2 with what to give instead."""
    try:
        return check_host_name(text)
    except LabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _RefuseSecret(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"never pass the secret on the command line (ps shows it to every user); "
                     f"set {SECRET_ENV} or use --secret-file PATH")


def main(argv=None, environ=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    try:
        check_host(args.host)
        allowed = allowed_host_names(args.allow_host, environ)
        app = APPS[args.app].from_args(args, environ)
    except LabError as exc:
        args.app_parser.error(str(exc))                # exit status 2, after the usage line
    name = args.name or app.default_name
    try:
        server = app.instance(args.host, args.port, name, args.version, allowed_hosts=allowed)
    except LabError as exc:                            # for example a --name the game server cannot use
        app.close()
        args.app_parser.error(str(exc))
    try:
        serve_until_stopped(server, f"{name} ({args.app} {args.version})", app.summary,
                            drain_s=args.drain_timeout, host=args.host)
    except OSError as exc:                             # the port is taken, or the address is not this machine's
        print(f"{PREFIX} cannot listen on {args.host}:{args.port}: {exc.strerror}; pick another --port "
              f"or --host", file=sys.stderr)
        return 1
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
