"""A seeded, realistic workload for the compiled engine: principals, policies and a request stream.

`build_workload(seed, principals=1000)` builds an organisation of a few accounts with ~1,000
principals (IAM users and role sessions). Each principal has attached managed policies (shared by
many principals, so they compile once), inline policies, sometimes a permissions boundary, and the
SCP chain of its account. Resources: S3 buckets with bucket policies, KMS keys with key policies
and roles with trust policies. Policies use wildcards, NotAction/NotResource, Deny guards,
conditions of every common family and policy variables.

`Workload.requests(n, seed)` yields a skewed stream (a few hot principals and actions dominate,
as in a real service) and `Workload.policy_set(request)` gives the PolicySet that decides it
(memoised, so the same objects come back for the same principal/resource pair).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import attrs

from policylang.ir import (
    ActionSpec,
    ConditionClause,
    ConditionEntry,
    ConditionValue,
    Effect,
    Policy,
    PolicyKind,
    PrincipalEntry,
    PrincipalSpec,
    ResourceSpec,
    Statement,
    Values,
)
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Caller, PrincipalType, Request, Resource

Cond = dict[str, dict[str, str | list[str]]]


def _values(items: str | Sequence[str]) -> Values:
    if isinstance(items, str):
        return Values((items,), is_list=False)
    return Values(tuple(items), is_list=True)


def _condition(cond: Cond | None) -> tuple[ConditionClause, ...] | None:
    if cond is None:
        return None
    clauses = []
    for op, body in cond.items():
        entries = []
        for key, vals in body.items():
            items = [vals] if isinstance(vals, str) else vals
            entries.append(
                ConditionEntry(
                    key, tuple(ConditionValue(v) for v in items), is_list=not isinstance(vals, str)
                )
            )
        clauses.append(ConditionClause(op, tuple(entries)))
    return tuple(clauses)


def stmt(
    effect: str,
    actions: str | Sequence[str],
    resources: str | Sequence[str] | None = "*",
    *,
    not_action: bool = False,
    not_resource: bool = False,
    cond: Cond | None = None,
    principal: str | dict[str, str | list[str]] | None = None,
    not_principal: bool = False,
    sid: str | None = None,
) -> Statement:
    """A statement from plain Python values (a compact way to write policies in code)."""
    pspec: PrincipalSpec | None = None
    if principal == "*":
        pspec = PrincipalSpec(is_wildcard=True, negated=not_principal)
    elif isinstance(principal, dict):
        pspec = PrincipalSpec(
            tuple(PrincipalEntry(k, _values(v)) for k, v in principal.items()),
            negated=not_principal,
        )
    return Statement(
        effect=Effect(effect),
        action=ActionSpec(_values(actions), negated=not_action),
        resource=None if resources is None else ResourceSpec(_values(resources), not_resource),
        principal=pspec,
        condition=_condition(cond),
        sid=sid,
    )


def policy(*statements: Statement) -> Policy:
    return Policy(tuple(statements))


ORG_ID = "o-a1b2c3d4e5"
MGMT = "100000000000"
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]
TEAMS = ["blue", "green", "red", "data", "platform", "sec"]

# (action, resource kind) — resource kinds: bucket, object, key, role, table, function, star, queue
ACTIONS: list[tuple[str, str]] = [
    ("s3:GetObject", "object"),
    ("s3:PutObject", "object"),
    ("s3:DeleteObject", "object"),
    ("s3:ListBucket", "bucket"),
    ("s3:GetBucketPolicy", "bucket"),
    ("s3:ListAllMyBuckets", "star"),
    ("kms:Decrypt", "key"),
    ("kms:Encrypt", "key"),
    ("kms:GenerateDataKey", "key"),
    ("kms:ScheduleKeyDeletion", "key"),
    ("sts:AssumeRole", "role"),
    ("sts:TagSession", "role"),
    ("ec2:DescribeInstances", "star"),
    ("ec2:RunInstances", "instance"),
    ("ec2:TerminateInstances", "instance"),
    ("dynamodb:GetItem", "table"),
    ("dynamodb:PutItem", "table"),
    ("dynamodb:Query", "table"),
    ("lambda:InvokeFunction", "function"),
    ("sqs:SendMessage", "queue"),
    ("sqs:ReceiveMessage", "queue"),
    ("iam:CreateUser", "user"),
    ("iam:PassRole", "role"),
    ("iam:ListUsers", "star"),
    ("cloudwatch:PutMetricData", "star"),
    ("logs:PutLogEvents", "loggroup"),
]


@attrs.define
class PrincipalInfo:
    caller: Caller
    identity: tuple[NamedPolicy, ...]
    boundary: NamedPolicy | None
    scp: tuple[tuple[NamedPolicy, ...], ...]
    team: str


@attrs.define
class ResourceInfo:
    arn: str
    account: str
    kind: str
    policy: NamedPolicy | None
    tags: dict[str, str]
    rcp: tuple[tuple[NamedPolicy, ...], ...] = ()


@attrs.define
class Workload:
    """Everything generated for one seed."""

    principals: list[PrincipalInfo]
    resources: dict[str, list[ResourceInfo]]  # kind -> resources of that kind
    managed: list[NamedPolicy]
    accounts: list[str]
    _sets: dict[tuple[int, str], PolicySet] = attrs.field(factory=dict)
    _by_arn: dict[str, ResourceInfo] = attrs.field(factory=dict)
    _index_of: dict[str, int] = attrs.field(factory=dict)

    def policy_set(self, request: Request) -> PolicySet:
        """The PolicySet deciding `request` (memoised per principal and resource)."""
        pidx = self._index_of.get(request.principal.id or "")
        if pidx is None:
            pidx = _principal_index(request)
        arn = request.resource.arn
        base = arn.split("/", 1)[0] if arn.startswith("arn:aws:s3:::") else arn
        key = (pidx, base)
        found = self._sets.get(key)
        if found is not None:
            return found
        p = self.principals[pidx]
        res = self._by_arn.get(base)
        ps = PolicySet(
            identity=p.identity,
            resource=res.policy if res is not None else None,
            boundary=p.boundary,
            scp=p.scp,
            rcp=res.rcp if res is not None else (),
        )
        self._sets[key] = ps
        return ps

    def base_sets(self) -> Iterator[PolicySet]:
        """One PolicySet per principal (no resource policy) and one per resource policy."""
        for p in self.principals:
            yield PolicySet(identity=p.identity, boundary=p.boundary, scp=p.scp)
        for info in self._by_arn.values():
            if info.policy is not None:
                yield PolicySet(resource=info.policy, rcp=info.rcp)

    def requests(self, n: int, seed: int = 1) -> list[Request]:
        return list(self.iter_requests(n, seed))

    def iter_requests(self, n: int, seed: int = 1) -> Iterator[Request]:
        """A skewed stream: Zipf-like popularity over principals, actions and resources."""
        rng = random.Random(seed)
        np_ = len(self.principals)
        pweights = [1.0 / (i + 1) ** 0.9 for i in range(np_)]
        aweights = [1.0 / (i + 1) ** 0.7 for i in range(len(ACTIONS))]
        pidx_all = rng.choices(range(np_), pweights, k=n)
        aidx_all = rng.choices(range(len(ACTIONS)), aweights, k=n)
        for pidx, aidx in zip(pidx_all, aidx_all, strict=True):
            p = self.principals[pidx]
            action, kind = ACTIONS[aidx]
            yield self._request(rng, p, action, kind)

    def _request(self, rng: random.Random, p: PrincipalInfo, action: str, kind: str) -> Request:
        acct = p.caller.account or MGMT
        if kind == "star":
            resource = Resource("*", account=acct)
        elif kind in self.resources:
            pool = self.resources[kind]
            # hot resources first; mostly the principal's own account
            res = pool[min(int(rng.expovariate(0.25)), len(pool) - 1)]
            if kind == "object":
                key = rng.choice(["home/", "shared/", "reports/2026/", "tmp/"])
                if key == "home/":
                    key += p.caller.arn.rsplit("/", 1)[-1] + "/" if p.caller.arn else ""
                arn = f"{res.arn}/{key}f{rng.randrange(20)}.txt"
                resource = Resource(arn, account=res.account, tags=res.tags)
            else:
                resource = Resource(res.arn, account=res.account, tags=res.tags)
        else:
            region = rng.choice(REGIONS)
            name = f"{kind}-{rng.randrange(30)}"
            svc = action.split(":", 1)[0]
            arn = f"arn:aws:{svc}:{region}:{acct}:{kind}/{name}"
            if svc == "iam":
                arn = f"arn:aws:iam::{acct}:{kind}/{name}"
            resource = Resource(arn, account=acct)
        ctx: dict[str, str | tuple[str, ...]] = {
            "aws:RequestedRegion": rng.choices(REGIONS, [8, 4, 2, 1])[0],
            "aws:SecureTransport": rng.choices(["true", "false"], [19, 1])[0],
            "aws:CurrentTime": f"2026-0{rng.randrange(1, 10)}-1{rng.randrange(10)}T12:00:00Z",
        }
        r = rng.random()
        if r < 0.85:
            ctx["aws:SourceIp"] = f"10.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(256)}"
        elif r < 0.9:
            ctx["aws:SourceIp"] = f"203.0.113.{rng.randrange(256)}"
        else:
            ctx["aws:SourceVpce"] = rng.choice(["vpce-1111", "vpce-2222"])
        if p.caller.type is PrincipalType.ASSUMED_ROLE or rng.random() < 0.3:
            ctx["aws:MultiFactorAuthPresent"] = rng.choice(["true", "false"])
        if rng.random() < 0.9:
            ctx["aws:PrincipalOrgID"] = ORG_ID
        if action == "s3:ListBucket" and rng.random() < 0.7:
            ctx["s3:prefix"] = rng.choice(["home/", "shared/", "reports/", ""])
        if action in ("ec2:RunInstances", "sts:TagSession") and rng.random() < 0.5:
            tag_keys = rng.sample(["env", "team", "cost", "owner"], rng.randrange(3))
            ctx["aws:TagKeys"] = tuple(tag_keys)
            ctx["aws:RequestTag/team"] = rng.choice(TEAMS)
        return Request(p.caller, action, resource, ctx)


def _principal_index(request: Request) -> int:
    # callers carry their index in the unique id suffix (see _make_principal)
    cid = request.principal.id or ""
    head = cid.split(":", 1)[0]
    return int(head[-6:])


def _managed_policies(rng: random.Random, accounts: list[str]) -> list[NamedPolicy]:
    pols: list[tuple[str, Policy]] = []
    pols.append(("ReadOnlyS3", policy(
        stmt("Allow", ["s3:Get*", "s3:List*"], "*", sid="Read"),
    )))
    pols.append(("PowerUser", policy(
        stmt("Allow", ["iam:*", "organizations:*", "account:*"], "*", not_action=True),
        stmt("Allow", ["iam:CreateServiceLinkedRole", "iam:ListRoles"], "*"),
    )))
    pols.append(("EC2Describe", policy(stmt("Allow", "ec2:Describe*", "*"))))
    pols.append(("HomeDirs", policy(
        stmt("Allow", "s3:ListBucket", "arn:aws:s3:::home-*",
             cond={"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}}),
        stmt("Allow", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             ["arn:aws:s3:::home-*/home/${aws:username}/*"]),
    )))
    pols.append(("RequireMFAForDeletes", policy(
        stmt("Deny", ["s3:Delete*", "ec2:TerminateInstances", "kms:ScheduleKeyDeletion"], "*",
             cond={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
    )))
    pols.append(("CorpNetworkOnly", policy(
        stmt("Deny", "*", "*", cond={
            "NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
            "Null": {"aws:SourceVpce": "true"}}),
    )))
    pols.append(("TeamTagged", policy(
        stmt("Allow", ["ec2:StartInstances", "ec2:StopInstances", "ec2:TerminateInstances"],
             "arn:aws:ec2:*:*:instance/*",
             cond={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}),
        stmt("Allow", "ec2:RunInstances", "*", cond={
            "StringEquals": {"aws:RequestTag/team": "${aws:PrincipalTag/team}"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team", "cost"]}}),
    )))
    pols.append(("TimeBoxed", policy(
        stmt("Allow", ["dynamodb:*"], "*", cond={
            "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
            "DateLessThan": {"aws:CurrentTime": "2026-06-30T23:59:59Z"}}),
    )))
    for team in TEAMS:
        acct = rng.choice(accounts)
        pols.append((f"Team-{team}", policy(
            stmt("Allow", ["s3:GetObject", "s3:PutObject"],
                 [f"arn:aws:s3:::data-{team}-*/*", f"arn:aws:s3:::shared-*/{team}/*"]),
            stmt("Allow", ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
                 f"arn:aws:dynamodb:*:{acct}:table/{team}-*"),
            stmt("Allow", "lambda:InvokeFunction", f"arn:aws:lambda:*:{acct}:function:{team}-*"),
            stmt("Allow", ["sqs:SendMessage", "sqs:ReceiveMessage"],
                 f"arn:aws:sqs:*:{acct}:{team}-*",
                 cond={"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": team}}),
            stmt("Allow", ["kms:Decrypt", "kms:GenerateDataKey"], "*", cond={
                "StringEquals": {"kms:ViaService": ["s3.eu-west-1.amazonaws.com",
                                                    "s3.us-east-1.amazonaws.com"]}}),
            stmt("Deny", "s3:*", f"arn:aws:s3:::data-{team}-*/*", not_resource=True,
                 cond={"StringEquals": {"aws:PrincipalTag/team": "intern"}}),
        )))
    # generic service policies, with random shape
    services = ["s3", "ec2", "dynamodb", "lambda", "sqs", "kms", "logs", "cloudwatch", "sns"]
    verbs = ["Get", "Put", "List", "Describe", "Delete", "Create", "Update", "Send", "Receive"]
    for i in range(40):
        statements = []
        for _ in range(rng.randrange(1, 7)):
            svc = rng.choice(services)
            acts = sorted({f"{svc}:{rng.choice(verbs)}{rng.choice(['*', 'Item', 'Object', ''])}"
                           for _ in range(rng.randrange(1, 5))})
            acct = rng.choice(accounts)
            res: str | list[str]
            r = rng.random()
            if r < 0.3:
                res = "*"
            elif r < 0.8:
                res = [f"arn:aws:{svc}:{rng.choice([*REGIONS, '*'])}:{acct}:"
                       f"{rng.choice(['table/', 'function:', 'bucket-', 'log-group:'])}"
                       f"{rng.choice(TEAMS)}-*" for _ in range(rng.randrange(1, 3))]
            else:
                res = f"arn:aws:s3:::{rng.choice(['data', 'shared', 'logs'])}-*"
            cond: Cond | None = None
            c = rng.random()
            if c < 0.15:
                cond = {"StringEquals": {"aws:RequestedRegion": rng.sample(REGIONS, 2)}}
            elif c < 0.25:
                cond = {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}
            elif c < 0.3:
                cond = {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}
            elif c < 0.35:
                cond = {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{acct}:role/*"}}
            effect = "Deny" if rng.random() < 0.12 else "Allow"
            statements.append(stmt(effect, acts, res, cond=cond))
        pols.append((f"Generated{i:02d}", policy(*statements)))
    return [
        NamedPolicy(f"managed:{name}", pol, PolicyKind.IDENTITY,
                    "aws-managed" if i < 3 else "user-managed")
        for i, (name, pol) in enumerate(pols)
    ]


def _scp_chain(accounts: list[str]) -> dict[str, tuple[tuple[NamedPolicy, ...], ...]]:
    full = NamedPolicy("scp:FullAWSAccess", policy(stmt("Allow", "*", "*")), PolicyKind.SCP)
    region_guard = NamedPolicy("scp:RegionGuard", policy(
        stmt("Deny", ["iam:*", "sts:*", "organizations:*", "support:*", "cloudfront:*"], "*",
             not_action=True,
             cond={"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1",
                                                               "eu-central-1"]}}),
    ), PolicyKind.SCP)
    protect = NamedPolicy("scp:ProtectSecurity", policy(
        stmt("Deny", ["iam:CreateUser", "iam:DeleteRole", "kms:ScheduleKeyDeletion"], "*",
             cond={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}}),
    ), PolicyKind.SCP)
    out: dict[str, tuple[tuple[NamedPolicy, ...], ...]] = {MGMT: ()}
    for i, acct in enumerate(accounts):
        if acct == MGMT:
            continue
        ou = (full, protect) if i % 2 else (full,)
        out[acct] = ((full, region_guard), ou, (full,))
    return out


def _make_principal(
    rng: random.Random, idx: int, acct: str, managed: list[NamedPolicy],
    scps: dict[str, tuple[tuple[NamedPolicy, ...], ...]], boundary_pol: NamedPolicy,
) -> PrincipalInfo:
    team = rng.choice(TEAMS)
    tags = {"team": team}
    if rng.random() < 0.3:
        tags["cost-center"] = f"cc-{rng.randrange(10)}"
    is_role = rng.random() < 0.35
    name = f"{'svc' if is_role else 'user'}{idx:04d}"
    if is_role:
        role = ("admin-" if rng.random() < 0.05 else "app-") + name
        caller = Caller(
            PrincipalType.ASSUMED_ROLE,
            arn=f"arn:aws:sts::{acct}:assumed-role/{role}/s{idx}",
            account=acct, id=f"AROAX{idx:06d}:s{idx}", tags=tags,
            session_name=f"s{idx}",
        )
    else:
        caller = Caller(
            PrincipalType.USER, arn=f"arn:aws:iam::{acct}:user/{name}", account=acct,
            id=f"AIDAX{idx:06d}", tags=tags,
        )
    # popular managed policies attach to many principals (skewed)
    k = rng.randrange(1, 5)
    weights = [1.0 / (i + 1) for i in range(len(managed))]
    chosen = {id(p): p for p in rng.choices(managed, weights, k=k)}
    identity = list(chosen.values())
    for j in range(rng.randrange(0, 3)):
        bucket = f"arn:aws:s3:::data-{team}-{rng.randrange(5)}"
        inline = policy(
            stmt("Allow", ["s3:GetObject", "s3:PutObject"], f"{bucket}/{name}/*"),
            stmt("Allow", "s3:ListBucket", bucket,
                 cond={"StringLike": {"s3:prefix": [f"{name}/*"]}}),
            stmt("Allow", "sts:AssumeRole", f"arn:aws:iam::{rng.choice([acct, MGMT])}:role/app-*"),
        )
        identity.append(NamedPolicy(f"inline:{name}:{j}", inline, PolicyKind.IDENTITY,
                                    "role" if is_role else "user"))
    boundary = boundary_pol if rng.random() < 0.2 else None
    return PrincipalInfo(caller, tuple(identity), boundary, scps.get(acct, ()), team)


def build_workload(seed: int = 0, principals: int = 1000) -> Workload:
    """Generate the whole workload deterministically from `seed`."""
    rng = random.Random(seed)
    accounts = [MGMT, "111111111111", "222222222222", "333333333333", "444444444444"]
    managed = _managed_policies(rng, accounts)
    scps = _scp_chain(accounts)
    boundary_pol = NamedPolicy("boundary:DevBoundary", policy(
        stmt("Allow", ["s3:*", "dynamodb:*", "sqs:*", "lambda:*", "logs:*", "cloudwatch:*",
                       "ec2:Describe*", "kms:Decrypt", "kms:GenerateDataKey", "sts:AssumeRole"],
             "*"),
        stmt("Deny", "iam:*", "*", cond={"StringNotLike": {"aws:PrincipalArn": "*admin*"}}),
    ), PolicyKind.BOUNDARY)
    people = [
        _make_principal(rng, i, rng.choices(accounts, [1, 4, 3, 2, 1])[0], managed, scps,
                        boundary_pol)
        for i in range(principals)
    ]
    rcp_full = NamedPolicy("rcp:RCPFullAWSAccess", policy(
        stmt("Allow", "*", "*", principal="*")), PolicyKind.RCP)
    rcp_org = NamedPolicy("rcp:OrgOnly", policy(
        stmt("Deny", ["s3:*", "kms:*", "sts:*"], "*", principal="*", cond={
            "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG_ID},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}),
    ), PolicyKind.RCP)
    resources: dict[str, list[ResourceInfo]] = {}
    buckets = []
    for i in range(60):
        team = TEAMS[i % len(TEAMS)]
        prefix = rng.choice(["data", "shared", "home", "logs"])
        acct = rng.choice(accounts)
        name = f"{prefix}-{team}-{i % 5}" if prefix == "data" else f"{prefix}-{i}"
        arn = f"arn:aws:s3:::{name}"
        other = rng.choice([a for a in accounts if a != acct])
        bp = policy(
            stmt("Deny", "s3:*", [arn, f"{arn}/*"], principal="*",
                 cond={"Bool": {"aws:SecureTransport": "false"}}, sid="TLSOnly"),
            stmt("Allow", ["s3:GetObject", "s3:ListBucket"], [arn, f"{arn}/*"],
                 principal={"AWS": f"arn:aws:iam::{other}:root"}, sid="PartnerRead"),
            stmt("Allow", "s3:GetObject", f"{arn}/shared/*", principal="*",
                 cond={"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}, sid="OrgRead"),
            stmt("Allow", "s3:PutObject", f"{arn}/*",
                 principal={"AWS": [f"arn:aws:iam::{acct}:role/app-svc{rng.randrange(1000):04d}",
                                    f"arn:aws:iam::{other}:role/app-*"]}, sid="Writers"),
        )
        named = NamedPolicy(f"bucket:{name}", bp, PolicyKind.RESOURCE, "resource")
        rcp = ((rcp_full,), (rcp_full, rcp_org)) if acct != MGMT else ()
        info = ResourceInfo(arn, acct, "bucket", named, {"team": team}, rcp)
        buckets.append(info)
    resources["bucket"] = buckets
    resources["object"] = buckets
    keys = []
    for i in range(20):
        acct = rng.choice(accounts)
        arn = f"arn:aws:kms:eu-west-1:{acct}:key/{i:08d}-aaaa-bbbb-cccc-{i:012d}"
        kp = policy(
            stmt("Allow", "kms:*", "*", principal={"AWS": f"arn:aws:iam::{acct}:root"},
                 sid="EnableIAM"),
            stmt("Allow", ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:Put*",
                           "kms:ScheduleKeyDeletion"], "*",
                 principal={"AWS": f"arn:aws:iam::{acct}:role/admin-*"}, sid="Admins"),
            stmt("Allow", ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "*",
                 principal="*", cond={"StringEquals": {"aws:PrincipalOrgID": ORG_ID,
                                                       "kms:CallerAccount": acct}}, sid="OrgUse"),
        )
        named = NamedPolicy(f"key:{i}", kp, PolicyKind.RESOURCE, "resource")
        rcp = ((rcp_full,), (rcp_full, rcp_org)) if acct != MGMT else ()
        keys.append(ResourceInfo(arn, acct, "key", named, {}, rcp))
    resources["key"] = keys
    roles = []
    for i in range(40):
        acct = rng.choice(accounts)
        arn = f"arn:aws:iam::{acct}:role/app-svc{i:04d}"
        trusted = rng.choice([f"arn:aws:iam::{acct}:root", f"arn:aws:iam::{MGMT}:root",
                              f"arn:aws:iam::{acct}:user/user{rng.randrange(1000):04d}"])
        tp = policy(
            stmt("Allow", ["sts:AssumeRole", "sts:TagSession"], None,
                 principal={"AWS": trusted},
                 cond={"StringEquals": {"aws:PrincipalTag/team": rng.choice(TEAMS)}}
                 if rng.random() < 0.3 else None),
            stmt("Allow", "sts:AssumeRole", None, principal={"Service": "lambda.amazonaws.com"}),
        )
        named = NamedPolicy(f"trust:app-svc{i:04d}", tp, PolicyKind.TRUST, "resource")
        roles.append(ResourceInfo(arn, acct, "role", named, {}))
    resources["role"] = roles
    wl = Workload(people, resources, managed, accounts)
    for i, person in enumerate(people):
        wl._index_of[person.caller.id or ""] = i
    for infos in resources.values():
        for info in infos:
            wl._by_arn[info.arn] = info
    return wl
