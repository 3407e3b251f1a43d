"""Framed JSON over the two pipes rulebench gave this process.

Each frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON. fd 3 carries requests from Go, fd 4 carries replies to Go; the child's
own stdout and stderr are never used for the protocol because rule code
prints to them.
"""

import json
import math
import os
import struct
import threading

PROTOCOL_VERSION = 1
MAX_FRAME = 512 << 20

_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    pass


class Channel:
    def __init__(self, read_fd=3, write_fd=4):
        self._rfd = read_fd
        self._wfd = write_fd
        self._buf = bytearray()
        # Requests that arrived while a call waited for its answer (a replay
        # sends the next batch before the current one is done).
        self._pending = []
        # Rule code may call the cache from its own threads; one exchange at
        # a time keeps requests and replies paired.
        self.lock = threading.RLock()

    def _fill(self, size):
        """Buffer at least size bytes; False when Go closed the pipe first.
        Reads are large: one syscall usually brings a whole frame, header
        and body, which matters for the cache-call round trip."""
        buf = self._buf
        while len(buf) < size:
            chunk = os.read(self._rfd, max(65536, size - len(buf)))
            if not chunk:
                return False
            buf += chunk
        return True

    def read(self):
        """The next message from Go, or None when Go closed the pipe."""
        if self._pending:
            return self._pending.pop(0)
        return self._read_frame()

    def _read_frame(self):
        buf = self._buf
        if len(buf) < 4 and not self._fill(4):
            return None
        (size,) = _HEADER.unpack_from(buf)
        if size > MAX_FRAME:
            raise ProtocolError("frame of %d bytes is over the limit" % size)
        end = 4 + size
        if len(buf) < end and not self._fill(end):
            return None
        with memoryview(buf) as view:
            payload = bytes(view[4:end])
        # Deleting from the front of a bytearray moves its start, not its bytes.
        del buf[:end]
        # A frame may carry raw bytes after its JSON header, separated by a
        # newline (Go's JSON never contains a raw one): replay batches send
        # events exactly as read, unparsed.
        split = payload.find(b"\n")
        if split < 0:
            return _loads(payload.decode("utf-8"))
        message = _loads(payload[:split].decode("utf-8"))
        message["_blob"] = memoryview(payload)[split + 1 :]
        return message

    def write(self, message):
        data = encode(message)
        view = memoryview(_HEADER.pack(len(data)) + data)
        written = os.write(self._wfd, view)
        if written == len(view):
            return
        view = view[written:]
        while view:
            written = os.write(self._wfd, view)
            view = view[written:]

    def exchange(self, message):
        """Send a request to Go and wait for its reply (used for cache calls)."""
        with self.lock:
            self.write(message)
            while True:
                reply = self._read_frame()
                if reply is None:
                    raise ProtocolError("rulebench closed the channel during a call")
                if reply.get("t") == "cache_reply":
                    return reply
                self._pending.append(reply)


def _sanitize(value):
    # JSON has no NaN or Infinity; Go's decoder would reject the whole frame.
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    return value


def _default(value):
    # Rule outputs are shown, not re-used: anything JSON cannot hold is sent
    # in the form a person reads best.
    container = getattr(value, "_container", None)
    if container is not None:
        return container
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return repr(value)


# Built once: json.dumps with options builds a new encoder per call, a
# measurable share of a cache call's round trip.
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False, default=_default)
_loads = json.JSONDecoder().decode


def encode(message):
    try:
        text = _ENCODER.encode(message)
    except ValueError:
        text = _ENCODER.encode(_sanitize(message))
    # Lone surrogates from rule output cannot be encoded as UTF-8.
    return text.encode("utf-8", "backslashreplace")
