"""Demo data for the register and evidence packs (run by ``seed_demo``; idempotent)."""

from django.conf import settings

from governance.choices import EvidenceStatus, RegisterKind, RegisterStatus
from governance.evidence_build import build_pack
from governance.models import EvidencePack, RegisterEntry
from releases.models import Release, Service

# (title, kind, status, release name or None, service slug or None, owner role, fields)
ENTRIES = [
    (
        "Settlement report times out for merchants with >50k payouts",
        RegisterKind.KNOWN_ERROR,
        RegisterStatus.OPEN,
        "Ledger settlement report",
        "ledger",
        "developer",
        {
            "description": "The new settlement report query scans payouts without the "
            "settlement_date index on the largest merchants.",
            "impact": "About 40 large merchants cannot download the daily report.",
            "workaround": "Support runs the report from the read replica and emails it.",
            "reference": "PRB-2231",
        },
    ),
    (
        "Saved-card tokens depend on the new vault schema",
        RegisterKind.RISK,
        RegisterStatus.OPEN,
        "Checkout saved cards",
        "checkout-service",
        "release_manager",
        {
            "description": "If the vault migration is rolled back, saved cards stop working.",
            "impact": "Customers with saved cards must re-enter them.",
            "workaround": "Keep the old token path behind a flag for two weeks.",
        },
    ),
    (
        "Currency rounding differs from the ledger for JPY",
        RegisterKind.KNOWN_ERROR,
        RegisterStatus.MITIGATED,
        "Payments currency rounding",
        "payments-api",
        "developer",
        {
            "description": "Zero-decimal currencies are rounded twice.",
            "impact": "JPY refunds can be off by one yen.",
            "workaround": "Refunds in JPY are checked by finance operations.",
            "reference": "PRB-2198",
        },
    ),
    (
        "Auth service has a single region for token signing keys",
        RegisterKind.RISK,
        RegisterStatus.ACCEPTED,
        None,
        "auth-service",
        "compliance_officer",
        {
            "description": "Signing keys are stored in one region only.",
            "impact": "A regional outage stops logins everywhere.",
            "workaround": "Manual key export runbook RB-17.",
        },
    ),
]


def demo(users: dict, envs: dict) -> None:
    for title, kind, status, release_name, service_slug, owner, fields in ENTRIES:
        if RegisterEntry.objects.filter(title=title).exists():
            continue
        release = Release.objects.filter(name=release_name).first() if release_name else None
        service = Service.objects.filter(slug=service_slug).first()
        if release_name and release is None:
            continue
        entry = RegisterEntry(
            kind=kind,
            title=title,
            status=status,
            release=release,
            service=service,
            owner=users[owner],
            **fields,
        )
        entry.save_with_reason("demo data", user=users[owner])
    _evidence(users)


def _evidence(users: dict) -> None:
    """One ready pack for the deployed demo release, built here (no worker needed)."""
    release = Release.objects.filter(name="Ledger settlement report", state="deployed").first()
    if release is None:
        return
    ready = EvidencePack.objects.filter(release=release, status=EvidenceStatus.READY).first()
    if ready is not None and (settings.EVIDENCE_DIR / ready.file_name).is_file():
        return
    pack = EvidencePack(release=release, requested_by=users["auditor"])
    pack.save_with_reason("demo data", user=users["auditor"])
    build_pack(pack.pk)
