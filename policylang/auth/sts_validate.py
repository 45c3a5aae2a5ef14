"""STS request checks: AssumeRole-family parameter validation (evaluation.md §7.1 step 1) and
the AccessDenied message (§10.2).

Split out of `policylang.auth.sts`, which re-exports `StsError` and `access_denied_message`;
nothing here looks at the account model or the credential store, so every check is a pure
function of the parameters. Schema violations are collected and reported together as one
`ValidationError`, like AWS (`Checks`); cross-field rules (MFA pairing, session-policy plaintext
size, tag keys) follow and raise on the first problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from policylang.decision import Decision, EvaluationResult
from policylang.errors import AuthError, kebab_case

NAME_CHARS: Final = r"[\w+=,.@-]*"
EXTERNAL_ID_CHARS: Final = r"[\w+=,.@:/-]*"
SERIAL_CHARS: Final = r"[\w+=/:,.@-]*"
TAG_CHARS: Final = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"  # as AWS words it; checked loosely below
_TAG_RE: Final = re.compile(r"[\w\s.:/=+\-@]*")


class StsError(AuthError):
    """An STS operation refused, with AWS's error code and HTTP status."""

    default_code = "sts.error"

    def __init__(self, message: str, *, aws_error: str, status: int = 400, **kw: Any) -> None:
        kw.setdefault("code", f"sts.{kebab_case(aws_error)}")
        super().__init__(message, aws_error=aws_error, status=status, **kw)



# --------------------------------------------------------------------------------------------
# AccessDenied messages (§10.2)

_SET_NAMES: Final = {
    "identity": "identity-based policy",
    "resource": "resource-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "scp": "service control policy",
    "rcp": "resource control policy",
}


def access_denied_message(
    caller_arn: str | None,
    action: str,
    resource: str | None,
    result: EvaluationResult | None,
    *,
    role_trust: bool = False,
) -> str:
    """`User: ARN is not authorized to perform: ACTION on resource: RES because no … allows
    the ACTION action` / `… with an explicit deny in a …` (evaluation.md §10.2)."""
    text = f"User: {caller_arn or 'anonymous'} is not authorized to perform: {action}"
    if resource and resource != "*":
        text += f" on resource: {resource}"
    if result is None:
        return text + (
            f" because no role trust policy allows the {action} action" if role_trust else ""
        )
    deciding = result.deciding_set
    if deciding not in _SET_NAMES:
        return text
    if result.decision is Decision.EXPLICIT_DENY:
        if deciding == "resource" and role_trust:
            return text + " with an explicit deny in the role trust policy"
        # AWS's examples spell the session-policy case "sessions policy".
        name = "sessions policy" if deciding == "session" else _SET_NAMES[deciding]
        article = "an" if name[0] in "aeiou" else "a"
        return text + f" with an explicit deny in {article} {name}"
    name = "role trust policy" if deciding == "resource" and role_trust else _SET_NAMES[deciding]
    return text + f" because no {name} allows the {action} action"


# --------------------------------------------------------------------------------------------
# Parameter validation (§7.1 step 1)


class Checks:
    """Collects schema violations and reports them as one ValidationError, like AWS."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def length(self, field: str, value: str | None, low: int, high: int) -> None:
        if value is None:
            return
        if len(value) < low:
            self._add(field, value, f"Member must have length greater than or equal to {low}")
        elif len(value) > high:
            self._add(field, value, f"Member must have length less than or equal to {high}")

    def pattern(self, field: str, value: str | None, pattern: str) -> None:
        if value is not None and not re.fullmatch(pattern, value):
            self._add(field, value, f"Member must satisfy regular expression pattern: {pattern}")

    def integer(self, field: str, value: int | None, low: int, high: int) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            self._add(field, str(value), "Member must be an integer")
        elif value < low:
            self._add(field, str(value), f"Member must have value greater than or equal to {low}")
        elif value > high:
            self._add(field, str(value), f"Member must have value less than or equal to {high}")

    def token_code(self, value: str | None) -> None:
        """An MFA code: exactly six digits."""
        if value is not None and not re.fullmatch(r"\d{6}", value):
            self.length("tokenCode", value, 6, 6)
            self.pattern("tokenCode", value, r"[\d]*")

    def count(self, field: str, items: Sequence[object], high: int) -> None:
        if len(items) > high:
            self.problems.append(
                f"Value at '{field}' failed to satisfy constraint: Member must have length "
                f"less than or equal to {high}"
            )

    def problem(self, field: str, value: str, constraint: str) -> None:
        self._add(field, value, constraint)

    def _add(self, field: str, value: str, constraint: str) -> None:
        shown = value if len(value) <= 64 else value[:61] + "..."
        self.problems.append(
            f"Value '{shown}' at '{field}' failed to satisfy constraint: {constraint}"
        )

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        n = len(self.problems)
        noun = "error" if n == 1 else "errors"
        raise StsError(
            f"{n} validation {noun} detected: " + "; ".join(self.problems),
            aws_error="ValidationError",
        )


def validation_error(message: str, hint: str | None = None) -> StsError:
    return StsError(message, aws_error="ValidationError", hint=hint)


def normalise_tags(tags: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    items = tags.items() if isinstance(tags, Mapping) else tags
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, Mapping):  # boto3 style {"Key": ..., "Value": ...}
            out.append((str(item["Key"]), str(item["Value"])))
        else:
            key, value = item
            out.append((str(key), str(value)))
    return out


def check_tags(checks: Checks, tags: list[tuple[str, str]], transitive: Sequence[str]) -> None:
    checks.count("tags", tags, 50)
    checks.count("transitiveTagKeys", transitive, 50)
    for index, (key, value) in enumerate(tags, 1):
        checks.length(f"tags.{index}.member.key", key, 1, 128)
        checks.length(f"tags.{index}.member.value", value, 0, 256)
        # AWS words the pattern with \p{…} classes, which `re` lacks: check with an
        # equivalent and report AWS's wording.
        for field, text in (("key", key), ("value", value)):
            if not _TAG_RE.fullmatch(text):
                checks.problem(
                    f"tags.{index}.member.{field}",
                    text,
                    f"Member must satisfy regular expression pattern: {TAG_CHARS}",
                )
    for index, key in enumerate(transitive, 1):
        checks.length(f"transitiveTagKeys.{index}.member", key, 1, 128)


def tag_rules(tags: list[tuple[str, str]], transitive: Sequence[str]) -> None:
    """Cross-field tag rules, after the schema: unique keys, transitive keys among the tags."""
    seen: set[str] = set()
    for key, _ in tags:
        if key.lower() in seen:
            raise validation_error(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key.lower())
    for key in transitive:
        if key.lower() not in seen:
            raise validation_error(
                f"The transitive tag key `{key}` is not one of the session tags passed",
                hint="list in TransitiveTagKeys only keys you also pass in Tags",
            )


def validate_assume_role(
    role_arn: str,
    session_name: str,
    *,
    duration_seconds: int | None,
    external_id: str | None,
    serial_number: str | None,
    token_code: str | None,
    source_identity: str | None,
    max_source_identity: int,
    tags: list[tuple[str, str]],
    transitive_tag_keys: Sequence[str],
    policy: str | None,
    policy_arns: Sequence[str],
) -> None:
    """AssumeRole's parameter checks (§7.1 step 1): the schema (all violations reported
    together), then the cross-field rules. Raises `StsError` (`ValidationError`, 400)."""
    checks = Checks()
    checks.length("roleArn", role_arn, 20, 2048)
    checks.length("roleSessionName", session_name, 2, 64)
    checks.pattern("roleSessionName", session_name, NAME_CHARS)
    checks.integer("durationSeconds", duration_seconds, 900, 43200)
    checks.length("externalId", external_id, 2, 1224)
    checks.pattern("externalId", external_id, EXTERNAL_ID_CHARS)
    checks.length("serialNumber", serial_number, 9, 256)
    checks.pattern("serialNumber", serial_number, SERIAL_CHARS)
    checks.token_code(token_code)
    checks.length("sourceIdentity", source_identity, 2, max_source_identity)
    # The pattern has no `:`, so it also enforces "must not begin with `aws:`".
    checks.pattern("sourceIdentity", source_identity, NAME_CHARS)
    check_tags(checks, tags, transitive_tag_keys)
    checks.count("policyArns", policy_arns, 10)
    for index, arn in enumerate(policy_arns, 1):
        checks.length(f"policyArns.{index}.member.arn", arn, 20, 2048)
    checks.length("policy", policy, 1, 2048)
    checks.raise_if_any()
    if (serial_number is None) != (token_code is None):
        raise validation_error(
            "SerialNumber and TokenCode must be passed together",
            hint="pass the MFA device's serial number and its current 6-digit code",
        )
    if policy is not None and len(policy) + sum(len(a) for a in policy_arns) > 2048:
        raise validation_error(
            "The plaintext of the inline and managed session policies exceeds 2048 characters"
        )
    tag_rules(tags, transitive_tag_keys)


__all__ = [
    "EXTERNAL_ID_CHARS",
    "NAME_CHARS",
    "SERIAL_CHARS",
    "TAG_CHARS",
    "Checks",
    "StsError",
    "access_denied_message",
    "check_tags",
    "normalise_tags",
    "tag_rules",
    "validate_assume_role",
    "validation_error",
]
