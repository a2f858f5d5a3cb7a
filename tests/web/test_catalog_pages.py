"""Service catalog pages: teams, services, dependencies, the dependency picture."""

import re

import pytest
from django.urls import reverse

from releases.models import Service, ServiceDependency, Team
from tests.factories import (
    DependencyFactory,
    FreezeWindowFactory,
    ReleaseFactory,
    ServiceFactory,
    TeamFactory,
)


@pytest.fixture
def graph(db, payments):
    """A small catalog with a diamond and a shared library.

    checkout → payments-api, checkout → cart, payments-api → ledger,
    cart → ledger (the diamond), payments-api ⇢ common-lib (shared library).
    """
    team = payments.team
    shop = TeamFactory(slug="shop", name="Shop")
    s = {
        "payments-api": payments,
        "checkout": ServiceFactory(
            slug="checkout", name="Checkout", team=shop, customer_facing=True
        ),
        "cart": ServiceFactory(slug="cart", name="Cart", team=shop),
        "ledger": ServiceFactory(slug="ledger", name="Ledger", team=team, tier=1),
        "common-lib": ServiceFactory(slug="common-lib", name="Common Lib", team=team),
    }
    DependencyFactory(service=s["checkout"], depends_on=s["payments-api"])
    DependencyFactory(service=s["checkout"], depends_on=s["cart"])
    DependencyFactory(service=s["payments-api"], depends_on=s["ledger"])
    DependencyFactory(service=s["cart"], depends_on=s["ledger"])
    DependencyFactory(
        service=s["payments-api"],
        depends_on=s["common-lib"],
        kind="library",
        version_constraint=">=2.1,<3",
    )
    return s


def graph_svg(html: str) -> str:
    """The dependency picture's <svg> element (the page has other, smaller icons)."""
    start = html.index("<svg", html.index('data-testid="dependency-graph"'))
    return html[start : html.index("</svg>", start)]


def page_urls(payments):
    return [
        reverse("service_list"),
        reverse("service_detail", args=[payments.slug]),
        reverse("team_list"),
        reverse("team_detail", args=[payments.team.slug]),
        reverse("service_create"),
        reverse("service_update", args=[payments.slug]),
        reverse("team_create"),
    ]


# --- access -------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login_from_every_catalog_page(client, payments):
    for url in page_urls(payments):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login") + "?next=")


def test_user_without_a_role_gets_403_on_catalog_pages(login, nobody, payments):
    client = login(nobody)
    for url in page_urls(payments):
        assert client.get(url).status_code == 403, url


def test_auditor_can_read_the_catalog_but_sees_no_edit_buttons(login, audrey, graph):
    client = login(audrey)
    response = client.get(reverse("service_detail", args=["payments-api"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("service_update", args=["payments-api"]) not in html
    assert "Add a dependency" not in html
    assert client.get(reverse("service_create")).status_code == 403


# --- service list -------------------------------------------------------------------------


def test_service_list_shows_each_service_with_its_team_and_tier(login, dave, graph):
    response = login(dave).get(reverse("service_list"))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Payments API", "Checkout", "Cart", "Ledger", "Common Lib"):
        assert name in html
    assert "Shop" in html
    assert "Tier 1" in html


def test_service_list_filters_by_team_tier_and_customer_facing(login, dave, graph):
    client = login(dave)
    html = client.get(reverse("service_list"), {"team": "shop"}).content.decode()
    assert "Checkout" in html and "Cart" in html
    assert "Ledger" not in html

    html = client.get(reverse("service_list"), {"tier": "1"}).content.decode()
    assert "Ledger" in html and "Checkout" not in html

    html = client.get(reverse("service_list"), {"customer_facing": "true"}).content.decode()
    assert "Checkout" in html and "Payments API" in html and "Ledger" not in html

    html = client.get(reverse("service_list"), {"q": "ledg"}).content.decode()
    assert "Ledger" in html and "Cart" not in html


def test_service_list_answers_htmx_with_the_table_only(login, dave, graph):
    response = login(dave).get(reverse("service_list"), {"team": "shop"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="service-results">')
    assert '<nav class="navbar' not in html
    assert "Checkout" in html and "Ledger" not in html


def test_service_list_paginates(login, dave, payments):
    for i in range(30):
        ServiceFactory(slug=f"svc-{i:02d}", name=f"Svc {i:02d}", team=payments.team)
    client = login(dave)
    html = client.get(reverse("service_list")).content.decode()
    assert "Page 1 of 2" in html
    assert "Svc 29" not in html
    assert "Svc 29" in client.get(reverse("service_list"), {"page": 2}).content.decode()


@pytest.mark.parametrize("rows", [5, 200])
def test_service_list_runs_a_bounded_number_of_queries(
    login, dave, rows, django_assert_max_num_queries
):
    team = TeamFactory(slug="big", name="Big")
    services = [ServiceFactory(slug=f"s-{i}", name=f"S {i}", team=team) for i in range(rows)]
    for a, b in zip(services, services[1:], strict=False):
        DependencyFactory(service=a, depends_on=b)
    client = login(dave)
    client.get(reverse("service_list"))  # warm the session and permission caches
    with django_assert_max_num_queries(12):
        response = client.get(reverse("service_list"), {"team": "big"})
    assert response.status_code == 200


# --- service detail -----------------------------------------------------------------------


def test_service_detail_shows_facts_dependencies_dependents_and_releases(
    login, dave, graph, draft_release
):
    payments = graph["payments-api"]
    payments.recovery_sla_minutes = 45
    payments.risk_profile = "high"
    payments.ha_required = True
    payments.save()
    payments.owners.add(dave)
    html = login(dave).get(reverse("service_detail", args=["payments-api"])).content.decode()

    facts = html[html.index('data-testid="service-facts"') :]
    assert "45 minutes" in facts and "High" in facts and "dave" in facts
    depends_on = html[html.index('data-testid="depends-on"') : html.index("Used by")]
    assert "Ledger" in depends_on and "Common Lib" in depends_on
    assert "shared library" in depends_on and "&gt;=2.1,&lt;3" in depends_on
    used_by = html[html.index('data-testid="depended-on-by"') :]
    assert "Checkout" in used_by.split("</table>")[0]
    releases = html[html.index('data-testid="service-releases"') :].split("</table>")[0]
    assert draft_release.key in releases and "Draft" in releases


def test_service_detail_previews_the_impact_of_a_change(login, dave, graph):
    html = login(dave).get(reverse("service_detail", args=["ledger"])).content.decode()
    assert 'data-testid="impact-classification">Multi-system' in html
    affected = html[html.index('data-testid="impact-affected"') :].split("</table>")[0]
    # Ledger changes → payments-api and cart (depth 1) → checkout (depth 2, once).
    assert affected.count("Checkout") == 1
    assert "Payments API" in affected and "Cart" in affected
    assert "ledger → cart → checkout" in affected or "ledger → payments-api → checkout" in affected
    assert 'data-code="customer_facing"' in html


def test_service_without_dependents_is_a_single_application_change(login, dave, payments):
    html = login(dave).get(reverse("service_detail", args=[payments.slug])).content.decode()
    assert 'data-testid="impact-classification">Single application' in html


def test_service_detail_draws_the_dependency_graph_as_linked_svg(login, dave, graph):
    html = login(dave).get(reverse("service_detail", args=["payments-api"])).content.decode()
    svg = graph_svg(html)
    # Payments API's neighbourhood: ledger, common-lib (left), checkout (right).
    nodes = re.findall(r'<a class="node( focus)?" href="([^"]+)"', svg)
    hrefs = {href for _focus, href in nodes}
    assert hrefs == {
        reverse("service_detail", args=[slug])
        for slug in ("payments-api", "ledger", "common-lib", "checkout")
    }
    assert [href for focus, href in nodes if focus] == [
        reverse("service_detail", args=["payments-api"])
    ]
    assert svg.count('class="edge library"') == 1
    assert svg.count('class="edge runtime"') >= 2
    assert 'marker-end="url(#arrow-library)"' in svg
    assert '<marker id="arrow-runtime"' in svg
    assert "shared library" in html[html.index("graph-legend") :]


def test_graph_of_a_diamond_draws_every_edge_once(login, dave, graph):
    html = login(dave).get(reverse("service_detail", args=["ledger"])).content.decode()
    svg = graph_svg(html)
    # ledger ← payments-api, cart ← checkout, plus payments-api ⇢ common-lib (not in view).
    assert svg.count('class="edge ') == 4
    assert svg.count('<a class="node') == 4


# --- service create / edit / delete -------------------------------------------------------


def service_data(owner_team, **overrides):
    data = {
        "slug": "fraud-check",
        "name": "Fraud Check",
        "team": owner_team.pk,
        "description": "Scores payments.",
        "tier": "2",
        "customer_facing": "",
        "ha_required": "on",
        "recovery_sla_minutes": "30",
        "risk_profile": "high",
    }
    data.update(overrides)
    return data


def test_developer_cannot_create_a_service(login, dave, payments):
    client = login(dave)
    assert client.get(reverse("service_create")).status_code == 403
    response = client.post(reverse("service_create"), service_data(payments.team))
    assert response.status_code == 403
    assert not Service.objects.filter(slug="fraud-check").exists()


def test_release_manager_creates_a_service_and_history_names_her(login, alice, payments, dave):
    client = login(alice)
    assert client.get(reverse("service_create")).status_code == 200
    response = client.post(reverse("service_create"), service_data(payments.team, owners=[dave.pk]))
    assert response.status_code == 302
    service = Service.objects.get(slug="fraud-check")
    assert response.url == service.get_absolute_url()
    assert service.ha_required and not service.customer_facing
    assert service.recovery_sla_minutes == 30 and service.risk_profile == "high"
    assert list(service.owners.all()) == [dave]
    record = service.history.latest()
    assert record.history_user == alice and record.history_type == "+"


def test_service_with_unknown_team_is_refused_and_nothing_is_written(login, alice, payments):
    response = login(alice).post(
        reverse("service_create"), service_data(payments.team, team="99999")
    )
    assert response.status_code == 200
    assert "Choose one of the existing teams." in response.content.decode()
    assert not Service.objects.filter(slug="fraud-check").exists()


def test_service_slug_new_is_reserved(login, alice, payments):
    response = login(alice).post(reverse("service_create"), service_data(payments.team, slug="new"))
    assert "reserved" in response.content.decode()
    assert not Service.objects.filter(slug="new").exists()


def test_editing_a_service_records_the_reason_in_history(login, alice, payments):
    data = service_data(
        payments.team, slug=payments.slug, name="Payments API", change_reason="PCI review"
    )
    response = login(alice).post(reverse("service_update", args=[payments.slug]), data)
    assert response.status_code == 302
    payments.refresh_from_db()
    assert payments.tier == 2
    record = payments.history.latest()
    assert record.history_change_reason == "PCI review" and record.history_user == alice
    html = login(alice).get(payments.get_absolute_url()).content.decode()
    assert "PCI review" in html


def test_service_shipped_by_a_release_cannot_be_deleted(login, alice, draft_release, payments):
    client = login(alice)
    assert client.get(reverse("service_delete", args=[payments.slug])).status_code == 200
    response = client.post(reverse("service_delete", args=[payments.slug]), follow=True)
    assert Service.objects.filter(pk=payments.pk).exists()
    html = response.content.decode()
    assert "cannot be deleted" in html and draft_release.key in html
    assert "Nothing was deleted" in html


def test_unused_service_is_deleted_after_confirmation_with_its_links(login, alice, graph):
    client = login(alice)
    page = client.get(reverse("service_delete", args=["checkout"])).content.decode()
    assert "2 dependency link(s)" in page
    response = client.post(reverse("service_delete", args=["checkout"]))
    assert response.status_code == 302 and response.url == reverse("service_list")
    assert not Service.objects.filter(slug="checkout").exists()
    assert not ServiceDependency.objects.filter(service__slug="checkout").exists()
    assert Service.history.filter(slug="checkout", history_type="-").get().history_user == alice


def test_delete_warns_when_a_freeze_would_widen_to_all_services(login, alice, payments):
    window = FreezeWindowFactory(name="Quarter close")
    window.services.add(payments)
    page = login(alice).get(reverse("service_delete", args=[payments.slug])).content.decode()
    assert "Quarter close" in page and "cover all services" in page


def test_developer_cannot_delete_a_service(login, dave, payments):
    assert login(dave).post(reverse("service_delete", args=[payments.slug])).status_code == 403
    assert Service.objects.filter(pk=payments.pk).exists()


# --- dependencies -------------------------------------------------------------------------


def test_release_manager_adds_a_shared_library_dependency(login, alice, graph):
    client = login(alice)
    response = client.post(
        reverse("service_dependency_add", args=["cart"]),
        {"depends_on": graph["common-lib"].pk, "kind": "library", "version_constraint": "~=2.4"},
    )
    assert response.status_code == 302
    link = ServiceDependency.objects.get(service=graph["cart"], depends_on=graph["common-lib"])
    assert link.kind == "library" and link.version_constraint == "~=2.4"
    assert link.history.latest().history_user == alice


def test_a_service_cannot_depend_on_itself(login, alice, payments):
    response = login(alice).post(
        reverse("service_dependency_add", args=[payments.slug]),
        {"depends_on": payments.pk, "kind": "runtime"},
    )
    assert response.status_code == 400
    assert "A service cannot depend on itself." in response.content.decode()
    assert not ServiceDependency.objects.exists()


def test_a_dependency_cannot_be_added_twice(login, alice, graph):
    response = login(alice).post(
        reverse("service_dependency_add", args=["payments-api"]),
        {"depends_on": graph["ledger"].pk, "kind": "library"},
    )
    assert response.status_code == 400
    assert "Payments API already depends on Ledger." in response.content.decode()
    assert (
        ServiceDependency.objects.get(
            service=graph["payments-api"], depends_on=graph["ledger"]
        ).kind
        == "runtime"
    )


def test_the_services_own_option_is_disabled_in_the_dependency_form(login, alice, payments):
    html = login(alice).get(payments.get_absolute_url()).content.decode()
    form = html[html.index('data-testid="add-dependency"') :]
    assert re.search(rf'<option value="{payments.pk}"[^>]*disabled', form)


def test_developer_cannot_add_a_dependency(login, dave, graph):
    response = login(dave).post(
        reverse("service_dependency_add", args=["cart"]),
        {"depends_on": graph["common-lib"].pk, "kind": "library"},
    )
    assert response.status_code == 403
    assert not ServiceDependency.objects.filter(
        service=graph["cart"], depends_on=graph["common-lib"]
    ).exists()


def test_release_manager_removes_a_dependency_after_confirmation(login, alice, graph):
    link = ServiceDependency.objects.get(service=graph["cart"], depends_on=graph["ledger"])
    client = login(alice)
    url = reverse("service_dependency_delete", args=["cart", link.pk])
    assert "Cart → Ledger" in client.get(url).content.decode()
    assert ServiceDependency.objects.filter(pk=link.pk).exists()  # GET changes nothing
    response = client.post(url)
    assert response.status_code == 302
    assert not ServiceDependency.objects.filter(pk=link.pk).exists()


def test_dependency_cannot_be_removed_through_another_services_url(login, alice, graph):
    link = ServiceDependency.objects.get(service=graph["cart"], depends_on=graph["ledger"])
    response = login(alice).post(reverse("service_dependency_delete", args=["checkout", link.pk]))
    assert response.status_code == 404
    assert ServiceDependency.objects.filter(pk=link.pk).exists()


# --- teams --------------------------------------------------------------------------------


def test_team_list_and_detail_show_services_and_members(login, audrey, graph, dave):
    team = Team.objects.get(slug="payments")
    team.members.add(dave)
    client = login(audrey)
    html = client.get(reverse("team_list")).content.decode()
    assert "Payments" in html and "Shop" in html
    html = client.get(team.get_absolute_url()).content.decode()
    services = html[html.index('data-testid="team-services"') :].split("</table>")[0]
    assert "Payments API" in services and "Ledger" in services and "Cart" not in services
    assert "dave" in html[html.index('data-testid="team-members"') :]


def test_release_manager_creates_and_edits_a_team(login, alice, dave):
    client = login(alice)
    response = client.post(
        reverse("team_create"), {"slug": "identity", "name": "Identity", "members": [dave.pk]}
    )
    assert response.status_code == 302
    team = Team.objects.get(slug="identity")
    assert list(team.members.all()) == [dave]
    response = client.post(
        reverse("team_update", args=["identity"]),
        {"slug": "identity", "name": "Identity & Access", "members": []},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Identity & Access" and not team.members.exists()
    assert team.history.latest().history_user == alice


def test_duplicate_team_name_is_refused(login, alice, payments):
    response = login(alice).post(reverse("team_create"), {"slug": "payments-2", "name": "Payments"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not Team.objects.filter(slug="payments-2").exists()


def test_developer_cannot_create_a_team(login, dave):
    response = login(dave).post(reverse("team_create"), {"slug": "x", "name": "X"})
    assert response.status_code == 403
    assert not Team.objects.filter(slug="x").exists()


def test_team_that_owns_services_cannot_be_deleted(login, alice, payments):
    response = login(alice).post(reverse("team_delete", args=["payments"]), follow=True)
    assert Team.objects.filter(slug="payments").exists()
    html = response.content.decode()
    assert "cannot be deleted" in html and "Payments API" in html


@pytest.mark.parametrize("rows", [5, 200])
def test_team_list_runs_a_bounded_number_of_queries(
    login, dave, rows, django_assert_max_num_queries
):
    for i in range(rows):
        team = TeamFactory(slug=f"t-{i}", name=f"T {i}")
        ServiceFactory(slug=f"ts-{i}", team=team)
        team.members.add(dave)
    client = login(dave)
    client.get(reverse("team_list"))
    with django_assert_max_num_queries(8):
        assert client.get(reverse("team_list")).status_code == 200


def test_release_page_link_uses_the_release_key(login, dave, payments):
    release = ReleaseFactory(author=dave, services=[(payments, "2.0.0")])
    html = login(dave).get(payments.get_absolute_url()).content.decode()
    assert release.get_absolute_url() in html


def test_an_edge_that_jumps_over_a_column_arcs_above_the_boxes(login, dave, payments):
    # checkout needs payments-api and, directly, the ledger payments-api also needs.
    ledger = ServiceFactory(slug="ledger", name="Ledger", team=payments.team)
    checkout = ServiceFactory(slug="checkout", name="Checkout", team=payments.team)
    DependencyFactory(service=payments, depends_on=ledger)
    DependencyFactory(service=checkout, depends_on=payments)
    DependencyFactory(service=checkout, depends_on=ledger)
    html = login(dave).get(payments.get_absolute_url()).content.decode()
    svg = graph_svg(html)
    assert re.search(r'viewBox="0 -40 ', svg)  # room above the top row for the arc
    arcs = [
        d
        for d in re.findall(r'<path class="edge runtime" d="([^"]+)"', svg)
        if "-" in d.split("C")[1]
    ]
    assert len(arcs) == 1  # only checkout → ledger leaves the picture's rows
