"""panther_detection_helpers.caching, answered by rulebench's cache.

The Python side only does what depends on Python types (a str is one member
of a set, a mapping becomes JSON text, epoch_seconds strings become numbers);
the semantics of every call, expiry included, live in rulebench so that the
in-memory cache and a real DynamoDB table behave the same.
"""

import json
import math
from collections.abc import Mapping
from decimal import Decimal

from panther_core.immutable import json_encoder
from rulebench import bridge

_COUNT_COL = "intCount"
_STRING_SET_COL = "stringSet"
_DICT_COL = "dictionary"
_TTL_COL = "expiresAt"
_EPOCH_SECONDS_DELTA_DEFAULT = 90 * (60 * 60 * 24)


def _epoch(epoch_seconds):
    if isinstance(epoch_seconds, str):
        epoch_seconds = float(epoch_seconds)
    if isinstance(epoch_seconds, Decimal):
        epoch_seconds = float(epoch_seconds)
    if isinstance(epoch_seconds, (int, float)):
        if isinstance(epoch_seconds, float) and not math.isfinite(epoch_seconds):
            raise ValueError("epoch_seconds must be a finite number, got %r" % epoch_seconds)
        return epoch_seconds
    return None


def _strings(val, function):
    if isinstance(val, str):
        return [val]
    members = set(val)
    for member in members:
        if not isinstance(member, str):
            raise TypeError(
                "%s: string sets hold strings only, got %s" % (function, type(member).__name__)
            )
    return sorted(members)


def _call(op, key, **fields):
    message = {"op": op, "key": key}
    message.update(fields)
    return bridge.call(message)


def get_counter(key, force_ttl_check=False):
    return int(_call("get_counter", key, force_ttl_check=bool(force_ttl_check)))


def increment_counter(key, val=1, epoch_seconds=None):
    if isinstance(val, Decimal) and val == val.to_integral_value():
        val = int(val)
    if isinstance(val, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(val, bool) or not isinstance(val, int):
        raise TypeError("increment_counter: val must be an integer, got %s" % type(val).__name__)
    return int(_call("increment_counter", key, val=val, epoch_seconds=_epoch(epoch_seconds)))


def reset_counter(key):
    _call("reset_counter", key)


def set_key_expiration(key, epoch_seconds):
    _call("set_key_expiration", key, epoch_seconds=_epoch(epoch_seconds))


def get_string_set(key, force_ttl_check=False):
    return set(_call("get_string_set", key, force_ttl_check=bool(force_ttl_check)) or ())


def put_string_set(key, val, epoch_seconds=None):
    members = sorted(set(val)) if isinstance(val, str) else _strings(val, "put_string_set")
    _call("put_string_set", key, strings=members, epoch_seconds=_epoch(epoch_seconds))


def add_to_string_set(key, val, epoch_seconds=None):
    members = _strings(val, "add_to_string_set")
    return set(_call("add_to_string_set", key, strings=members, epoch_seconds=_epoch(epoch_seconds)) or ())


def remove_from_string_set(key, val, epoch_seconds=None):
    members = _strings(val, "remove_from_string_set")
    return set(
        _call("remove_from_string_set", key, strings=members, epoch_seconds=_epoch(epoch_seconds)) or ()
    )


def reset_string_set(key):
    _call("reset_string_set", key)


def get_dictionary(key, force_ttl_check=False):
    text = _call("get_dictionary", key, force_ttl_check=bool(force_ttl_check))
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            "panther_detection_helpers.get_dictionary: "
            "Data found in DynamoDB could not be decoded into JSON"
        ) from exc


def put_dictionary(key, val, epoch_seconds=None):
    if not isinstance(val, (dict, Mapping)):
        raise TypeError("panther_detection_helpers.put_dictionary: value is not a dictionary")
    try:
        data = json.dumps(val, default=json_encoder)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "panther_detection_helpers.put_dictionary: "
            "value is a dictionary, but it is not JSON serializable"
        ) from exc
    _call("put_dictionary", key, dictionary=data, epoch_seconds=_epoch(epoch_seconds))


def evaluate_threshold(key, threshold=10, expiry_seconds=3600):
    """Count one occurrence; True (and a reset) once the count reaches threshold."""
    count = increment_counter(key, epoch_seconds=expiry_seconds)
    if count >= threshold:
        reset_counter(key)
        return True
    return False


def check_account_age(key):
    """True when a non-empty string key names a non-empty (unexpired) string set."""
    if isinstance(key, str) and key != "":
        return bool(get_string_set(key, force_ttl_check=True))
    return False


def kv_table():
    raise NotImplementedError(
        "rulebench answers the caching helpers itself; direct DynamoDB table access "
        "through kv_table() is not available in the workbench"
    )
