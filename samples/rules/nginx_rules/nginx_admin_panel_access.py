from sample_helpers import is_admin_panel_path


def rule(event):
    return event.get("status") == 200 and is_admin_panel_path(event.udm("http_path"))


def title(event):
    return f"Successful admin panel access from {event.udm('source_ip') or 'an unknown address'}"


def dedup(event):
    # One alert per client address, as the title says
    return event.udm("source_ip") or "unknown-source"


def alert_context(event):
    return {
        "source_ip": event.udm("source_ip"),
        "remote_user": event.udm("actor_user"),
        "method": event.udm("http_method"),
        "path": event.udm("http_path"),
        "request": event.get("request"),
        "status": event.get("status"),
        "user_agent": event.udm("user_agent"),
        "referer": event.get("httpReferer"),
    }
