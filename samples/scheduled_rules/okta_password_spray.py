# Rows come from the "Sample Okta Password Spray Sources" query, one per
# client IP. Column names are read case-insensitively, so Snowflake's
# upper-cased CLIENT_IP and the query's client_ip both work.
MIN_DISTINCT_USERS = 10


def rule(row):
    return (row.get("distinct_users") or 0) >= MIN_DISTINCT_USERS


def title(row):
    return (
        f"Possible Okta password spray from {row.get('client_ip')}: "
        f"{row.get('failed_logins')} failures against {row.get('distinct_users')} users"
    )


def dedup(row):
    return row.get("client_ip") or "unknown-source"


def severity(row):
    # Breadth matters more than volume: a spray across 50+ users is Critical.
    return "CRITICAL" if (row.get("distinct_users") or 0) >= 50 else "DEFAULT"


def alert_context(row):
    users = list(row.get("targeted_users") or [])
    return {
        "client_ip": row.get("client_ip"),
        "distinct_users": row.get("distinct_users"),
        "failed_logins": row.get("failed_logins"),
        "first_seen": row.get("first_seen"),
        "last_seen": row.get("last_seen"),
        "targeted_users_sample": users[:25],
    }
