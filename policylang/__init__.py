"""policylang: an AWS IAM policy engine.

The public surface is re-exported here; `policylang.ir` and `policylang.errors` are public
modules too.
"""

from __future__ import annotations

from policylang._version import __version__ as __version__
from policylang.decision import Decision as Decision
from policylang.decision import EvaluationResult as EvaluationResult
from policylang.decision import MatchedStatement as MatchedStatement
from policylang.errors import PolicyLangError as PolicyLangError
from policylang.ir import Policy as Policy
from policylang.ir import PolicyKind as PolicyKind
from policylang.policy_set import NamedPolicy as NamedPolicy
from policylang.policy_set import PolicySet as PolicySet
from policylang.request import Caller as Caller
from policylang.request import PrincipalType as PrincipalType
from policylang.request import Request as Request
from policylang.request import Resource as Resource

__all__ = [
    "Caller",
    "Decision",
    "EvaluationResult",
    "MatchedStatement",
    "NamedPolicy",
    "Policy",
    "PolicyKind",
    "PolicyLangError",
    "PolicySet",
    "PrincipalType",
    "Request",
    "Resource",
]
