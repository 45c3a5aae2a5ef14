"""Writes the bad-policy corpus: `NAME.json` + `NAME.expect.json` per case.

Run `python3 tests/bad/_generate.py` from the repository root after editing CASES. Each case
states where the error must point with an *anchor* (a substring of the document, independent of
the implementation): the expected line/column is where the anchor starts (plus `offset`).
`None` means the document start (1:1). The data files are the corpus; this script only keeps
them easy to review and regenerate.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

HERE = pathlib.Path(__file__).parent
V = "2012-10-17"


def st(**elements: Any) -> dict[str, Any]:
    """A statement: Allow s3:GetObject on * unless overridden (None removes an element)."""
    out: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    for key, value in elements.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return _canonical(out)


ORDER = ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
         "NotResource", "Condition"]


def _canonical(statement: dict[str, Any]) -> dict[str, Any]:
    known = {k: statement[k] for k in ORDER if k in statement}
    return known | {k: v for k, v in statement.items() if k not in known}


def doc(*statements: dict[str, Any], version: str | None = V, **top: Any) -> str:
    out: dict[str, Any] = {}
    if version is not None:
        out["Version"] = version
    out.update(top)
    out["Statement"] = list(statements)
    return json.dumps(out, indent=2, ensure_ascii=False)


def trust(**elements: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    for key, value in elements.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return _canonical(base)


def nth_statement(n: int) -> tuple[str, int, int]:
    """Anchor at the `{` of the n-th (1-based) statement of a `doc()` text."""
    return ("\n    {", n, 5)


# name -> (text, kind, code, anchor); anchor: None | str | (str, occurrence) | (str, occ, offset)
CASES: dict[str, tuple[str | bytes, str | None, str, Any]] = {}


def case(name: str, text: str | bytes, kind: str | None, code: str, anchor: Any) -> None:
    assert name not in CASES, name
    CASES[name] = (text, kind, code, anchor)


OK = st()
BIG_ACTIONS = [f"s3:GetObjectVersion{i:04d}" for i in range(400)]

# ----------------------------------------------------------------------------- JSON layer
case("json-empty", "", None, "json.empty", None)
case("json-whitespace-only", "  \n  ", None, "json.empty", ("  \n  ", 1, 5))
case("json-trailing-comma-object", '{\n  "Version": "2012-10-17",\n}', None, "json.syntax", "}")
case(
    "json-trailing-comma-array",
    '{\n  "Statement": [\n    {"Effect": "Allow", "Action": "s3:x", "Resource": "*"},\n  ]\n}',
    None,
    "json.syntax",
    "]",
)
case("json-single-quotes", "{\n  'Version': '2012-10-17'\n}", None, "json.syntax", "'")
case("json-unquoted-key", '{\n  Version: "2012-10-17"\n}', None, "json.syntax", "Version")
case("json-missing-colon", '{\n  "Version" "2012-10-17"\n}', None, "json.syntax", '"2012')
case(
    "json-missing-comma",
    '{\n  "Version": "2012-10-17"\n  "Statement": []\n}',
    None,
    "json.syntax",
    '"Statement"',
)
case("json-unterminated-string", '{\n  "Version": "2012-10-17\n}', None, "json.invalid-string",
     ("\n}", 1))
case("json-unterminated-at-eof", '{\n  "Version": "2012-10-17', None, "json.unterminated-string",
     '"2012')
case("json-control-character", '{\n  "Id": "a\tb"\n}', None, "json.invalid-string", "\t")
case("json-bad-escape", '{\n  "Id": "a\\xb"\n}', None, "json.invalid-string", "\\x")
case("json-lone-surrogate", '{\n  "Id": "\\ud800"\n}', None, "json.invalid-string", '"\\ud8')
case("json-trailing-garbage", doc(OK) + "\nxyz", None, "json.trailing-data", "xyz")
case("json-two-documents", doc(OK) + "\n" + doc(OK), None, "json.trailing-data", ("\n{", 1, 1))
case("json-extra-closing-brace", doc(OK) + "}", None, "json.trailing-data", ("}}", 1, 1))
case("json-unclosed-object", '{\n  "Version": "2012-10-17"\n', None, "json.syntax", ("\n", 2, 1))
case("json-unclosed-array", '{\n  "Statement": [\n', None, "json.syntax", ("\n", 2, 1))
_deep = '{\n  "Statement": ' + "[" * 300 + "]" * 300 + "\n}"
case("json-deep-nesting", _deep, None, "json.too-deep", ("[", 256))
case("json-nan", '{\n  "Id": NaN\n}', None, "json.syntax", "NaN")
case("json-infinity", '{\n  "Id": -Infinity\n}', None, "json.syntax", "-Infinity")
case("json-comment", '{\n  // a comment\n  "Version": "2012-10-17"\n}', None, "json.syntax", "/")
case("json-leading-zero", '{\n  "Id": 012\n}', None, "json.syntax", "12")
case("json-true-capitalised", '{\n  "Id": True\n}', None, "json.syntax", "True")
case("json-invalid-utf8", b'{\n  "Id": "caf\xc3"\n}', None, "json.invalid-encoding", ("\xc3", 1))
case("json-latin1-bytes", b'{\n  "Version": "2012-10-17",\n  "Id": "caf\xe9"\n}', None,
     "json.invalid-encoding", ("\xe9", 1))
case("json-duplicate-top-key", '{\n  "Version": "2012-10-17",\n  "Version": "2012-10-17",\n'
     '  "Statement": []\n}', None, "json.duplicate-key", ('"Version"', 2))
case("json-duplicate-statement-key", doc(OK).replace(
    '"Effect": "Allow",', '"Effect": "Allow",\n      "Effect": "Deny",'), None,
     "json.duplicate-key", '"Effect": "Deny"')
case("json-duplicate-principal-key", doc(trust()).replace(
    '"Service": "ec2.amazonaws.com"', '"AWS": "*",\n        "AWS": "111122223333"'), None,
     "json.duplicate-key", ('"AWS"', 2))
case("json-duplicate-operator", doc(st(Condition={"StringEquals": {"a": "1"}})).replace(
    '"StringEquals": {', '"Bool": {"b": "true"},\n        "StringEquals": {"c": "1"},\n'
    '        "StringEquals": {'), None, "json.duplicate-key", ('"StringEquals"', 2))
case("json-duplicate-condition-key", doc(st(Condition={"StringEquals": {"a": "1"}})).replace(
    '"a": "1"', '"a": "1",\n          "a": "2"'), None, "json.duplicate-key", ('"a"', 2))
case("json-duplicate-in-second-statement", doc(OK, st(Sid="B")).replace(
    '"Sid": "B",', '"Sid": "B",\n      "Sid": "C",'), None, "json.duplicate-key", ('"Sid"', 2))
case("json-duplicate-statement-element", '{\n  "Statement": {"Effect": "Allow"},\n'
     '  "Statement": {"Effect": "Deny"}\n}', None, "json.duplicate-key", ('"Statement"', 2))

# ----------------------------------------------------------------------------- structure
case("top-number", "42", None, "policy.not-an-object", None)
case("top-array", "[\n" + doc(OK) + "\n]", None, "policy.not-an-object", None)
case("top-string", '"policy"', None, "policy.not-an-object", None)
case("top-null", "null", None, "policy.not-an-object", None)
case("unknown-top-element", doc(OK).replace('"Statement"', '"Statements"'), None,
     "policy.unknown-element", '"Statements"')
case("lowercase-statement", doc(OK).replace('"Statement"', '"statement"'), None,
     "policy.unknown-element", '"statement"')
case("top-conditions-element", doc(OK, Conditions={}), None, "policy.unknown-element",
     '"Conditions"')
case("missing-statement", '{\n  "Version": "2012-10-17"\n}', None, "policy.missing-statement",
     None)
case("empty-statement", '{\n  "Version": "2012-10-17",\n  "Statement": []\n}', None,
     "policy.empty-statement", '"Statement"')
case("statement-string", '{\n  "Statement": "Allow everything"\n}', None, "policy.wrong-type",
     '"Allow')
case("statement-list-of-strings", '{\n  "Statement": ["afd"]\n}', None, "policy.wrong-type",
     '"afd"')
case("statement-null", '{\n  "Statement": null\n}', None, "policy.wrong-type", "null")
case("version-number", '{\n  "Version": 2012,\n  "Statement": []\n}', None, "policy.wrong-type",
     "2012")
case("version-unknown", doc(OK, version="2013-10-17"), None, "policy.invalid-version",
     '"2013')
case("version-trailing-space", doc(OK, version="2012-10-17 "), None, "policy.invalid-version",
     '"2012')
case("version-null", '{\n  "Version": null,\n  "Statement": []\n}', None, "policy.wrong-type",
     "null")
case("id-array", doc(OK, Id=["a"]), None, "policy.wrong-type", '[\n    "a"')
case("sid-number", doc(st(Sid=1)), None, "policy.wrong-type", "1,")
case("sid-object", doc(st(Sid={})), None, "policy.wrong-type", "{},")
case("unknown-statement-element", doc(st(Actions="s3:x")), None, "policy.unknown-element",
     '"Actions"')
case("lowercase-effect", doc(OK).replace('"Effect"', '"effect"'), None,
     "policy.unknown-element", '"effect"')
case("statement-comment-element", doc(st(Comment="why")), None, "policy.unknown-element",
     '"Comment"')
case("missing-effect", doc(st(Effect=None)), None, "policy.missing-effect", nth_statement(1))
case("effect-permit", doc(st(Effect="Permit")), None, "policy.invalid-effect", '"Permit"')
case("effect-empty", doc(st(Effect="")), None, "policy.invalid-effect", '""')
case("effect-number", doc(st(Effect=1)), None, "policy.wrong-type", "1,")
case("effect-list", doc(st(Effect=["Allow"])), None, "policy.wrong-type", '[\n        "Allow"')
case("effect-lowercase", doc(st(Effect="allow")), None, "policy.effect-case", '"allow"')
case("action-and-notaction", doc(st(NotAction="s3:x")), None, "policy.conflicting-elements",
     '"NotAction"')
case("resource-and-notresource", doc(st(NotResource="*")), None,
     "policy.conflicting-elements", '"NotResource"')
case("principal-and-notprincipal", doc(st(Principal="*", NotPrincipal="*")), None,
     "policy.conflicting-elements", '"NotPrincipal"')
case("missing-action", doc(st(Action=None)), None, "policy.missing-action", nth_statement(1))
case("empty-action", doc(st(Action=[])), None, "policy.missing-action", '"Action"')
case("empty-notaction-second", doc(OK, st(Action=None, NotAction=[])), None,
     "policy.missing-action", '"NotAction"')
case("action-number", doc(st(Action=3)), None, "policy.wrong-type", "3,")
case("action-list-with-number", doc(st(Action=["s3:x", 3])), None, "policy.wrong-type", "3\n")
case("action-object", doc(st(Action={"s3": "x"})), None, "policy.wrong-type", '{\n        "s3"')
case("action-nested-list", doc(st(Action=[["s3:x"]])), None, "policy.wrong-type",
     '[\n          "s3:x"')
case("resource-object", doc(st(Resource={})), None, "policy.wrong-type", "{}\n")
case("resource-null", doc(st(Resource=None)).replace('"Action": "s3:GetObject"',
     '"Action": "s3:GetObject",\n      "Resource": null'), None, "policy.wrong-type", "null")
case("principal-plain-arn", doc(st(Principal="arn:aws:iam::111122223333:root")), None,
     "principal.invalid", '"arn:aws:iam')
case("principal-array", doc(st(Principal=["*"])), None, "policy.wrong-type", '[\n        "*"')
case("principal-lowercase-aws", doc(st(Principal={"aws": "*"})), None, "principal.unknown-type",
     '"aws"')
case("principal-unknown-type", doc(st(Principal={"Services": "ec2.amazonaws.com"})), None,
     "principal.unknown-type", '"Services"')
case("principal-value-number", doc(st(Principal={"AWS": 111122223333})), None,
     "policy.wrong-type", "111122223333")
case("principal-value-object", doc(st(Principal={"AWS": {"Account": "1"}})), None,
     "policy.wrong-type", '{\n          "Account"')
case("condition-array", doc(st(Condition=[])), None, "condition.wrong-type", "[]")
case("condition-string", doc(st(Condition="a")), None, "condition.wrong-type", '"a"')
case("condition-body-string", doc(st(Condition={"DateGreaterThan": "b"})), None,
     "condition.wrong-type", '"b"')
case("condition-body-array", doc(st(Condition={"DateGreaterThan": []})), None,
     "condition.wrong-type", "[]")
case("condition-unknown-operator", doc(st(Condition={"x": {"a": "1"}})), None,
     "condition.unknown-operator", '"x"')
case("condition-misspelled-operator", doc(st(Condition={"StringEqual": {"a": "1"}})), None,
     "condition.unknown-operator", '"StringEqual"')
case("condition-operator-case", doc(st(Condition={"stringEquals": {"a": "1"}})), None,
     "condition.unknown-operator", '"stringEquals"')
case("condition-double-colon", doc(st(Condition={"ForAnyValue::StringEquals": {"a": "1"}})),
     None, "condition.unknown-operator", '"ForAnyValue::')
case("condition-null-ifexists", doc(st(Condition={"NullIfExists": {"a": "true"}})), None,
     "condition.unknown-operator", '"NullIfExists"')
case("condition-qualified-null", doc(st(Condition={"ForAllValues:Null": {"a": "true"}})), None,
     "condition.unknown-operator", '"ForAllValues:Null"')
case("condition-qualifier-misspelled",
     doc(st(Condition={"ForAnyValues:StringLike": {"a": "x"}})), None,
     "condition.unknown-operator", '"ForAnyValues:')
case("condition-value-object", doc(st(Condition={"StringEquals": {"a": {}}})), None,
     "condition.wrong-type", "{}")
case("condition-value-null", doc(st(Condition={"StringEquals": {"a": None}})), None,
     "condition.wrong-type", "null")
case("condition-list-with-object", doc(st(Condition={"StringEquals": {"a": ["x", {}]}})),
     None, "condition.wrong-type", "{}")
case("condition-list-nested-list", doc(st(Condition={"StringEquals": {"a": [["x"]]}})), None,
     "condition.wrong-type", '[\n              "x"')

# ----------------------------------------------------------------------------- identity
ID = "identity"
case("identity-missing-version", doc(OK, version=None), ID, "policy.version-required", None)
case("identity-version-2008", doc(OK, version="2008-10-17"), ID, "policy.version-required",
     '"2008')
case("identity-principal", doc(st(Principal={"AWS": "*"})), ID, "policy.principal-forbidden",
     '"Principal"')
case("identity-principal-star", doc(OK, st(Principal="*", Effect="Deny")), ID,
     "policy.principal-forbidden", '"Principal"')
case("identity-notprincipal", doc(st(Effect="Deny", NotPrincipal={"AWS": "*"})), ID,
     "policy.not-principal-forbidden", '"NotPrincipal"')
case("identity-missing-resource", doc(st(Resource=None)), ID, "policy.missing-resource",
     nth_statement(1))
case("identity-empty-resource", doc(OK, st(Resource=[])), ID, "policy.missing-resource",
     ('"Resource"', 2))
case("identity-sid-hyphen", doc(st(Sid="Allow-Read")), ID, "policy.invalid-sid", nth_statement(1))
case("identity-sid-space", doc(OK, st(Sid="Read all")), ID, "policy.invalid-sid",
     nth_statement(2))
case("identity-sid-underscore", doc(st(Sid="a_b")), ID, "policy.invalid-sid", nth_statement(1))
case("identity-duplicate-sid", doc(st(Sid="A"), st(Sid="B"), st(Sid="A")), ID,
     "policy.duplicate-sid", nth_statement(3))
case("identity-effect-uppercase", doc(st(Effect="DENY")), ID, "policy.effect-case", '"DENY"')
case("identity-bad-date-word", doc(st(Condition={"DateGreaterThan": {"aws:CurrentTime":
     "sdfdsf"}})), ID, "condition.invalid-date", '"sdfdsf"')
case("identity-bad-date-month", doc(st(Condition={"DateLessThan": {"aws:CurrentTime":
     "2016-13-01"}})), ID, "condition.invalid-date", '"2016-13-01"')
case("identity-bad-date-short", doc(st(Condition={"DateEquals": {"aws:CurrentTime":
     "234-13"}})), ID, "condition.invalid-date", '"234-13"')
case("identity-bad-date-fraction", doc(st(Condition={"DateGreaterThan": {"aws:CurrentTime":
     "2016-12-13T12:00:00.1234567890Z"}})), ID, "condition.invalid-date", '"2016-12-13T')
case("identity-bad-date-offset", doc(st(Condition={"DateGreaterThan": {"aws:CurrentTime":
     "2016-12-13t2:00:00.593194+1"}})), ID, "condition.invalid-date", '"2016-12-13t')
case("identity-bad-date-hour", doc(st(Condition={"DateGreaterThan": {"aws:CurrentTime":
     "2016-12-13T24:00:00Z"}})), ID, "condition.invalid-date", '"2016-12-13T')
case("identity-bad-epoch-too-big", doc(st(Condition={"DateGreaterThan": {"aws:EpochTime":
     "9223372036854775808"}})), ID, "condition.invalid-date", '"9223372036854775808"')
case("identity-bad-date-boolean", doc(st(Condition={"DateGreaterThanIfExists":
     {"aws:CurrentTime": True}})), ID, "condition.invalid-date", "true")
case("identity-bad-date-in-list", doc(st(Condition={"ForAnyValue:DateLessThan":
     {"aws:CurrentTime": ["2020-01-01", "yesterday"]}})), ID, "condition.invalid-date",
     '"yesterday"')
case("identity-bad-date-negative-epoch", doc(st(Condition={"DateGreaterThan": {"aws:EpochTime":
     "1.5"}})), ID, "condition.invalid-date", '"1.5"')
case("identity-legacy-arn", doc(st(Resource="arn:aws:s3::bucket")), ID, "resource.legacy-arn",
     '"arn:aws:s3::bucket"')
case("identity-resource-not-arn", doc(st(Resource="bucket")), ID, "resource.not-arn", '"bucket"')
case("identity-resource-empty-string", doc(st(Resource="")), ID, "resource.not-arn", '""')
case("identity-resource-bad-partition", doc(st(Resource="arn:aws-foo:s3:::b")), ID,
     "resource.invalid-partition", '"arn:aws-foo')
case("identity-resource-short-partition", doc(st(Resource="a:bsdfdsafsad")), ID,
     "resource.invalid-partition", '"a:bsdf')
case("identity-resource-no-vendor", doc(st(Resource="arn:aws")), ID, "resource.invalid-vendor",
     '"arn:aws"')
case("identity-resource-vendor-wildcard", doc(st(Resource="arn:aws:s*:::b")), ID,
     "resource.invalid-vendor", '"arn:aws:s*')
case("identity-iam-region", doc(st(Resource="arn:aws:iam:us-east-1::user/x")), ID,
     "resource.iam-region", '"arn:aws:iam:us')
case("identity-s3-region", doc(st(Resource="arn:aws:s3:us-east-1::bucket")), ID,
     "resource.s3-region", '"arn:aws:s3:us')
case("identity-iam-type-wildcard", doc(st(Resource="arn:aws:iam::123456789012:u*")), ID,
     "resource.iam-path", '"arn:aws:iam::')
case("identity-iam-type-plural", doc(st(Resource="arn:aws:iam::123456789012:users/bob")), ID,
     "resource.iam-path", '"arn:aws:iam::')
case("identity-notresource-not-arn", doc(st(Resource=None, NotResource=["*", "bucket/*"])), ID,
     "resource.not-arn", '"bucket/*"')
case("identity-resource-reverse-order",
     doc(st(Resource=["arn:aws:iam:us-east-1::user/a", "bucket"])), ID, "resource.not-arn",
     '"bucket"')
case("identity-action-no-vendor", doc(st(Action="GetObject")), ID, "action.missing-vendor",
     '"GetObject"')
case("identity-action-empty-string", doc(st(Action=["s3:x", ""])), ID, "action.missing-vendor",
     '""')
case("identity-action-two-colons", doc(st(Action="s3:Get:Object")), ID,
     "action.too-many-colons", '"s3:Get:Object"')
case("identity-action-comma-list", doc(st(Action="s3:GetObject,s3:PutObject")), ID,
     "action.too-many-colons", '"s3:GetObject,')
case("identity-action-space-vendor", doc(st(Action="s 3:GetObject")), ID,
     "action.invalid-vendor", '"s 3')
case("identity-action-wildcard-vendor", doc(st(Action="s*:Get")), ID, "action.invalid-vendor",
     '"s*:Get"')
case("identity-action-empty-vendor", doc(st(Action=":GetObject")), ID, "action.invalid-vendor",
     '":GetObject"')
case("identity-notaction-bad", doc(st(Action=None, NotAction=["iam:*", "ec2"])), ID,
     "action.missing-vendor", '"ec2"')
case("identity-invalid-character", doc(st(Condition={"StringEquals": {"aws:PrincipalTag/c":
     "5€"}})), ID, "policy.invalid-character", "€")
_big = doc(st(Action=BIG_ACTIONS))
case("identity-oversize", _big, ID, "policy.size-exceeded", None)
# precedence (§6)
case("precedence-syntax-beats-version", doc(st(Actions="s3:x"), version=None), ID,
     "policy.unknown-element", '"Actions"')
case("precedence-version-beats-effect-case", doc(st(Effect="denY"), version=None), ID,
     "policy.version-required", None)
case("precedence-version-beats-date", doc(st(Condition={"DateLessThan": {"aws:CurrentTime":
     "never"}}), version=None), ID, "policy.version-required", None)
case("precedence-effect-case-beats-sid", doc(st(Sid="A", Effect="allow"), st(Sid="A")), ID,
     "policy.effect-case", '"allow"')
case("precedence-legacy-beats-sid", doc(st(Sid="A"), st(Sid="A", Resource="arn:aws:s3::b")), ID,
     "resource.legacy-arn", '"arn:aws:s3::b"')
case("precedence-sid-beats-missing-action", doc(st(Sid="A", Action=None), st(Sid="A")), ID,
     "policy.duplicate-sid", nth_statement(2))
case("precedence-missing-action-beats-resource", doc(st(Resource="bucket"), st(Action=[])), ID,
     "policy.missing-action", '"Action": []')
case("precedence-resource-beats-action", doc(st(Action="GetObject"), st(Resource="bucket")), ID,
     "resource.not-arn", '"bucket"')
case("precedence-action-beats-missing-resource", doc(st(Resource=None), st(Action="x")), ID,
     "action.missing-vendor", '"x"')
case("precedence-principal-beats-version", doc(st(Principal="*"), version=None), ID,
     "policy.principal-forbidden", '"Principal"')

# ----------------------------------------------------------------------------- other kinds
case("boundary-principal", doc(st(Principal={"AWS": "111122223333"})), "boundary",
     "policy.principal-forbidden", '"Principal"')
case("boundary-missing-version", doc(OK, version=None), "boundary", "policy.version-required",
     None)
case("session-principal", doc(st(Principal="*")), "session", "policy.principal-forbidden",
     '"Principal"')
case("session-missing-resource", doc(st(Resource=None)), "session", "policy.missing-resource",
     nth_statement(1))
case("session-oversize", doc(st(Action=BIG_ACTIONS[:100])), "session", "policy.size-exceeded",
     None)
case("trust-resource", doc(trust(Resource="*")), "trust", "policy.resource-forbidden",
     '"Resource"')
case("trust-notresource", doc(trust(NotResource="*")), "trust", "policy.resource-forbidden",
     '"NotResource"')
case("trust-missing-principal", doc(trust(Principal=None)), "trust", "policy.principal-required",
     nth_statement(1))
case("trust-notprincipal", doc(trust(Principal=None, NotPrincipal={"AWS": "*"},
     Effect="Deny")), "trust", "policy.not-principal-forbidden", '"NotPrincipal"')
case("trust-empty-principal", doc(trust(Principal={})), "trust", "policy.empty-principal",
     '"Principal"')
case("trust-empty-aws-list", doc(trust(Principal={"AWS": []})), "trust",
     "policy.empty-principal", '"Principal"')
case("trust-sid-hyphen", doc(trust(Sid="ec2-trust")), "trust", "policy.invalid-sid",
     nth_statement(1))
case("trust-bad-action", doc(trust(Action="AssumeRole")), "trust", "action.missing-vendor",
     '"AssumeRole"')
case("trust-oversize", doc(trust(Action=["sts:AssumeRole"] * 200)), "trust",
     "policy.size-exceeded", None)
case("resource-missing-principal", doc(OK), "resource", "policy.principal-required",
     nth_statement(1))
case("resource-notprincipal-allow", doc(st(NotPrincipal={"AWS": "111122223333"})), "resource",
     "policy.not-principal-allow", '"NotPrincipal"')
case("resource-bad-arn", doc(st(Principal="*", Resource="arn:aws:s3:::b", Sid="x y"),
     st(Principal="*", Resource="b")), "resource", "resource.not-arn", '"b"\n')
case("resource-duplicate-sid", doc(st(Principal="*", Sid="S"), st(Principal="*", Sid="S")),
     "resource", "policy.duplicate-sid", nth_statement(2))
case("scp-principal", doc(st(Effect="Deny", Principal="*")), "scp", "policy.principal-forbidden",
     '"Principal"')
case("scp-missing-version", doc(OK, version=None), "scp", "policy.version-required", None)
case("scp-missing-resource", doc(st(Resource=None)), "scp", "policy.missing-resource",
     nth_statement(1))
# Under 5,120 characters without whitespace, over it with: Organizations counts whitespace.
_scp = doc(st(Effect="Deny", Action=BIG_ACTIONS[:150]))
case("scp-oversize-with-whitespace", _scp, "scp", "policy.size-exceeded", None)
R = "rcp"
_rcp_ok = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
case("rcp-allow", doc(dict(_rcp_ok, Effect="Allow")), R, "rcp.effect-allow", nth_statement(1))
case("rcp-principal-map", doc(dict(_rcp_ok, Principal={"AWS": "*"})), R,
     "rcp.principal-not-wildcard", '"Principal"')
case("rcp-missing-principal", doc({k: v for k, v in _rcp_ok.items() if k != "Principal"}), R,
     "policy.principal-required", nth_statement(1))
case("rcp-notprincipal", doc({"Effect": "Deny", "NotPrincipal": {"AWS": "111122223333"},
     "Action": "s3:*", "Resource": "*"}), R, "policy.not-principal-forbidden", '"NotPrincipal"')
case("rcp-notaction", doc({"Effect": "Deny", "Principal": "*", "NotAction": "s3:Get*",
     "Resource": "*"}), R, "rcp.not-action", '"NotAction"')
case("rcp-action-star", doc(dict(_rcp_ok, Action="*")), R, "rcp.action-wildcard", '"Action"')
case("rcp-version-2008", doc(_rcp_ok, version="2008-10-17"), R, "policy.version-required",
     '"2008')
case("rcp-full-access-with-condition", doc({"Effect": "Allow", "Principal": "*", "Action": "*",
     "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}), R,
     "rcp.effect-allow", nth_statement(1))


def position(text: str | bytes, anchor: Any) -> tuple[int, int]:
    if anchor is None:
        return 1, 1
    if isinstance(text, bytes):
        # Anchors on bytes name a single byte (as a latin-1 character); count decoded characters.
        needle = anchor[0].encode("latin-1")
        index = text.index(needle)
        prefix = text[:index].decode("utf-8")
        return prefix.count("\n") + 1, len(prefix) - (prefix.rfind("\n") + 1) + 1
    if isinstance(anchor, str):
        anchor = (anchor, 1, 0)
    needle, occurrence, *rest = anchor
    offset = rest[0] if rest else 0
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    index += offset
    prefix = text[:index]
    return prefix.count("\n") + 1, index - (prefix.rfind("\n") + 1) + 1


def main() -> None:
    for old in HERE.glob("*.json"):
        old.unlink()
    for name, (text, kind, code, anchor) in CASES.items():
        line, column = position(text, anchor)
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (HERE / f"{name}.json").write_bytes(data)
        expect = {"code": code, "line": line, "column": column, "kind": kind}
        (HERE / f"{name}.expect.json").write_text(json.dumps(expect) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} cases")


if __name__ == "__main__":
    main()
