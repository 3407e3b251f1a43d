"""PantherEvent: the read-only event every rule function receives."""

import datetime
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import reduce

from .data_model import E_NO_DATA_MODEL_FOUND
from .exceptions import PantherError
from .immutable import ImmutableCaseInsensitiveDict, json_encoder

__all__ = ["PantherEvent"]

_TIME = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?(?:\s+UTC)?\s*$",
    re.IGNORECASE,
)


def _parse_event_time(value):
    """Epoch seconds of a p_event_time string; None when it cannot be read.

    Panther parses with dateutil; this covers the formats Panther writes
    (`2024-05-01 12:00:00.000000000`, RFC 3339) without needing dateutil, and
    falls back to dateutil for anything else when it is installed.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if not isinstance(value, str):
        return None
    match = _TIME.match(value)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        tz = datetime.timezone.utc
        if zone and zone.upper() not in ("Z", "UTC", "GMT"):
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            tz = datetime.timezone(sign * offset)
        moment = datetime.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tz
        )
        return int(moment.timestamp())
    try:
        from dateutil import parser as dateparser  # optional, as in Panther's runtime
    except ImportError:
        return None
    try:
        parsed = dateparser.parse(value + " UTC")
    except (ValueError, OverflowError):
        return None
    return int(parsed.timestamp())


class PantherEvent(ImmutableCaseInsensitiveDict):
    """A log event (or resource) with unified data model access."""

    def __init__(self, event, data_model=None):
        super().__init__(event)
        self.data_model = data_model
        self.lookup_function = None

    def _add_lookup_function(self, lookup_function):
        self.lookup_function = lookup_function

    def lookup(self, lookup_name, lookup_key):
        """Lookup-table enrichment; tests supply it under `_mocked_lookup_data_`."""
        if self.lookup_function:
            return self.lookup_function(self, lookup_name, lookup_key)
        return self.deep_get("_mocked_lookup_data_", lookup_name, lookup_key)

    def udm(self, *key, default=None):
        model = self.data_model
        if len(key) == 1 and model:
            name = key[0]
            found, value = self._json_path_value(name)
            if found:
                return self._ensure_immutable(value)
            method = self._get_method(name)
            if method:
                return self._ensure_immutable(method(self._ensure_immutable(self._container)))
            # A name the model maps but that did not resolve must not fall
            # through to p_udm: Panther keeps that for backwards compatibility.
            if name in model.paths or name in model.methods:
                return default
        if key:
            result = self.deep_get("p_udm", *key)
            if not result:
                result = self.deep_get(*key)
            if result:
                return result
        return default

    def udm_path(self, key):
        """The JSON path (or method name) a unified field name maps to."""
        if not self.data_model:
            raise PantherError(E_NO_DATA_MODEL_FOUND, self._container.get("p_log_type"))
        matches = self._json_path_matches(key)
        if matches:
            return matches[0][1]
        method = self._get_method(key)
        if method:
            return getattr(method, "__name__", repr(method))
        return None

    def deep_get(self, *keys, default=None):
        out = reduce(
            lambda d, key: d.get(key, default) if isinstance(d, Mapping) else default,
            keys,
            self,
        )
        if out is None:
            return default
        return out

    def deep_walk(self, *keys, default=None, return_val="all"):
        return _deep_walk(self, keys, default, return_val)

    def event_time_epoch(self, force_utc=True):
        """Epoch seconds of p_event_time; 0 when it is missing or unreadable."""
        epoch = _parse_event_time(self._container.get("p_event_time"))
        return 0 if epoch is None else epoch

    def _json_path_matches(self, key):
        if not self.data_model or key not in self.data_model.paths:
            return []
        path = self.data_model.paths[key]
        matches = path.find(self._container)
        if len(matches) > 1:
            raise Exception(  # pylint: disable=broad-exception-raised
                "JSONPath [%s] in DataModel [%s], matched multiple fields."
                % (path, self.data_model.data_model_id)
            )
        return matches

    def _json_path_value(self, key):
        matches = self._json_path_matches(key)
        if not matches:
            return False, None
        return True, matches[0][0]

    def _get_method(self, key):
        if not self.data_model:
            return None
        method = self.data_model.method(key)
        return method if callable(method) else None

    json_encoder = staticmethod(json_encoder)


def _deep_walk(obj, keys, default, return_val):
    """deep_get that also walks into lists, collecting every match in order."""

    def empty_list(sub):
        if isinstance(sub, Sequence) and not isinstance(sub, (str, bytes)):
            return all(empty_list(item) for item in sub)
        return False

    if not keys:
        return default if obj is None or empty_list(obj) else obj
    if isinstance(obj, Mapping):
        next_obj = obj.get(keys[0], None)
        if next_obj is None:
            return default
        return _deep_walk(next_obj, keys[1:], default, return_val)
    found = OrderedDict()
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        for item in obj:
            value = _deep_walk(item, keys, default, return_val)
            if value is not None:
                if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
                    for sub in value:
                        found[sub] = None
                else:
                    found[value] = None
    values = list(found.keys())
    if not values:
        return default
    if return_val == "first":
        return values[0]
    if return_val == "last":
        return values[-1]
    return values[0] if len(values) == 1 else values

