"""Baseline for BenchmarkTestCommand: the same unit tests, one process, no rulebench.

A plain CPython loop doing what a single-process test runner does: load every
YAML spec (PyYAML, with its C loader when available), import each rule
module, and for each test wrap the event, apply the mocks, call rule() and,
on a match, the alert functions. It uses the same panther_core event wrapper
as rulebench's workers, so both sides run identical rule code.

usage: baseline_tests.py HARNESS_DIR REPO_DIR
prints: {"passed": N, "failed": M}
"""

import importlib.util
import json
import os
import sys
from unittest import mock

import yaml

sys.path.insert(0, sys.argv[1])
from panther_core import PantherEvent  # noqa: E402
from panther_core.data_model import DataModel  # noqa: E402

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ALERT_FUNCTIONS = ("title", "description", "reference", "severity", "runbook", "destinations", "dedup", "alert_context")


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    root = sys.argv[2]
    specs = []
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith((".yml", ".yaml")):
                with open(os.path.join(dirpath, name)) as fh:
                    specs.append((dirpath, yaml.load(fh, Loader=Loader)))
    models = {}
    for dirpath, spec in specs:
        kind = spec.get("AnalysisType")
        if kind == "global":
            module = load_module(spec["GlobalID"], os.path.join(dirpath, spec["Filename"]))
            sys.modules[spec["GlobalID"]] = module
        elif kind == "datamodel":
            path = os.path.join(dirpath, spec["Filename"]) if spec.get("Filename") else None
            module = load_module(spec["DataModelID"], path) if path else None
            mappings = [{k.lower(): v for k, v in m.items()} for m in spec.get("Mappings", [])]
            model = DataModel(spec["DataModelID"], mappings, lambda name, m=module: getattr(m, name))
            for log_type in spec.get("LogTypes", []):
                models[log_type] = model
    passed = failed = 0
    for dirpath, spec in specs:
        if spec.get("AnalysisType") != "rule":
            continue
        module = load_module(spec["RuleID"], os.path.join(dirpath, spec["Filename"]))
        for test in spec.get("Tests", []):
            log = test["Log"]
            event = PantherEvent(log, models.get(log.get("p_log_type")))
            patches = [
                mock.patch.object(module, m["objectName"], mock.MagicMock(return_value=m["returnValue"]))
                for m in test.get("Mocks", [])
            ]
            for p in patches:
                p.start()
            ok = True
            try:
                result = module.rule(event)
                ok = result is test["ExpectedResult"]
                if result is True:
                    for name in ALERT_FUNCTIONS:
                        fn = getattr(module, name, None)
                        if fn is None:
                            continue
                        value = fn(event)
                        if name == "alert_context":
                            json.dumps(value, default=PantherEvent.json_encoder)
            except Exception:  # pylint: disable=broad-except
                ok = False
            finally:
                for p in patches:
                    p.stop()
            if ok:
                passed += 1
            else:
                failed += 1
    print(json.dumps({"passed": passed, "failed": failed}))


main()
