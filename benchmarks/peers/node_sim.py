"""Feed the workload to @cloud-copilot/iam-simulate (benchmarks/peers/node/run.mjs).

Requests become iam-simulate `Simulation`s: identity policies, the resource policy, the
boundary, SCP and RCP levels, the request with its context (including the keys policylang
derives, given explicitly, since iam-simulate derives few of them). Run
`npm install --prefix benchmarks/peers/node` once; without node or the package the peer is
reported as unavailable.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import tempfile
from typing import Any

from benchmarks.peers.cases import CaseWriter
from policylang.policy_set import PolicySet
from policylang.request import Request, derive_context

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"

# derive_context lower-cases keys; iam-simulate matches keys case-insensitively anyway.


def available() -> str | None:
    """None when the peer can run, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        return "run `npm install --prefix benchmarks/peers/node` first"
    return None


def _simulation(ps: PolicySet, writer: CaseWriter) -> dict[str, Any]:
    sim: dict[str, Any] = {
        "identityPolicies": [{"name": n.label, "policy": writer.doc(n)} for n in ps.identity],
        "serviceControlPolicies": [
            {"orgIdentifier": f"level{i}", "policies": [
                {"name": n.label, "policy": writer.doc(n)} for n in level]}
            for i, level in enumerate(ps.scp)
        ],
        "resourceControlPolicies": [
            {"orgIdentifier": f"level{i}", "policies": [
                {"name": n.label, "policy": writer.doc(n)} for n in level
                if n.label != "rcp:RCPFullAWSAccess"]}
            for i, level in enumerate(ps.rcp)
        ],
    }
    if ps.resource is not None:
        sim["resourcePolicy"] = writer.doc(ps.resource)
    if ps.boundary is not None:
        sim["permissionBoundaryPolicies"] = [
            {"name": ps.boundary.label, "policy": writer.doc(ps.boundary)}]
    return sim


def _request(request: Request) -> dict[str, Any]:
    ctx = {k: (v if isinstance(v, str) else list(v)) for k, v in derive_context(request).items()}
    return {
        "principal": request.principal.arn,
        "action": request.action,
        "resource": {"resource": request.resource.arn,
                     "accountId": request.resource.account or ""},
        "contextVariables": ctx,
    }


def run(pairs: list[tuple[PolicySet, Request]], timeout: float = 400.0) -> dict[str, Any]:
    writer = CaseWriter()
    sets: list[dict[str, Any]] = []
    index: dict[int, int] = {}
    items = []
    for ps, request in pairs:
        i = index.get(id(ps))
        if i is None:
            i = index[id(ps)] = len(sets)
            sets.append(_simulation(ps, writer))
        items.append({"set": i, "request": _request(request)})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"sets": sets, "requests": items}, handle)
        path = handle.name
    try:
        proc = subprocess.run(
            ["node", str(NODE_DIR / "run.mjs"), path], cwd=NODE_DIR, capture_output=True,
            text=True, timeout=timeout, check=False,
        )
    finally:
        pathlib.Path(path).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-500:])
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
