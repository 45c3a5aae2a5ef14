"""Activity logs: CloudTrail records → requests, unused access, least-privilege generation.

`requests_from_cloudtrail(paths, environment)` streams (RecordRef, Mapped | Unmapped) items;
`unused_access(environment, items)` reports granted-but-unused access per principal;
`generate_policy(environment, items, principal)` writes a least-privilege policy and
`prove(environment, generated)` checks it with the evaluator.
"""

from __future__ import annotations

from policylang.activity.cloudtrail import Mapped as Mapped
from policylang.activity.cloudtrail import RecordRef as RecordRef
from policylang.activity.cloudtrail import Tally as Tally
from policylang.activity.cloudtrail import Unmapped as Unmapped
from policylang.activity.cloudtrail import iter_records as iter_records
from policylang.activity.cloudtrail import map_record as map_record
from policylang.activity.cloudtrail import requests_from_cloudtrail as requests_from_cloudtrail
from policylang.activity.generate import Generated as Generated
from policylang.activity.generate import Proof as Proof
from policylang.activity.generate import generate_policy as generate_policy
from policylang.activity.generate import load_catalogue as load_catalogue
from policylang.activity.generate import prove as prove
from policylang.activity.unused import PrincipalUsage as PrincipalUsage
from policylang.activity.unused import UnusedReport as UnusedReport
from policylang.activity.unused import unused_access as unused_access

__all__ = [
    "Generated",
    "Mapped",
    "PrincipalUsage",
    "Proof",
    "RecordRef",
    "Tally",
    "Unmapped",
    "UnusedReport",
    "generate_policy",
    "iter_records",
    "load_catalogue",
    "map_record",
    "prove",
    "requests_from_cloudtrail",
    "unused_access",
]
