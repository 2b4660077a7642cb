"""Boundaries the lab never crosses, checked in its source: loopback only, SQL only with parameters."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "labsupport").rglob("*.py"))


def test_nothing_binds_anything_but_loopback():
    for path in SOURCES:
        text = path.read_text()
        assert "0.0.0.0" not in text and "'::'" not in text and '"::"' not in text, path
        for match in re.finditer(r"(?:bind|serve|create_server|TcpFakeServer)\(\s*\(?\s*([^,)]+)", text):
            host = match.group(1).strip()
            assert host in ('"127.0.0.1"', "'127.0.0.1'") or not host.startswith(("'", '"')), (path, host)


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
