"""Object storage: files behind a small S3-like HTTP interface, outside every API instance.

A stateless API does not keep uploaded files (avatars, invoices, images) on
its own disk, where they would die with the instance or be missing on the
next one; it sends them to object storage, a separate service that stores
bytes under a bucket and a key and hands them back to anyone who asks. This
one is a real HTTP server on 127.0.0.1 keeping each object as a file in a
temporary folder (deleted on ``close()``):

    PUT /<bucket>/<key>   store the request body      GET /<bucket>?prefix=   list keys
    GET /<bucket>/<key>   the bytes back               DELETE /<bucket>/<key>  remove

A key that tries to climb out of its bucket (``../``) gets 400; an object over
the size limit gets 413. Chapter 04, claim E1.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import tempfile
import urllib.parse

from ..checks import require_int
from ..engine import workspace
from ..engine.application import Application
from ..engine.instance import MAX_BODY_BYTES, HTTPError, Instance, Response
from ..errors import InvalidArgumentError
from .service import Service

__all__ = ["ObjectStore", "Bucket"]

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
KEY_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_KEY_CHARS = 512


def _check_key(key):
    """400 unless ``key`` is segments of letters, digits, '.', '_', '-' joined by '/', none '.' or '..'."""
    segments = key.split("/")
    if len(key) > MAX_KEY_CHARS or not all(KEY_SEGMENT.match(s) and s not in (".", "..") for s in segments):
        raise HTTPError(400, f"bad object key {key!r}: use names like 'avatars/alice.png' (letters, digits, "
                             "'.', '_', '-', separated by '/'; no '..', no leading '/')")
    return key


class _ObjectApp(Application):
    """The HTTP side: routes requests to files under ``root``. The objects are on disk, not in memory."""

    not_state = {"root": "configuration: the folder on disk that holds the objects",
                 "max_object_bytes": "configuration"}

    def __init__(self, root, max_object_bytes):
        self.root = root
        self.max_object_bytes = max_object_bytes

    def _path(self, bucket, key):
        path = os.path.realpath(os.path.join(self.root, bucket, *key.split("/")))
        if os.path.commonpath([path, os.path.realpath(self.root)]) != os.path.realpath(self.root):
            raise HTTPError(400, f"object key {key!r} points outside its bucket")     # belt and braces
        return path

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        bucket, _, key = request.path.lstrip("/").partition("/")
        if not BUCKET_NAME.match(bucket):
            raise HTTPError(400, f"bad bucket name {bucket!r}: 3-63 lowercase letters, digits or '-'")
        if not key:
            if request.method != "GET":
                raise HTTPError(405, "a bucket only answers GET (a listing); add a key for PUT, GET, DELETE")
            return Response(200, {"bucket": bucket, "objects": self._list(bucket, request.query.get("prefix", ""))})
        path = self._path(bucket, _check_key(key))
        if request.method == "PUT":
            return Response(200, self._put(bucket, key, path, request.body))
        if request.method == "GET":
            if not os.path.isfile(path):
                raise HTTPError(404, f"no object {key!r} in bucket {bucket!r}")
            with open(path, "rb") as file:
                data = file.read()
            return Response(200, raw=data, content_type="application/octet-stream",
                            headers={"ETag": hashlib.md5(data).hexdigest()})
        if request.method == "DELETE":
            existed = os.path.isfile(path)
            if existed:
                os.remove(path)
            return Response(200, {"bucket": bucket, "key": key, "deleted": existed})
        raise HTTPError(405, f"{request.method} is not supported; use PUT, GET or DELETE",
                        headers={"Allow": "PUT, GET, DELETE"})

    def _put(self, bucket, key, path, data):
        if len(data) > self.max_object_bytes:
            raise HTTPError(413, f"object of {len(data)} bytes is over the {self.max_object_bytes}-byte limit")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".upload-")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temp, path)                  # readers see the old object or the new one, never half of one
        return {"bucket": bucket, "key": key, "size": len(data), "etag": hashlib.md5(data).hexdigest()}

    def _list(self, bucket, prefix):
        top = os.path.join(self.root, bucket)
        found = []
        for folder, _dirs, files in os.walk(top):
            for name in files:
                if name.startswith(".upload-"):
                    continue
                key = os.path.relpath(os.path.join(folder, name), top).replace(os.sep, "/")
                if key.startswith(prefix):
                    found.append({"key": key, "size": os.path.getsize(os.path.join(folder, name))})
        return sorted(found, key=lambda item: item["key"])


class ObjectStore(Service):
    """A running object store: ``start``, ``stop``, ``kill``, ``close``, ``url``, ``bucket(name)``.

    The files outlive ``kill()`` (they are on disk, not in the process);
    ``close()`` deletes them with their temporary folder.
    """

    def __init__(self, name="object-store", max_object_bytes=MAX_BODY_BYTES):
        require_int("max_object_bytes", max_object_bytes, 1, MAX_BODY_BYTES)
        self.root = str(workspace.new_folder("objects"))
        self.max_object_bytes = max_object_bytes
        self.instance = Instance(lambda: _ObjectApp(self.root, max_object_bytes), name=name, workers=8)
        self._opened()                       # the folder exists from now on: shutdown_all() must remove it

    def bucket(self, name):
        """A client for bucket ``name`` (buckets appear with their first object)."""
        return Bucket(self.url, name)

    def _close(self):
        super()._close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __repr__(self):
        return f"<ObjectStore {self.instance.status}>"


class Bucket:
    """A small client for one bucket: ``put``, ``get``, ``list``, ``delete``, over HTTP."""

    def __init__(self, url, name, timeout=5.0):
        if not isinstance(name, str) or not BUCKET_NAME.match(name):
            raise InvalidArgumentError(f"bucket name {name!r} must be 3-63 lowercase letters, digits or '-'")
        parts = urllib.parse.urlsplit(url)
        self.address, self.name, self.timeout = (parts.hostname, parts.port), name, timeout

    def _call(self, method, key="", body=None, query=""):
        """One request; returns (status, headers, body bytes). Keys are sent as given: the server checks them."""
        conn = http.client.HTTPConnection(*self.address, timeout=self.timeout)
        try:
            path = f"/{self.name}/" + urllib.parse.quote(key, safe="/") + (f"?{query}" if query else "")
            conn.request(method, path, body=body)
            answer = conn.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        except (OSError, http.client.HTTPException) as exc:     # the store is down, or cut us off
            return 0, {}, json.dumps({"error": f"connection failed: {exc.__class__.__name__}"}).encode()
        finally:
            conn.close()

    def put(self, key, data):
        """Store ``data`` (bytes or text); returns the answer with its "status" (200, 400, 413...)."""
        payload = data.encode() if isinstance(data, str) else bytes(data)
        status, _, body = self._call("PUT", key, payload)
        return {"status": status, **_json(body)}

    def get(self, key):
        """The object's bytes, or None if there is no such object."""
        status, _, body = self._call("GET", key)
        return body if status == 200 else None

    def list(self, prefix=""):
        """The keys in this bucket that start with ``prefix``, sorted."""
        status, _, body = self._call("GET", query=urllib.parse.urlencode({"prefix": prefix}) if prefix else "")
        return [item["key"] for item in _json(body).get("objects", [])] if status == 200 else []

    def delete(self, key):
        """Remove the object; True if it existed."""
        status, _, body = self._call("DELETE", key)
        return status == 200 and _json(body).get("deleted", False)

    def __repr__(self):
        return f"Bucket({self.name!r})"


def _json(raw):
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {"error": "answer was not JSON"}
    return value if isinstance(value, dict) else {"value": value}
