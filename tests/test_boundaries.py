"""Boundaries the lab never crosses, checked in its source: loopback only, SQL only with parameters."""

import ast
import pathlib
import re

import labsupport.__main__ as cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "labsupport").rglob("*.py"))

# Calls that open a listening socket, and where their host is: the first item of an address tuple, or
# (websockets' serve(handler, host, port)) the second argument.
ADDRESS_FIRST = {"Listener", "bind", "create_server", "TcpFakeServer"}
HOST_SECOND = {"serve"}
# The one way to listen elsewhere: the processes of `python -m labsupport serve`, which bind self.host,
# the address its --host option gives (127.0.0.1 unless the operator says otherwise).
SERVE_MODULES = {"engine/process.py", "game/process.py"}


def listening_hosts(tree):
    """(line, host expression as source) for every call in ``tree`` that opens a listening socket."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name in ADDRESS_FIRST and isinstance(node.args[0], ast.Tuple):
            yield node.lineno, ast.unparse(node.args[0].elts[0])
        elif name in ADDRESS_FIRST:
            yield node.lineno, ast.unparse(node.args[0])              # an address in a variable: must not be
        elif name in HOST_SECOND and isinstance(node.func, ast.Name) and len(node.args) >= 2:
            yield node.lineno, ast.unparse(node.args[1])


def test_nothing_listens_beyond_loopback_unless_serve_host_says_so():
    found = 0
    for path in SOURCES:
        module = path.relative_to(ROOT / "labsupport").as_posix()
        for line, host in listening_hosts(ast.parse(path.read_text())):
            found += 1
            allowed = {"'127.0.0.1'"} | ({"self.host"} if module in SERVE_MODULES else set())
            assert host in allowed, f"{module}:{line} listens on {host}; the lab listens on '127.0.0.1' only"
    assert found >= 8                                   # the rule saw the listeners it is about


def test_serve_listens_on_loopback_unless_host_is_given():
    parser = cli.build_parser()
    for app in cli.APPS:
        assert parser.parse_args(["serve", app]).host == "127.0.0.1"
        assert parser.parse_args(["serve", app]).allow_host is None            # and answers to loopback names only


def test_sql_is_only_built_with_parameters():
    """No SQL statement is an f-string, %-formatted or concatenated: values go in as ? parameters."""
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ".execute(" in line or ".executemany(" in line:
                call = line.split(".execute", 1)[1]
                assert not re.search(r"\(\s*f[\"']", call), f"{path.name}:{number} builds SQL with an f-string"
                assert ".format(" not in call and "\" +" not in call and "' +" not in call, f"{path.name}:{number}"
                assert not re.search(r"[\"']\s*%\s*[(\w]", call), f"{path.name}:{number} %-formats SQL"


def test_every_redis_the_lab_starts_binds_loopback_and_requires_a_password():
    """The two kinds of Redis the lab starts, as written in their source (tests/test_redis_server.py runs them)."""
    program = (ROOT / "labsupport" / "state" / "redis_program.py").read_text()
    assert '"bind 127.0.0.1"' in program and 'f"requirepass {self.password}"' in program
    fake = (ROOT / "labsupport" / "state" / "fake_redis.py").read_text()
    assert 'TcpFakeServer(("127.0.0.1"' in fake and '"default", "off"' in fake
