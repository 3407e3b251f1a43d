"""Shared helpers for the sample detections.

Everything here is pure standard library so every detection that imports it
loads without third-party packages.
"""

import ipaddress
import math

# --------------------------------------------------------------------------
# Safe field access
# --------------------------------------------------------------------------


def deep_get(obj, *keys, default=None):
    """Walk nested mappings by key; return `default` if any level is missing.

    Works on plain dicts and on the read-only event wrapper alike (anything
    with a `.get`). Stops at lists and scalars rather than raising, so it is
    safe on partially populated logs. A present-but-null value also yields
    `default`, matching how PantherEvent.deep_get behaves.
    """
    current = obj
    for key in keys:
        getter = getattr(current, "get", None)
        if getter is None:
            return default
        current = getter(key)
        if current is None:
            return default
    return current


def is_ip_address(value):
    """True when `value` is a literal IPv4/IPv6 address.

    CloudTrail puts a service's DNS name (e.g. `ec2.amazonaws.com`) in
    sourceIPAddress when an AWS service makes the call on your behalf; those
    must not be treated as addresses.
    """
    if not isinstance(value, str) or not value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------
# Cache keys
#
# All detections share one key-value table, so every key is built here:
# one namespace per use, so two detections can only share state on purpose.
# Never put a timestamp in a key: it is almost never reproducible.
# --------------------------------------------------------------------------

CACHE_NAMESPACE = "rulebench-samples"


def cache_key(*parts):
    """Join key parts under the shared namespace: `rulebench-samples:a:b`."""
    if not parts or any(part is None or str(part) == "" for part in parts):
        raise ValueError(f"cache key parts must be non-empty: {parts!r}")
    return ":".join([CACHE_NAMESPACE] + [str(part) for part in parts])


def access_denied_counter_key(principal_arn):
    """Counter of AccessDenied errors per IAM principal (ARNs are case-sensitive)."""
    return cache_key("aws", "access-denied", principal_arn)


def assume_role_source_ips_key(role_arn):
    """String set of source IPs a role has been assumed from."""
    return cache_key("aws", "assume-role-ips", role_arn)


def okta_last_login_key(user):
    """Dictionary holding a user's most recent successful Okta login location."""
    return cache_key("okta", "last-login", str(user).lower())


def bad_actor_sightings_key(actor):
    """String set of recent sightings of one threat actor."""
    return cache_key("bad-actor", "sightings", str(actor).strip().lower())


# --------------------------------------------------------------------------
# Geography
# --------------------------------------------------------------------------

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in kilometres between two (lat, lon) points in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # min() guards against a floating-point a slightly above 1 for antipodal points
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# --------------------------------------------------------------------------
# Per-event scratch space
# --------------------------------------------------------------------------


class EventScratch:
    """Remember what rule() worked out so title()/alert_context() can use it.

    Stateful rules often overwrite the cache inside rule() (e.g. storing the
    current login), so the auxiliary functions cannot read the previous value
    back. The engine calls them right after rule() for the same event; keying
    the scratch by an event identifier makes a mismatch harmless (the caller
    gets an empty dict) instead of leaking one event's data into another.
    """

    def __init__(self):
        self._event_id = None
        self._data = {}

    def save(self, event_id, **data):
        self._event_id = event_id
        self._data = dict(data)

    def load(self, event_id):
        if event_id != self._event_id:
            return {}
        return dict(self._data)


# --------------------------------------------------------------------------
# Web
# --------------------------------------------------------------------------

# Path segments that identify the admin interface of our web properties.
ADMIN_PANEL_SEGMENTS = frozenset({"admin-panel"})


def is_admin_panel_path(path):
    """True when any segment of a URL path is an admin-panel segment.

    Matching whole segments (not substrings) keeps `/blog/why-admin-panels-leak`
    out while still catching `/admin-panel`, `/admin-panel/` and
    `/admin-panel/login`.
    """
    if not isinstance(path, str):
        return False
    return any(segment.lower() in ADMIN_PANEL_SEGMENTS for segment in path.split("/"))
