from enrichment_helpers import lookup_ip, summarize_ip_reputation


def rule(event):
    # No enrichment here: rule() runs for every CloudTrail event, and an API
    # call per event would exhaust any rate limit. Enrich in alert_context().
    return (
        event.get("eventName") == "ConsoleLogin"
        and event.deep_get("userIdentity", "type") == "Root"
        and event.deep_get("responseElements", "ConsoleLogin") == "Success"
    )


def _mfa_used(event):
    return event.deep_get("additionalEventData", "MFAUsed") == "Yes"


def title(event):
    qualifier = "" if _mfa_used(event) else " without MFA"
    return (
        f"Root console login{qualifier} to account {event.get('recipientAccountId')} "
        f"from {event.udm('source_ip')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.udm('source_ip')}"


def severity(event):
    return "DEFAULT" if _mfa_used(event) else "CRITICAL"


def alert_context(event):
    source_ip = event.udm("source_ip")
    return {
        "account_id": event.get("recipientAccountId"),
        "source_ip": source_ip,
        "user_agent": event.udm("user_agent"),
        "mfa_used": event.deep_get("additionalEventData", "MFAUsed"),
        "login_to": event.deep_get("additionalEventData", "LoginTo"),
        "ip_reputation": summarize_ip_reputation(lookup_ip(source_ip)),
    }
