"""object_store.py: an S3-like store over HTTP keeps files outside the API tier and refuses bad keys and sizes.

Pins chapter 04, claim E1 (object storage): put, get, list and delete over
real HTTP; a key that climbs out of its bucket gets 400 and writes nothing
outside it; an object over the limit gets 413; the files outlive a crash of
the store's process and are deleted on close.
"""

import os

import pytest

from labsupport import InvalidArgumentError
from labsupport.engine import registry
from labsupport.services import Bucket, ObjectStore
from tests.http_util import call

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def store():
    with ObjectStore(max_object_bytes=1024) as objects:
        yield objects


def test_put_get_list_delete(store):
    bucket = store.bucket("avatars")
    answer = bucket.put("users/alice.png", b"\x89PNG fake")
    assert answer["status"] == 200 and answer["size"] == 9
    bucket.put("users/bob.png", "text works too")
    assert bucket.get("users/alice.png") == b"\x89PNG fake"
    assert bucket.list() == ["users/alice.png", "users/bob.png"] and bucket.list("users/b") == ["users/bob.png"]
    assert bucket.delete("users/alice.png") and not bucket.delete("users/alice.png")
    assert bucket.get("users/alice.png") is None and bucket.list() == ["users/bob.png"]
    assert store.bucket("other").list() == []


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "..", "a//b", "/abs", "a/./b", "sp ace",
                                 "..%2F..%2Fescape"])
def test_keys_that_climb_out_of_the_bucket_get_400_and_write_nothing(store, key):
    bucket = store.bucket("avatars")
    answer = bucket.put(key, b"x")
    assert answer["status"] == 400 and "bad object key" in answer["error"]
    assert bucket.list() == []
    written = [f for _, _, files in os.walk(os.path.dirname(store.root)) for f in files if f == "escape"]
    assert written == []


def test_raw_traversal_in_the_path_gets_400(store):
    status, _, body = call(store.url, "GET", "/avatars/../../../etc/passwd")
    assert status == 400 and "bad object key" in body["error"]
    status, _, body = call(store.url, "GET", "/Bad_Bucket/x")
    assert status == 400 and "bucket" in body["error"]


def test_oversized_objects_get_413(store):
    bucket = store.bucket("avatars")
    assert bucket.put("big.bin", b"x" * 1025)["status"] == 413
    assert bucket.put("fits.bin", b"x" * 1024)["status"] == 200
    assert bucket.list() == ["fits.bin"]
    with ObjectStore() as default:                                  # the server's own 64 KiB limit
        assert default.bucket("files").put("huge.bin", b"x" * (64 * 1024 + 1))["status"] == 413


def test_files_outlive_a_crash_of_the_store_and_close_deletes_them():
    store = ObjectStore().start()
    store.bucket("invoices").put("2026/001.pdf", b"%PDF")
    store.kill()
    assert store.bucket("invoices").get("2026/001.pdf") is None     # nobody answers while it is down
    store.restart()
    assert store.bucket("invoices").get("2026/001.pdf") == b"%PDF"
    root = store.root
    store.close()
    assert not os.path.exists(root) and store not in registry.running()


def test_shutdown_all_removes_the_folder_and_bad_arguments_raise():
    store = ObjectStore().start()
    root = store.root
    registry.shutdown_all()
    assert not os.path.exists(root) and not store.alive
    with pytest.raises(InvalidArgumentError, match="bucket name"):
        Bucket("http://127.0.0.1:1", "No_Such")
    with pytest.raises(InvalidArgumentError, match="max_object_bytes"):
        ObjectStore(max_object_bytes=0)
