"""A tiny raw HTTP client for tests: one request, any bytes, read the JSON answer."""

import http.client
import json
import socket


def call(url_or_address, method, path, body=None, headers=None, raw_body=None):
    """Send one request; returns (status, headers dict, the answer).

    The answer is parsed JSON when the server says it sent JSON, the raw bytes
    otherwise (an object store hands back whatever was stored), or None if empty.
    """
    if isinstance(url_or_address, str):
        host, port = url_or_address.replace("http://", "").split(":")
        address = (host, int(port))
    else:
        address = url_or_address
    conn = http.client.HTTPConnection(*address, timeout=5)
    try:
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = dict(headers or {})
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        answer = conn.getresponse()
        payload = answer.read()
        if not payload:
            parsed = None
        elif (answer.getheader("Content-Type") or "").startswith("application/json"):
            parsed = json.loads(payload)
        else:
            parsed = payload
        return answer.status, dict(answer.getheaders()), parsed
    finally:
        conn.close()


def raw_exchange(address, data, timeout=5):
    """Write raw bytes to a server and return everything it answers before closing.

    A server may answer (say, 413) and close before reading all we send; then
    the write fails and we read its answer. A hang raises TimeoutError.
    """
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except TimeoutError:
            raise
        except OSError:
            pass                                  # closed early: its answer is waiting below
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)
