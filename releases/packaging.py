"""Packaging decisions (issue 5, items 6, 7, 9, 11).

- ``scan_artifact``: flags environment-specific values in an artifact's content and refuses
  secrets (``add_artifact`` / ``update_artifact`` raise ``ValidationError`` naming the lines;
  the secret itself is never repeated).
- ``save_config_set``: per-environment settings; literal secrets are refused, references
  (``vault:path``) are kept.
- ``migration_advice``: bundle a backward-compatible migration with the application, run a
  breaking one as expand/contract steps before it.
- ``rollback_package`` / ``check_rollback_package`` (gate code ``rollback_package``): the
  previous artifact versions of each service plus a compensating script for every migration.
- ``packaging_advice``: monolithic or modular packaging from deployment frequency and
  automation level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256 as _sha256
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from releasemgr.decisions import Decision, Reason
from releasemgr.roles import PIPELINE
from releases.choices import DeploymentStatus
from releases.models import (
    Artifact,
    CompensatingScript,
    ConfigSet,
    Deployment,
    MigrationPlan,
    Release,
    RollbackPackage,
    Service,
)
from releases.models.packaging import ArtifactKind, MigrationDelivery, MigrationPhase

ARTIFACT_FIELDS = ("release", "service", "kind", "name", "version", "sha256", "uri", "content")
CONFIG_FIELDS = ("service", "environment", "version", "values", "description")
PLAN_FIELDS = ("scope_item", "backward_compatible", "phase", "delivery", "reason")
SCRIPT_FIELDS = ("artifact", "script", "uri", "sha256", "tested")

# --- secrets and environment-specific values ----------------------------------------------------

ENV_WORDS = r"(?:prod|production|prd|staging|stage|stg|uat|qa|preprod)"
# Values that point at a secret instead of holding it.
REFERENCE_RE = re.compile(
    r"^(?:vault:|ssm:|secret:|secretsmanager:|env:|kms:|\$\{[^}]+\}|\{\{[^}]+\}\}|<[^>]+>|\*+$)",
    re.I,
)
SECRET_KEY_RE = re.compile(
    r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)$", re.I
)
SECRET_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("an AWS access key (AKIA…)", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
    ),
]
# key = value / key: value with a literal value, for keys that end in a secret's name
# (password, DB_PASSWORD, api_key, authToken).
ASSIGNMENT_RE = re.compile(
    r"""(?P<key>[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key))"""
    r"""["']?\s*[:=]\s*["']?(?P<value>[^\s"',;#]*)""",
    re.I,
)
ENV_PATTERNS: list[tuple[str, re.Pattern]] = [
    (
        "a URL naming an environment",
        re.compile(rf"\b[a-z][a-z0-9+.-]*://[^\s\"']*\b{ENV_WORDS}\b", re.I),
    ),
    (
        "a host name of one environment",
        re.compile(rf"\b[a-z0-9-]+\.{ENV_WORDS}\.[a-z0-9.-]*[a-z]\b", re.I),
    ),
    (
        "an IP address",
        re.compile(r"\b(?!0\.0\.0\.0\b)(?!127\.0\.0\.1\b)(?:\d{1,3}\.){3}\d{1,3}\b"),
    ),
]
KEY_RE = re.compile(r"""^\s*["']?(?P<key>[A-Za-z0-9_.-]+)["']?\s*[:=]""")
ENV_WORD_RE = re.compile(rf"^{ENV_WORDS}$", re.I)


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(REFERENCE_RE.match(value.strip()))


def secrets_in(text: str) -> list[tuple[int, str]]:
    """``(line number, what it looks like)`` for every line holding a literal secret."""
    found = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        for label, pattern in SECRET_PATTERNS:
            if pattern.search(line):
                found.append((number, label))
                break
        else:
            for match in ASSIGNMENT_RE.finditer(line):
                value = match.group("value")
                if value and not is_reference(value):
                    found.append((number, f"a literal value for '{match.group('key')}'"))
                    break
    return found


def environment_values_in(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        for label, pattern in ENV_PATTERNS:
            if pattern.search(line):
                found.append((number, label))
                break
        else:
            key = KEY_RE.match(line)
            if key and any(ENV_WORD_RE.match(part) for part in re.split(r"[_.-]", key["key"])):
                found.append((number, "a setting key naming an environment"))
    return found


def scan_artifact(artifact: Artifact) -> Decision:
    """Flags (``environment_specific``) and refusals (``secret``) for the artifact's content.

    One passed ``artifact_scan`` reason when nothing is found. No queries.
    """
    decision = Decision()
    for number, label in secrets_in(artifact.content):
        decision.add(
            Reason(
                "secret",
                False,
                f"Line {number}: {label}. Secrets are refused: store it in the secret manager "
                "and reference it (e.g. vault:path).",
                {"line": number, "field": "content"},
            )
        )
    for number, label in environment_values_in(artifact.content):
        decision.add(
            Reason(
                "environment_specific",
                False,
                f"Line {number}: {label}. Keep environment-specific settings in the "
                "environment's configuration set, not in the artifact.",
                {"line": number, "field": "content"},
            )
        )
    if not decision.reasons:
        decision.add(
            Reason("artifact_scan", True, "No environment-specific values or secrets found.")
        )
    return decision


def refusals(decision: Decision) -> list[Reason]:
    return [r for r in decision.reasons if r.code == "secret"]


def _save(obj, user, reason: str, fields: tuple[str, ...], data: dict, check=None):
    """Set ``data`` on ``obj``, validate it with the model's rules (and ``check``), save it."""
    unknown = set(data) - set(fields)
    if unknown:
        raise ValidationError({NON_FIELD_ERRORS: f"Unknown fields: {', '.join(sorted(unknown))}."})
    for name, value in data.items():
        setattr(obj, name, value)
    obj.full_clean()
    if check is not None:
        check(obj)
    with transaction.atomic():
        obj.save_with_reason(reason, user=user)
    return obj


def _refuse_secrets(artifact: Artifact) -> None:
    refused = refusals(scan_artifact(artifact))
    if refused:
        raise ValidationError({"content": [r.message for r in refused]})


def add_artifact(user, **data) -> Artifact:
    """Record an artifact; a missing or malformed checksum, a bad version or an embedded
    secret raise ``ValidationError`` and nothing is written."""
    return _save(Artifact(), user, "Artifact recorded", ARTIFACT_FIELDS, data, _refuse_secrets)


def update_artifact(user, artifact: Artifact, **changes) -> Artifact:
    return _save(artifact, user, "Artifact changed", ARTIFACT_FIELDS, changes, _refuse_secrets)


def config_secret_errors(values: Any) -> list[str]:
    """Messages for values that hold a literal secret (the value itself is never repeated)."""
    if not isinstance(values, dict):
        return []
    errors = []
    for key, value in values.items():
        text = "" if value is None else str(value)
        if is_reference(text):
            continue
        looks = secrets_in(text) or secrets_in(f"{key}={text}")
        if looks or (SECRET_KEY_RE.search(str(key)) and text.strip()):
            errors.append(
                f"'{key}' holds a literal secret; store it in the secret manager and give a "
                f"reference instead, e.g. vault:{key}."
            )
    return errors


def save_config_set(user, config_set: ConfigSet | None = None, **data) -> ConfigSet:
    """Record or change a configuration set; literal secrets in its values are refused."""
    config_set = config_set or ConfigSet()
    errors = config_secret_errors(data.get("values", config_set.values))
    if errors:
        raise ValidationError({"values": errors})
    created = config_set.pk is None
    return _save(
        config_set,
        user,
        "Configuration set recorded" if created else "Configuration set changed",
        CONFIG_FIELDS,
        data,
    )


def mask_values(values: dict) -> dict:
    """Values as shown: anything that still looks like a secret is masked (defence in depth)."""
    return {
        key: value if not config_secret_errors({key: value}) else "********"
        for key, value in (values or {}).items()
    }


# --- schema migrations -----------------------------------------------------------------------------


@dataclass
class Advice(Decision):
    """A decision with a recommendation (``bundled``, ``modular`` ...) and its numbers."""

    recommendation: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        labels = {**dict(MigrationDelivery.choices), **PACKAGING_LABELS}
        return labels.get(self.recommendation, self.recommendation)


def migration_advice(scope_item, plan: MigrationPlan | None = None) -> Advice:
    """Bundle a backward-compatible migration; run a breaking one as separate expand/contract
    steps before the application deployment. The chosen delivery is compared with the advice."""
    if plan is None:
        plan = getattr(scope_item, "migration_plan", None)
    advice = Advice()
    if plan is None:
        advice.add(
            Reason(
                "migration_plan",
                False,
                f"'{scope_item.title}' has no migration plan: record whether it is backward "
                "compatible and how it is delivered.",
            )
        )
        return advice
    if plan.backward_compatible:
        advice.recommendation = MigrationDelivery.BUNDLED
        advice.add(
            Reason(
                "backward_compatible",
                True,
                "Backward compatible: the running version keeps working against the new schema, "
                "so the migration can ship with the application deployment and an application "
                "rollback leaves a valid schema.",
            )
        )
        if plan.phase == MigrationPhase.CONTRACT:
            advice.add(
                Reason(
                    "phase",
                    False,
                    "A contract step removes what the old version needs; it is not backward "
                    "compatible. Check the plan.",
                )
            )
    else:
        advice.recommendation = MigrationDelivery.SEPARATE_STEP_BEFORE
        advice.add(
            Reason(
                "backward_compatible",
                False,
                "Breaking change: split it into expand/contract steps. Run the expand step "
                "separately before the application deployment and the contract step only once "
                "no running version needs the old schema.",
            )
        )
    chosen = plan.get_delivery_display().lower()
    if plan.delivery == advice.recommendation:
        advice.add(Reason("delivery", True, f"Chosen: {chosen}, as advised."))
    else:
        why = plan.reason.strip() or "no reason given"
        advice.add(Reason("delivery", False, f"Chosen: {chosen}, against the advice ({why})."))
    return advice


def save_migration_plan(user, plan: MigrationPlan | None = None, **data) -> MigrationPlan:
    plan = plan or MigrationPlan()
    created = plan.pk is None
    return _save(
        plan,
        user,
        "Migration plan recorded" if created else "Migration plan changed",
        PLAN_FIELDS,
        data,
    )


def save_compensating_script(
    user, instance: CompensatingScript | None = None, **data
) -> CompensatingScript:
    """Record or change the script that undoes a DB migration; the checksum of a script given
    as text is computed."""
    instance = instance or CompensatingScript()
    created = instance.pk is None
    text = data.get("script", instance.script)
    if text.strip() and not data.get("sha256") and ("script" in data or not instance.sha256):
        data["sha256"] = _sha256(text.encode()).hexdigest()
    reason = "Compensating script recorded" if created else "Compensating script changed"
    return _save(instance, user, reason, SCRIPT_FIELDS, data)


def add_compensating_script(user, **data) -> CompensatingScript:
    return save_compensating_script(user, None, **data)


# --- rollback package ------------------------------------------------------------------------------


def _artifact_row(artifact: Artifact) -> dict:
    return {
        "kind": artifact.kind,
        "name": artifact.name,
        "version": artifact.version,
        "sha256": artifact.sha256,
        "uri": artifact.uri,
    }


def previous_production_releases(release: Release) -> dict[int, dict]:
    """Per service of ``release``: the last other release deployed successfully to
    production that shipped it (``{service_id: {"release_id", "key", "version"}}``)."""
    service_ids = [rs.service_id for rs in release.release_services.all()]
    rows = (
        Deployment.objects.filter(
            environment__is_production=True,
            status=DeploymentStatus.SUCCEEDED,
            release__release_services__service_id__in=service_ids,
        )
        .exclude(release=release)
        .order_by("-finished_at", "-pk")
        .values_list(
            "release_id",
            "release__key",
            "release__release_services__service_id",
            "release__release_services__version",
        )
    )
    previous: dict[int, dict] = {}
    for release_id, key, service_id, version in rows:
        if service_id in service_ids and service_id not in previous:
            previous[service_id] = {"release_id": release_id, "key": key, "version": version}
        if len(previous) == len(service_ids):
            break
    return previous


def rollback_package(release: Release) -> dict:
    """What rolling ``release`` back would deploy: per service the previous production
    release's artifacts, and per DB migration of this release its compensating scripts."""
    links = list(release.release_services.select_related("service"))
    previous = previous_production_releases(release)
    old_artifacts: dict[tuple[int, int], list[dict]] = {}
    for artifact in Artifact.objects.filter(
        release_id__in={p["release_id"] for p in previous.values()}
    ).order_by("kind", "name"):
        old_artifacts.setdefault((artifact.release_id, artifact.service_id), []).append(
            _artifact_row(artifact)
        )
    services = []
    for link in links:
        before = previous.get(link.service_id)
        services.append(
            {
                "service": link.service.slug,
                "name": link.service.name,
                "version": link.version,
                "previous_release": before["key"] if before else None,
                "previous_version": before["version"] if before else None,
                "artifacts": old_artifacts.get((before["release_id"], link.service_id), [])
                if before
                else [],
            }
        )
    migrations = []
    for artifact in (
        Artifact.objects.filter(release=release, kind=ArtifactKind.DB_MIGRATION)
        .select_related("service")
        .prefetch_related("compensating_scripts")
    ):
        migrations.append(
            {
                "artifact": artifact.pk,
                "name": artifact.name,
                "version": artifact.version,
                "service": artifact.service.slug,
                "scripts": [
                    {"id": s.pk, "sha256": s.sha256, "uri": s.uri, "tested": s.tested}
                    for s in artifact.compensating_scripts.all()
                ],
            }
        )
    missing = [f"{m['name']} {m['version']}" for m in migrations if not m["scripts"]]
    return {
        "release": release.key,
        "services": services,
        "migrations": migrations,
        "missing_compensation": missing,
        "complete": not missing,
    }


def check_rollback_package(release: Release, environment) -> Reason:
    """Production needs a compensating script for every DB migration artifact (one query)."""
    if not environment.is_production:
        return Reason(
            "rollback_package",
            True,
            f"{environment.name} is not production; no rollback package needed.",
        )
    uncovered = list(
        Artifact.objects.filter(release=release, kind=ArtifactKind.DB_MIGRATION)
        .annotate(scripts=Count("compensating_scripts"))
        .filter(scripts=0)
        .order_by("name")
        .values_list("name", "version")
    )
    if uncovered:
        names = [f"{name} {version}" for name, version in uncovered]
        return Reason(
            "rollback_package",
            False,
            f"No compensating script for DB migration {', '.join(names)}: the rollback "
            "package is incomplete.",
            {"missing": names},
        )
    return Reason(
        "rollback_package",
        True,
        f"Every DB migration of {release.key} has a compensating script.",
    )


def build_rollback_package(release: Release, user, now: datetime | None = None):
    """Store (or refresh) the rollback package snapshot of ``release``."""
    contents = rollback_package(release)
    with transaction.atomic():
        package = RollbackPackage.objects.filter(release=release).first() or RollbackPackage(
            release=release
        )
        package.contents = contents
        package.built_at = now or timezone.now()
        package.built_by = user
        package.save_with_reason("Rollback package built", user=user)
    return package


# --- packaging advice ------------------------------------------------------------------------------

ADVICE_DAYS = 90
FREQUENT_PER_WEEK = 1.0
AUTOMATED_SHARE = 0.8
PACKAGING_LABELS = {"monolithic": "Monolithic packaging", "modular": "Modular packaging"}


def packaging_advice(service: Service, now: datetime | None = None) -> Advice:
    """Monolithic or modular packaging for ``service``, from its production deployments over
    the last 90 days (per week) and the share started by pipeline accounts. One query."""
    now = now or timezone.now()
    counts = Deployment.objects.filter(
        environment__is_production=True,
        release__release_services__service=service,
        started_at__gte=now - timedelta(days=ADVICE_DAYS),
        started_at__lte=now,
    ).aggregate(
        total=Count("pk", distinct=True),
        automated=Count("pk", distinct=True, filter=Q(started_by__groups__name=PIPELINE)),
    )
    total, automated = counts["total"], counts["automated"]
    per_week = round(total / (ADVICE_DAYS / 7), 2)
    share = round(automated / total, 2) if total else 0.0
    advice = Advice(
        data={"deployments": total, "per_week": per_week, "automated_share": share},
    )
    frequent = per_week >= FREQUENT_PER_WEEK
    is_automated = share >= AUTOMATED_SHARE
    advice.add(
        Reason(
            "frequency",
            frequent,
            f"{total} production deployments in {ADVICE_DAYS} days ({per_week}/week; "
            f"frequent from {FREQUENT_PER_WEEK:g}/week).",
            {"deployments": total, "per_week": per_week},
        )
    )
    advice.add(
        Reason(
            "automation",
            is_automated,
            f"{share:.0%} of them started by a pipeline ({automated} of {total}; automated "
            f"from {AUTOMATED_SHARE:.0%}).",
            {"automated": automated, "share": share},
        )
    )
    if frequent and is_automated:
        advice.recommendation = "modular"
        message = (
            "Modular: frequent, automated deployments let each module ship on its own, "
            "so a change does not wait for, or risk, the whole service."
        )
    elif frequent:
        advice.recommendation = "monolithic"
        message = (
            "Monolithic until deployments are automated: splitting into modules multiplies "
            "manual steps and the chances of shipping incompatible parts."
        )
    else:
        advice.recommendation = "monolithic"
        message = (
            "Monolithic: with infrequent deployments the overhead of versioning and "
            "releasing modules separately does not pay off."
        )
    advice.add(Reason("packaging", True, message, {"recommendation": advice.recommendation}))
    return advice
