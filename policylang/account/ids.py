"""IAM identifiers: unique ids (`AIDA…`), ARNs of IAM entities, and the name/path rules.

Formats follow evaluation.md §1.1–§1.2 and policy-grammar.md §9: entity ids are a 4-letter
prefix plus 17 characters of `[A-Z2-7]`; ARNs are `arn:PARTITION:iam::ACCOUNT:KIND/PATH/NAME`.
Every check raises `AccountError` carrying AWS's error name (`ValidationError`,
`MalformedPolicyDocument`, …) so callers see what AWS would have said.
"""

from __future__ import annotations

import hashlib
import re
import secrets

import attrs

from policylang.errors import AccountError

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
"""The characters of an IAM unique id after its prefix (base32 without padding)."""

ID_PREFIXES: dict[str, str] = {
    "user": "AIDA",
    "group": "AGPA",
    "role": "AROA",
    "policy": "ANPA",
    "instance-profile": "AIPA",
}
"""Unique-id prefix per IAM entity kind (evaluation.md §1.2)."""

_ID_RE = re.compile(r"^A[A-Z]{3}[A-Z2-7]{17}$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_NAME_RE = re.compile(r"^[\w+=,.@-]+$")
_PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
_INLINE_NAME_BAD = re.compile(r"[\\/*?\s]")


def is_account_id(text: str) -> bool:
    """True for a 12-digit AWS account id."""
    return bool(_ACCOUNT_RE.match(text))


def is_unique_id(text: str) -> bool:
    """True for a string shaped like an IAM unique id (`AIDA` + 17 of `[A-Z2-7]`)."""
    return bool(_ID_RE.match(text))


@attrs.define
class IdGenerator:
    """Makes unique ids. With a seed the sequence is deterministic (same seed, same ids).

    Ids are derived from the seed and a running counter, never from the entity's name, so
    deleting and re-creating an entity of the same name yields a new id, as in AWS.
    """

    seed: str | None = None
    counter: int = 0

    def new_id(self, kind: str) -> str:
        prefix = ID_PREFIXES[kind]
        if self.seed is None:
            body = "".join(secrets.choice(ID_ALPHABET) for _ in range(17))
        else:
            self.counter += 1
            digest = hashlib.sha256(f"{self.seed}\0{kind}\0{self.counter}".encode()).digest()
            body = "".join(ID_ALPHABET[b & 31] for b in digest[:17])
        return prefix + body


def check_account_id(account_id: str, *, where: str = "account id") -> str:
    if not isinstance(account_id, str) or not is_account_id(account_id):
        raise AccountError(
            f"`{account_id}` is not an AWS account id",
            aws_error="ValidationError",
            path=where,
            hint="an account id is exactly 12 digits, e.g. 111122223333",
        )
    return account_id


def check_name(kind: str, name: object, *, max_length: int, where: str) -> str:
    """Validate an entity name: `[\\w+=,.@-]`, 1..max_length characters."""
    if not isinstance(name, str) or not name or len(name) > max_length or not _NAME_RE.match(name):
        raise AccountError(
            f"invalid {kind} name `{name}`",
            aws_error="ValidationError",
            path=where,
            hint=f"{kind} names are 1-{max_length} characters of letters, digits and +=,.@_-",
        )
    return name


def check_inline_policy_name(name: object, *, where: str) -> str:
    if (
        not isinstance(name, str)
        or not name
        or len(name) > 128
        or not name.isascii()
        or _INLINE_NAME_BAD.search(name)
    ):
        raise AccountError(
            f"invalid inline policy name `{name}`",
            aws_error="ValidationError",
            path=where,
            hint="inline policy names are 1-128 ASCII characters without \\ / * ? or spaces",
        )
    return name


def check_path(path: object, *, where: str) -> str:
    """Validate an IAM path: starts and ends with `/`, at most 512 characters."""
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or not path.endswith("/")
        or len(path) > 512
        or "//" in path
        or any(not (0x21 <= ord(c) <= 0x7E) for c in path)
    ):
        raise AccountError(
            f"invalid path `{path}`",
            aws_error="ValidationError",
            path=where,
            hint="a path starts and ends with `/`, e.g. `/` or `/engineering/`",
        )
    return path


def iam_arn(partition: str, account_id: str, kind: str, path: str, name: str) -> str:
    """`arn:PARTITION:iam::ACCOUNT:KIND/PATH/NAME` (path `/` gives `KIND/NAME`)."""
    return f"arn:{partition}:iam::{account_id}:{kind}{path}{name}"


@attrs.frozen(slots=True)
class ParsedArn:
    """The six fields of an ARN; `resource` is everything after the fifth colon."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        return self.resource.split("/", 1)[0] if "/" in self.resource else ""


def parse_arn(text: object, *, where: str = "arn") -> ParsedArn:
    """Split an ARN, raising `AccountError(ValidationError)` when it is malformed."""
    if not isinstance(text, str) or not text.startswith("arn:"):
        raise AccountError(
            f"malformed ARN `{text}`",
            aws_error="ValidationError",
            path=where,
            hint="an ARN looks like arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE",
        )
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[1] not in _PARTITIONS or not parts[2] or not parts[5]:
        raise AccountError(
            f"malformed ARN `{text}`",
            aws_error="ValidationError",
            path=where,
            hint="an ARN looks like arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE",
        )
    return ParsedArn(parts[1], parts[2], parts[3], parts[4], parts[5])


def parse_iam_entity_arn(text: object, kind: str, *, where: str) -> tuple[ParsedArn, str, str]:
    """Parse `arn:…:iam::ACCOUNT:KIND/PATH/NAME` → (arn, path, name)."""
    arn = parse_arn(text, where=where)
    prefix = kind + "/"
    if arn.service != "iam" or arn.region or not arn.resource.startswith(prefix):
        raise AccountError(
            f"`{text}` is not an IAM {kind} ARN",
            aws_error="ValidationError",
            path=where,
            hint=f"expected arn:aws:iam::ACCOUNT:{kind}/[PATH/]NAME",
        )
    rest = arn.resource[len(kind) :]
    cut = rest.rfind("/")
    return arn, rest[: cut + 1], rest[cut + 1 :]


def session_arn(partition: str, account_id: str, role_name: str, session_name: str) -> str:
    """The ARN of a role session: no path, account of the role (evaluation.md §7.4)."""
    return f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{session_name}"
