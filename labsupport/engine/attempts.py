"""One client request, tried on one instance after another: when may the balancer try again?

When an attempt fails, the balancer has to decide whether sending the same
request to another instance is safe, and that depends on what the failed
instance may have done with it (``pool.py`` names the three ways an attempt
fails):

* **Not sent** (the connection was refused, or the path to the instance is
  cut). Nothing reached the instance, so trying another one is always safe.
* **No answer** (the connection broke after the request went out). The
  instance may have applied it before it died. Only a request that is safe to
  repeat is tried again: GET, PUT, DELETE and the like, or a POST that carries
  an ``Idempotency-Key`` (chapter 04 shows what a repeated plain POST does).
* **Timed out** (no answer within the balancer's request timeout,
  ``defences.py``). The instance has the request and may still apply it
  later, when it wakes up. A safe request is tried again only if the balancer
  was told to retry timeouts (``defend(retry_timeouts=True)``).

Every retry is also paid for: each request earns a share of a retry and each
retry spends one (``RetryBudget`` in ``defences.py``), so when every instance
is slow, retries cannot multiply the load. A retry the budget refuses sends
the last failure back to the client, saying so.

What the client gets when the balancer gives up says whether anything may
have happened: 503 with ``"outcome": "not_processed"`` (nothing was applied,
try again), 504 or 502 with ``"outcome": "unknown"`` (an instance may have
applied it). ``Attempts`` keeps that bookkeeping for one request;
``Balancer.handle`` makes the attempts. Chapters 05 (a kill mid-request) and
06 (timeouts and the retry budget, claim W10).
"""

from .messages import Response

__all__ = ["Attempts", "IDEMPOTENT_METHODS"]

IDEMPOTENT_METHODS = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
NOT_RETRIED = "; not retried: the balancer's retry budget is spent"


class Attempts:
    """The attempts made for one client request: where it went, what went wrong, whether to try again.

    ``tried`` lists the instances in order. Each failure method records what the
    client would get if the balancer stopped now (``failure``) and returns True
    when trying another instance is safe. ``start`` asks the retry budget
    before every attempt but the first.
    """

    def __init__(self, request, retries, retry_timeouts):
        self.safe = request.method in IDEMPOTENT_METHODS or bool(request.headers.get("Idempotency-Key"))
        self.retries = retries                  # the balancer's UnlimitedRetries or RetryBudget
        self.retry_timeouts = retry_timeouts
        self.tried = []
        self.maybe_applied = False              # did an attempt reach an instance that then failed to answer?
        self.failure = None                     # the answer if the last failed attempt is not retried
        self.retries.deposit()                  # every request earns its share of a retry

    def start(self, name):
        """An attempt on ``name`` begins; False if it is a retry the budget refuses (answer ``failure`` then)."""
        if self.tried and not self.retries.withdraw():
            self.failure.body["error"] += NOT_RETRIED
            return False
        self.tried.append(name)
        return True

    def follow(self, name):
        """The request goes to ``name`` because the last instance said it moved there: a redirect, not a retry."""
        self.tried.append(name)

    def not_sent(self, why):
        """Nothing reached the instance (``why`` says what happened): always safe to try another one."""
        self.failure = Response(503, {"error": f"{why}; nothing was applied", "outcome": "not_processed"},
                                headers={"Retry-After": "1"})
        return True

    def timed_out(self, name, seconds):
        """``name`` gave no answer within ``seconds``: try another if the request is safe and timeouts are retried."""
        self.maybe_applied = True
        self.failure = Response(504, {"error": f"{name} did not answer within {seconds:g} s; it may still apply "
                                               "this request later", "outcome": "unknown"})
        return self.safe and self.retry_timeouts

    def no_answer(self, name):
        """``name`` died with the request: try another only if the request is safe to repeat."""
        self.maybe_applied = True
        self.failure = Response(502, {"error": f"{name} died while handling this request; it may or may not have "
                                               "been applied. Send an Idempotency-Key to make retries safe.",
                                      "outcome": "unknown"})
        return self.safe

    def nowhere_left(self, noun):
        """No instance is left to try (``noun`` names what is balanced: "instance", "game server")."""
        why = f"no healthy {noun}" if not self.tried else f"tried {', '.join(self.tried)}; none could answer"
        if self.maybe_applied:
            return Response(502, {"error": f"{why}; an earlier attempt may have been applied", "outcome": "unknown"})
        return Response(503, {"error": f"{why}; the service is unavailable", "outcome": "not_processed"},
                        headers={"Retry-After": "1"})

    def answered(self, response):
        """The answer goes back; ``X-Retried-From`` names the instances tried before the one that answered."""
        if len(self.tried) > 1:
            response.headers["X-Retried-From"] = ", ".join(self.tried[:-1])
        return response
