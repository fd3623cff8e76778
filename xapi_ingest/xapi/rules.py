"""The catalogue of validation rule ids.

Rule ids are a public contract: quarantine rows, ``validate --format json`` output and the
per-source ``tolerate`` lists all name them, so an id is never renamed or reused. Each maps to
the one-line description printed by ``xapi-pipeline rules``.
"""

from __future__ import annotations

RULES: dict[str, str] = {
    "json.malformed": "the input is not valid JSON (RFC 8259)",
    "json.number-range": "an integer outside the 64-bit range, or a number beyond a double (1e400)",
    "json.surrogate": "a string holds an unpaired UTF-16 surrogate escape (\\ud800), which UTF-8 cannot store",
    "json.depth": "arrays and objects nested deeper than 64 levels",
    "input.truncated": "the input breaks off here (a cut gzip, an array whose structure is lost); nothing after it was read",
    "statement.not-object": "a statement must be a JSON object",
    "key.unknown": "a key that the spec does not allow here (keys are case-sensitive)",
    "key.required": "a required key is missing",
    "value.null": "null is not allowed outside extensions",
    "value.type": "a value has the wrong JSON type",
    "uuid.invalid": "not an RFC 4122 UUID in hyphenated form",
    "iri.invalid": "not an absolute IRI (a scheme, no spaces or forbidden characters)",
    "agent.ifi-count": "an Agent needs exactly one IFI, a Group at most one",
    "agent.mbox": "mbox must be 'mailto:' followed by an email address",
    "agent.mbox-sha1sum": "mbox_sha1sum must be a 40-digit hex SHA-1",
    "agent.object-type": "objectType of an Agent or Group is wrong for its place",
    "group.member-required": "an anonymous Group must list its members",
    "group.member-invalid": "Group members must be Agents, in a non-empty array",
    "authority.group": "an authority Group must be anonymous with exactly two Agents",
    "verb.voided-object": "the voided verb requires a StatementRef object",
    "object-type.invalid": "objectType is not one allowed here (e.g. Open edX 'GroupActivity')",
    "substatement.forbidden-key": "a SubStatement must not have id, stored, version or authority",
    "substatement.nested": "a SubStatement must not contain another SubStatement",
    "interaction.type": "interactionType is not one of the ten xAPI interaction types",
    "interaction.components": "interaction components that do not fit the interactionType",
    "interaction.component-id": "interaction component ids must be unique non-empty strings",
    "score.scaled-range": "score.scaled must lie in [-1, 1]",
    "score.min-max": "score.min must be less than score.max",
    "score.raw-range": "score.raw must lie between score.min and score.max",
    "duration.format": "not an ISO 8601 duration as xAPI allows (PnW only on its own)",
    "timestamp.format": "not an ISO 8601 date-time (RFC 3339 for xAPI 2.0)",
    "timestamp.offset": "a -00, -0000 or -00:00 offset, or (xAPI 2.0) no offset at all",
    "language.tag": "not a well-formed RFC 5646 language tag",
    "extensions.key": "extension keys must be IRIs",
    "context.activity-only": "context revision/platform are allowed only when the object is an Activity",
    "context.team": "context.team must be a Group",
    "context.activities-key": "contextActivities keys are parent, grouping, category and other",
    "context.agents": "contextAgents/contextGroups entries are malformed (xAPI 2.0)",
    "context.version": "contextAgents/contextGroups exist only in xAPI 2.0",
    "attachment.sha2": "attachment sha2 must be a hex SHA-2 digest",
    "attachment.length": "attachment length must be a non-negative integer",
    "version.unsupported": "statement version is not one this xAPI version accepts",
    "lake.id-conflict": "the lake already holds this statement id with different content",
}

# Rules a source may not tolerate: a statement breaking them has no shape to normalize.
NOT_TOLERABLE = frozenset(
    ("json.malformed", "json.number-range", "json.surrogate", "json.depth", "input.truncated",
     "statement.not-object", "key.required", "value.type", "value.null",
     "lake.id-conflict")
)
