"""Baseline for BenchmarkReplay: the same events through the same rules, one
process, no rulebench.

A plain CPython loop: load the repository's YAML (PyYAML), import the global
helpers, data models and rules, then for every JSONL line parse it once, and
call rule() of every enabled rule whose LogTypes hold its p_log_type; on a
match call the alert functions as Panther does. The caching helpers are
answered by a small in-process dictionary with the same semantics (SPEC §4)
instead of rulebench's cache, so the rules run unchanged.

usage: baseline_replay.py HARNESS_DIR REPO_DIR EVENTS.jsonl
prints: {"events": N, "matches": M, "errors": E}
"""

import importlib.util
import json
import os
import sys
import time

import yaml

sys.path.insert(0, sys.argv[1])
from panther_core import PantherEvent  # noqa: E402
from panther_core.data_model import DataModel  # noqa: E402
from rulebench import bridge  # noqa: E402

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ALERT_FUNCTIONS = ("title", "description", "reference", "severity", "runbook", "destinations", "dedup", "alert_context")
DEFAULT_TTL = 90 * 24 * 3600

ITEMS = {}


def expiry(epoch):
    now = time.time()
    if epoch is None:
        return int(now) + DEFAULT_TTL
    epoch = int(epoch)
    return int(now) + epoch if epoch < 1_000_000_000 else epoch


def expired(item):
    return item.get("expiresAt") is not None and item["expiresAt"] <= time.time()


def cache_call(message):
    op, key = message["op"], message["key"]
    item = ITEMS.get(key)
    force = message.get("force_ttl_check")
    if op == "get_counter":
        return 0 if item is None or (force and expired(item)) else item.get("intCount", 0)
    if op == "increment_counter":
        val = message["val"]
        fresh = item is None or item.get("expiresAt") is None or expired(item)
        item = ITEMS.setdefault(key, {})
        item["intCount"] = item.get("intCount", 0) + val
        item["expiresAt"] = expiry(message.get("epoch_seconds"))
        return val if fresh else item["intCount"]
    if op == "reset_counter":
        if item is not None:
            item.pop("intCount", None)
        return None
    if op == "set_key_expiration":
        ITEMS.setdefault(key, {})["expiresAt"] = expiry(message.get("epoch_seconds"))
        return None
    if op == "get_string_set":
        return [] if item is None or (force and expired(item)) else sorted(item.get("stringSet", ()))
    if op == "put_string_set":
        if not message["strings"]:
            if item is not None:
                item.pop("stringSet", None)
        else:
            ITEMS[key] = {"stringSet": set(message["strings"]), "expiresAt": expiry(message.get("epoch_seconds"))}
        return None
    if op == "add_to_string_set":
        if not message["strings"]:
            return [] if item is None or expired(item) else sorted(item.get("stringSet", ()))
        item = ITEMS.setdefault(key, {})
        item.setdefault("stringSet", set()).update(message["strings"])
        item["expiresAt"] = expiry(message.get("epoch_seconds"))
        return sorted(item["stringSet"])
    if op == "reset_string_set":
        if item is not None:
            item.pop("stringSet", None)
        return None
    if op == "get_dictionary":
        return None if item is None or (force and expired(item)) else item.get("dictionary")
    if op == "put_dictionary":
        ITEMS[key] = {"dictionary": message["dictionary"], "expiresAt": expiry(message.get("epoch_seconds"))}
        return None
    raise NotImplementedError(op)


bridge.call = cache_call


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    root, path = sys.argv[2], sys.argv[3]
    specs = []
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith((".yml", ".yaml")):
                with open(os.path.join(dirpath, name)) as fh:
                    spec = yaml.load(fh, Loader=Loader)
                if isinstance(spec, dict):
                    specs.append((dirpath, spec))
    models = {}
    for dirpath, spec in specs:
        kind = spec.get("AnalysisType")
        if kind == "global":
            sys.modules[spec["GlobalID"]] = load_module(spec["GlobalID"], os.path.join(dirpath, spec["Filename"]))
    for dirpath, spec in specs:
        if spec.get("AnalysisType") == "datamodel":
            module = load_module(spec["DataModelID"], os.path.join(dirpath, spec["Filename"])) if spec.get("Filename") else None
            mappings = [{k.lower(): v for k, v in m.items()} for m in spec.get("Mappings", [])]
            model = DataModel(spec["DataModelID"], mappings, lambda name, m=module: getattr(m, name))
            for log_type in spec.get("LogTypes", []):
                models[log_type] = model
    routes = {}
    for dirpath, spec in sorted(specs, key=lambda s: s[1].get("RuleID", "")):
        if spec.get("AnalysisType") != "rule" or spec.get("Enabled") is False:
            continue
        module = load_module(spec["RuleID"], os.path.join(dirpath, spec["Filename"]))
        for log_type in spec.get("LogTypes", []):
            routes.setdefault(log_type, []).append(module)
    events = matches = errors = 0
    with open(path, "rb") as fh:
        for line in fh:
            events += 1
            data = json.loads(line)
            log_type = data.get("p_log_type")
            rules = routes.get(log_type)
            if not rules:
                continue
            event = PantherEvent(data, models.get(log_type))
            for module in rules:
                try:
                    if module.rule(event) is True:
                        matches += 1
                        for name in ALERT_FUNCTIONS:
                            fn = getattr(module, name, None)
                            if fn is not None:
                                value = fn(event)
                                if name == "alert_context":
                                    json.dumps(value, default=PantherEvent.json_encoder)
                except Exception:  # pylint: disable=broad-except
                    errors += 1
    print(json.dumps({"events": events, "matches": matches, "errors": errors}))


main()
