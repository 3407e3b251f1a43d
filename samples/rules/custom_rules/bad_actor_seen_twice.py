import json

from panther_detection_helpers.caching import get_string_set, put_string_set, reset_string_set
from sample_helpers import EventScratch, bad_actor_sightings_key

# A second sighting within this window is what we alert on.
SIGHTING_WINDOW_SECONDS = 24 * 3600

_SCRATCH = EventScratch()


def _sighting(event):
    """One sighting as a set member: a compact, sorted JSON object."""
    return json.dumps(
        {
            "time": event.get("p_event_time"),
            "sensor": event.get("sensor"),
            "indicator": event.get("indicator"),
        },
        sort_keys=True,
    )


def rule(event):
    # 1. Filter on the event itself; no cache call for everything else.
    if event.get("eventType") != "BadActorDetected":
        return False
    actor = event.get("actorName")
    if not actor:
        return False

    # 2. Only now read the cache. One key per actor, so resetting one actor
    #    never forgets another actor's first sighting, and each actor's window
    #    starts at its own first sighting. force_ttl_check: a sighting older
    #    than the window must not count just because DynamoDB has not deleted it.
    key = bad_actor_sightings_key(actor)
    earlier_sightings = get_string_set(key, force_ttl_check=True)

    # 3. Repeat check before any write: a repeat alerts and clears the actor,
    #    so adding this sighting first would be a wasted write.
    if earlier_sightings:
        _SCRATCH.save(event.get("eventId"), earlier=sorted(earlier_sightings))
        reset_string_set(key)
        return True

    # 4. First sighting: remember it for the window, from the event's own time.
    #    put (not add) replaces the whole item, so members of an expired but
    #    not yet deleted set cannot resurface as "earlier sightings".
    put_string_set(
        key, [_sighting(event)], epoch_seconds=event.event_time_epoch() + SIGHTING_WINDOW_SECONDS
    )
    return False


def title(event):
    return f"Bad actor {event.get('actorName')} seen again by {event.get('sensor')}"


def dedup(event):
    return str(event.get("actorName")).strip().lower()


def alert_context(event):
    earlier = []
    for member in _SCRATCH.load(event.get("eventId")).get("earlier", []):
        try:
            earlier.append(json.loads(member))
        except ValueError:
            earlier.append({"raw": member})
    return {
        "actor": event.get("actorName"),
        "this_sighting": json.loads(_sighting(event)),
        "earlier_sightings": earlier,
        "confidence": event.get("confidence"),
    }
