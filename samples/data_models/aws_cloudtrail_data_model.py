"""Computed fields for the AWS.CloudTrail data model.

Data-model methods receive the read-only event without udm(), so they read
fields with the shared deep_get helper.
"""

from sample_helpers import deep_get


def get_actor_user(event):
    """A readable name for whoever made the call, whatever the identity type.

    See https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
    """
    identity_type = deep_get(event, "userIdentity", "type")
    if identity_type == "Root":
        return "root"
    if identity_type == "IAMUser":
        return deep_get(event, "userIdentity", "userName")
    if identity_type == "AssumedRole":
        # arn:aws:sts::123456789012:assumed-role/RoleName/session-name -> RoleName/session-name
        arn = deep_get(event, "userIdentity", "arn", default="")
        if ":assumed-role/" in arn:
            return arn.split(":assumed-role/", 1)[1]
        return deep_get(event, "userIdentity", "sessionContext", "sessionIssuer", "userName")
    if identity_type == "AWSService":
        return deep_get(event, "userIdentity", "invokedBy")
    if identity_type == "IdentityCenterUser":
        return deep_get(event, "userIdentity", "onBehalfOf", "userId")
    # FederatedUser, SAMLUser, WebIdentityUser, AWSAccount, Unknown
    return deep_get(event, "userIdentity", "userName") or deep_get(
        event, "userIdentity", "principalId"
    )
