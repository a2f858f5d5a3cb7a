"""Delivery history as facts: native deployments recorded when they finish, and history
imported from other tools (DESIGN.md "History import").

``record_deployment`` writes (or updates) one ``DeploymentRecord`` per service of a finished
deployment. ``import_lines`` reads JSON lines (deployments and incidents), validates every
line, and writes them in batches inside one transaction: a file with any bad line is refused
as a whole with every error's line number and nothing written. Re-importing the same lines
changes nothing (idempotent by ``external_id``); the same ``external_id`` with different
content is an error for that line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Min, OuterRef, Q, Subquery
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from metrics.attribution import window_hours
from metrics.models.history import CommitRecord, DeploymentRecord, RecordSource, RecordStatus
from metrics.models.incidents import Attribution, Incident, IncidentSeverity, IncidentStatus
from metrics.rollups import mark_dirty
from releasemgr.decisions import require_permission
from releasemgr.redaction import redact
from releases.models import Service, Team
from releases.models.deployment import DeploymentStatus
from scheduling.models import Environment

IMPORT_PERMISSION = "metrics.add_deploymentrecord"
BATCH_SIZE = 1000
ANALYZE_LINES = 10_000
PRODUCTION_SLUGS = ("production", "prod", "prd")
DEFAULT_TEAM = "imported"
# How a native deployment's final status counts in the delivery history.
STATUS_OF = {
    DeploymentStatus.SUCCEEDED: RecordStatus.SUCCEEDED,
    DeploymentStatus.FAILED: RecordStatus.FAILED,
    DeploymentStatus.HALTED: RecordStatus.FAILED,
    DeploymentStatus.PARTIALLY_FAILED: RecordStatus.FAILED,
    DeploymentStatus.ROLLED_BACK: RecordStatus.ROLLED_BACK,
}
DEPLOYMENT_FIELDS = ("external_id", "service", "environment", "version", "finished_at", "status")
INCIDENT_FIELDS = ("external_id", "service", "severity", "started_at")
# Copied from the service/environment at import; not part of a line's content.
DERIVED = ("team_id", "is_production")


# --- native deployments -------------------------------------------------------------------


def record_deployment(deployment) -> list[DeploymentRecord]:
    """Record a finished native deployment: one row per service of its release (team and
    production copied in). Called again when its status changes (a rollback after success,
    a retry that finally succeeds), it updates the rows; an unfinished deployment is skipped."""
    status = STATUS_OF.get(deployment.status)
    if status is None or deployment.finished_at is None:
        return []
    environment = deployment.environment
    records = []
    rows = deployment.release.release_services.select_related("service")
    for rs in rows:
        record, created = DeploymentRecord.objects.get_or_create(
            deployment=deployment,
            service=rs.service,
            defaults={
                "source": RecordSource.NATIVE,
                "release": deployment.release,
                "team_id": rs.service.team_id,
                "environment": environment,
                "is_production": environment.is_production,
                "version": rs.version,
                "status": status,
                "started_at": deployment.started_at,
                "finished_at": deployment.finished_at,
            },
        )
        if not created and (record.status, record.finished_at) != (
            status,
            deployment.finished_at,
        ):
            record.status = status
            record.finished_at = deployment.finished_at
            record.save_with_reason(f"deployment {deployment.status}")
        if created:
            CommitRecord.objects.bulk_create(
                CommitRecord(deployment_record=record, service=rs.service, sha=sha, authored_at=at)
                for sha, at in _native_commits(deployment, rs.service)
            )
        records.append(record)
    refresh_first_shipped(
        CommitRecord.objects.filter(deployment_record__in=records).values_list("service_id", "sha")
    )
    return records


def refresh_first_shipped(keys: Iterable[tuple[int, str]]) -> int:
    """Set ``first_shipped_at`` on every commit row of the ``(service_id, sha)`` keys: the
    ``finished_at`` of the first successful production record of that service containing
    the sha (null when none). Called after records are written or change status, so the
    lead time of a commit is read from its own row. One UPDATE per chunk of keys; returns
    the rows updated."""
    keys = set(keys)
    first = (
        CommitRecord.objects.filter(
            service_id=OuterRef("service_id"),
            sha=OuterRef("sha"),
            deployment_record__is_production=True,
            deployment_record__status=RecordStatus.SUCCEEDED,
        )
        .order_by()
        .values("service_id")
        .annotate(first=Min("deployment_record__finished_at"))
        .values("first")
    )
    by_service: dict[int, set[str]] = {}
    for service_id, sha in keys:
        by_service.setdefault(service_id, set()).add(sha)
    # One UPDATE per chunk of keys: (service = s1 AND sha IN (...)) OR (service = s2 ...).
    updated, chunk, size = 0, Q(), 0
    for service_id, shas in sorted(by_service.items()):
        shas = sorted(shas)
        for i in range(0, len(shas), BATCH_SIZE):
            part = shas[i : i + BATCH_SIZE]
            chunk |= Q(service_id=service_id, sha__in=part)
            size += len(part)
            if size >= BATCH_SIZE:
                updated += CommitRecord.objects.filter(chunk).update(
                    first_shipped_at=Subquery(first)
                )
                chunk, size = Q(), 0
    if size:
        updated += CommitRecord.objects.filter(chunk).update(first_shipped_at=Subquery(first))
    return updated


def _native_commits(deployment, service) -> list[tuple[str, datetime]]:
    """The ``(sha, authored_at)`` pairs a native deployment ships for ``service``: its
    ``commits`` entries naming that service or none."""
    out = {}
    for entry in deployment.commits or []:
        if entry.get("service") not in (None, "", service.slug):
            continue
        authored = parse_datetime(str(entry.get("authored_at", "")))
        if entry.get("sha") and authored is not None:
            out.setdefault(str(entry["sha"]), authored)
    return sorted(out.items())


def latest_production_record(service_id, started_at: datetime, hours: int | None = None):
    """The attribution rule over records (native and imported): the latest production
    deployment record of the service finished in the ``hours`` before ``started_at``."""
    (pk,) = latest_production_records([(service_id, started_at)], hours)
    return DeploymentRecord.objects.filter(pk=pk).first() if pk else None


def latest_production_records(
    questions: list[tuple[int, datetime]], hours: int | None = None
) -> list[int | None]:
    """``latest_production_record`` for many ``(service_id, started_at)`` at once: the record
    ids (or None), in order. One statement per chunk (a scalar subquery per question, glued
    with UNION ALL), for the import, instead of one query per incident."""
    hours = window_hours() if hours is None else hours
    table = connection.ops.quote_name(DeploymentRecord._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    probe = (
        f"SELECT %s, (SELECT d.id FROM {table} d WHERE d.service_id = %s "
        "AND d.is_production = %s AND d.finished_at <= %s AND d.finished_at >= %s "
        "ORDER BY d.finished_at DESC, d.id DESC LIMIT 1)"
    )
    found: dict[int, int | None] = {}
    chunk = 200
    with connection.cursor() as cursor:
        for start in range(0, len(questions), chunk):
            part = questions[start : start + chunk]
            params = []
            for i, (service_id, started_at) in enumerate(part, start):
                low = started_at - timedelta(hours=hours)
                params += [i, service_id, True, adapt(started_at), adapt(low)]
            cursor.execute(" UNION ALL ".join([probe] * len(part)), params)
            found.update(cursor.fetchall())
    return [found.get(i) for i in range(len(questions))]


def record_for_incident(service, started_at: datetime, deployment=None):
    """The record an incident counts against: that of its causing deployment for its service,
    else the attribution rule's pick among records."""
    if deployment is not None:
        return DeploymentRecord.objects.filter(deployment=deployment, service=service).first()
    if service is None or started_at is None:
        return None
    return latest_production_record(service.pk, started_at)


# --- import -------------------------------------------------------------------------------


@dataclass
class LineError:
    line: int
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "message": self.message}


@dataclass
class ImportResult:
    deployments_created: int = 0
    deployments_unchanged: int = 0
    incidents_created: int = 0
    incidents_unchanged: int = 0
    commits_created: int = 0
    services_created: list[str] = field(default_factory=list)
    environments_created: list[str] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "written": self.written,
            "lines": self.lines,
            "deployments": {
                "created": self.deployments_created,
                "unchanged": self.deployments_unchanged,
            },
            "incidents": {"created": self.incidents_created, "unchanged": self.incidents_unchanged},
            "commits_created": self.commits_created,
            "services_created": self.services_created,
            "environments_created": self.environments_created,
            "errors": [e.as_dict() for e in self.errors],
        }

    def summary(self) -> str:
        if not self.ok:
            bad = len({e.line for e in self.errors})
            return f"Refused: {bad} bad line(s) of {self.lines}; nothing was written."
        verb = "Would import" if self.dry_run else "Imported"
        return (
            f"{verb} {self.lines} line(s): deployments {self.deployments_created} created, "
            f"{self.deployments_unchanged} unchanged; incidents {self.incidents_created} "
            f"created, {self.incidents_unchanged} unchanged."
        )


class _Rollback(Exception):
    """Leave the import's transaction without writing (bad file or dry run)."""


def _time(value, name: str, errors: list[str]) -> datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        errors.append(f"'{name}' must be an ISO 8601 date-time, not {value!r}.")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # DESIGN.md: times are UTC
    return parsed


def _text(value, name: str, errors: list[str], max_length: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.append(f"'{name}' must be a non-empty string.")
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.append(f"'{name}' is longer than {max_length} characters.")
    return value


@dataclass
class _Pending:
    line: int
    external_id: str
    values: dict
    commits: list = field(default_factory=list)
    caused_by: str | None = None


class _Importer:
    def __init__(self, user, create_missing: bool, team_slug: str | None, dry_run: bool):
        self.user = user
        self.create_missing = create_missing
        self.team_slug = team_slug or DEFAULT_TEAM
        self.result = ImportResult(dry_run=dry_run)
        self.services = {s.slug: s for s in Service.objects.only("pk", "slug", "team_id")}
        self.environments = {e.slug: e for e in Environment.objects.all()}
        self.team = None
        self.deployments: dict[str, _Pending] = {}  # this batch, by external id
        self.incidents: dict[str, _Pending] = {}
        self.deferred: list[_Pending] = []  # incidents whose cause comes later in the file
        self.record_ids: dict[str, int] = {}  # external ids of records in this file
        self.incident_ids: set[str] = set()
        self.touched_days: set = set()  # UTC days of written production facts (rollups)

    # -- lookups, creating what is missing when asked --
    def _team(self) -> Team:
        if self.team is None:
            self.team, _ = Team.objects.get_or_create(
                slug=self.team_slug, defaults={"name": self.team_slug.replace("-", " ").title()}
            )
        return self.team

    def service(self, slug: str, errors: list[str]):
        found = self.services.get(slug)
        if found is not None:
            return found
        if not self.create_missing:
            errors.append(f"Unknown service '{slug}' (use --create-missing to create it).")
            return None
        if slugify(slug) != slug:
            errors.append(f"'{slug}' is not a valid service slug.")
            return None
        service = Service(slug=slug, name=slug, team=self._team())
        service.save_with_reason("created by history import", user=self.user)
        self.services[slug] = service
        self.result.services_created.append(slug)
        return service

    def environment(self, value, errors: list[str]):
        if isinstance(value, dict):
            slug, production = value.get("slug"), value.get("is_production")
            name = value.get("name")
        else:
            slug, production, name = value, None, None
        if not isinstance(slug, str) or not slug:
            errors.append("'environment' must be a slug (or {slug, is_production}).")
            return None
        found = self.environments.get(slug)
        if found is not None:
            return found
        if not self.create_missing:
            errors.append(f"Unknown environment '{slug}' (use --create-missing to create it).")
            return None
        if slugify(slug) != slug:
            errors.append(f"'{slug}' is not a valid environment slug.")
            return None
        order = (Environment.objects.aggregate(m=Max("order"))["m"] or 0) + 10
        env = Environment(
            slug=slug,
            name=name if isinstance(name, str) and name else slug.title(),
            order=order,
            is_production=bool(production) if production is not None else slug in PRODUCTION_SLUGS,
        )
        env.save_with_reason("created by history import", user=self.user)
        self.environments[slug] = env
        self.result.environments_created.append(slug)
        return env

    # -- one line --
    def line(self, number: int, text: str) -> None:
        self.result.lines += 1
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.error(number, f"Not valid JSON: {exc.msg} (column {exc.colno}).")
            return
        if not isinstance(data, dict):
            self.error(number, "Each line must be a JSON object.")
            return
        kind = data.get("kind")
        if kind == "deployment":
            self.deployment(number, data)
        elif kind == "incident":
            self.incident(number, data)
        else:
            self.error(number, f"'kind' must be 'deployment' or 'incident', not {kind!r}.")

    def error(self, number: int, message: str) -> None:
        self.result.errors.append(LineError(number, message))

    def _missing(self, data: dict, names) -> list[str]:
        return [f"Missing field '{n}'." for n in names if data.get(n) in (None, "")]

    def deployment(self, number: int, data: dict) -> None:
        errors = self._missing(data, DEPLOYMENT_FIELDS)
        if errors:
            for m in errors:
                self.error(number, m)
            return
        external_id = _text(data["external_id"], "external_id", errors)
        service = self.service(str(data["service"]), errors)
        env = self.environment(data["environment"], errors)
        version = _text(str(data["version"]), "version", errors, 100)
        status = data["status"]
        if status not in RecordStatus.values:
            errors.append(
                f"'status' must be one of {', '.join(RecordStatus.values)}, not {status!r}."
            )
        started = _time(data.get("started_at"), "started_at", errors)
        finished = _time(data["finished_at"], "finished_at", errors)
        if started and finished and finished < started:
            errors.append("'finished_at' is before 'started_at'.")
        commits = []
        raw_commits = data.get("commits") or []
        if not isinstance(raw_commits, list):
            errors.append("'commits' must be a list of {sha, authored_at}.")
            raw_commits = []
        seen = set()
        for i, c in enumerate(raw_commits, 1):
            if not isinstance(c, dict) or not c.get("sha") or not c.get("authored_at"):
                errors.append(f"Commit {i} needs 'sha' and 'authored_at'.")
                continue
            sha = str(c["sha"]).strip()[:64]
            authored = _time(c["authored_at"], f"commits[{i}].authored_at", errors)
            if authored and sha not in seen:
                seen.add(sha)
                commits.append((sha, authored))
        if errors:
            for m in errors:
                self.error(number, m)
            return
        values = {
            "service_id": service.pk,
            "team_id": service.team_id,
            "environment_id": env.pk,
            "is_production": env.is_production,
            "version": version,
            "status": status,
            "started_at": started,
            "finished_at": finished,
        }
        pending = _Pending(number, external_id, values, sorted(commits))
        earlier = self.deployments.get(external_id)
        if earlier is not None:
            self._compare(pending, earlier.values, earlier.commits, earlier.line)
            return
        self.deployments[external_id] = pending
        if len(self.deployments) >= BATCH_SIZE:
            self.flush_deployments()

    def incident(self, number: int, data: dict) -> None:
        errors = self._missing(data, INCIDENT_FIELDS)
        if errors:
            for m in errors:
                self.error(number, m)
            return
        external_id = _text(data["external_id"], "external_id", errors)
        service = self.service(str(data["service"]), errors)
        severity = data["severity"]
        if severity not in IncidentSeverity.values:
            errors.append(
                f"'severity' must be one of {', '.join(IncidentSeverity.values)}, not {severity!r}."
            )
        started = _time(data["started_at"], "started_at", errors)
        resolved = _time(data.get("resolved_at"), "resolved_at", errors)
        if started and resolved and resolved < started:
            errors.append("'resolved_at' is before 'started_at'.")
        caused_by = data.get("caused_by")
        if caused_by is not None and (not isinstance(caused_by, str) or not caused_by.strip()):
            errors.append("'caused_by' must be a deployment's external_id or null.")
        title = data.get("title") or external_id
        if errors:
            for m in errors:
                self.error(number, m)
            return
        values = {
            "service_id": service.pk,
            "severity": severity,
            "started_at": started,
            "resolved_at": resolved,
            "title": redact(str(title))[:200],
        }
        pending = _Pending(number, external_id, values, caused_by=caused_by)
        if external_id in self.incidents:
            earlier = self.incidents[external_id]
            if (earlier.values, earlier.caused_by) != (values, caused_by):
                self.error(
                    number,
                    f"Incident {external_id} appears earlier (line {earlier.line}) with different content.",
                )
            else:
                self.result.incidents_unchanged += 1
            return
        self.incidents[external_id] = pending
        if len(self.incidents) >= BATCH_SIZE:
            self.flush_incidents()

    def _compare(self, pending: _Pending, values: dict, commits, where) -> None:
        """A repeated external id: unchanged when the content is the same, else an error."""
        same = all(
            values.get(k) == v for k, v in pending.values.items() if k not in DERIVED
        ) and sorted(commits) == sorted(pending.commits)
        if same:
            self.result.deployments_unchanged += 1
        else:
            place = f"line {where}" if isinstance(where, int) else where
            self.error(
                pending.line,
                f"Deployment {pending.external_id} is already recorded ({place}) with "
                "different content.",
            )

    # -- writing in batches --
    def flush_deployments(self) -> None:
        batch, self.deployments = self.deployments, {}
        if not batch:
            return
        existing = {
            r.external_id: r for r in DeploymentRecord.objects.filter(external_id__in=list(batch))
        }
        commits: dict[int, list] = {}
        for sha, authored, rid in CommitRecord.objects.filter(
            deployment_record__in=list(existing.values())
        ).values_list("sha", "authored_at", "deployment_record_id"):
            commits.setdefault(rid, []).append((sha, authored))
        new = []
        for ext, p in batch.items():
            found = existing.get(ext)
            if found is not None:
                values = {k: getattr(found, k) for k in p.values}
                where = "earlier in this file" if ext in self.record_ids else "in the database"
                self._compare(p, values, commits.get(found.pk, []), where)
                self.record_ids[ext] = found.pk
                continue
            new.append(
                (p, DeploymentRecord(external_id=ext, source=RecordSource.IMPORT, **p.values))
            )
        if not new:
            return
        created = bulk_create_with_history(
            [r for _p, r in new],
            DeploymentRecord,
            batch_size=BATCH_SIZE,
            default_user=self.user,
            default_change_reason="imported",
        )
        by_ext = {r.external_id: r.pk for r in created if r.pk}
        if len(by_ext) < len(new):  # backends that do not return ids
            by_ext = dict(
                DeploymentRecord.objects.filter(
                    external_id__in=[p.external_id for p, _r in new]
                ).values_list("external_id", "pk")
            )
        self.record_ids.update(by_ext)
        rows = [
            CommitRecord(
                deployment_record_id=by_ext[p.external_id],
                service_id=p.values["service_id"],
                sha=sha,
                authored_at=at,
            )
            for p, _r in new
            for sha, at in p.commits
        ]
        CommitRecord.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        refresh_first_shipped((row.service_id, row.sha) for row in rows)
        self.result.deployments_created += len(new)
        self.touched_days.update(
            r.finished_at.astimezone(UTC).date() for _p, r in new if r.is_production
        )
        self.result.commits_created += len(rows)

    def _record_id(self, external_id: str) -> int | None:
        if external_id in self.record_ids:
            return self.record_ids[external_id]
        pk = (
            DeploymentRecord.objects.filter(external_id=external_id)
            .values_list("pk", flat=True)
            .first()
        )
        if pk is not None:
            self.record_ids[external_id] = pk
        return pk

    def flush_incidents(self, final: bool = False) -> None:
        self.flush_deployments()  # a cause named in the same batch is written first
        batch, self.incidents = list(self.incidents.values()), {}
        if final:
            batch, self.deferred = self.deferred + batch, []
        if not batch:
            return
        existing = {
            i.external_id: i
            for i in Incident.objects.filter(external_id__in=[p.external_id for p in batch])
        }
        records = {
            r.pk: r
            for r in DeploymentRecord.objects.filter(
                external_id__in=[p.caused_by for p in batch if p.caused_by]
            )
        }
        # Causes recorded by an earlier file: known now, not one lookup per incident.
        self.record_ids.update((r.external_id, r.pk) for r in records.values())
        # The attribution rule for those without a cause, in one statement per chunk.
        unnamed = [p for p in batch if not p.caused_by and p.external_id not in existing]
        picked = latest_production_records(
            [(p.values["service_id"], p.values["started_at"]) for p in unnamed]
        )
        records.update(
            (r.pk, r) for r in DeploymentRecord.objects.filter(pk__in=[i for i in picked if i])
        )
        attributed = {id(p): records.get(rid) for p, rid in zip(unnamed, picked, strict=True)}
        new = []
        for p in batch:
            record = None
            if p.caused_by:
                rid = self._record_id(p.caused_by)
                if rid is None:
                    if not final:
                        self.deferred.append(p)
                    else:
                        self.error(
                            p.line,
                            f"'caused_by' names deployment {p.caused_by}, which is neither in "
                            "this file nor recorded.",
                        )
                    continue
                record = records.get(rid) or DeploymentRecord.objects.get(pk=rid)
            found = existing.get(p.external_id)
            if found is not None:
                same = all(getattr(found, k) == v for k, v in p.values.items() if k != "title")
                if same and (record is None or found.deployment_record_id == record.pk):
                    self.result.incidents_unchanged += 1
                else:
                    self.error(
                        p.line,
                        f"Incident {p.external_id} is already recorded (INC-{found.pk}) with "
                        "different content.",
                    )
                continue
            method = Attribution.EXPLICIT
            if record is None:
                record = attributed.get(id(p))
                method = Attribution.AUTOMATIC if record else Attribution.NONE
            if record is None:
                reason = "Imported; no production deployment finished in the window before it."
            elif method == Attribution.EXPLICIT:
                reason = f"Imported; caused by deployment {record.external_id or record.pk}."
            else:
                reason = (
                    f"Imported; the latest production deployment of the service "
                    f"({record.external_id or record.pk}) finished within {window_hours()} h "
                    "before it started."
                )
            new.append(
                Incident(
                    external_id=p.external_id,
                    status=IncidentStatus.RESOLVED
                    if p.values["resolved_at"]
                    else IncidentStatus.OPEN,
                    deployment_record=record,
                    release_id=record.release_id if record else None,
                    caused_by_id=record.deployment_id if record else None,
                    attribution=method,
                    attribution_reason=reason,
                    reported_by=self.user,
                    **p.values,
                )
            )
        if new:
            bulk_create_with_history(
                new,
                Incident,
                batch_size=BATCH_SIZE,
                default_user=self.user,
                default_change_reason="imported",
            )
            self.result.incidents_created += len(new)
            for incident in new:
                self.touched_days.add(incident.started_at.astimezone(UTC).date())
                if incident.deployment_record is not None:
                    finished = incident.deployment_record.finished_at
                    self.touched_days.add(finished.astimezone(UTC).date())


def import_lines(
    lines: Iterable[str],
    user=None,
    create_missing: bool = False,
    *,
    team: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import JSON lines (DESIGN.md "History import") in one transaction; any bad line
    refuses the whole file (every error with its line number) and nothing is written.
    ``user`` None is the operator at the command line (no permission check)."""
    if user is not None:
        require_permission(user, IMPORT_PERMISSION, "import delivery history")
    importer = _Importer(user, create_missing, team, dry_run)
    try:
        with transaction.atomic():
            for number, text in enumerate(lines, 1):
                if isinstance(text, bytes):
                    text = text.decode("utf-8", errors="replace")
                if not text.strip():
                    continue
                importer.line(number, text)
            importer.flush_deployments()
            importer.flush_incidents(final=True)
            if not importer.result.ok or dry_run:
                raise _Rollback
            # In the same transaction: the next rollup run rebuilds the imported days even
            # if this import committed after that run's "changed since" cut-off.
            mark_dirty(importer.touched_days)
        written = importer.result.deployments_created + importer.result.incidents_created
        if connection.vendor == "postgresql" and written > ANALYZE_LINES:
            # Fresh planner statistics after a large import (a year of history at once would
            # otherwise be planned as the empty tables autovacuum last saw).
            with connection.cursor() as cursor:
                cursor.execute(
                    "ANALYZE metrics_deploymentrecord, metrics_commitrecord, metrics_incident"
                )
    except _Rollback:
        pass
    result = importer.result
    result.errors.sort(key=lambda e: e.line)
    if not result.ok:
        # Nothing was kept: a refused file created no service or environment.
        result.services_created, result.environments_created = [], []
    return result
