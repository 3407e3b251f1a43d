"""Computed fields for the Nginx.Access data model.

NGINX logs the whole request line ("GET /admin-panel/?tab=users HTTP/1.1");
these methods split it into method and path. Malformed request lines (TLS
handshakes sent to a plain-HTTP port, scanner garbage) yield None.
"""

from urllib.parse import urlsplit


def _request_parts(event):
    request = event.get("request")
    if not isinstance(request, str):
        return None
    parts = request.split(" ")
    # METHOD TARGET PROTOCOL; HTTP/0.9 requests have no protocol part
    if len(parts) not in (2, 3) or not parts[1]:
        return None
    return parts


def get_http_method(event):
    parts = _request_parts(event)
    return parts[0].upper() if parts else None


def get_http_path(event):
    """The request path without query string or fragment."""
    parts = _request_parts(event)
    if not parts:
        return None
    try:
        # urlsplit copes with origin-form (/a?b) and absolute-form (http://h/a?b)
        return urlsplit(parts[1]).path or "/"
    except ValueError:
        return None
