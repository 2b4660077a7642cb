"""Boundaries the lab never crosses, checked in its source: loopback only, SQL only with parameters."""

import pathlib
import re

SOURCES = sorted((pathlib.Path(__file__).resolve().parent.parent / "labsupport").rglob("*.py"))


def test_nothing_binds_anything_but_loopback():
    for path in SOURCES:
        text = path.read_text()
        assert "0.0.0.0" not in text and "'::'" not in text and '"::"' not in text, path
        for match in re.finditer(r"(?:bind|serve|create_server)\(\s*\(?\s*([^,)]+)", text):
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
