"""Third-party enrichment for alert context: VirusTotal IP reputation.

The API key lives in AWS Secrets Manager, readable only through a dedicated
role that the Panther detection engine may assume (see the Panther docs on
"Enrichment: API calls and secrets"). CONFIGURATION REQUIRED: set the role,
secret and region below for your account.

Rate limits: call these from alert_context() only, never from rule(), so a
lookup happens once per alerting event and not for every log line. The API key
is kept for the life of the runtime so Secrets Manager is read once.

boto3 is imported inside the functions that need it, so this module (and
every rule importing it) loads where boto3 is not installed, e.g. in unit
tests that mock lookup_ip().
"""

import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request

ENRICHMENT_ROLE_ARN = "arn:aws:iam::123456789012:role/PantherEnrichmentSecretsReader"
VIRUSTOTAL_SECRET_ID = "panther-secrets/virus-total"
SECRETS_REGION = "us-east-1"

VIRUSTOTAL_IP_URL = "https://www.virustotal.com/api/v3/ip_addresses/{}"
HTTP_TIMEOUT_SECONDS = 5
ROLE_SESSION_NAME = "panther-detection-enrichment"

_SECRET_CACHE = {}


def get_aws_credentials(role_arn=ENRICHMENT_ROLE_ARN):
    """Assume the secrets-reader role; returns the STS Credentials mapping."""
    import boto3  # pylint: disable=import-outside-toplevel

    sts = boto3.client("sts")
    response = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName=ROLE_SESSION_NAME,
        DurationSeconds=900,
    )
    return response["Credentials"]


def get_stored_secret(credentials, secret_id, region=SECRETS_REGION):
    """Read a secret with the assumed role's credentials; returns the API response."""
    import boto3  # pylint: disable=import-outside-toplevel

    client = boto3.client(
        "secretsmanager",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return client.get_secret_value(SecretId=secret_id)


def get_api_key(secret_id=VIRUSTOTAL_SECRET_ID):
    """The API key stored in `secret_id`, fetched once per runtime.

    Accepts both a plain-text secret and the console's key/value form
    (`{"api_key": "..."}`).
    """
    if secret_id in _SECRET_CACHE:
        return _SECRET_CACHE[secret_id]
    secret = get_stored_secret(get_aws_credentials(), secret_id)
    value = secret.get("SecretString") or ""
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        value = parsed.get("api_key") or parsed.get("apikey") or ""
    if not value:
        raise ValueError(f"secret {secret_id} holds no API key")
    _SECRET_CACHE[secret_id] = value
    return value


def is_public_ip(value):
    """Only globally routable addresses are worth (and allowed) a lookup."""
    try:
        return ipaddress.ip_address(str(value)).is_global
    except ValueError:
        return False


def virustotal_ip_report(ip, api_key):
    """GET /api/v3/ip_addresses/{ip}; returns the decoded JSON body."""
    url = VIRUSTOTAL_IP_URL.format(urllib.parse.quote(str(ip), safe=""))
    request = urllib.request.Request(
        url, headers={"x-apikey": api_key, "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
        return json.loads(response.read().decode("utf-8"))


def lookup_ip(ip):
    """VirusTotal `data.attributes` for an IP address.

    Never raises: an enrichment failure must not cost us the alert, so problems
    come back as {"lookup_error": ...} and non-public addresses as
    {"lookup_skipped": ...}, both visible in the alert context.
    """
    if not is_public_ip(ip):
        return {"lookup_skipped": f"{ip!r} is not a public IP address"}
    try:
        report = virustotal_ip_report(ip, get_api_key())
    except urllib.error.HTTPError as exc:
        return {"lookup_error": f"VirusTotal answered HTTP {exc.code}"}
    except Exception as exc:  # pylint: disable=broad-except
        return {"lookup_error": f"{type(exc).__name__}: {exc}"}
    data = report.get("data") if isinstance(report, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        return {"lookup_error": "unexpected VirusTotal response shape"}
    return attributes


def summarize_ip_reputation(attributes):
    """Trim VirusTotal attributes to what a responder needs.

    The full object carries one verdict per engine (tens of KB); alert context
    is capped at 200 KB and read by humans, so keep the headline numbers and
    the names of the engines that flagged the address.
    """
    if not isinstance(attributes, dict):
        return {"lookup_error": f"unexpected lookup result of type {type(attributes).__name__}"}
    if "lookup_error" in attributes or "lookup_skipped" in attributes:
        return dict(attributes)
    stats = attributes.get("last_analysis_stats") or {}
    results = attributes.get("last_analysis_results") or {}
    flagged = sorted(
        name
        for name, result in results.items()
        if isinstance(result, dict) and result.get("category") in ("malicious", "suspicious")
    )
    if stats.get("malicious", 0) > 0:
        verdict = "malicious"
    elif stats.get("suspicious", 0) > 0:
        verdict = "suspicious"
    else:
        verdict = "no detections"
    return {
        "verdict": verdict,
        "last_analysis_stats": dict(stats),
        "flagged_by": flagged[:20],
        "reputation": attributes.get("reputation"),
        "country": attributes.get("country"),
        "as_owner": attributes.get("as_owner"),
        "asn": attributes.get("asn"),
        "network": attributes.get("network"),
        "tags": list(attributes.get("tags") or []),
        "last_analysis_date": attributes.get("last_analysis_date"),
    }
