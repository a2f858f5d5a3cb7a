"""The pipeline client: ask the gate, start a deployment, report events and KPI samples.

Standard library only, so a CI job needs nothing installed: copy this one file
(``python3 cli.py ...``) or, inside a checkout of the project, ``python -m releasemgr.cli``.

    RELEASEMGR_URL=https://releases.example.com RELEASEMGR_TOKEN=... \\
        python -m releasemgr.cli gate --service payments-api --version 1.4.2 \\
        --environment production --wait 900

Commands and exit codes:

- ``gate``: 0 allowed, 1 prevented, 2 waiting (still waiting when ``--wait`` ran out);
- ``advice``: the advised strategy (blue-green, canary, rolling) with the reasons;
- ``deploy``: prints the new deployment's id on stdout; 0 started, 1 the gate refused (409);
  ``--git-range v1.4.1..HEAD`` sends the range's commits (sha, author date) for lead time;
- ``event``: report a node / smoke / health result or the final result of a deployment;
- ``kpi``: post a KPI sample;
- every command: 3 for a usage error, a connection error or an unexpected HTTP answer
  (the server's message is printed). ``--json`` prints the server's answer as JSON.

``deploy`` and ``event`` send an ``Idempotency-Key`` (``--idempotency-key``, default taken from
``RELEASEMGR_IDEMPOTENCY_KEY``), so a retried CI step gets the first answer back instead of a
second deployment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

ALLOWED, PREVENTED, WAITING, ERROR = 0, 1, 2, 3
TIMEOUT_SECONDS = 30


class CliError(Exception):
    """A usage, connection or HTTP problem: exit code 3 with this message."""


def _config() -> tuple[str, str]:
    url = os.environ.get("RELEASEMGR_URL", "").rstrip("/")
    token = os.environ.get("RELEASEMGR_TOKEN", "").strip()
    if not url:
        raise CliError(
            "Set RELEASEMGR_URL to the release manager's address, e.g. http://127.0.0.1:8000."
        )
    if not token:
        raise CliError(
            "Set RELEASEMGR_TOKEN to an API token (python manage.py issue_token <user>)."
        )
    return url, token


def request(method: str, path: str, body: dict | None = None, *, idempotency_key: str = ""):
    """(status, parsed JSON answer) for an API call; HTTP error answers are returned too."""
    url, token = _config()
    data = json.dumps(body).encode("utf-8") if body is not None else None
    req = urllib.request.Request(f"{url}/api/v1/{path.lstrip('/')}", data=data, method=method)
    req.add_header("Authorization", f"Token {token}")
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if idempotency_key:
        req.add_header("Idempotency-Key", idempotency_key)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as response:
            return response.status, _parse(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _parse(exc.read())
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"Cannot reach {url}: {getattr(exc, 'reason', exc)}") from None


def _parse(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        return {"detail": raw.decode("utf-8", "replace")[:500]}


def _problem(status: int, answer) -> CliError:
    if isinstance(answer, dict):
        detail = answer.get("detail")
        if detail is None:
            detail = "; ".join(
                f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                for field, msgs in answer.items()
            )
    else:
        detail = str(answer)
    return CliError(f"HTTP {status}: {detail}")


def _print_checks(checks, out=sys.stdout) -> None:
    for check in checks or []:
        mark = "ok  " if check.get("passed") else "FAIL"
        print(f"  [{mark}] {check.get('code')}: {check.get('message')}", file=out)


def _emit(args, answer) -> None:
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))


# --- commands ---------------------------------------------------------------------------------


def cmd_gate(args) -> int:
    body = {"service": args.service, "version": args.version, "environment": args.environment}
    if args.region:
        body["region"] = args.region
    if args.reason:
        body["reason"] = args.reason
    deadline = time.monotonic() + max(args.wait, 0)
    while True:
        status, answer = request("POST", "gate/", body)
        if status != 200 or not isinstance(answer, dict) or "status" not in answer:
            raise _problem(status, answer)
        if args.json:
            _emit(args, answer)
        else:
            print(
                f"Gate: {answer['status']} for {args.service} {args.version} → {args.environment}"
                f" (release {answer.get('release') or '—'}, decision {answer.get('decision_id')})"
            )
            _print_checks(answer.get("checks"))
        if answer["status"] == "allowed":
            return ALLOWED
        if answer["status"] != "waiting":
            return PREVENTED
        left = deadline - time.monotonic()
        if left <= 0:
            if answer.get("retry_after"):
                print(f"Still waiting; retry after {answer['retry_after']}.")
            return WAITING
        pause = min(args.interval, left)
        retry_after = answer.get("retry_after")
        if retry_after:
            try:
                until = datetime.fromisoformat(retry_after.replace("Z", "+00:00"))
                pause = min(left, max(1.0, (until - datetime.now(UTC)).total_seconds()))
            except ValueError:
                pass
        print(f"Waiting {pause:.0f} s before asking again…")
        time.sleep(pause)


def cmd_advice(args) -> int:
    path = f"releases/{args.release}/strategy-advice/?environment={args.environment}"
    status, answer = request("GET", path)
    if status != 200 or not isinstance(answer, dict):
        raise _problem(status, answer)
    if args.json:
        _emit(args, answer)
        return ALLOWED
    print(f"Advised strategy: {answer['recommended']} ({answer['summary']})")
    steps = " → ".join(f"{s['percent']}%/{s['hold_minutes']}min" for s in answer["canary_steps"])
    print(f"Canary steps if canary: {steps}")
    for option in answer["options"]:
        print(f"{option['strategy']}{'' if option['feasible'] else ' (not possible here)'}:")
        _print_checks(option["reasons"])
    return ALLOWED


def parse_steps(text: str) -> list[dict]:
    """``5:30, 25:30, 100`` → [{"percent": 5, "hold_minutes": 30}, ...] (the server validates)."""
    steps = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        percent, _, hold = part.rstrip("%").partition(":")
        try:
            steps.append({"percent": int(percent.rstrip("%")), "hold_minutes": int(hold or 0)})
        except ValueError:
            raise CliError(
                f"Canary step '{part}': write percent:hold-minutes, e.g. 25:30."
            ) from None
    return steps


def git_commits(revision_range: str, service: str = "") -> list[dict]:
    """The commits of ``revision_range`` (e.g. ``v1.4.1..HEAD``) in the current git checkout,
    as the deployment API takes them: ``[{"sha", "authored_at", "service"?}]``, oldest first."""
    try:
        out = subprocess.run(
            ["git", "log", "--reverse", "--format=%H %aI", revision_range, "--"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise CliError(f"git log {revision_range} failed: {detail.strip()}") from None
    commits = []
    for line in out.splitlines():
        sha, _, authored = line.partition(" ")
        if sha and authored:
            commits.append(
                {"sha": sha, "authored_at": authored, **({"service": service} if service else {})}
            )
    return commits


def cmd_deploy(args) -> int:
    body = {"release": args.release, "environment": args.environment}
    for field in ("strategy", "pipeline_url", "commit", "region", "reason"):
        value = getattr(args, field)
        if value:
            body[field] = value
    if args.canary_steps:
        body["canary_steps"] = parse_steps(args.canary_steps)
    if args.git_range:
        body["commits"] = git_commits(args.git_range, args.commits_service or "")
    status, answer = request("POST", "deployments/", body, idempotency_key=args.idempotency_key)
    if status in (200, 201) and isinstance(answer, dict):
        print(answer["id"])
        if args.json:
            _emit(args, answer)
        else:
            advice = answer.get("advised_strategy")
            note = f" (advised {advice}; overridden)" if answer.get("advice_overridden") else ""
            print(
                f"Deployment #{answer['id']} of {answer['release']} to {answer['environment']} "
                f"{answer['status']}, strategy {answer['strategy']}{note}.",
                file=sys.stderr,
            )
        return ALLOWED
    if status == 409 and isinstance(answer, dict):
        print(f"Refused: {answer.get('detail')}", file=sys.stderr)
        _print_checks([c for c in answer.get("checks", []) if not c.get("passed")], sys.stderr)
        if args.json:
            _emit(args, answer)
        return PREVENTED
    raise _problem(status, answer)


def cmd_event(args) -> int:
    body = {"type": args.type}
    for field in ("target", "status", "message"):
        value = getattr(args, field)
        if value:
            body[field] = value
    status, answer = request(
        "POST", f"deployments/{args.deployment}/events/", body, idempotency_key=args.idempotency_key
    )
    if status in (200, 201) and isinstance(answer, dict):
        if args.json:
            _emit(args, answer)
        else:
            target = f" {answer.get('target')}" if answer.get("target") else ""
            print(f"Recorded {answer.get('type')}{target}: {answer.get('status')}.")
        return ALLOWED
    if status == 409 and isinstance(answer, dict):
        print(f"Refused: {answer.get('detail')}", file=sys.stderr)
        return PREVENTED
    raise _problem(status, answer)


def cmd_kpi(args) -> int:
    body = {
        "service": args.service,
        "kpi": args.kpi,
        "environment": args.environment,
        "value": args.value,
    }
    for field in ("unit", "measured_at", "source"):
        value = getattr(args, field)
        if value:
            body[field] = value
    status, answer = request("POST", "kpis/", body, idempotency_key=args.idempotency_key)
    if status in (200, 201):
        if args.json:
            _emit(args, answer)
        else:
            print(f"KPI {args.service}:{args.kpi} = {args.value} recorded in {args.environment}.")
        return ALLOWED
    raise _problem(status, answer)


# --- arguments --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 3, like every other problem
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="releasemgr.cli",
        description="Pipeline client of the release manager (RELEASEMGR_URL, RELEASEMGR_TOKEN).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="Print the server's answer as JSON.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    key_default = os.environ.get("RELEASEMGR_IDEMPOTENCY_KEY", "")

    gate = sub.add_parser(
        "gate", parents=[common], help="May this service version deploy now? (0/1/2)"
    )
    gate.add_argument("--service", required=True)
    gate.add_argument("--version", required=True)
    gate.add_argument("--environment", required=True)
    gate.add_argument("--region")
    gate.add_argument("--reason", help="Why deploying inside a soft window is acceptable.")
    gate.add_argument(
        "--wait", type=float, default=0, help="Seconds to keep asking while the answer is waiting."
    )
    gate.add_argument("--interval", type=float, default=30, help="Seconds between questions.")
    gate.set_defaults(func=cmd_gate)

    advice = sub.add_parser(
        "advice", parents=[common], help="Which deployment strategy fits, and why."
    )
    advice.add_argument("--release", required=True)
    advice.add_argument("--environment", required=True)
    advice.set_defaults(func=cmd_advice)

    deploy = sub.add_parser("deploy", parents=[common], help="Start a deployment; prints its id.")
    deploy.add_argument("--release", required=True, help="Release key, e.g. REL-2026-0001.")
    deploy.add_argument("--environment", required=True)
    deploy.add_argument("--strategy", choices=["rolling", "blue_green", "canary", "recreate"])
    deploy.add_argument("--canary-steps", help="e.g. '5:30, 25:30, 100' (percent:hold minutes).")
    deploy.add_argument("--pipeline-url")
    deploy.add_argument("--commit")
    deploy.add_argument(
        "--git-range",
        help="Send the commits of this git range (e.g. v1.4.1..HEAD, read with git log in the "
        "current directory) for the lead time for changes.",
    )
    deploy.add_argument(
        "--commits-service", help="The service those commits belong to (default: every one)."
    )
    deploy.add_argument("--region")
    deploy.add_argument("--reason")
    deploy.add_argument("--idempotency-key", default=key_default)
    deploy.set_defaults(func=cmd_deploy)

    event = sub.add_parser(
        "event", parents=[common], help="Report a node/smoke/health result or the final result."
    )
    event.add_argument("--deployment", required=True, type=int)
    event.add_argument("--type", required=True, help="node, smoke, health, succeeded, failed, ...")
    event.add_argument("--target")
    event.add_argument("--status", help="ok, failed or info.")
    event.add_argument("--message")
    event.add_argument("--idempotency-key", default="")
    event.set_defaults(func=cmd_event)

    kpi = sub.add_parser("kpi", parents=[common], help="Post a KPI sample.")
    kpi.add_argument("--service", required=True)
    kpi.add_argument("--kpi", required=True)
    kpi.add_argument("--environment", required=True)
    kpi.add_argument("--value", required=True, type=float)
    kpi.add_argument("--unit")
    kpi.add_argument("--measured-at", help="ISO 8601; default: now.")
    kpi.add_argument("--source")
    kpi.add_argument("--idempotency-key", default="")
    kpi.set_defaults(func=cmd_kpi)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ERROR


if __name__ == "__main__":
    sys.exit(main())
