"""errors.py: one root. ``except LabError`` in a notebook catches every error the lab raises on purpose.

Each public exception is raised here the way a learner would meet it (a
store that is down, a forged token, a bad request body, a bad game message,
a login to a shop that is gone), and caught as a ``LabError``. Where a
standard-library base helps, it is kept: code that catches
``ConnectionError`` or ``ValueError`` still works.
"""

import secrets

import pytest

from labsupport import (
    ClusterClosedError,
    Cluster,
    HTTPError,
    InvalidArgumentError,
    LabError,
    LoginFailed,
    QuizFileError,
    Rejected,
    StoreUnavailable,
    TokenIssuer,
    TokenRejected,
    UnknownInstanceError,
    User,
)
from labsupport.engine import Request
from labsupport.game import rules
from labsupport.state import SQLiteStore


def store_down():
    with SQLiteStore() as store:
        store.down()
        store.get("cart:alice")


def forged_token():
    TokenIssuer(secrets.token_hex(32)).verify(TokenIssuer(secrets.token_hex(32)).issue("mallory"))


def bad_body():
    Request("POST", "/cart/items", {}, b"{not json").json()


def bad_game_message():
    rules.parse_message('{"type": "teleport"}')


def login_to_a_shop_that_is_gone():
    shop = Cluster.stateful(instances=1)
    url = shop.url
    shop.close()
    User(url, "alice").login()


def unknown_instance():
    with Cluster.stateless(instances=1, use_redis=False) as shop:
        shop.kill("shop-9")


def closed_cluster():
    shop = Cluster.stateful(instances=1)
    shop.close()
    shop.user("alice")


RAISERS = {
    StoreUnavailable: store_down,
    TokenRejected: forged_token,
    HTTPError: bad_body,
    Rejected: bad_game_message,
    LoginFailed: login_to_a_shop_that_is_gone,
    UnknownInstanceError: unknown_instance,
    ClusterClosedError: closed_cluster,
    InvalidArgumentError: lambda: Cluster("serverless"),
}


@pytest.mark.parametrize("error", list(RAISERS), ids=lambda error: error.__name__)
def test_except_lab_error_catches_it(error):
    with pytest.raises(LabError) as caught:
        RAISERS[error]()
    assert type(caught.value) is error and str(caught.value)


def test_standard_library_bases_still_catch_what_they_caught_before():
    with pytest.raises(ConnectionError):
        login_to_a_shop_that_is_gone()
    with pytest.raises(ConnectionError):
        store_down()
    with pytest.raises(ValueError):
        forged_token()
    with pytest.raises(ValueError):
        bad_game_message()
    with pytest.raises(KeyError):
        unknown_instance()


def test_every_public_exception_class_has_the_one_root():
    for error in (*RAISERS, QuizFileError):
        assert issubclass(error, LabError), error
