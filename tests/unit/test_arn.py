"""The Arn value type."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.arn import KNOWN_PARTITIONS, Arn, is_arn
from policylang.errors import PolicyValidationError


def test_parse_splits_six_fields_and_keeps_colons_in_the_resource() -> None:
    arn = Arn.parse("arn:aws:ssm:eu-west-1:111122223333:parameter/a:b")
    assert (arn.partition, arn.service, arn.region, arn.account) == (
        "aws",
        "ssm",
        "eu-west-1",
        "111122223333",
    )
    assert arn.resource == "parameter/a:b"


def test_format_round_trips() -> None:
    text = "arn:aws:s3:::bucket/key"
    assert str(Arn.parse(text)) == text


def test_resource_type_and_id() -> None:
    user = Arn.parse("arn:aws:iam::1:user/division/alice")
    assert user.resource_type == "user"
    assert user.resource_id == "division/alice"
    assert user.name == "alice"
    assert user.path == "/division/"
    key = Arn.parse("arn:aws:kms:us-east-1:1:key:1234")
    assert key.resource_type == "key"
    bucket = Arn.parse("arn:aws:s3:::bucket")
    assert bucket.resource_type is None
    assert bucket.resource_id == "bucket"
    assert Arn.parse("arn:aws:iam::1:role/App").path == "/"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("*", "arn.missing-prefix"),
        ("xarn:aws:s3:::b", "arn.missing-prefix"),
        ("arn:aws:s3", "arn.missing-fields"),
        ("arn::s3:::b", "arn.empty-partition"),
        ("arn:aws::::b", "arn.empty-service"),
    ],
)
def test_bad_arns_raise_validation_errors_with_codes(text: str, code: str) -> None:
    with pytest.raises(PolicyValidationError) as info:
        Arn.parse(text, path="Resource[0]")
    assert info.value.code == code
    assert info.value.path == "Resource[0]"
    assert not is_arn(text)


def test_unknown_partition_is_rejected_only_when_partitions_are_given() -> None:
    assert Arn.parse("arn:mars:s3:::b").partition == "mars"
    with pytest.raises(PolicyValidationError) as info:
        Arn.parse("arn:mars:s3:::b", partitions=KNOWN_PARTITIONS)
    assert info.value.code == "arn.unknown-partition"


@settings(max_examples=200)
@given(
    st.sampled_from(sorted(KNOWN_PARTITIONS)),
    st.text(alphabet="abc0-", min_size=1, max_size=5),
    st.text(alphabet="abc-1", max_size=5),
    st.text(alphabet="0123", max_size=5),
    st.text(alphabet="ab/:*", max_size=8),
)
def test_parse_format_round_trip_property(
    partition: str, service: str, region: str, account: str, resource: str
) -> None:
    text = f"arn:{partition}:{service}:{region}:{account}:{resource}"
    arn = Arn.parse(text, partitions=KNOWN_PARTITIONS)
    assert arn.format() == text
    assert arn.resource == resource
