"""Calls from rule code back into rulebench (the cache lives in Go)."""

import builtins

from rulebench.protocol import ProtocolError

# Set by the harness once the channel is open; None when the modules are
# imported outside a worker (then cache calls fail loudly instead of hanging).
channel = None
# The item (test or event) being evaluated, so Go can attribute each call to
# the right cache, clock and trace.
context = None


# During a replay's first pass an evaluation that reaches the cache is
# abandoned and handed to the worker that owns its detection, which runs it
# again in input order (see stream.py). `defer` turns that on; `deferred`
# notes that it happened, in case rule code swallowed the exception.
defer = False
deferred = False


class Deferred(BaseException):
    """Raised at a cache call during a replay's first pass."""


class CacheError(Exception):
    """The cache backend failed (throttled, access denied, unreachable...)."""


_ERRORS = {"CacheError": CacheError}


def call(message):
    global deferred
    if defer:
        deferred = True
        raise Deferred()
    if channel is None:
        raise RuntimeError("rulebench: the cache is only reachable from a rulebench worker")
    message["t"] = "cache"
    message["ctx"] = context
    reply = channel.exchange(message)
    if reply.get("t") != "cache_reply":
        raise ProtocolError("expected cache_reply, got %r" % reply.get("t"))
    error = reply.get("error")
    if error:
        name = error.get("type") or "CacheError"
        exc_type = _ERRORS.get(name) or getattr(builtins, name, None)
        if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
            exc_type = CacheError
        raise exc_type(error.get("message") or name)
    return reply.get("value")
