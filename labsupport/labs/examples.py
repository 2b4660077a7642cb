"""More stateless servers, each small enough to read in one go (chapter 01, claim S4).

The shop is one stateless service: a JSON API that checks a signed token and
keeps carts in a database. The same idea covers a static file server (its only
state is files on disk, which every copy reads alike), a serverless-style
function (the platform builds a fresh handler for every call, so nothing can
survive from one call to the next) and a microservice that computes its answer
from the request alone. Each is an ``Application`` an ``Instance`` runs:
``handle(request, instance) -> Response``, and ``held_state()`` to check that
it keeps nothing (the walk finds ``FunctionPerCall``'s kept handler when
``fresh=False``).

    with static_file_server(folder) as site:      # a started Instance
        requests.get(site.url + "/index.html")
"""

import mimetypes
import pathlib

from ..checks import is_whole_number
from ..engine.application import Application
from ..engine.instance import HTTPError, Instance, Response
from ..errors import InvalidArgumentError

__all__ = ["StaticFiles", "FunctionPerCall", "VisitCounter", "PriceQuotes", "PRICES",
           "static_file_server", "function_server", "price_server"]

PRICES = {"book": 12.0, "pen": 1.5, "mug": 8.0, "lamp": 30.0, "desk": 150.0, "chair": 85.0}


class StaticFiles(Application):
    """Serve the files of one folder, read-only: every copy of this server sends the same bytes."""

    not_state = {"folder": "configuration: the folder it serves (files on disk, the same for every copy)"}

    def __init__(self, folder):
        self.folder = pathlib.Path(folder).resolve()
        if not self.folder.is_dir():
            raise InvalidArgumentError(f"folder {str(folder)!r} is not a directory; pass the folder to serve")

    def handle(self, request, instance):
        if request.method not in ("GET", "HEAD"):
            raise HTTPError(405, f"{request.method} is not allowed: static files are read-only; use GET",
                            headers={"Allow": "GET, HEAD"})
        name = request.path.lstrip("/") or "index.html"
        try:
            path = (self.folder / name).resolve()
            found = self.folder in path.parents and path.is_file()
        except (OSError, ValueError):            # a name the file system cannot even look up
            found = False
        if not found:                            # includes "../" tricks that point outside the folder
            raise HTTPError(404, f"no file {request.path!r} here")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Response(200, raw=path.read_bytes(), content_type=kind)


class FunctionPerCall(Application):
    """Serverless-style: build a new handler for every request and throw it away afterwards.

    ``make_handler()`` returns a callable taking the request's JSON (a dict)
    and returning a JSON-able answer. With ``fresh=False`` one handler is kept
    for the life of the instance instead, as an ordinary server would.
    """

    not_state = {"make_handler": "code: what builds a handler", "fresh": "configuration"}

    def __init__(self, make_handler, fresh=True):
        if not callable(make_handler):
            raise InvalidArgumentError(f"make_handler must be a class or function that builds a handler, "
                                       f"not {make_handler!r}")
        self.make_handler = make_handler
        self.fresh = fresh
        self._kept = None if fresh else make_handler()

    def handle(self, request, instance):
        handler = self.make_handler() if self.fresh else self._kept
        event = request.json() if request.body else {}
        return Response(200, handler(event))


class VisitCounter:
    """A handler that tries to remember: it counts its calls in ``self``."""

    def __init__(self):
        self.calls = 0

    def __call__(self, event):
        self.calls += 1
        return {"calls_this_handler_has_seen": self.calls}


class PriceQuotes(Application):
    """A microservice that keeps nothing: POST /quote {"items": {sku: qty}} -> the total.

    The price list is configuration shipped with the code, the same in every
    copy; the answer depends on the request alone.
    """

    def handle(self, request, instance):
        if request.path != "/quote":
            raise HTTPError(404, f"no route {request.path!r}; try POST /quote")
        if request.method != "POST":
            raise HTTPError(405, f"{request.method} is not allowed; use POST /quote", headers={"Allow": "POST"})
        items = request.json().get("items")
        if not isinstance(items, dict) or not items:
            raise HTTPError(400, 'send {"items": {"book": 2}}: a non-empty object of sku -> quantity')
        total = 0.0
        for sku, qty in items.items():
            if sku not in PRICES:
                raise HTTPError(400, f"unknown sku {sku!r}; known: {', '.join(PRICES)}")
            if not is_whole_number(qty, 1, 1000):
                raise HTTPError(400, f"quantity of {sku!r} must be a whole number from 1 to 1000, not {qty!r}")
            total += PRICES[sku] * qty
        return Response(200, {"items": items, "total": round(total, 2)})


def static_file_server(folder, name="static-1", **options):
    """A ``Instance`` (use it in ``with``, or call ``start()``) serving the files in ``folder``."""
    app = StaticFiles(folder)                   # checks the folder now, not in the server thread
    return Instance(lambda: app, name=name, **options)


def function_server(make_handler, name="function-1", fresh=True, **options):
    """A ``Instance`` running ``make_handler``'s handlers, a fresh one per call unless ``fresh=False``."""
    FunctionPerCall(make_handler)               # checks the argument now
    return Instance(lambda: FunctionPerCall(make_handler, fresh), name=name, **options)


def price_server(name="quotes-1", **options):
    """A ``Instance`` running the ``PriceQuotes`` microservice."""
    return Instance(PriceQuotes, name=name, **options)
