# User-agent tokens of common off-the-shelf scanners, matched case-insensitively.
SCANNER_TOKENS = (
    "dirbuster",
    "gobuster",
    "masscan",
    "nikto",
    "nmap scripting engine",
    "nuclei",
    "sqlmap",
    "wpscan",
    "zgrab",
)


def scanner_name(user_agent):
    if not isinstance(user_agent, str):
        return None
    lowered = user_agent.lower()
    return next((token for token in SCANNER_TOKENS if token in lowered), None)


def rule(event):
    return scanner_name(event.udm("user_agent")) is not None


def title(event):
    return (
        f"Web scanner [{scanner_name(event.udm('user_agent'))}] "
        f"probing from {event.udm('source_ip')}"
    )


def dedup(event):
    return f"{event.udm('source_ip')}:{scanner_name(event.udm('user_agent'))}"
