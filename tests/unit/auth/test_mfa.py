"""TOTP per RFC 6238 (its appendix B vectors) and virtual MFA devices."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from policylang.auth.mfa import (
    INVALID_CODE_MESSAGE,
    MfaDevice,
    authenticate_code,
    check_code,
    hotp,
    match_step,
    new_mfa_device,
    time_step,
    totp,
)
from policylang.errors import AuthError

SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# RFC 6238 appendix B: (Unix time, TOTP, mode), 8 digits.
RFC6238 = [
    (59, "94287082", "sha1"), (59, "46119246", "sha256"), (59, "90693936", "sha512"),
    (1111111109, "07081804", "sha1"), (1111111109, "68084774", "sha256"),
    (1111111109, "25091201", "sha512"),
    (1111111111, "14050471", "sha1"), (1111111111, "67062674", "sha256"),
    (1111111111, "99943326", "sha512"),
    (1234567890, "89005924", "sha1"), (1234567890, "91819424", "sha256"),
    (1234567890, "93441116", "sha512"),
    (2000000000, "69279037", "sha1"), (2000000000, "90698825", "sha256"),
    (2000000000, "38618901", "sha512"),
    (20000000000, "65353130", "sha1"), (20000000000, "77737706", "sha256"),
    (20000000000, "47863826", "sha512"),
]  # fmt: skip
RFC_SEED_B32 = base64.b32encode(SEEDS["sha1"]).decode()
SERIAL = "arn:aws:iam::123456789012:mfa/alice"


@pytest.mark.parametrize(("at", "expected", "mode"), RFC6238)
def test_rfc6238_vectors(at: int, expected: str, mode: str) -> None:
    assert expected == totp(SEEDS[mode], at, digits=8, digest=mode)  # type: ignore[arg-type]


@pytest.mark.parametrize(("at", "expected", "mode"), [v for v in RFC6238 if v[2] == "sha1"])
def test_six_digit_codes_are_the_low_digits_of_the_vectors(
    at: int, expected: str, mode: str
) -> None:
    device = MfaDevice(SERIAL, RFC_SEED_B32)

    assert expected[-6:] == device.code_at(at)
    assert expected[-6:] == device.code_at(datetime.fromtimestamp(at, UTC))


def test_rfc4226_hotp_values() -> None:
    # RFC 4226 appendix D, counters 0 and 9.
    assert hotp(SEEDS["sha1"], 0) == "755224"
    assert hotp(SEEDS["sha1"], 9) == "520489"


def test_codes_are_accepted_one_step_either_side_only() -> None:
    device = MfaDevice(SERIAL, RFC_SEED_B32)
    now = datetime.fromtimestamp(1111111111, UTC)
    step = time_step(now)

    accepted = {d: match_step(device, device.code_at(now + timedelta(seconds=30 * d)), now)
                for d in (-2, -1, 0, 1, 2)}  # fmt: skip

    assert accepted == {-2: None, -1: step - 1, 0: step, 1: step + 1, 2: None}


def test_check_code_refuses_a_replayed_step() -> None:
    now = datetime.fromtimestamp(1234567890, UTC)
    device = MfaDevice(SERIAL, RFC_SEED_B32)
    step = check_code(device, device.code_at(now), now)
    used = MfaDevice(SERIAL, RFC_SEED_B32, last_step=step)

    with pytest.raises(AuthError) as caught:
        check_code(used, device.code_at(now), now)

    assert caught.value.aws_error == "AccessDenied"
    assert caught.value.code == "auth.mfa-invalid-code"


def test_check_code_refuses_a_wrong_code() -> None:
    now = datetime.fromtimestamp(1234567890, UTC)
    device = MfaDevice(SERIAL, RFC_SEED_B32)
    wrong = f"{(int(device.code_at(now)) + 1) % 1_000_000:06d}"

    with pytest.raises(AuthError) as caught:
        check_code(device, wrong, now)

    assert caught.value.message.startswith("MultiFactorAuthentication failed")


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", "", " 123456"])
def test_malformed_codes_are_validation_errors(code: str) -> None:
    device = MfaDevice(SERIAL, RFC_SEED_B32)

    with pytest.raises(AuthError) as caught:
        check_code(device, code, datetime(2024, 1, 1, tzinfo=UTC))

    assert (caught.value.aws_error, caught.value.status) == ("ValidationError", 400)


@pytest.mark.parametrize(
    "serial",
    ["arn:aws:iam::12345678901:mfa/x", "arn:aws:iam::123456789012:user/x", "mfa/x",
     "arn:aws:iam::123456789012:mfa/"],
)  # fmt: skip
def test_invalid_serial_numbers_are_refused(serial: str) -> None:
    with pytest.raises(ValueError, match="invalid MFA serial number"):
        MfaDevice(serial, RFC_SEED_B32)


def test_serial_with_path_is_accepted() -> None:
    device = MfaDevice("arn:aws:iam::123456789012:mfa/team/ops/alice", RFC_SEED_B32)

    assert device.serial_number.endswith("/alice")


def test_new_device_has_a_random_160_bit_seed_and_a_virtual_arn() -> None:
    a = new_mfa_device("123456789012", "alice", path="/people/")
    b = new_mfa_device("123456789012", "alice")

    assert a.serial_number == "arn:aws:iam::123456789012:mfa/people/alice"
    assert b.serial_number == "arn:aws:iam::123456789012:mfa/alice"
    assert len(a.key) == 20
    assert a.key != b.key


def test_seed_never_shows_in_repr_or_str() -> None:
    device = new_mfa_device("123456789012", "alice")
    seed = device.seed.reveal()

    assert seed not in repr(device)
    assert seed not in str(device)
    assert seed not in f"{device.seed}"
    assert seed in device.provisioning_uri()


def test_authenticate_code_consumes_the_step_once() -> None:
    from policylang.auth.store import InMemoryCredentialStore

    store = InMemoryCredentialStore()
    device = MfaDevice(SERIAL, RFC_SEED_B32, user_arn="arn:aws:iam::123456789012:user/alice")
    store.put_mfa_device(device)
    now = datetime.fromtimestamp(1234567890, UTC)
    code = device.code_at(now)

    when = authenticate_code(store, SERIAL, code, now, user_arn=device.user_arn)
    with pytest.raises(AuthError) as replay:
        authenticate_code(store, SERIAL, code, now + timedelta(seconds=5))

    assert when == now
    assert replay.value.aws_error == "AccessDenied"
    stored = store.get_mfa_device(SERIAL)
    assert stored is not None
    assert stored.last_step == time_step(now)


@pytest.mark.parametrize(
    ("serial", "user"),
    [
        ("arn:aws:iam::123456789012:mfa/nobody", None),
        (SERIAL, "arn:aws:iam::123456789012:user/bob"),
    ],
)
def test_unknown_or_foreign_devices_look_like_a_wrong_code(serial: str, user: str | None) -> None:
    from policylang.auth.store import InMemoryCredentialStore

    store = InMemoryCredentialStore()
    device = MfaDevice(SERIAL, RFC_SEED_B32, user_arn="arn:aws:iam::123456789012:user/alice")
    store.put_mfa_device(device)
    now = datetime.fromtimestamp(1234567890, UTC)

    with pytest.raises(AuthError) as caught:
        authenticate_code(store, serial, device.code_at(now), now, user_arn=user)

    assert caught.value.aws_error == "AccessDenied"
    assert caught.value.message == INVALID_CODE_MESSAGE
