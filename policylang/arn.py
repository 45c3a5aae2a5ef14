"""`Arn`: the Amazon Resource Name value type (parse, format, fields).

`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` — exactly six colon-separated fields, the sixth
(resource) may itself contain colons (policy-grammar.md §3.4). Parsing checks the shape only;
which services allow a region or account is a validator's business.
"""

from __future__ import annotations

import attrs

from policylang.errors import PolicyValidationError

KNOWN_PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
"""Partitions accepted by default (configurable by callers through `parse(partitions=...)`)."""


@attrs.frozen(slots=True)
class Arn:
    """A parsed ARN. `str(arn)` gives back the exact text."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(
        cls, text: str, *, partitions: frozenset[str] | None = None, path: str | None = None
    ) -> Arn:
        """Parse `text`; raise PolicyValidationError (code `arn.*`) when it is not an ARN.

        `partitions`: when given, the partition must be one of them. `path` names the field
        the text came from, for the error message.
        """
        fields = text.split(":", 5)
        if fields[0] != "arn":
            raise PolicyValidationError(
                f"{text!r} is not an ARN: it must start with 'arn:'",
                code="arn.missing-prefix",
                path=path,
                hint="an ARN looks like arn:aws:s3:::bucket/key",
            )
        if len(fields) != 6:
            raise PolicyValidationError(
                f"{text!r} is not an ARN: it has {len(fields)} of the 6 colon-separated fields",
                code="arn.missing-fields",
                path=path,
                hint="write arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (region and "
                "account may be empty, e.g. arn:aws:s3:::bucket)",
            )
        _, partition, service, region, account, resource = fields
        if not partition:
            raise PolicyValidationError(
                f"{text!r} is not an ARN: the partition field is empty",
                code="arn.empty-partition",
                path=path,
                hint="use aws, aws-cn or aws-us-gov",
            )
        if partitions is not None and partition not in partitions:
            raise PolicyValidationError(
                f"partition {partition!r} of {text!r} is not a known partition",
                code="arn.unknown-partition",
                path=path,
                hint="known partitions: " + ", ".join(sorted(partitions)),
            )
        if not service:
            raise PolicyValidationError(
                f"{text!r} is not an ARN: the service field is empty",
                code="arn.empty-service",
                path=path,
            )
        return cls(partition, service, region, account, resource)

    @classmethod
    def try_parse(cls, text: str) -> Arn | None:
        """Parse `text`, or None when it is not shaped like an ARN."""
        try:
            return cls.parse(text)
        except PolicyValidationError:
            return None

    def __str__(self) -> str:
        return self.format()

    def format(self) -> str:
        """The ARN text."""
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str | None:
        """The resource-type token (`user` in `user/a/b`, `key` in `key:id`), if any."""
        for i, ch in enumerate(self.resource):
            if ch in "/:":
                return self.resource[:i]
        return None

    @property
    def resource_id(self) -> str:
        """The resource field after its type token (the whole field when there is no type)."""
        kind = self.resource_type
        return self.resource if kind is None else self.resource[len(kind) + 1 :]

    @property
    def name(self) -> str:
        """The last `/`-separated segment of the resource (an IAM entity name, an S3 key leaf)."""
        return self.resource.rsplit("/", 1)[-1]

    @property
    def path(self) -> str:
        """For IAM `type/path/name` resources, the path (`/` by default, `/a/b/` otherwise)."""
        segments = self.resource.split("/")
        if len(segments) <= 2:
            return "/"
        return "/" + "/".join(segments[1:-1]) + "/"


def is_arn(text: str) -> bool:
    """Is `text` shaped like an ARN (six fields, `arn` prefix, non-empty partition/service)?"""
    return Arn.try_parse(text) is not None
