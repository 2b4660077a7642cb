"""lifecycle.py: one shell for everything the lab starts: registered while it runs, closed once, ``with``.

``shutdown_all()`` can only close what registered; ``close()`` twice must not
release anything twice; a server that is closed can start again.
"""

from labsupport import Cluster, shutdown_all
from labsupport.engine import Application, Closable, Instance, Response, running


class Counted(Closable):
    def __init__(self):
        self.releases = 0
        self._opened()

    def _close(self):
        self.releases += 1


def test_close_runs_the_subclass_once_and_unregisters():
    thing = Counted()
    assert thing in running() and not thing.closed
    thing.close()
    thing.close()
    assert thing.releases == 1 and thing.closed and thing not in running()


def test_shutdown_all_closes_whatever_is_still_registered():
    thing = Counted()
    with Cluster.stateful(instances=1) as shop:
        pass
    assert shop.closed and shop not in running()
    shutdown_all()
    assert thing.releases == 1 and thing not in running()


def test_with_starts_and_closes_and_a_closed_server_can_start_again():
    class Ok(Application):
        def handle(self, request, instance):
            return Response(200, {})

    with Instance(Ok, name="again") as instance:
        assert instance in running() and instance.alive
    assert instance.closed and instance not in running() and not instance.alive
    instance.start()
    assert instance in running() and instance.alive and not instance.closed
    instance.close()
