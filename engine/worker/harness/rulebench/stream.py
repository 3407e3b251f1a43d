"""Replay: many events through many detections, as fast as CPython allows.

A stream session loads its detections once, then evaluates batches of raw
events until Go ends it. Each event is parsed once and shown to every
detection its log type routes it to. Only what matters comes back: matches
and errors (with everything a unit test would show), events that could not
be parsed, and per-detection counters and a time histogram.

Batches come in two kinds. A shard batch (every worker gets one per round)
is evaluated with the cache switched off: an evaluation that reaches the
cache is abandoned at its first call, before any effect, and reported as
deferred. An owned batch carries, for the detections this worker owns, the
events deferred in a finished round, in input order: they run again here,
with the cache. So a detection's cache sees its events in input order,
whatever the number of workers, and no worker ever waits for another.

Progress is published in a small shared-memory file (the event being
evaluated, the detection it is in, the last event finished): Go reads it to
tell a hung worker from a slow one and to know which event a dead worker was
on. Results go back once per batch; if the process dies, Go sends again the
events whose results it never got, answering their cache calls from what it
recorded the first time.
"""

import codecs
import json
import mmap
import os
import struct
import sys
import time

from rulebench import bridge
from rulebench import network as net
from panther_core.enriched_event import PantherEvent
from rulebench.bridge import Deferred
from rulebench.runner import Capture, Detection, Evaluation, RuleTimeout, describe_error, plain

# Layout of the progress file: done, current, detection (native int64s;
# detection is -1 while parsing).
_PROGRESS = struct.Struct("=qqq")
DET_BITS = 16
# What JSON counts as whitespace (str.strip() alone would allow more).
_JSON_SPACE = " \t\n\r"


def _ascii(blob):
    """The batch as text when it is pure ASCII (then a character offset is a
    byte offset, and events can be scanned in place), else None."""
    try:
        return codecs.ascii_decode(blob)[0]
    except UnicodeDecodeError:
        return None


class Progress:
    def __init__(self, path):
        fd = os.open(path, os.O_RDWR)
        try:
            self.mm = mmap.mmap(fd, _PROGRESS.size)
        finally:
            os.close(fd)
        # Item assignment on a cast view is the cheapest write per event.
        self.words = memoryview(self.mm).cast("q")


class Session:
    def __init__(self, channel, runner, request_id, message):
        self.channel = channel
        self.runner = runner
        self.request_id = request_id
        self.timeout = message.get("timeout") or 0
        self.want_alert = bool(message.get("alert", True))
        self.dets = []
        for index, spec in enumerate(message.get("detections") or []):
            if spec.get("skip"):
                det = Detection(spec, runner.data_models)
                det.setup_error = {"type": "ImportError", "message": spec["skip"], "traceback": ""}
                self.dets.append(det)
                continue
            if spec["id"] not in runner.detections:
                reply = runner.load(spec, self.timeout)
                reply.update({"t": "load", "id": request_id, "job": index})
                channel.write(reply)
            self.dets.append(runner.detections[spec["id"]])
        self.all = [i for i in range(len(self.dets))] if message.get("all") else None
        self.routes = {lt: tuple(idx) for lt, idx in (message.get("routes") or {}).items()}
        self.progress = Progress(message["progress"])
        # Main functions looked up once: replays apply no mocks.
        self.fns = [getattr(d.module, d.main_function, None) if d.module is not None else None for d in self.dets]
        # Per detection: True when it gets the data model (rules), False for
        # other kinds; policies are None so that False from them (an alert)
        # never takes the "no match" fast path.
        self.scan = json.JSONDecoder().scan_once
        self.modeled = [True if d.kind == "rule" else (None if d.kind == "policy" else False) for d in self.dets]
        self._reset()

    def _reset(self):
        self.items = []
        self.bad = []
        self.deferred = []
        # Per detection index, the counters of this flush (None: not run).
        self.stats = [None] * len(self.dets)

    def flush(self, batch_round, final, upto):
        frame = {"t": "results", "id": self.request_id, "round": batch_round, "final": final, "upto": upto}
        if self.items:
            frame["items"] = self.items
        if self.bad:
            frame["bad"] = self.bad
        if self.deferred:
            frame["deferred"] = self.deferred
        stats = [[det] + st for det, st in enumerate(self.stats) if st is not None]
        if stats:
            frame["stats"] = stats
        self.channel.write(frame)
        self._reset()

    def run(self):
        self.channel.write({"t": "ready", "id": self.request_id})
        try:
            while True:
                message = self.channel.read()
                if message is None:
                    return False
                kind = message.get("t")
                if kind == "end":
                    break
                if kind == "batch":
                    self.batch(message)
        finally:
            bridge.context = None
        self.channel.write({"t": "done", "id": self.request_id})
        return True

    def batch(self, message):
        """Evaluate one batch. The loop is written for speed: per event it
        parses once, wraps once, and per detection does little more than
        call the main function and count; matches and errors take the slow
        path (_slow) that builds a full result."""
        batch_round = message["round"]
        seqs = message["seqs"]
        sizes = message["sizes"]
        blob = message["_blob"]
        owned = message.get("dets")  # per event: the owned detections to run
        text = _ascii(blob)
        if text is None:
            blob = bytes(blob)
        scan = self.scan
        deferred = self.deferred
        dets = self.dets
        fns = self.fns
        modeled_kind = self.modeled
        routes = self.routes
        everything = self.all
        words = self.progress.words  # [done, current, detection]
        watchdog = self.runner.watchdog
        timeout = self.timeout if self.timeout and self.timeout > 0 else 0.0
        monotonic = time.monotonic
        stats = self.stats
        perf = time.perf_counter_ns
        make_event = self.runner.data_models.for_log_type
        capture = Capture(self.runner.capture_limit)
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        offset = 0
        last = -1
        # With the cache off (a shard batch) a cache call raises before it
        # reads the context, so only owned batches need to set it.
        with_cache = owned is not None
        bridge.defer = not with_cache
        try:
            for position, seq in enumerate(seqs):
                start = offset
                offset += sizes[position]
                words[1] = seq
                words[2] = -1
                try:
                    # The C scanner straight on the batch's text: json.loads
                    # would copy the event, sniff its encoding and run two
                    # regular expressions around the same scan.
                    if text is None:
                        raise ValueError
                    data, stop = scan(text, start)
                    if stop != offset and text[stop:offset].strip(_JSON_SPACE):
                        raise ValueError
                    if data.__class__ is not dict:
                        raise ValueError
                except (ValueError, StopIteration, RecursionError):
                    data = self._parse_slow(blob, start, offset, seq)
                    if data is None:
                        words[0] = seq
                        last = seq
                        continue
                log_type = data.get("p_log_type")
                if with_cache:
                    targets = owned[position]
                else:
                    targets = everything if everything is not None else routes.get(log_type, ())
                if targets:
                    # watchdog.arm(), inlined: this runs for every event.
                    watchdog._timeout = timeout
                    watchdog._deadline = monotonic() + timeout if timeout else 0.0
                    modeled = plain_event = None
                    for det_index in targets:
                        fn = fns[det_index]
                        if fn is None:
                            continue
                        if modeled_kind[det_index]:
                            if modeled is None:
                                modeled = PantherEvent(data, make_event(log_type))
                            event = modeled
                        else:
                            if plain_event is None:
                                plain_event = PantherEvent(data)
                            event = plain_event
                        if with_cache:
                            bridge.context = (seq << DET_BITS) | det_index
                        words[2] = det_index
                        printed = capture.total
                        error = None
                        bridge.deferred = False
                        st = stats[det_index]
                        if st is None:
                            st = stats[det_index] = [0, 0, 0, 0, {}, 0]
                        n = st[0] + 1
                        st[0] = n
                        # Time the first evaluations and then one in eight:
                        # the profile's mean and p99 need no more, and two
                        # clock reads per call are a measurable share of a
                        # cheap rule.
                        timed = n <= 1024 or not n & 7
                        if timed:
                            started = perf()
                        try:
                            output = fn(event)
                        except Deferred:
                            output = None
                        except (Exception, RuleTimeout, SystemExit) as exc:  # pylint: disable=broad-except
                            error = exc
                            output = None
                        elapsed = perf() - started if timed else 0
                        if bridge.deferred:
                            # Reached the cache: the owner runs it, in order.
                            st[0] = n - 1
                            deferred.append([seq, det_index])
                            if net.calls is not None:
                                net.discard()
                            continue
                        if timed:
                            st[3] += elapsed
                            st[5] += 1
                            # Four histogram buckets per power of two (~19% wide).
                            bits = elapsed.bit_length()
                            b = elapsed if bits < 3 else bits * 4 + ((elapsed >> (bits - 3)) & 3)
                            hist = st[4]
                            hist[b] = hist.get(b, 0) + 1
                        if error is None and output is False and modeled_kind[det_index] is not None:
                            if net.calls is not None:
                                # Only matches and errors go back; the calls
                                # are still counted in network.stats().
                                net.discard()
                            continue  # the common case: no match
                        self._slow(dets[det_index], det_index, seq, event, output, error, elapsed, st, capture, printed)
                    watchdog._deadline = 0.0
                words[0] = seq
                last = seq
        finally:
            bridge.defer = False
            sys.stdout, sys.stderr = saved
            watchdog.disarm()
        self.flush(batch_round, True, last)

    def _parse_slow(self, blob, start, stop, seq):
        """Parse one event the standard way, for what the fast path turned
        down (non-ASCII text, stray whitespace, a byte-order mark...) and for
        json's own error message; None when the event is bad."""
        try:
            data = json.loads(bytes(blob[start:stop]))
            if data.__class__ is not dict:
                raise ValueError("not a JSON object (found %s)" % type(data).__name__)
        except ValueError as exc:
            self.bad.append([seq, str(exc)])
            return None
        except RecursionError:
            self.bad.append([seq, "nested too deeply for Python's json module"])
            return None
        return data

    def _slow(self, det, det_index, seq, event, output, error, elapsed, st, capture, printed):
        main = det.main_function
        if error is None and output.__class__ is bool:
            if output is not (det.kind != "policy"):
                if net.calls is not None:
                    net.discard()
                return
            evaluation = Evaluation(det, self.want_alert)
            evaluation.functions[main] = {"output": output, "duration_ns": elapsed}
            result = {"functions": evaluation.functions, "output": output, "alert": True, "duration_ns": elapsed}
            try:
                if self.want_alert:
                    result["alert_fields"] = evaluation.alert_fields(event)
            except Deferred:
                pass
            except RuleTimeout as exc:
                name = evaluation.current or "alert functions"
                evaluation.functions.setdefault(name, {})["error"] = describe_error(exc, det.path)
            if bridge.deferred:
                # An alert function reached the cache: the owner runs the
                # whole evaluation again, in order. Undo this one's count.
                st[0] -= 1
                if elapsed:
                    st[3] -= elapsed
                    st[5] -= 1
                    bits = elapsed.bit_length()
                    b = elapsed if bits < 3 else bits * 4 + ((elapsed >> (bits - 3)) & 3)
                    st[4][b] -= 1
                self.deferred.append([seq, det_index])
                if net.calls is not None:
                    net.discard()
                return
            st[1] += 1
            self._keep(result, seq, det_index, capture, printed)
            return
        st[2] += 1
        if error is None:
            message = "detection [%s] method [%s] returned [%s], expected [bool]" % (
                det.id,
                main,
                type(output).__name__,
            )
            detail = {"type": "FunctionReturnTypeError", "message": message, "traceback": ""}
            record = {"output": plain(output), "error": detail, "duration_ns": elapsed}
        elif isinstance(error, SystemExit):
            detail = {"type": "SystemExit", "message": "rule code called exit(%r); rulebench kept running" % (error.code,), "traceback": ""}
            record = {"error": detail, "duration_ns": elapsed}
        else:
            detail = describe_error(error, det.path)
            record = {"error": detail, "duration_ns": elapsed}
        result = {"functions": {main: record}, "error": detail, "duration_ns": elapsed}
        if output is not None and error is None:
            result["output"] = plain(output)
        self._keep(result, seq, det_index, capture, printed)

    def _keep(self, result, seq, det_index, capture, printed):
        if net.calls is not None or net.learned is not None:
            net.attach(result)
        if capture.total != printed:
            text = capture.getvalue()
            # The capture is per batch; keep what this evaluation printed.
            result["stdout"] = text[min(printed, len(text)) :]
        self.items.append([seq, det_index, result])


def run_stream(channel, runner, request_id, message):
    """Serve one replay session; False when Go closed the pipe mid-session."""
    return Session(channel, runner, request_id, message).run()
