"""The release page's Packaging panel, the service page's packaging advice and configuration
sets."""

from django import template

from releases import packaging
from releases.models import Artifact, ConfigSet, ScopeItem
from releases.models.packaging import ArtifactKind
from scheduling.models import Environment

register = template.Library()


@register.inclusion_tag("releases/packaging_panel.html", takes_context=True)
def packaging_panel(context, release):
    """Artifacts per service with their scan flags, migration plans with the advice, the
    rollback package and the production verdict. A fixed number of queries at any size."""
    user = context["request"].user
    artifacts = list(
        Artifact.objects.filter(release=release)
        .select_related("service")
        .prefetch_related("compensating_scripts")
        .order_by("service__name", "kind", "name")
    )
    for artifact in artifacts:
        artifact.scan = packaging.scan_artifact(artifact)
        artifact.uncovered = artifact.kind == ArtifactKind.DB_MIGRATION and not list(
            artifact.compensating_scripts.all()
        )
    migrations = list(
        ScopeItem.objects.filter(release=release, kind="schema_migration").select_related(
            "migration_plan"
        )
    )
    for item in migrations:
        item.advice = packaging.migration_advice(item)
    contents = packaging.rollback_package(release)
    production = Environment(name="Production", is_production=True)
    verdict = packaging.check_rollback_package(release, production)
    snapshot = (
        packaging.RollbackPackage.objects.filter(release=release).select_related("built_by").first()
    )
    return {
        "release": release,
        "artifacts": artifacts,
        "migrations": migrations,
        "contents": contents,
        "verdict": verdict,
        "snapshot": snapshot,
        "can_add": user.has_perm("releases.add_artifact"),
        "can_plan": user.has_perm("releases.add_migrationplan"),
        "can_build": user.has_perm("releases.add_rollbackpackage"),
        "can_add_script": user.has_perm("releases.add_compensatingscript"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("releases/packaging_advice_panel.html")
def packaging_advice_panel(service):
    """Monolithic or modular packaging for the service, with reasons (one query)."""
    return {"service": service, "advice": packaging.packaging_advice(service)}


@register.inclusion_tag("releases/service_config_sets_panel.html", takes_context=True)
def service_config_sets_panel(context, service):
    """The service's current configuration set per environment, with how many older versions
    each has. One query (sets hold few versions per environment)."""
    current: dict[int, ConfigSet] = {}
    older: dict[int, int] = {}
    for config_set in (
        ConfigSet.objects.filter(service=service)
        .select_related("environment")
        .order_by("environment__order", "environment_id", "-created", "-pk")
    ):
        if config_set.environment_id in current:
            older[config_set.environment_id] = older.get(config_set.environment_id, 0) + 1
        else:
            current[config_set.environment_id] = config_set
    for environment_id, config_set in current.items():
        config_set.older = older.get(environment_id, 0)
    return {
        "service": service,
        "config_sets": list(current.values()),
        "can_add": context["request"].user.has_perm("releases.add_configset"),
    }
