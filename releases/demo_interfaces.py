"""Demo API versions, an integration test plan and a hotfix to carry forward (run by
``seed_demo``; idempotent). payments-api publishes v1 (deprecated, sunset next quarter, still
consumed by checkout-service and the external client Acme POS) and v2; the payments-api 1.9.0
release removes v1 and is flagged. Its integration plan has two flows across Payments,
Storefront and Identity, signed by Payments only. A payments-api hotfix built on the production
version lists the later releases that must carry it. Nothing here changes a gate answer."""

from datetime import timedelta

from django.utils import timezone

from releases import hotfixes, integration
from releases.choices import ChangeType, ReleaseKind
from releases.models import (
    ApiChange,
    ApiConsumer,
    ApiVersion,
    Release,
    ReleaseService,
    ScopeItem,
    Service,
)


def demo(users: dict, envs: dict) -> None:
    if ApiVersion.objects.exists():
        return
    services = {s.slug: s for s in Service.objects.select_related("team")}
    needed = ("payments-api", "checkout-service", "web-storefront", "auth-service")
    developer, manager = users.get("developer"), users.get("release_manager")
    if any(slug not in services for slug in needed) or developer is None or manager is None:
        return
    payments = services["payments-api"]
    today = timezone.localdate()
    v1 = ApiVersion(
        service=payments,
        name="payments v1",
        version="1.0.0",
        status="deprecated",
        deprecated_on=today - timedelta(days=30),
        sunset_on=today + timedelta(days=90),
        description="Card payments, synchronous capture.",
    )
    v1.save_with_reason("demo", user=manager)
    v2 = ApiVersion(
        service=payments, name="payments v2", version="2.0.0", description="Async capture."
    )
    v2.save_with_reason("demo", user=manager)
    for consumer in (
        ApiConsumer(api_version=v1, consumer_service=services["checkout-service"]),
        ApiConsumer(api_version=v1, external_client="Acme POS", contact="integrations@acme.test"),
        ApiConsumer(api_version=v2, consumer_service=services["web-storefront"]),
    ):
        consumer.save_with_reason("demo", user=manager)

    release = (
        Release.objects.filter(
            release_services__service=payments, release_services__version="1.9.0"
        )
        .order_by("pk")
        .first()
    )
    if release is None:
        return
    ApiChange(
        release=release, api_version=v1, change="removes", note="v1 endpoints deleted."
    ).save_with_reason("demo", user=developer)
    ApiChange(
        release=release, api_version=v2, change="adds", note="Refund webhooks."
    ).save_with_reason("demo", user=developer)

    # Integration plan: two flows across three teams, signed by Payments only.
    payments.team.members.add(developer)
    first = integration.add_flow(
        release,
        manager,
        name="Checkout and pay",
        description="Basket → checkout → card capture → receipt.",
        services=[services["web-storefront"], services["checkout-service"], payments],
    )
    integration.add_flow(
        release,
        manager,
        name="Sign in and pay with a saved card",
        services=[services["auth-service"], payments],
    )
    integration.sign(first, payments.team, developer, "Capture and refunds green in staging.")

    # A hotfix built on the version in production; later payments releases must carry it.
    production = hotfixes.production_versions([payments.pk]).get(payments.pk)
    if production is None:
        return
    major, minor, patch = hotfixes.version_key(production.version)[:3]
    version = f"{major}.{minor}.{patch + 1}"
    if ReleaseService.objects.filter(service=payments, version=version).exists():
        return
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    hotfix = Release(
        name="Payments duplicate capture fix",
        version=version,
        kind=ReleaseKind.HOTFIX,
        change_type=ChangeType.EMERGENCY,
        author=developer,
        owner=manager,
        planned_start=start,
        planned_end=start + timedelta(hours=1),
        description="Hotfix on the production version: stop duplicate card captures.",
        rollback_plan="Redeploy the previous version with the pipeline's rollback job.",
    )
    hotfix.save_with_reason("created", user=developer)
    ReleaseService.objects.create(release=hotfix, service=payments, version=version)
    ScopeItem.objects.create(
        release=hotfix,
        title="Idempotency key on card capture",
        kind="fix",
        reference="PAY-1204",
        contributor=developer,
    )
