"""Every page and every API list, for every kind of visitor (generic, so new pages are covered).

Walks the URL patterns of the UI and the API router instead of a hand-kept list:
- anonymous: pages redirect to login, API answers 401;
- a logged-in user with no role: 403 on every page and endpoint (but their own tokens);
- the auditor (read-only everything): 200 on every read page, 403 on every write page,
  and a write POST changes nothing.
"""

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from simple_history.models import HistoricalRecords

from governance.models import Approval
from releasemgr.api.urls import router
from releasemgr.models import ApiToken
from releases.models import (
    Deployment,
    GateDecision,
    Release,
    ScopeItem,
    Service,
    ServiceDependency,
    Team,
)
from scheduling.models import Environment, FreezeWindow
from tests.conftest import make_user

UI_MODULES = ("releases.urls", "releases.catalog_urls", "scheduling.urls", "releasemgr.web_urls")
# Pages anyone may open (or that only act on the visitor's own things).
PUBLIC = {"login", "logout"}
OWN_THINGS = {"token_list", "token_create", "token_detail", "token_revoke"}
WRITE_SUFFIXES = (
    "_create",
    "_edit",
    "_update",
    "_delete",
    "_add",
    "_deploy",
    "_revoke",
    "_action",
    "_event",
)


def _ui_patterns():
    found = []

    for top in get_resolver().url_patterns:
        if (
            isinstance(top, URLResolver)
            and getattr(top.urlconf_module, "__name__", "") in UI_MODULES
        ):
            found.extend(p for p in top.url_patterns if isinstance(p, URLPattern) and p.name)
    return found


def _kwargs_for(pattern, objects):
    """Fill the URL's parameters from the demo objects its name refers to."""
    names = set(pattern.pattern.converters)
    name = pattern.name
    if not names:
        return {}
    item, dep = objects["scope_item"], objects["dependency"]
    candidates = [
        ("scope_item", {"key": item.release.key, "pk": item.pk}),
        ("service_dependency", {"slug": dep.service.slug, "pk": dep.pk}),
        ("release_action", {"key": objects["release"].key, "action": "submit"}),
        ("release", {"key": objects["release"].key}),
        ("service", {"slug": objects["service"].slug}),
        ("team", {"slug": objects["team"].slug}),
        ("environment", {"slug": objects["environment"].slug}),
        ("freeze", {"pk": objects["freeze"].pk}),
        ("deployment", {"pk": objects["deployment"].pk}),
        ("gate", {"pk": objects["gate"].pk}),
        ("token", {"pk": objects["token"].pk}),
    ]
    for prefix, values in candidates:
        if name.startswith(prefix) and names <= set(values):
            return {k: v for k, v in values.items() if k in names}
    raise AssertionError(f"test_every_page does not know how to build {name}: add it above")


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)
    auditor = make_user("audrey", "auditor")
    nobody = make_user("nobody")
    token, _ = ApiToken.issue(auditor, "auditor token")
    return {
        "auditor": auditor,
        "nobody": nobody,
        "objects": {
            "release": Release.objects.get(state="draft"),
            "service": Service.objects.get(slug="checkout-service"),
            "team": Team.objects.get(slug="payments"),
            "environment": Environment.objects.get(slug="staging"),
            "freeze": FreezeWindow.objects.first(),
            "deployment": Deployment.objects.first(),
            "gate": GateDecision.objects.first(),
            "token": token,
            "scope_item": ScopeItem.objects.filter(release__state="draft").first(),
            "dependency": ServiceDependency.objects.filter(
                service__slug="checkout-service"
            ).first(),
        },
    }


def _urls(demo):
    for pattern in _ui_patterns():
        yield pattern.name, reverse(pattern.name, kwargs=_kwargs_for(pattern, demo["objects"]))


def test_anonymous_visitors_are_sent_to_login_from_every_page(client, demo):
    wrong = []
    for name, url in _urls(demo):
        if name in PUBLIC:
            continue
        response = client.get(url)
        if response.status_code != 302 or not response["Location"].startswith(reverse("login")):
            wrong.append((name, url, response.status_code))
    assert wrong == []


def test_a_user_without_a_role_is_refused_every_page(client, demo):
    client.force_login(demo["nobody"])
    wrong = []
    for name, url in _urls(demo):
        if name in PUBLIC or name in OWN_THINGS:
            continue
        status = client.get(url).status_code
        if status != 403:
            wrong.append((name, url, status))
    assert wrong == []


def test_the_auditor_can_read_every_page_and_write_none(client, demo):
    client.force_login(demo["auditor"])
    wrong = []
    counts_before = _row_counts()
    for name, url in _urls(demo):
        if name in PUBLIC or name in OWN_THINGS:
            continue
        writes = name.endswith(WRITE_SUFFIXES)
        status = client.get(url).status_code
        expected = {403, 405} if writes else {200}
        if status not in expected:
            wrong.append(("GET", name, url, status))
        if writes:
            status = client.post(url, {"comment": "x", "name": "x"}).status_code
            if status != 403:
                wrong.append(("POST", name, url, status))
    assert wrong == []
    assert _row_counts() == counts_before


def _row_counts():
    models = [
        Release,
        ScopeItem,
        Service,
        ServiceDependency,
        Team,
        Environment,
        FreezeWindow,
        Deployment,
        Approval,
    ]
    return {m.__name__: (m.objects.count(), m.history.count()) for m in models}


def _api_list_urls():
    return sorted(f"/api/v1/{prefix}/" for prefix, _viewset, _basename in router.registry)


def test_every_api_list_needs_a_token_and_a_role(api_client, demo):
    anonymous, nobody, auditor = (
        api_client(),
        api_client(demo["nobody"]),
        api_client(demo["auditor"]),
    )
    wrong = []
    for url in _api_list_urls():
        for who, client, expected in [
            ("anonymous", anonymous, 401),
            ("nobody", nobody, 403),
            ("auditor", auditor, 200),
        ]:
            status = client.get(url).status_code
            if status != expected:
                wrong.append((who, url, status))
        status = auditor.post(url, {}, format="json").status_code
        if status not in (403, 405):
            wrong.append(("auditor POST", url, status))
    assert wrong == []


def test_every_domain_model_keeps_history_unless_it_is_an_append_only_record():
    from django.apps import apps

    append_only = {
        "DeploymentEvent": "an append-only record of what a pipeline reported",
        "GateDecision": "an append-only record of a gate answer",
        "JobRun": "bookkeeping of background job runs",
        "Notification": "a message to one person; reading it is its only change",
    }
    missing = []
    for app in ("releasemgr", "releases", "scheduling", "governance", "metrics"):
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical") or model.__name__ in append_only:
                continue
            if not any(
                isinstance(f, HistoricalRecords) for f in vars(model).values()
            ) and not hasattr(model, "history"):
                missing.append(model.__name__)
    assert missing == []
