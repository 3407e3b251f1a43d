from panther_detection_helpers.caching import (
    add_to_string_set,
    get_string_set,
    put_string_set,
    set_key_expiration,
)
from sample_helpers import EventScratch, assume_role_source_ips_key, is_ip_address

# A role's baseline is forgotten after this long without being assumed, so a
# dormant role re-learns (trust on first use) instead of keeping stale IPs.
BASELINE_TTL_SECONDS = 30 * 24 * 3600

_SCRATCH = EventScratch()


def rule(event):
    if event.get("eventName") != "AssumeRole" or event.get("errorCode"):
        return False
    # AWS services assume roles from service hostnames, not addresses.
    if event.deep_get("userIdentity", "type") == "AWSService":
        return False
    role_arn = event.deep_get("requestParameters", "roleArn")
    source_ip = event.udm("source_ip")
    if not role_arn or not is_ip_address(source_ip):
        return False

    key = assume_role_source_ips_key(role_arn)
    expires_at = event.event_time_epoch() + BASELINE_TTL_SECONDS
    # force_ttl_check: an expired baseline must not be trusted just because
    # DynamoDB has not deleted it yet.
    known_ips = get_string_set(key, force_ttl_check=True)

    if not known_ips:
        # Trust on first use: the first address becomes the baseline. put
        # replaces the whole item, dropping addresses of an expired baseline.
        put_string_set(key, [source_ip], epoch_seconds=expires_at)
        return False

    if source_ip in known_ips:
        set_key_expiration(key, expires_at)  # keep an active role's baseline alive
        return False

    # New address: alert once, then learn it so the next use from it is quiet.
    _SCRATCH.save(event.get("eventID"), known_ips=sorted(known_ips))
    add_to_string_set(key, source_ip, epoch_seconds=expires_at)
    return True


def _role_name(role_arn):
    return (role_arn or "").rsplit("/", 1)[-1] or "<unknown role>"


def title(event):
    role_arn = event.deep_get("requestParameters", "roleArn")
    return f"Role {_role_name(role_arn)} assumed from new source IP {event.udm('source_ip')}"


def dedup(event):
    # Several new addresses for one role within the hour form one incident.
    return event.deep_get("requestParameters", "roleArn")


def alert_context(event):
    return {
        "role_arn": event.deep_get("requestParameters", "roleArn"),
        "role_session_name": event.deep_get("requestParameters", "roleSessionName"),
        "new_source_ip": event.udm("source_ip"),
        "previously_seen_ips": _SCRATCH.load(event.get("eventID")).get("known_ips", []),
        "assumed_by": event.udm("actor_user"),
        "assumed_by_arn": event.udm("actor_arn"),
        "user_agent": event.udm("user_agent"),
    }
