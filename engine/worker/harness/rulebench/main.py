"""The worker's main loop: answer rulebench's requests until the pipe closes."""

import importlib.abc
import importlib.machinery
import importlib.util
import os
import platform
import signal
import sys
import threading
import time

from rulebench import bridge, network
from rulebench.protocol import PROTOCOL_VERSION, Channel
from rulebench.runner import RuleTimeout, Runner, describe_error
from rulebench.stream import run_stream

# Names the harness itself provides; a repository global cannot replace them
# because the cache and event semantics depend on them.
RESERVED = ("panther_core", "panther_detection_helpers", "rulebench")


class Watchdog:
    """Interrupts the main thread when the current item overruns its timeout.

    Arming is a plain attribute write, cheap enough to do per event; a
    background thread watches the deadline and signals the main thread, whose
    handler raises RuleTimeout inside the rule code that is looping. Code that
    never returns to the interpreter (a C extension stuck in a loop) is left
    to the Go side, which kills the process.
    """

    def __init__(self):
        self._deadline = 0.0
        self._timeout = 0.0
        self._main = threading.main_thread().ident
        signal.signal(signal.SIGUSR1, self._on_signal)
        thread = threading.Thread(target=self._loop, name="rulebench-watchdog", daemon=True)
        thread.start()

    def arm(self, seconds):
        self._timeout = seconds or 0.0
        self._deadline = time.monotonic() + seconds if seconds and seconds > 0 else 0.0

    def disarm(self):
        self._deadline = 0.0

    def _loop(self):
        while True:
            deadline = self._deadline
            now = time.monotonic()
            if deadline and now >= deadline:
                signal.pthread_kill(self._main, signal.SIGUSR1)
                # Rules with a bare `except:` can swallow one interruption;
                # keep interrupting until the item ends or Go kills us.
                time.sleep(0.25)
                continue
            time.sleep(min(0.1, deadline - now) if deadline else 0.1)

    def _on_signal(self, signum, frame):
        deadline = self._deadline
        if deadline and time.monotonic() >= deadline:
            raise RuleTimeout("exceeded the %gs timeout" % self._timeout)


class GlobalFinder(importlib.abc.MetaPathFinder):
    """Makes every global helper importable by its GlobalID."""

    def __init__(self):
        self.paths = {}

    def find_spec(self, fullname, path=None, target=None):
        file_path = self.paths.get(fullname)
        if file_path is None or fullname.split(".")[0] in RESERVED:
            return None
        loader = importlib.machinery.SourceFileLoader(fullname, file_path)
        return importlib.util.spec_from_file_location(fullname, file_path, loader=loader)


def run_jobs(channel, runner, request_id, message):
    """Evaluate each job's items with its detection, loading it first if needed.

    With flush "item" every result is sent as soon as it is ready (stateful
    runs: Go must know exactly which events were applied if the process
    dies). With flush "job" a job's results go in one frame, which saves a
    write per test.
    """
    want_alert = bool(message.get("alert", True))
    timeout = message.get("timeout") or 0
    per_item = message.get("flush") == "item"
    for job_index, job in enumerate(message.get("jobs") or []):
        spec = job["detection"]
        load = None
        if spec["id"] not in runner.detections or job.get("reload"):
            load = runner.load(spec, timeout)
            if per_item:
                load.update({"t": "load", "id": request_id, "job": job_index})
                channel.write(load)
                load = None
        results = []
        for index, item in enumerate(job.get("items") or []):
            result = runner.evaluate(spec["id"], item, want_alert, timeout)
            if per_item:
                channel.write({"t": "item", "id": request_id, "job": job_index, "index": index, "result": result})
            else:
                results.append(result)
        if not per_item:
            frame = {"t": "job", "id": request_id, "job": job_index, "results": results}
            if load is not None:
                frame["load"] = load
            channel.write(frame)
    channel.write({"t": "done", "id": request_id})


def main(boot):
    # Compiled rules are cached outside the repository (never a __pycache__
    # in the user's tree), so a second run skips compiling every rule.
    prefix = boot.get("pycache_prefix")
    if prefix:
        sys.pycache_prefix = prefix
        sys.dont_write_bytecode = False
    else:
        sys.dont_write_bytecode = True
    cpu = boot.get("cpu")
    if isinstance(cpu, int) and cpu >= 0 and hasattr(os, "sched_setaffinity"):
        # Share a CPU with the Go thread serving this worker (see
        # affinity_linux.go): cache calls then cost a context switch, not a
        # cross-CPU wake-up.
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass
    channel = Channel()
    bridge.channel = channel
    finder = GlobalFinder()
    sys.meta_path.insert(0, finder)
    runner = Runner(Watchdog(), int(boot.get("capture_limit") or 65536))
    channel.write(
        {
            "t": "hello",
            "protocol": PROTOCOL_VERSION,
            "python": platform.python_version(),
            "executable": sys.executable,
            "pid": os.getpid(),
        }
    )
    while True:
        message = channel.read()
        if message is None:
            return
        kind = message.get("t")
        request_id = message.get("id")
        try:
            if kind == "configure":
                if message.get("cwd"):
                    os.chdir(message["cwd"])
                finder.paths = {g["id"]: g["path"] for g in message.get("globals") or []}
                for directory in message.get("sys_path") or []:
                    if directory not in sys.path:
                        sys.path.append(directory)
                network.configure(message.get("network"))
                errors = runner.configure(message.get("data_models") or [])
                channel.write({"t": "done", "id": request_id, "data_model_errors": errors})
            elif kind == "run":
                run_jobs(channel, runner, request_id, message)
            elif kind == "stream":
                if not run_stream(channel, runner, request_id, message):
                    return
            elif kind == "ping":
                channel.write({"t": "done", "id": request_id})
            elif kind == "network_stats":
                channel.write({"t": "done", "id": request_id, "network": network.stats()})
            elif kind == "exit":
                return
            else:
                channel.write(
                    {"t": "fail", "id": request_id, "error": {"type": "ProtocolError", "message": "unknown request %r" % kind}}
                )
        except Exception as exc:  # pylint: disable=broad-except
            channel.write({"t": "fail", "id": request_id, "error": describe_error(exc)})
