"""Late-defect pages: the list (filters, bounded queries), one defect, report/edit/resolve, the
release's Defects tab, accepting residual risk and delaying, per role."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance import defects
from governance.choices import DecisionKind
from governance.models import DecisionRecord, Defect, RiskAcceptance
from tests.factories import ReleaseFactory, ScopeItemFactory
from tests.governance.defects_support import accept, defect, footprint

pytestmark = pytest.mark.django_db

LIST = reverse("defect_list")
CREATE = reverse("defect_create")


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "carol", "dave", "audrey", "paula", "bob"])
def test_every_role_can_read_the_defect_pages(
    client, request, persona, approved_release, dave, paula
):
    found = defect(approved_release, dave)
    acceptance = accept(approved_release, [found], paula)
    client.force_login(request.getfixturevalue(persona))

    for url in (
        LIST,
        found.get_absolute_url(),
        reverse("risk_acceptance_list"),
        acceptance.get_absolute_url(),
        approved_release.get_absolute_url(),
    ):
        assert client.get(url).status_code == 200, url


def test_a_user_without_a_role_is_refused(client, nobody, approved_release, dave):
    found = defect(approved_release, dave)
    client.force_login(nobody)

    assert client.get(LIST).status_code == 403
    assert client.get(found.get_absolute_url()).status_code == 403


def test_the_list_filters_blocking_defects_by_service_and_severity(
    client, audrey, approved_release, dave, paula
):
    blocking = defect(approved_release, dave, title="Blocks")
    accepted = defect(approved_release, dave, title="Accepted")
    accept(approved_release, [accepted], paula)
    defect(approved_release, dave, severity="low", title="Cosmetic")
    client.force_login(audrey)

    only_blocking = client.get(LIST, {"blocking": "true"}).context["page"]
    low = client.get(LIST, {"severity": "low"}).context["page"]
    elsewhere = client.get(LIST, {"service": "nope"}).context["page"]

    assert [d.pk for d in only_blocking] == [blocking.pk]
    assert [d.title for d in low] == ["Cosmetic"]
    assert list(elsewhere) == []
    page = client.get(LIST).content.decode()
    assert "Blocks " + approved_release.key in page and "Residual risk accepted" in page


@pytest.mark.parametrize("size", [2, 30])
def test_the_list_runs_a_bounded_number_of_queries(
    client, audrey, dave, payments, size, django_assert_max_num_queries
):
    for n in range(size):
        release = ReleaseFactory(author=dave, services=[(payments, f"1.{n}.0")])
        defect(release, dave, title=f"Defect {n}")
    client.force_login(audrey)

    with django_assert_max_num_queries(12):
        response = client.get(LIST)
    assert response.status_code == 200
    assert all(d.blocks for d in response.context["page"])


def test_the_release_page_has_a_defects_tab_with_the_verdict(client, paula, approved_release, dave):
    defect(approved_release, dave, reference="PAY-812")
    client.force_login(paula)

    page = client.get(approved_release.get_absolute_url()).content.decode()

    assert 'data-testid="defects-tab"' in page
    assert "PAY-812 &#x27;Refund rounds half-cents down&#x27; (high)" in page
    assert 'data-testid="accept-panel"' in page  # paula may accept
    assert 'data-testid="delay-panel"' not in page  # but not re-plan


def test_the_release_manager_sees_the_delay_form_not_the_acceptance(
    client, alice, approved_release, dave
):
    defect(approved_release, dave)
    client.force_login(alice)

    page = client.get(approved_release.get_absolute_url()).content.decode()

    assert 'data-testid="delay-panel"' in page and 'data-testid="accept-panel"' not in page


def test_the_escalated_panel_lists_escalated_blocking_defects(rf, alice, approved_release, dave):
    from django.template import Context, Template

    found = defect(approved_release, dave)
    Defect.objects.filter(pk=found.pk).update(escalated_at=timezone.now())
    request = rf.get("/")
    request.user = alice

    html = Template("{% load defect_tags %}{% escalated_defects_panel %}").render(
        Context({"request": request})
    )

    assert found.title in html and approved_release.key in html


# --- writing ------------------------------------------------------------------------------------


def test_a_developer_reports_a_defect_from_the_release_page(
    client, dave, approved_release, environments
):
    client.force_login(dave)
    assert client.get(CREATE, {"release": approved_release.key}).status_code == 200

    response = client.post(
        CREATE,
        {
            "release": approved_release.key,
            "title": "Checkout hangs on 3DS",
            "severity": "critical",
            "reference": "PAY-900",
            "found_in": environments["staging"].pk,
        },
    )

    found = Defect.objects.get()
    assert response.status_code == 302 and response["Location"] == found.get_absolute_url()
    assert found.reported_by == dave and found.found_in == environments["staging"]
    assert found.history.first().history_user == dave


def test_a_bad_report_shows_field_errors_and_writes_nothing(client, dave, approved_release):
    client.force_login(dave)

    response = client.post(CREATE, {"release": approved_release.key, "title": "", "severity": "x"})

    assert response.status_code == 400
    assert response.context["form"].errors.keys() >= {"title", "severity"}
    assert not Defect.objects.exists()


def test_a_cab_member_cannot_report_edit_or_resolve(client, carol, approved_release, dave):
    found = defect(approved_release, dave)
    client.force_login(carol)
    before = footprint()

    assert client.post(CREATE, {"release": approved_release.key}).status_code == 403
    assert client.post(reverse("defect_edit", args=[found.pk]), {"title": "x"}).status_code == 403
    assert client.post(reverse("defect_resolve", args=[found.pk])).status_code == 403
    assert footprint() == before


def test_editing_and_resolving(client, alice, approved_release, dave):
    found = defect(approved_release, dave)
    client.force_login(alice)

    client.post(
        reverse("defect_edit", args=[found.pk]),
        {"title": "Renamed", "severity": "medium", "reason": "triaged"},
    )
    response = client.post(
        reverse("defect_resolve", args=[found.pk]), {"status": "wont_fix", "comment": "by design"}
    )
    again = client.post(reverse("defect_resolve", args=[found.pk]), {"status": "resolved"})

    found.refresh_from_db()
    assert (found.title, found.severity, found.status) == ("Renamed", "medium", "wont_fix")
    assert response.status_code == 302 and again.status_code == 409


def test_a_product_owner_accepts_the_residual_risk(client, paula, approved_release, dave):
    found = defect(approved_release, dave)
    client.force_login(paula)
    url = reverse("release_risk_acceptance_create", args=[approved_release.key])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "defects": [found.pk],
            "rationale": "Rare; support has a workaround.",
            "expires_at": local(timezone.now() + timedelta(days=5)),
        },
    )

    acceptance = RiskAcceptance.objects.get()
    assert response.status_code == 302 and response["Location"] == acceptance.get_absolute_url()
    assert defects.check_open_defects(approved_release).passed


def test_an_acceptance_without_an_expiry_is_refused_with_a_field_error(
    client, paula, approved_release, dave
):
    found = defect(approved_release, dave)
    client.force_login(paula)
    before = footprint()

    response = client.post(
        reverse("release_risk_acceptance_create", args=[approved_release.key]),
        {"defects": [found.pk], "rationale": "Fine."},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["expires_at"] == [
        "An acceptance needs an expiry; give one."
    ]
    assert footprint() == before


def test_a_contributor_is_refused_the_acceptance_page_post_and_it_is_logged(
    client, olivia, approved_release, dave
):
    ScopeItemFactory(release=approved_release, contributor=olivia)
    found = defect(approved_release, dave)
    client.force_login(olivia)

    response = client.post(
        reverse("release_risk_acceptance_create", args=[approved_release.key]),
        {
            "defects": [found.pk],
            "rationale": "Fine.",
            "expires_at": local(timezone.now() + timedelta(days=2)),
        },
    )

    assert response.status_code == 403
    assert not RiskAcceptance.objects.exists()
    assert DecisionRecord.objects.filter(kind=DecisionKind.SOD_REFUSAL, actor=olivia).exists()


def test_a_developer_cannot_accept_risk(client, dave, approved_release):
    client.force_login(dave)
    url = reverse("release_risk_acceptance_create", args=[approved_release.key])

    assert client.get(url).status_code == 403
    assert client.post(url, {}).status_code == 403


def test_revoking_from_the_acceptance_page(client, olivia, paula, approved_release, dave):
    acceptance = accept(approved_release, [defect(approved_release, dave)], paula)
    client.force_login(olivia)

    response = client.post(
        reverse("risk_acceptance_revoke", args=[acceptance.pk]), {"reason": "no"}
    )
    again = client.post(reverse("risk_acceptance_revoke", args=[acceptance.pk]))

    acceptance.refresh_from_db()
    assert response.status_code == 302 and acceptance.revoked_by == olivia
    assert again.status_code == 409


def test_the_release_manager_delays_a_release(client, alice, approved_release):
    client.force_login(alice)
    url = reverse("release_delay", args=[approved_release.key])
    assert client.get(url).status_code == 200
    start = (timezone.now() + timedelta(days=20)).replace(second=0, microsecond=0)

    response = client.post(url, {"planned_start": local(start), "reason": "Waiting for PAY-812"})

    approved_release.refresh_from_db()
    assert response.status_code == 302 and response["Location"].endswith("#defects")
    assert approved_release.planned_start == start
    assert DecisionRecord.objects.filter(kind=DecisionKind.DELAY).count() == 1


def test_a_delay_without_a_reason_shows_the_error_and_changes_nothing(
    client, alice, approved_release
):
    client.force_login(alice)
    before = approved_release.planned_start

    response = client.post(
        reverse("release_delay", args=[approved_release.key]),
        {"planned_start": local(timezone.now() + timedelta(days=2)), "reason": ""},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == ["Say why the release is delayed."]
    approved_release.refresh_from_db()
    assert approved_release.planned_start == before


def test_a_deployer_cannot_delay(client, bob, approved_release):
    client.force_login(bob)

    assert client.post(reverse("release_delay", args=[approved_release.key]), {}).status_code == 403
