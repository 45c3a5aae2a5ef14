"""policylang: an AWS IAM policy engine.

The public surface is re-exported here; `policylang.ir` and `policylang.errors` are public
modules too.
"""

from __future__ import annotations

from policylang._version import __version__ as __version__
from policylang.compiler import Engine as Engine
from policylang.compiler import compile_policies as compile_policies
from policylang.decision import Decision as Decision
from policylang.decision import EvaluationResult as EvaluationResult
from policylang.decision import MatchedStatement as MatchedStatement
from policylang.errors import PolicyLangError as PolicyLangError
from policylang.evaluator import evaluate as evaluate
from policylang.grammar import format_dsl as format_dsl
from policylang.grammar import format_iam_json as format_iam_json
from policylang.grammar import parse_dsl as parse_dsl
from policylang.grammar import parse_iam_json as parse_iam_json
from policylang.ir import Policy as Policy
from policylang.ir import PolicyKind as PolicyKind
from policylang.policy_set import NamedPolicy as NamedPolicy
from policylang.policy_set import PolicySet as PolicySet
from policylang.request import Caller as Caller
from policylang.request import PrincipalType as PrincipalType
from policylang.request import Request as Request
from policylang.request import Resource as Resource
from policylang.simulate import SimulationResult as SimulationResult
from policylang.simulate import load_case as load_case

# The function shadows the submodule of the same name on the package; `from policylang.simulate
# import X` still reaches the module through sys.modules.
from policylang.simulate import simulate as simulate

__all__ = [
    "Caller",
    "Decision",
    "Engine",
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
    "SimulationResult",
    "compile_policies",
    "evaluate",
    "format_dsl",
    "format_iam_json",
    "load_case",
    "parse_dsl",
    "parse_iam_json",
    "simulate",
]
