from sample_helpers import is_admin_panel_path

AUTH_FAILURE_STATUSES = frozenset({401, 403})


def rule(event):
    return event.get("status") in AUTH_FAILURE_STATUSES and is_admin_panel_path(
        event.udm("http_path")
    )


def title(event):
    return (
        f"Repeated admin panel authentication failures from "
        f"{event.udm('source_ip') or 'an unknown address'}"
    )


def dedup(event):
    return event.udm("source_ip") or "unknown-source"


def alert_context(event):
    return {
        "source_ip": event.udm("source_ip"),
        "method": event.udm("http_method"),
        "path": event.udm("http_path"),
        "status": event.get("status"),
        "user_agent": event.udm("user_agent"),
    }
