"""`policylang imds`: serve EC2 instance-metadata credentials for simulated instances.

One HTTP server per instance (an instance is chosen by the port its clients point at):
`--instance i-0123456789abcdef0=WebServer` (repeatable; default: one instance per instance
profile that holds a role). Credentials are role sessions issued by STS as ec2.amazonaws.com
into the credential store; give `--store FILE` (SQLite) to share them with a service running in
another process (`python -m policylang.examples_service --store FILE …`).

On start it prints one line per endpoint (`imds i-… http://127.0.0.1:PORT profile=… role=…`,
`admin http://…` with `--admin-port`) and then `ready`. Force a rotation with SIGHUP or
`POST /rotate[?instance=ID]` on the admin port (never on the metadata port). Stop with
Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, urlsplit

from policylang import _json
from policylang.account import Environment, load_environment
from policylang.auth.credentials import mask_key_id
from policylang.auth.imds import ImdsError, ImdsInstance, ImdsServer, find_profile
from policylang.auth.store import CredentialStore, InMemoryCredentialStore, SqliteCredentialStore
from policylang.auth.sts import StsService

DEFAULT_PRIVATE_IP = "10.0.0.10"
"""The private address of a simulated instance unless `--private-ip` says otherwise."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `imds` verb."""
    p = subparsers.add_parser(
        "imds",
        help="serve EC2 instance-metadata (IMDS) credentials for instance profiles",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--account",
        action="append",
        required=True,
        metavar="FILE",
        help="authorization-details JSON of an account (repeat for several)",
    )
    p.add_argument("--organization", metavar="FILE", help="organization JSON (SCPs, RCPs)")
    p.add_argument(
        "--instance",
        action="append",
        default=[],
        metavar="ID=PROFILE",
        help="a simulated instance and its instance profile (NAME, ACCOUNT:NAME or "
        "ARN); repeat for several",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="port of the first instance, the next ones follow (0: pick free ports)",
    )
    p.add_argument(
        "--allow-v1",
        action="store_true",
        help="also answer IMDSv1 requests (no session token); refused by default",
    )
    p.add_argument(
        "--credential-ttl",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="session duration asked from STS (900..43200, capped by the role)",
    )
    p.add_argument(
        "--refresh-margin",
        type=int,
        default=900,
        metavar="SECONDS",
        help="publish new credentials this long before expiry (>= 300)",
    )
    p.add_argument(
        "--store", metavar="FILE", help="SQLite credential store shared with the protected services"
    )
    p.add_argument("--region", default="us-east-1", help="the instances' region")
    p.add_argument(
        "--vpc-id",
        default=None,
        metavar="VPC",
        help="the instances' VPC (vpc-…): sets aws:Ec2InstanceSourceVpc in their sessions "
        "(default: none, the key is absent)",
    )
    p.add_argument(
        "--private-ip",
        default=DEFAULT_PRIVATE_IP,
        metavar="IPV4",
        help="the instances' private IPv4 address: local-ipv4 and "
        f"aws:Ec2InstanceSourcePrivateIPv4 (default {DEFAULT_PRIVATE_IP}; `none`: no address)",
    )
    p.add_argument(
        "--admin-port",
        type=int,
        default=None,
        metavar="N",
        help="serve POST /rotate and GET /instances on this port (0: a free one)",
    )
    p.add_argument(
        "--check-interval",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how often to check whether credentials are due for rotation",
    )
    p.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    p.set_defaults(func=run)


def instance_id_for(profile_arn: str) -> str:
    """A stable instance id derived from a profile ARN (when none is given)."""
    return "i-" + hashlib.sha256(profile_arn.encode()).hexdigest()[:17]


def build_instances(
    env: Environment,
    sts: StsService,
    specs: Sequence[str],
    *,
    allow_v1: bool,
    credential_ttl: int,
    refresh_margin: int,
    region: str,
    vpc_id: str | None = None,
    private_ip: str | None = DEFAULT_PRIVATE_IP,
) -> list[ImdsInstance]:
    """`ImdsInstance`s for `ID=PROFILE` specs (all profiles with a role when empty).

    `vpc_id` and `private_ip` (None: none) apply to every instance."""
    from datetime import timedelta

    pairs: list[tuple[str, str]] = []
    for spec in specs:
        instance_id, sep, name = spec.partition("=")
        if not sep or not instance_id or not name:
            raise ImdsError(
                f"bad --instance `{spec}`",
                aws_error="ValidationError",
                code="imds.bad-instance-spec",
                status=400,
                hint="write ID=PROFILE, e.g. --instance i-0123456789abcdef0=WebServer",
            )
        pairs.append((instance_id, name))
    if not pairs:
        for account in env.accounts.values():
            for profile in account.instance_profiles.values():
                if profile.role is not None:
                    pairs.append((instance_id_for(profile.arn), profile.arn))
    if not pairs:
        raise ImdsError(
            "no instance profile holding a role in the loaded accounts",
            aws_error="NoSuchEntity",
            code="imds.no-profile",
            status=404,
            hint="add one, or pass --instance ID=PROFILE",
        )
    seen: set[str] = set()
    out: list[ImdsInstance] = []
    for instance_id, profile_name in pairs:
        if instance_id in seen:
            raise ImdsError(
                f"instance `{instance_id}` given twice",
                aws_error="ValidationError",
                code="imds.duplicate-instance",
                hint="give each --instance its own id",
            )
        seen.add(instance_id)
        account, found = find_profile(env, profile_name)
        out.append(
            ImdsInstance(
                sts,
                instance_id,
                found,
                account,
                allow_v1=allow_v1,
                credential_ttl=credential_ttl,
                refresh_margin=timedelta(seconds=refresh_margin),
                region=region,
                vpc_id=vpc_id,
                private_ip=private_ip,
            )
        )
    return out


def _status(instance: ImdsInstance) -> dict[str, object]:
    current = instance.credentials()
    status: dict[str, object] = {
        "instance": instance.instance_id,
        "profile": instance.profile.arn,
        "role": instance.profile.role,
        "rotations": instance.rotations,
    }
    if current is not None:
        status["code"] = current.code
        if current.credential is not None:
            status["access_key_id"] = mask_key_id(current.credential.access_key_id)
            status["expiration"] = current.credential.expiration.isoformat()
    return status


class AdminServer(ThreadingHTTPServer):
    """`POST /rotate[?instance=ID]` and `GET /instances`, on their own port."""

    daemon_threads = True

    def __init__(self, instances: Sequence[ImdsInstance], host: str, port: int) -> None:
        self.instances = list(instances)
        super().__init__((host, port), _AdminHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _AdminHandler(BaseHTTPRequestHandler):
    server: AdminServer
    protocol_version = "HTTP/1.1"

    def _reply(self, status: int, value: object) -> None:
        body = _json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _selected(self) -> list[ImdsInstance] | None:
        wanted = parse_qs(urlsplit(self.path).query).get("instance")
        if not wanted:
            return self.server.instances
        chosen = [i for i in self.server.instances if i.instance_id in wanted]
        return chosen or None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 65536))
        if urlsplit(self.path).path != "/rotate":
            self._reply(404, {"error": "unknown path; use POST /rotate or GET /instances"})
            return
        chosen = self._selected()
        if chosen is None:
            self._reply(404, {"error": "no such instance"})
            return
        for instance in chosen:
            instance.rotate()
        self._reply(200, [_status(i) for i in chosen])

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/instances":
            self._reply(404, {"error": "unknown path; use POST /rotate or GET /instances"})
            return
        self._reply(200, [_status(i) for i in self.server.instances])

    def log_message(self, format: str, *args: object) -> None:
        return


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    env = load_environment([Path(p) for p in args.account], args.organization)
    store: CredentialStore = (
        SqliteCredentialStore(args.store) if args.store else InMemoryCredentialStore()
    )
    if args.refresh_margin < 300:
        raise ImdsError(
            f"--refresh-margin {args.refresh_margin} is below 300 seconds",
            aws_error="ValidationError",
            code="imds.bad-refresh-margin",
            hint="EC2 publishes new credentials at least 5 minutes before the old ones expire",
        )
    sts = StsService(env, store)
    instances = build_instances(
        env,
        sts,
        args.instance,
        allow_v1=args.allow_v1,
        credential_ttl=args.credential_ttl,
        refresh_margin=args.refresh_margin,
        region=args.region,
        vpc_id=args.vpc_id,
        # `none` (any case): an instance without a private address, as ImdsInstance allows.
        private_ip=None if args.private_ip.lower() == "none" else args.private_ip,
    )
    servers: list[ThreadingHTTPServer] = []
    stop = threading.Event()
    started = False
    try:
        for index, instance in enumerate(instances):
            port = args.port + index if args.port else 0
            server = ImdsServer(instance, args.host, port, log=None if args.quiet else _log)
            servers.append(server)
            current = instance.credentials()
            note = "" if current is None or current.code == "Success" else f" ({current.code})"
            print(
                f"imds {instance.instance_id} {server.url} profile={instance.profile.arn} "
                f"role={instance.profile.role or '-'}{note}",
                flush=True,
            )
        if args.admin_port is not None:
            admin = AdminServer(instances, args.host, args.admin_port)
            servers.append(admin)
            print(f"admin {admin.url}", flush=True)
        if not args.store:
            _log("note: credentials live in this process only; pass --store FILE to share them")
        threads = [
            threading.Thread(target=s.serve_forever, daemon=True, name="imds") for s in servers
        ]
        for thread in threads:
            thread.start()
        started = True

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if signum == signal.SIGHUP:
                for instance in instances:
                    instance.rotate()
                _log("rotated credentials of every instance (SIGHUP)")
            else:
                stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, on_signal)
        print("ready", flush=True)
        while not stop.wait(max(0.5, args.check_interval)):
            for instance in instances:
                instance.refresh_if_due()
    finally:
        for each in servers:
            if started:
                each.shutdown()
            each.server_close()
        store.close()
    return 0
