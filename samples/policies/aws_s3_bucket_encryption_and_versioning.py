# Server-side encryption algorithms S3 accepts as a bucket default.
ACCEPTED_SSE_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})


def _has_default_encryption(resource):
    rules = resource.get("EncryptionRules") or []
    return any(
        ((rule or {}).get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
        in ACCEPTED_SSE_ALGORITHMS
        for rule in rules
    )


def _has_versioning(resource):
    # "Enabled", "Suspended", or absent for a bucket where it was never turned on
    return resource.get("Versioning") == "Enabled"


def _missing_controls(resource):
    missing = []
    if not _has_default_encryption(resource):
        missing.append("default encryption")
    if not _has_versioning(resource):
        missing.append("versioning")
    return missing


def policy(resource):
    return not _missing_controls(resource)


def title(resource):
    return f"S3 bucket {resource.get('Name')} lacks {' and '.join(_missing_controls(resource))}"


def alert_context(resource):
    return {
        "bucket": resource.get("Name"),
        "account_id": resource.get("AccountId"),
        "region": resource.get("Region"),
        "missing_controls": _missing_controls(resource),
        "versioning": resource.get("Versioning"),
        "mfa_delete": resource.get("MFADelete"),
    }
