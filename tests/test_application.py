"""application.py: what an instance runs is an ``Application``, called, never probed.

The instance passes itself to ``handle`` (so an answer can say who served
it), refuses a factory that does not make an ``Application``, and calls the
application's ``close()`` after a graceful stop only: a crash tidies nothing.
"""

import pytest

from labsupport import InvalidArgumentError
from labsupport.engine import Application, Instance, Response
from tests.http_util import call


class Tidy(Application):
    """Says who served each request, and remembers whether it was closed."""

    closed_apps = []

    def handle(self, request, instance):
        return Response(200, {"served by": instance.name, "version": instance.version})

    def close(self):
        Tidy.closed_apps.append(self)


def test_handle_is_given_the_instance_serving_the_request():
    with Instance(Tidy, name="api-7", version="v3") as instance:
        assert call(instance.url, "GET", "/")[2] == {"served by": "api-7", "version": "v3"}


def test_close_runs_after_a_graceful_stop_and_never_after_a_crash():
    Tidy.closed_apps.clear()
    instance = Instance(Tidy, name="api").start()
    crashed = instance.app
    instance.kill()
    assert crashed not in Tidy.closed_apps
    instance.start()
    stopped = instance.app
    instance.stop()
    assert Tidy.closed_apps == [stopped]
    instance.close()


def test_a_factory_that_does_not_make_an_application_is_refused_with_what_to_do():
    class JustAnObject:
        def handle(self, request):
            return Response(200, {})

    instance = Instance(JustAnObject, name="probe-me")
    with pytest.raises(InvalidArgumentError, match="subclass labsupport.engine.Application"):
        instance.start()
    assert instance.status == "new" and instance.app is None


def test_an_application_that_forgets_handle_costs_a_500_not_the_server():
    class Forgetful(Application):
        pass

    with Instance(Forgetful) as instance:
        status, _, body = call(instance.url, "GET", "/")
        assert status == 500 and "Traceback" not in body["error"]
        assert instance.events.messages(1, kind="error") == ["NotImplementedError while handling GET /"]
