"""/api/v1/freeze-exceptions/: list and filters, request (POST), approve, reject, withdraw."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releasemgr.roles import RELEASE_MANAGER
from releases.choices import ReleaseKind
from scheduling.models import FreezeException
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ScopeItemFactory, ServiceFactory, UserFactory
from tests.scheduling.exceptions_support import JUSTIFICATION, RISK, ask, footprint, window

URL = "/api/v1/freeze-exceptions/"


@pytest.fixture
def freeze(payments):
    return window("Quarter-end freeze")


@pytest.fixture
def pending(draft_release, freeze, dave):
    return ask(draft_release, freeze, dave)


def body(release, freeze, **overrides):
    now = timezone.now()
    data = {
        "release": release.key,
        "window": freeze.pk,
        "justification": JUSTIFICATION,
        "risk": RISK,
        "risk_level": "high",
        "valid_from": now.isoformat(),
        "valid_until": (now + timedelta(hours=6)).isoformat(),
    }
    data.update(overrides)
    return data


def action(pk, name):
    return f"{URL}{pk}/{name}/"


# --- requesting ---------------------------------------------------------------------------------


def test_a_developer_requests_an_exception(api_client, draft_release, freeze, dave):
    response = api_client(dave).post(URL, body(draft_release, freeze), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["release"] == draft_release.key
    assert data["window"] == freeze.pk
    assert data["window_name"] == "Quarter-end freeze"
    assert data["status"] == "pending"
    assert data["validity"] == "pending"
    assert data["risk_level"] == "high"
    assert data["requested_by"] == "dave"
    assert data["requester_roles"] == ["developer"]
    assert data["expedited"] is False
    assert data["decided_by"] is None
    exception = FreezeException.objects.get(pk=data["id"])
    assert "API token" in exception.history.first().history_via


def test_expedited_comes_from_the_release_not_from_the_request(api_client, dave, payments, freeze):
    patch = ReleaseFactory(
        author=dave, kind=ReleaseKind.SECURITY_PATCH, services=[(payments, "1.4.3")]
    )
    normal = ReleaseFactory(author=dave, services=[(payments, "1.4.4")])
    client = api_client(dave)

    expedited = client.post(URL, body(patch, freeze), format="json").json()
    not_expedited = client.post(URL, body(normal, freeze, expedited=True), format="json").json()

    assert expedited["expedited"] is True
    assert not_expedited["expedited"] is False


def test_a_window_that_does_not_apply_is_a_400_on_the_window_field_and_writes_nothing(
    api_client, draft_release, dave
):
    elsewhere = window("Search freeze", services=[ServiceFactory(slug="search")])
    before = footprint()

    response = api_client(dave).post(URL, body(draft_release, elsewhere), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "window": [
            f"'Search freeze' does not apply to {draft_release.key} between those times; "
            "no exception is needed."
        ]
    }
    assert footprint() == before


def test_an_exception_ending_before_it_starts_is_a_400(api_client, draft_release, freeze, dave):
    now = timezone.now()
    response = api_client(dave).post(
        URL,
        body(
            draft_release,
            freeze,
            valid_from=(now + timedelta(hours=4)).isoformat(),
            valid_until=(now + timedelta(hours=1)).isoformat(),
        ),
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"valid_until": ["The exception must end after it starts."]}
    assert FreezeException.objects.count() == 0


def test_missing_fields_and_unknown_objects_are_field_errors(api_client, dave):
    response = api_client(dave).post(
        URL, {"release": "REL-1900-0001", "window": 999999, "risk_level": "huge"}, format="json"
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) >= {
        "release",
        "window",
        "risk_level",
        "justification",
        "risk",
        "valid_from",
        "valid_until",
    }
    assert FreezeException.objects.count() == 0


def test_a_duplicate_open_request_is_a_409(api_client, draft_release, freeze, dave, pending):
    response = api_client(dave).post(URL, body(draft_release, freeze), format="json")

    assert response.status_code == 409
    assert response.json()["checks"][0]["code"] == "duplicate_exception"
    assert FreezeException.objects.count() == 1


@pytest.mark.parametrize("persona", ["carol", "audrey", "bob", "pipeline", "nobody"])
def test_roles_without_the_request_permission_get_403(
    api_client, draft_release, freeze, persona, request
):
    user = request.getfixturevalue(persona)

    response = api_client(user).post(URL, body(draft_release, freeze), format="json")

    assert response.status_code == 403
    assert FreezeException.objects.count() == 0


def test_anonymous_requests_get_401(api_client, draft_release, freeze):
    assert api_client().get(URL).status_code == 401
    assert api_client().post(URL, body(draft_release, freeze), format="json").status_code == 401


def test_exceptions_cannot_be_edited_or_deleted_only_decided(api_client, alice, pending):
    client = api_client(alice)

    # Refused before the method is looked at (no role may change or delete them), or 405.
    assert client.patch(f"{URL}{pending.pk}/", {"risk": "none"}, format="json").status_code in (
        403,
        405,
    )
    assert client.delete(f"{URL}{pending.pk}/").status_code in (403, 405)
    pending.refresh_from_db()
    assert pending.risk == RISK


# --- deciding -----------------------------------------------------------------------------------


def test_a_cab_member_approves_with_a_comment(api_client, pending, carol):
    response = api_client(carol).post(
        action(pending.pk, "approve"), {"comment": "Deploy at 02:00."}, format="json"
    )

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "approved"
    assert data["validity"] == "in_force"
    assert data["decided_by"] == "carol"
    assert data["decision_comment"] == "Deploy at 02:00."
    assert data["decided_at"] is not None


def test_a_cab_member_rejects(api_client, pending, carol):
    response = api_client(carol).post(
        action(pending.pk, "reject"), {"comment": "Wait until Monday."}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"


def test_deciding_twice_is_a_409(api_client, pending, carol, erin):
    assert api_client(carol).post(action(pending.pk, "approve")).status_code == 200

    response = api_client(erin).post(action(pending.pk, "reject"), {"comment": "no"})

    assert response.status_code == 409
    assert response.json()["detail"] == f"Exception #{pending.pk} is already approved."
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by.username) == ("approved", "carol")


def test_the_requester_cannot_approve_their_own_exception(api_client, draft_release, freeze, alice):
    exception = ask(draft_release, freeze, alice)

    response = api_client(alice).post(action(exception.pk, "approve"))

    assert response.status_code == 403
    failed = {c["code"] for c in response.json()["checks"]}
    assert failed == {"not_requester", "different_role"}
    exception.refresh_from_db()
    assert exception.status == "pending"


def test_someone_with_the_requesters_role_cannot_approve(api_client, draft_release, freeze, alice):
    rita = make_user("rita", RELEASE_MANAGER)
    exception = ask(draft_release, freeze, alice)

    response = api_client(rita).post(action(exception.pk, "approve"))

    assert response.status_code == 403
    assert [c["code"] for c in response.json()["checks"]] == ["different_role"]


def test_a_contributor_of_the_release_cannot_approve(api_client, draft_release, pending, erin):
    ScopeItemFactory(release=draft_release, contributor=erin)

    response = api_client(erin).post(action(pending.pk, "approve"))

    assert response.status_code == 403
    assert [c["code"] for c in response.json()["checks"]] == ["segregation_of_duties"]


@pytest.mark.parametrize("persona", ["dave", "audrey", "bob"])
def test_roles_without_the_decide_permission_get_403(
    api_client, draft_release, freeze, alice, persona, request
):
    exception = ask(draft_release, freeze, alice)
    user = request.getfixturevalue(persona)

    response = api_client(user).post(action(exception.pk, "approve"))

    assert response.status_code == 403
    assert [c["code"] for c in response.json()["checks"]] == ["decide_permission"]
    exception.refresh_from_db()
    assert exception.status == "pending"
    assert exception.history.count() == 1


def test_a_user_without_any_role_gets_403_and_no_details(api_client, pending, nobody):
    assert api_client(nobody).post(action(pending.pk, "approve")).status_code == 403
    assert api_client(nobody).get(f"{URL}{pending.pk}/").status_code == 403


def test_a_comment_longer_than_2000_characters_is_a_400(api_client, pending, carol):
    response = api_client(carol).post(action(pending.pk, "approve"), {"comment": "x" * 2001})

    assert response.status_code == 400
    assert "comment" in response.json()
    pending.refresh_from_db()
    assert pending.status == "pending"


# --- withdrawing --------------------------------------------------------------------------------


def test_the_requester_withdraws(api_client, pending, dave):
    response = api_client(dave).post(action(pending.pk, "withdraw"))

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"


def test_someone_else_cannot_withdraw(api_client, pending, alice):
    response = api_client(alice).post(action(pending.pk, "withdraw"))

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_decided_exception_cannot_be_withdrawn(api_client, pending, dave, carol):
    api_client(carol).post(action(pending.pk, "approve"))

    assert api_client(dave).post(action(pending.pk, "withdraw")).status_code == 409


# --- reading ------------------------------------------------------------------------------------


def test_everyone_with_a_role_reads_exceptions(api_client, pending, audrey):
    client = api_client(audrey)

    listed = client.get(URL).json()
    detail = client.get(f"{URL}{pending.pk}/").json()

    assert [row["id"] for row in listed["results"]] == [pending.pk]
    assert detail["justification"] == JUSTIFICATION


def test_the_list_puts_pending_expedited_requests_first(
    api_client, dave, carol, payments, freeze, audrey
):
    normal_old = ask(ReleaseFactory(author=dave, services=[(payments, "2.0.0")]), freeze, dave)
    decided = ask(ReleaseFactory(author=dave, services=[(payments, "2.0.1")]), freeze, dave)
    from scheduling import freeze_exceptions

    freeze_exceptions.decide(decided, carol, approve=True)
    patch = ask(
        ReleaseFactory(
            author=dave, kind=ReleaseKind.SECURITY_PATCH, services=[(payments, "2.0.2")]
        ),
        freeze,
        dave,
    )

    rows = api_client(audrey).get(URL).json()["results"]

    assert [r["id"] for r in rows] == [patch.pk, normal_old.pk, decided.pk]


def test_filters_by_status_release_window_and_expedited(
    api_client, dave, carol, payments, freeze, audrey
):
    first = ReleaseFactory(author=dave, services=[(payments, "3.0.0")])
    patch_release = ReleaseFactory(
        author=dave, kind=ReleaseKind.SECURITY_PATCH, services=[(payments, "3.0.1")]
    )
    other_window = window("Audit freeze")
    a = ask(first, freeze, dave)
    b = ask(patch_release, freeze, dave)
    c = ask(first, other_window, dave)
    from scheduling import freeze_exceptions

    freeze_exceptions.decide(c, carol, approve=False, comment="no")
    client = api_client(audrey)

    def ids(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.json()
        return sorted(row["id"] for row in response.json()["results"])

    assert ids(status="pending") == sorted([a.pk, b.pk])
    assert ids(status="rejected") == [c.pk]
    assert ids(release=first.key) == sorted([a.pk, c.pk])
    assert ids(window=other_window.pk) == [c.pk]
    assert ids(expedited="true") == [b.pk]
    assert ids(requested_by="dave", status="pending", expedited="false") == [a.pk]
    assert client.get(URL, {"status": "maybe"}).status_code == 400


@pytest.mark.parametrize("rows", [5, 200])
def test_the_list_runs_a_bounded_number_of_queries(
    api_client, payments, freeze, audrey, rows, django_assert_max_num_queries
):
    requesters = [make_user(f"dev{i}", "developer") for i in range(3)]
    approver = UserFactory(username="approver")
    now = timezone.now()
    releases = [
        ReleaseFactory(author=requesters[i % 3], services=[(payments, f"9.{i}.0")])
        for i in range(rows)
    ]
    FreezeException.objects.bulk_create(
        FreezeException(
            release=release,
            window=freeze,
            justification="j",
            risk="r",
            valid_from=now,
            valid_until=now + timedelta(hours=2),
            requested_by=requesters[i % 3],
            requester_roles=["developer"],
            status="approved" if i % 2 else "pending",
            decided_by=approver if i % 2 else None,
            expedited=i % 5 == 0,
        )
        for i, release in enumerate(releases)
    )
    client = api_client(audrey)

    with django_assert_max_num_queries(8):
        response = client.get(URL, {"page_size": 200})

    assert response.status_code == 200
    assert response.json()["count"] == rows


def test_the_openapi_schema_documents_the_endpoints(db):
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    assert {"get", "post"} <= set(paths["/api/v1/freeze-exceptions/"])
    assert "400" in paths["/api/v1/freeze-exceptions/"]["post"]["responses"]
    for name in ("approve", "reject", "withdraw"):
        responses = paths[f"/api/v1/freeze-exceptions/{{id}}/{name}/"]["post"]["responses"]
        assert {"200", "403", "409"} <= set(responses)
