"""Names the xAPI specification fixes, shared by every layer that reads statements.

They live here, not in the validator, so the LRS client, the lake, credit and sequences can
name a voiding statement or an LRS-assigned property without depending on the statement rules.
"""

from __future__ import annotations

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"

# Properties an LRS sets on storing: the same statement stored twice (an LMS re-sending it, an
# LRS migration) differs only in these, and is a duplicate rather than a conflict.
LRS_ASSIGNED = ("stored", "authority", "version")

# Inverse functional identifiers of an Agent or Group, in the order the spec lists them.
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
