"""Regenerate account.json, the two-account world of docs/instance-profiles.md.

Run from the repository root: `python3 examples/s3service/build_account.py`. The output is
authorization-details JSON for two accounts in one bundle (`{"Accounts": [...]}`):

* 111122223333 (demo-app): role `AppServer` (instance profile `AppServer`, trusted by EC2) may
  list its account's buckets, read and write `app-data`, write `app-logs`, read the partner's
  `partner-shared` bucket, and is explicitly denied `s3:DeleteObject`; role `Reader` (trusts
  AppServer) may only read `app-data`; role `Untrusted` sits in instance profile
  `UntrustedProfile` but trusts Lambda, not EC2, so EC2 cannot hand out its credentials.
  Buckets: `app-data`, `app-logs`, `secret-data` (nobody is granted access to it).
* 444455556666 (demo-partner): bucket `partner-shared`, whose bucket policy lets AppServer read
  it, and `partner-private` (no policy).
"""

from __future__ import annotations

import pathlib
from typing import Any

from policylang import _json
from policylang.account import Account, export_authorization_details
from policylang.account.ids import IdGenerator

APP, PARTNER = "111122223333", "444455556666"
V = "2012-10-17"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": V, "Statement": list(statements)}


def bucket(name: str) -> list[str]:
    return [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]


def app_account() -> Account:
    a = Account(APP, alias="demo-app", ids=IdGenerator("app"))
    ec2_trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    a.create_role("AppServer", ec2_trust, create_instance_profile=True, description="app tier")
    a.put_inline_policy(
        "role",
        "AppServer",
        "AppBuckets",
        doc(
            {
                "Sid": "ListMyBuckets",
                "Effect": "Allow",
                "Action": "s3:ListAllMyBuckets",
                "Resource": "*",
            },
            {
                "Sid": "AppData",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject", "s3:PutObject"],
                "Resource": bucket("app-data"),
            },
            {
                "Sid": "WriteLogs",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:PutObject"],
                "Resource": bucket("app-logs"),
            },
            {
                "Sid": "PartnerReads",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject"],
                "Resource": bucket("partner-shared"),
            },
            {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        ),
    )
    a.create_role(
        "Reader",
        doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{APP}:role/AppServer"},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    a.put_inline_policy(
        "role",
        "Reader",
        "ReadAppData",
        doc(
            {
                "Sid": "ReadOnly",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject"],
                "Resource": bucket("app-data"),
            }
        ),
    )
    a.create_role(
        "Untrusted",
        doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    everything = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    a.put_inline_policy("role", "Untrusted", "Everything", everything)
    a.create_instance_profile("UntrustedProfile")
    a.add_role_to_instance_profile("UntrustedProfile", "Untrusted")
    for name in ("app-data", "app-logs", "secret-data"):
        a.put_resource_policy(f"arn:aws:s3:::{name}", None)
    return a


def partner_account() -> Account:
    a = Account(PARTNER, alias="demo-partner", ids=IdGenerator("partner"))
    a.put_resource_policy(
        "arn:aws:s3:::partner-shared",
        doc(
            {
                "Sid": "AppServerReads",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{APP}:role/AppServer"},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": bucket("partner-shared"),
            },
        ),
    )
    a.put_resource_policy("arn:aws:s3:::partner-private", None)
    return a


def main() -> None:
    bundle = {
        "Accounts": [
            export_authorization_details(app_account()),
            export_authorization_details(partner_account()),
        ]
    }
    out = pathlib.Path(__file__).with_name("account.json")
    out.write_text(_json.dumps(bundle, pretty=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
