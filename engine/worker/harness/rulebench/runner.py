"""Loading detections and evaluating them on events, as Panther does."""

import importlib.machinery
import importlib.util
import io
import json
import os
import sys
import time
import traceback
from collections.abc import Mapping

from panther_core.data_model import DataModel
from panther_core.enriched_event import PantherEvent
from panther_core.immutable import ImmutableContainerMixin, json_encoder
from rulebench import bridge, network

MAX_GENERATED_FIELD_SIZE = 1000
MAX_DEDUP_STRING_SIZE = 1000
MAX_ALERT_CONTEXT_SIZE = 200 * 1024
MAX_DESTINATIONS = 10
TRUNCATED_SUFFIX = "... (truncated)"
SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")

# Order in which Panther calls the alert functions after a match.
ALERT_FUNCTIONS = (
    "title",
    "description",
    "reference",
    "severity",
    "runbook",
    "destinations",
    "dedup",
    "alert_context",
)

HARNESS_DIR = "<rulebench>"


class RuleTimeout(BaseException):
    """Raised in the main thread when an item runs past its deadline.

    A BaseException so that rules' own `except Exception:` blocks cannot
    swallow it.
    """


class Capture(io.TextIOBase):
    """stdout/stderr stand-in that keeps the first `limit` characters."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit
        self.parts = []
        self.kept = 0
        self.total = 0

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        self.total += len(text)
        room = self.limit - self.kept
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.kept += len(piece)
        return len(text)

    def getvalue(self):
        return "".join(self.parts)


def truncate(value, limit):
    if len(value) > limit:
        return value[: limit - len(TRUNCATED_SUFFIX)] + TRUNCATED_SUFFIX
    return value


def describe_error(exc, rule_file=None):
    """An exception as the workbench shows it: type, message, user frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if not f.filename.startswith(HARNESS_DIR)]
    shown = user or frames
    lines = traceback.format_list(shown)
    text = "Traceback (most recent call last):\n" + "".join(lines)
    text += "".join(traceback.format_exception_only(type(exc), exc))
    error = {
        "type": type(exc).__name__,
        "message": str(exc) if str(exc) else repr(exc),
        "traceback": text,
    }
    if shown:
        last = shown[-1]
        error["file"] = last.filename
        error["line"] = last.lineno
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        # A syntax error's place is in the exception, not in any frame.
        error["file"], error["line"] = exc.filename, exc.lineno
        if exc.filename == rule_file:
            error["rule_line"] = exc.lineno
    elif rule_file:
        in_rule = [f for f in frames if f.filename == rule_file]
        if in_rule:
            error["rule_line"] = in_rule[-1].lineno
    return error


def plain(value):
    """A function's return value as sent for display (the encoder does the rest)."""
    if isinstance(value, ImmutableContainerMixin):
        return value._container  # pylint: disable=protected-access
    return value


class Detection:
    """One rule, scheduled rule or policy, with its module loaded on demand."""

    def __init__(self, spec, data_models):
        self.id = spec["id"]
        self.kind = spec["kind"]
        self.path = spec["path"]
        self.display_name = spec.get("display_name") or ""
        self.severity = (spec.get("severity") or "INFO").upper()
        self.output_ids = list(spec.get("output_ids") or [])
        self.description = spec.get("description") or ""
        self.reference = spec.get("reference") or ""
        self.runbook = spec.get("runbook") or ""
        self.data_models = data_models
        self.module = None
        self.setup_error = None
        # Names of the functions the module defines, fixed at import: a
        # function that is not there is not looked up on every event.
        self.defined = frozenset()

    @property
    def main_function(self):
        return "policy" if self.kind == "policy" else "rule"

    def load(self):
        """Import the module under the detection's ID, outside sys.modules."""
        try:
            loader = importlib.machinery.SourceFileLoader(self.id, self.path)
            spec = importlib.util.spec_from_file_location(self.id, self.path, loader=loader)
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            main = getattr(module, self.main_function, None)
            if not callable(main):
                raise AttributeError(
                    "%s has no %s() function" % (os.path.basename(self.path), self.main_function)
                )
            self.module = module
            self.setup_error = None
            self.defined = frozenset(
                n for n in (self.main_function,) + ALERT_FUNCTIONS if callable(getattr(module, n, None))
            )
        except BaseException as exc:  # a rule may even sys.exit() at import
            if isinstance(exc, (KeyboardInterrupt, RuleTimeout)):
                raise
            self.module = None
            self.setup_error = describe_error(exc, self.path)
        return self.setup_error

    def functions(self):
        return [n for n in (self.main_function,) + ALERT_FUNCTIONS if n in self.defined]

    def make_event(self, data):
        if not isinstance(data, Mapping):
            raise TypeError("event must be a JSON object, got %s" % type(data).__name__)
        data_model = None
        if self.kind == "rule":
            data_model = self.data_models.for_log_type(data.get("p_log_type"))
        return PantherEvent(data, data_model)

    def alerts_on(self, output):
        if self.kind == "policy":
            return output is False
        return output is True


class DataModels:
    """Data models by log type; their Python modules import lazily."""

    def __init__(self, specs):
        self.by_log_type = {}
        self.errors = {}
        for spec in specs:
            model_id = spec["id"]
            try:
                model = DataModel(model_id, spec.get("mappings") or [], self._resolver(spec))
            except Exception as exc:  # pylint: disable=broad-except
                self.errors[model_id] = describe_error(exc)
                continue
            for log_type in spec.get("log_types") or []:
                self.by_log_type[log_type] = model

    @staticmethod
    def _resolver(spec):
        path = spec.get("path")
        if not path:
            return None
        state = {}

        def resolve(name):
            if "module" not in state:
                loader = importlib.machinery.SourceFileLoader(spec["id"], path)
                module_spec = importlib.util.spec_from_file_location(spec["id"], path, loader=loader)
                module = importlib.util.module_from_spec(module_spec)
                loader.exec_module(module)
                state["module"] = module
            fn = getattr(state["module"], name, None)
            if not callable(fn):
                raise AssertionError("DataModel is missing method named [%s]" % name)
            return fn

        return resolve

    def for_log_type(self, log_type):
        if not isinstance(log_type, str):
            return None
        return self.by_log_type.get(log_type)


class Evaluation:
    """Runs one detection on one event and collects what Panther would report."""

    def __init__(self, detection, want_alert):
        self.detection = detection
        self.want_alert = want_alert
        self.functions = {}
        self.current = None

    def call(self, name, event):
        if name not in self.detection.defined:
            return False, None
        # Looked up now rather than at import so a test's mocks apply.
        fn = getattr(self.detection.module, name)
        # current stays set if a RuleTimeout or SystemExit escapes, so the
        # interruption is reported against the function that was running.
        self.current = name
        record = {}
        self.functions[name] = record
        started = time.perf_counter()
        try:
            value = fn(event)
        except Exception as exc:  # pylint: disable=broad-except
            record["error"] = describe_error(exc, self.detection.path)
            value = exc
        else:
            record["output"] = plain(value)
        record["duration_ns"] = int((time.perf_counter() - started) * 1e9)
        self.current = None
        return True, value

    def fail(self, name, message, kind="FunctionReturnTypeError"):
        record = self.functions.setdefault(name, {})
        record["error"] = {"type": kind, "message": message, "traceback": ""}

    def type_error(self, name, value, expected):
        self.fail(
            name,
            "detection [%s] method [%s] returned [%s], expected [%s]"
            % (self.detection.id, name, type(value).__name__, expected),
        )

    def run(self, event):
        det = self.detection
        main = det.main_function
        _, output = self.call(main, event)
        result = {"functions": self.functions}
        if isinstance(output, Exception):
            result["error"] = self.functions[main]["error"]
            return result
        result["output"] = plain(output)
        if not isinstance(output, bool):
            self.type_error(main, output, "bool")
            result["error"] = self.functions[main]["error"]
            return result
        alerting = det.alerts_on(output)
        result["alert"] = alerting
        if alerting and self.want_alert:
            result["alert_fields"] = self.alert_fields(event)
        return result

    def _string(self, name, event, limit=MAX_GENERATED_FIELD_SIZE):
        defined, value = self.call(name, event)
        if not defined or isinstance(value, Exception):
            return None
        if not isinstance(value, str):
            self.type_error(name, value, "str")
            return None
        return truncate(value, limit) if value else None

    def alert_fields(self, event):
        det = self.detection
        fields = {}

        title = self._string("title", event)
        fields["title"] = title or det.display_name or det.id

        fields["description"] = self._string("description", event) or det.description
        fields["reference"] = self._string("reference", event) or det.reference

        severity = det.severity
        defined, value = self.call("severity", event)
        if defined and not isinstance(value, Exception):
            if not isinstance(value, str):
                self.type_error("severity", value, "str")
            elif value.upper() == "DEFAULT":
                pass
            elif value.upper() in SEVERITIES:
                severity = value.upper()
            else:
                self.fail(
                    "severity",
                    "Expected severity to be any of the following: [%s], got [%s] instead."
                    % (", ".join(SEVERITIES), value.upper()),
                    "AssertionError",
                )
        fields["severity"] = severity

        fields["runbook"] = self._string("runbook", event) or det.runbook

        destinations = list(det.output_ids)
        defined, value = self.call("destinations", event)
        if defined and not isinstance(value, Exception) and value is not None:
            if not isinstance(value, list) or not all(isinstance(x, (str, bool)) for x in value):
                self.fail(
                    "destinations",
                    "detection [%s] method [destinations] returned [%s], expected a list"
                    % (det.id, type(value).__name__),
                )
            elif not value:
                fields["suppressed"] = True
                destinations = []
            else:
                destinations = [str(x) for x in value][:MAX_DESTINATIONS]
        fields["destinations"] = destinations

        dedup = self._string("dedup", event, MAX_DEDUP_STRING_SIZE)
        fields["dedup"] = dedup or truncate(fields["title"], MAX_DEDUP_STRING_SIZE)

        defined, value = self.call("alert_context", event)
        context = "{}"
        if defined and not isinstance(value, Exception):
            if not isinstance(value, Mapping):
                self.type_error("alert_context", value, "Mapping")
                context = json.dumps({"_error": self.functions["alert_context"]["error"]["message"]})
            else:
                try:
                    context = json.dumps(value, default=json_encoder)
                except Exception as exc:  # pylint: disable=broad-except
                    self.functions["alert_context"]["error"] = describe_error(exc, det.path)
                    context = json.dumps({"_error": repr(exc)})
                else:
                    if len(context) > MAX_ALERT_CONTEXT_SIZE:
                        message = (
                            "alert_context size is [%d] characters, bigger than maximum of [%d] characters"
                            % (len(context), MAX_ALERT_CONTEXT_SIZE)
                        )
                        self.functions["alert_context"]["warning"] = message
                        context = json.dumps({"_error": message})
        elif isinstance(value, Exception):
            context = json.dumps({"_error": repr(value)})
        fields["alert_context"] = context
        return fields


_MISSING = object()


def apply_mocks(module, mocks):
    """Replace names in the rule's module for one test; returns what to restore.

    The same as unittest.mock.patch.object(module, name, MagicMock(...)) for
    each mock, done directly: patch's bookkeeping costs more than the mock.
    """
    from unittest.mock import MagicMock  # imported on first use: most runs have no mocks

    saved = []
    try:
        for entry in mocks:
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError("mock without an objectName")
            original = module.__dict__.get(name, _MISSING)
            if original is _MISSING:
                raise AttributeError(
                    "mock target %r does not exist in %s: Mocks can only replace names the rule's "
                    "module defines or imports" % (name, os.path.basename(getattr(module, "__file__", "") or "the rule"))
                )
            saved.append((name, original))
            setattr(module, name, MagicMock(return_value=entry.get("value")))
    except BaseException:
        stop_mocks(module, saved)
        raise
    return saved


def stop_mocks(module, saved):
    for name, original in reversed(saved):
        setattr(module, name, original)


class Runner:
    """Everything a worker holds: detections, data models, output capture."""

    def __init__(self, watchdog, capture_limit):
        self.watchdog = watchdog
        self.capture_limit = capture_limit
        self.detections = {}
        self.data_models = DataModels([])

    def configure(self, data_models):
        self.data_models = DataModels(data_models)
        for det in self.detections.values():
            det.data_models = self.data_models
        return {k: v for k, v in self.data_models.errors.items()}

    def load(self, spec, timeout):
        det = Detection(spec, self.data_models)
        self.detections[det.id] = det
        capture = Capture(self.capture_limit)
        error = self._guarded(lambda: det.load(), capture, timeout)
        reply = {"functions": det.functions()}
        if network.calls is not None or network.learned is not None:
            network.attach(reply)
        if error:
            det.setup_error = error
        if det.setup_error:
            reply["error"] = det.setup_error
        if capture.total:
            reply["stdout"] = capture.getvalue()
        return reply

    def _guarded(self, fn, capture, timeout):
        """Run fn with output captured and the deadline armed; returns an error dict or None."""
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        self.watchdog.arm(timeout)
        try:
            fn()
            return None
        except RuleTimeout as exc:
            return describe_error(exc)
        except SystemExit as exc:
            return {"type": "SystemExit", "message": "code called exit(%r)" % (exc.code,), "traceback": ""}
        finally:
            self.watchdog.disarm()
            sys.stdout, sys.stderr = saved

    def evaluate(self, det_id, item, want_alert, timeout):
        """One test or event: returns the result dict sent back to Go."""
        det = self.detections.get(det_id)
        if det is None:
            return {"error": {"type": "RulebenchError", "message": "detection %s is not loaded" % det_id}}
        if det.setup_error:
            return {"error": det.setup_error, "setup": True}
        capture = Capture(self.capture_limit)
        evaluation = Evaluation(det, want_alert)
        result = {}
        bridge.context = item.get("ctx")
        started = time.perf_counter()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        patchers = []
        self.watchdog.arm(timeout)
        try:
            event = det.make_event(item.get("event"))
            if item.get("mocks"):
                patchers = apply_mocks(det.module, item["mocks"])
            result = evaluation.run(event)
        except RuleTimeout as exc:
            result = self._interrupted(evaluation, describe_error(exc, det.path))
        except SystemExit as exc:
            error = {
                "type": "SystemExit",
                "message": "rule code called exit(%r); rulebench kept running" % (exc.code,),
                "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            }
            result = self._interrupted(evaluation, error)
        except Exception as exc:  # pylint: disable=broad-except
            result = {"error": describe_error(exc, det.path), "functions": evaluation.functions}
        finally:
            self.watchdog.disarm()
            try:
                stop_mocks(det.module, patchers)
            finally:
                sys.stdout, sys.stderr = saved
                bridge.context = None
        result["duration_ns"] = int((time.perf_counter() - started) * 1e9)
        if network.calls is not None or network.learned is not None:
            network.attach(result)
        if capture.total:
            result["stdout"] = capture.getvalue()
            if capture.total > capture.kept:
                result["stdout_truncated"] = capture.total
        return result

    @staticmethod
    def _interrupted(evaluation, error):
        name = evaluation.current
        if name:
            evaluation.functions.setdefault(name, {})["error"] = error
        return {"error": error, "functions": evaluation.functions, "interrupted": name or ""}
