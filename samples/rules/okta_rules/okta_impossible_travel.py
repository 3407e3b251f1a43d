from panther_detection_helpers.caching import get_dictionary, put_dictionary
from sample_helpers import EventScratch, haversine_km, okta_last_login_key

# Faster than a commercial flight, including getting to and from airports.
MAX_PLAUSIBLE_SPEED_KMH = 900
# Geo-IP places the same user tens of km apart between ISPs and mobile
# towers; only compare logins that are genuinely far apart.
MIN_DISTANCE_KM = 100
# Keep the last login for a week; older ones cannot make travel impossible.
LAST_LOGIN_TTL_SECONDS = 7 * 24 * 3600

_SCRATCH = EventScratch()


def _login_location(event):
    """The login's location as stored in the cache, or None without coordinates."""
    geo = event.deep_get("client", "geographicalContext") or {}
    lat = event.deep_get("client", "geographicalContext", "geolocation", "lat")
    lon = event.deep_get("client", "geographicalContext", "geolocation", "lon")
    if lat is None or lon is None:
        return None
    return {
        "city": geo.get("city"),
        "country": geo.get("country"),
        "lat": float(lat),
        "lon": float(lon),
        "ip": event.deep_get("client", "ipAddress"),
        "time": event.event_time_epoch(),
        "p_event_time": event.get("p_event_time"),
    }


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    if event.deep_get("outcome", "result") != "SUCCESS":
        return False
    # An anonymising proxy's exit location says nothing about the user.
    if event.deep_get("securityContext", "isProxy") is True:
        return False
    user = event.deep_get("actor", "alternateId")
    current = _login_location(event)
    if not user or current is None or not current["time"]:
        return False

    key = okta_last_login_key(user)
    previous = get_dictionary(key)

    # Keep the newest login as the reference, even if events arrive out of order.
    if not previous or current["time"] >= previous.get("time", 0):
        put_dictionary(key, current, epoch_seconds=current["time"] + LAST_LOGIN_TTL_SECONDS)

    if not previous or previous.get("lat") is None or previous.get("lon") is None:
        return False  # first login we know of for this user

    distance_km = haversine_km(previous["lat"], previous["lon"], current["lat"], current["lon"])
    if distance_km < MIN_DISTANCE_KM:
        return False
    hours = abs(current["time"] - previous.get("time", 0)) / 3600
    speed_kmh = distance_km / hours if hours > 0 else float("inf")
    if speed_kmh <= MAX_PLAUSIBLE_SPEED_KMH:
        return False

    _SCRATCH.save(
        event.get("uuid"),
        previous=dict(previous),
        distance_km=round(distance_km),
        minutes_between=round(hours * 60, 1),
        # inf is not valid JSON; simultaneous logins report no speed
        speed_kmh=round(speed_kmh) if hours > 0 else None,
    )
    return True


def _place(location):
    city = location.get("city") or "unknown city"
    country = location.get("country")
    return f"{city}, {country}" if country else city


def title(event):
    user = event.deep_get("actor", "alternateId")
    current = _login_location(event) or {}
    previous = _SCRATCH.load(event.get("uuid")).get("previous")
    if previous:
        return f"Impossible travel for {user}: {_place(previous)} to {_place(current)}"
    return f"Impossible travel for {user}: login from {_place(current)}"


def dedup(event):
    return event.deep_get("actor", "alternateId")


def alert_context(event):
    comparison = _SCRATCH.load(event.get("uuid"))
    return {
        "user": event.deep_get("actor", "alternateId"),
        "current_login": _login_location(event),
        "previous_login": comparison.get("previous"),
        "distance_km": comparison.get("distance_km"),
        "minutes_between": comparison.get("minutes_between"),
        "implied_speed_kmh": comparison.get("speed_kmh"),
        "user_agent": event.deep_get("client", "userAgent", "rawUserAgent"),
    }
