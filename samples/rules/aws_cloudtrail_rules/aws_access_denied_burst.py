from panther_detection_helpers.caching import get_counter, increment_counter, reset_counter
from sample_helpers import access_denied_counter_key

# Error codes AWS services use for "you are not allowed to do that".
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "Client.UnauthorizedOperation",
        "UnauthorizedOperation",
    }
)
THRESHOLD = 10
WINDOW_SECONDS = 3600


def rule(event):
    # Cheap filters first: only AccessDenied events ever reach the cache.
    if event.get("errorCode") not in ACCESS_DENIED_CODES:
        return False
    principal_arn = event.deep_get("userIdentity", "arn")
    if not principal_arn:
        return False

    key = access_denied_counter_key(principal_arn)
    # Expire relative to the event's own time, not the processing time, so
    # late-arriving and replayed events get the window they belong to.
    # (event_time_epoch() is 0 without p_event_time; 0 + 3600 is then read as
    # "an hour from now", which is still the right window.)
    expires_at = event.event_time_epoch() + WINDOW_SECONDS

    count = increment_counter(key, epoch_seconds=expires_at)
    if count == 1 and get_counter(key) != 1:
        # panther_detection_helpers 1.0.x returns `val` rather than the stored
        # total when the item is new, expired or had no expiry, yet still adds
        # to whatever count was stored. An expired item that DynamoDB has not
        # deleted yet (TTL deletion lags up to ~48 h) would therefore carry
        # its stale count into this new window. Start the window cleanly.
        reset_counter(key)
        count = increment_counter(key, epoch_seconds=expires_at)

    if count >= THRESHOLD:
        # Start counting again so the next burst alerts again.
        reset_counter(key)
        return True
    return False


def title(event):
    principal = event.udm("actor_user") or event.deep_get("userIdentity", "arn")
    return f"{principal} was denied access {THRESHOLD} times within an hour"


def dedup(event):
    return event.deep_get("userIdentity", "arn")


def alert_context(event):
    return {
        "principal_arn": event.deep_get("userIdentity", "arn"),
        "identity_type": event.deep_get("userIdentity", "type"),
        "last_denied_call": f"{event.get('eventSource')}:{event.get('eventName')}",
        "error_code": event.get("errorCode"),
        "error_message": event.get("errorMessage"),
        "source_ip": event.udm("source_ip"),
        "user_agent": event.udm("user_agent"),
        "account_id": event.get("recipientAccountId"),
        "region": event.get("awsRegion"),
    }
