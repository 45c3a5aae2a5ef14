"""The IAM account as data: model, authorization-details import/export, decisions, questions.

`load_environment` / `load_authorization_details` read `aws iam get-account-authorization-details`
output (and an organization file); `load_account_dsl` / `export_account_dsl` read and write the
account DSL; `load_any` reads either form (every `--account FILE` option uses it).
`Environment.authorize` decides one request; `who_can`, `can` and `assume_paths` answer
questions over all principals; `build_graph` draws the trust and access graph.
"""

from __future__ import annotations

from policylang.account.authz_details import (
    export_authorization_details as export_authorization_details,
)
from policylang.account.authz_details import export_organization as export_organization
from policylang.account.authz_details import (
    load_authorization_details as load_authorization_details,
)
from policylang.account.authz_details import load_environment as load_environment
from policylang.account.authz_details import load_environment_data as load_environment_data
from policylang.account.authz_details import load_organization as load_organization
from policylang.account.dsl_loader import export_account_dsl as export_account_dsl
from policylang.account.dsl_loader import load_account_dsl as load_account_dsl
from policylang.account.dsl_loader import load_any as load_any
from policylang.account.dsl_loader import load_dsl_account as load_dsl_account
from policylang.account.model import Account as Account
from policylang.account.model import Environment as Environment
from policylang.account.model import Group as Group
from policylang.account.model import InlinePolicy as InlinePolicy
from policylang.account.model import InstanceProfile as InstanceProfile
from policylang.account.model import ManagedPolicy as ManagedPolicy
from policylang.account.model import PolicyVersion as PolicyVersion
from policylang.account.model import Quotas as Quotas
from policylang.account.model import ResourcePolicy as ResourcePolicy
from policylang.account.model import Role as Role
from policylang.account.model import Tag as Tag
from policylang.account.model import User as User
from policylang.account.org import Organization as Organization
from policylang.account.org import OrgNode as OrgNode
from policylang.account.org import OrgPolicy as OrgPolicy
from policylang.account.questions import Answer as Answer
from policylang.account.questions import assume_paths as assume_paths
from policylang.account.questions import can as can
from policylang.account.questions import who_can as who_can
from policylang.account.resolve import Question as Question

__all__ = [
    "Account",
    "Answer",
    "Environment",
    "Group",
    "InlinePolicy",
    "InstanceProfile",
    "ManagedPolicy",
    "OrgNode",
    "OrgPolicy",
    "Organization",
    "PolicyVersion",
    "Question",
    "Quotas",
    "ResourcePolicy",
    "Role",
    "Tag",
    "User",
    "assume_paths",
    "can",
    "export_account_dsl",
    "export_authorization_details",
    "export_organization",
    "load_account_dsl",
    "load_any",
    "load_authorization_details",
    "load_dsl_account",
    "load_environment",
    "load_environment_data",
    "load_organization",
    "who_can",
]
