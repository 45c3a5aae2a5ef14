"""Properties of the account model under random sequences of IAM operations.

* a refused operation leaves the account exactly as it was (nothing half-applied);
* whatever the sequence, `load(export(account)) == account`, with JSON or URL-encoded documents.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.account import (
    Account,
    Quotas,
    export_authorization_details,
    load_authorization_details,
)
from policylang.account.ids import IdGenerator
from policylang.errors import AccountError

ACCT = "111122223333"
NAMES = st.sampled_from(["a", "A", "b", "c", "Web", "web", "bad name", "x" * 70])
TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _doc(action: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    }


ACTIONS = st.sampled_from(["s3:GetObject", "ec2:*", "sqs:Send*", "not-an-action", "*"])
KINDS = st.sampled_from(["user", "group", "role"])
OPERATIONS = st.one_of(
    st.tuples(st.just("create_user"), NAMES),
    st.tuples(st.just("create_group"), NAMES),
    st.tuples(st.just("create_role"), NAMES, st.booleans()),
    st.tuples(st.just("create_policy"), NAMES, ACTIONS),
    st.tuples(st.just("create_instance_profile"), NAMES),
    st.tuples(st.just("add_role_to_instance_profile"), NAMES, NAMES),
    st.tuples(st.just("add_user_to_group"), NAMES, NAMES),
    st.tuples(st.just("attach_policy"), KINDS, NAMES, NAMES),
    st.tuples(st.just("put_inline_policy"), KINDS, NAMES, NAMES, ACTIONS),
    st.tuples(st.just("delete_entity"), KINDS, NAMES),
)


def apply(account: Account, op: tuple[Any, ...]) -> None:
    name, *args = op
    if name == "create_role":
        account.create_role(args[0], TRUST_EC2, create_instance_profile=args[1])
    elif name == "create_policy":
        account.create_policy(args[0], _doc(args[1]))
    elif name == "attach_policy":
        account.attach_policy(args[0], args[1], account.arn("policy", args[2]))
    elif name == "put_inline_policy":
        account.put_inline_policy(args[0], args[1], args[2], _doc(args[3]))
    else:
        getattr(account, name)(*args)


@settings(max_examples=150)
@given(st.lists(OPERATIONS, max_size=25))
def test_refused_operations_change_nothing_and_exports_round_trip(ops: list[Any]) -> None:
    account = Account(ACCT, ids=IdGenerator("prop"), quotas=Quotas(instance_profiles_per_account=3))
    for op in ops:
        before = copy.deepcopy(export_authorization_details(account))
        try:
            apply(account, op)
        except AccountError:
            assert export_authorization_details(account) == before

    assert load_authorization_details(export_authorization_details(account)) == account
    encoded = export_authorization_details(account, url_encode=True)
    assert load_authorization_details(encoded) == account
