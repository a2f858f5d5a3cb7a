"""Asking for evidence packs (page and API), who may, bad requests, downloads, a real worker."""

import pytest
from django.urls import reverse

from governance import evidence
from governance.choices import EvidenceStatus
from governance.evidence_build import build_pack
from governance.jobs_evidence import build_evidence_pack
from governance.models import EvidencePack
from releasemgr.models import JobRun
from tests.celery_worker import real_worker
from tests.governance.evidence_support import open_pack, sha256


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    return settings.EVIDENCE_DIR


def footprint():
    return EvidencePack.objects.count(), EvidencePack.history.count()


BAD = [
    ({}, "Choose one release, or one service"),
    ({"release": "R", "service": "S"}, "Choose one release, or one service"),
    ({"service": "S"}, "needs a date range"),
    ({"service": "S", "since": "2026-03-10", "until": "2026-03-01"}, "must be after its start"),
    ({"release": "R", "since": "2026-03-01", "until": "2026-03-10"}, "leave the date range"),
]


def _body(template, release, service):
    body = dict(template)
    if body.get("release") == "R":
        body["release"] = release.key
    if body.get("service") == "S":
        body["service"] = service.slug
    return body


# --- API -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"), BAD, ids=["none", "both", "no-dates", "reversed", "release-dates"]
)
def test_a_bad_request_answers_400_and_writes_nothing(
    api_client, audrey, draft_release, payments, body, message
):
    response = api_client(audrey).post(
        "/api/v1/evidence-packs/", _body(body, draft_release, payments), format="json"
    )

    assert response.status_code == 400
    assert message.lower() in str(response.json()).lower()
    assert footprint() == (0, 0)


@pytest.mark.parametrize("persona", ["audrey", "olivia", "alice"])
def test_auditors_compliance_officers_and_release_managers_request_packs(
    api_client, request, persona, draft_release, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client(request.getfixturevalue(persona)).post(
            "/api/v1/evidence-packs/", {"release": draft_release.key}, format="json"
        )

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["requested_by"] == persona
    assert len(callbacks) == 1


@pytest.mark.parametrize("persona", ["dave", "carol", "bob", "paula", "pipeline"])
def test_other_roles_cannot_request_or_download(
    api_client, request, persona, draft_release, audrey, django_capture_on_commit_callbacks
):
    client = api_client(request.getfixturevalue(persona))
    with django_capture_on_commit_callbacks(execute=False):
        pack = evidence.request_pack(audrey, release=draft_release)
    build_pack(pack.pk)
    before = footprint()

    assert (
        client.post(
            "/api/v1/evidence-packs/", {"release": draft_release.key}, format="json"
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/evidence-packs/{pack.pk}/download/").status_code == 403
    assert client.get(f"/api/v1/evidence-packs/{pack.pk}/").status_code == 200
    assert footprint() == before


def test_the_auditor_downloads_the_zip_of_a_ready_pack(
    api_client, audrey, draft_release, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        pack = evidence.request_pack(audrey, release=draft_release)
    client = api_client(audrey)
    assert client.get(f"/api/v1/evidence-packs/{pack.pk}/download/").status_code == 409
    build_pack(pack.pk)

    response = client.get(f"/api/v1/evidence-packs/{pack.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    content = b"".join(response.streaming_content)
    detail = client.get(f"/api/v1/evidence-packs/{pack.pk}/").json()
    assert sha256(content) == detail["archive_sha256"]
    assert detail["progress"] == 100
    assert {f["name"] for f in detail["manifest"]["files"]} >= {"report.html"}


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"), BAD, ids=["none", "both", "no-dates", "reversed", "release-dates"]
)
def test_the_request_form_shows_why_and_writes_nothing(
    client, olivia, draft_release, payments, body, message
):
    client.force_login(olivia)

    response = client.post(reverse("evidence_pack_create"), _body(body, draft_release, payments))

    assert response.status_code == 400
    assert message.lower() in response.content.decode().lower()
    assert footprint() == (0, 0)


def test_the_release_page_offers_an_evidence_pack_to_the_auditor_only(
    client, audrey, dave, draft_release
):
    client.force_login(audrey)
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="evidence-pack-button"' in page
    client.force_login(dave)
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="evidence-pack-button"' not in page


def test_requesting_from_the_page_queues_the_pack_and_shows_its_progress(
    client, audrey, draft_release, django_capture_on_commit_callbacks
):
    client.force_login(audrey)
    form = client.get(reverse("evidence_pack_create") + f"?release={draft_release.key}")
    assert f'value="{draft_release.key}" selected' in form.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("evidence_pack_create"), {"release": draft_release.key})

    pack = EvidencePack.objects.get()
    assert response.status_code == 302 and response["Location"] == pack.get_absolute_url()
    assert len(callbacks) == 1
    detail = client.get(pack.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in detail  # polls while building
    build_pack(pack.pk)
    card = client.get(reverse("evidence_pack_progress", args=[pack.pk])).content.decode()
    assert "hx-trigger" not in card  # stops polling once ready
    assert 'data-testid="download"' in card
    download = client.get(reverse("evidence_pack_download", args=[pack.pk]))
    assert download.status_code == 200
    assert "report.html" in "".join(open_pack_from_bytes(b"".join(download.streaming_content)))


def open_pack_from_bytes(content, tmp=None):
    import io
    import zipfile

    return zipfile.ZipFile(io.BytesIO(content)).namelist()


@pytest.mark.parametrize(("persona", "status"), [("dave", 403), ("carol", 403), ("nobody", 403)])
def test_the_request_page_and_download_are_refused_without_the_permission(
    client, request, persona, status, audrey, draft_release, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        pack = evidence.request_pack(audrey, release=draft_release)
    build_pack(pack.pk)
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("evidence_pack_create")).status_code == status
    assert (
        client.post(reverse("evidence_pack_create"), {"release": draft_release.key}).status_code
        == status
    )
    assert client.get(reverse("evidence_pack_download", args=[pack.pk])).status_code == status
    assert EvidencePack.objects.count() == 1


def test_the_pack_list_stays_within_a_fixed_number_of_queries(
    client, audrey, draft_release, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client.force_login(audrey)

    def create(n):
        with django_capture_on_commit_callbacks(execute=False):
            for _ in range(n):
                evidence.request_pack(audrey, release=draft_release)

    create(2)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("evidence_pack_list")).status_code == 200
    create(20)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("evidence_pack_list")).status_code == 200
    api = client.get("/api/v1/evidence-packs/")
    assert api.status_code == 200


# --- a real worker -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_a_pack_once_and_progress_reaches_100(
    draft_release, audrey, tmp_path, settings, monkeypatch
):
    monkeypatch.setenv("EVIDENCE_DIR", str(settings.EVIDENCE_DIR))
    # Made directly (not request_pack): the job is sent to the test worker's private queue.
    pack = EvidencePack(release=draft_release, requested_by=audrey)
    pack.save_with_reason("requested", user=audrey)

    (tmp_path / "broker").mkdir()
    with real_worker(tmp_path / "broker") as worker:
        worker.send(build_evidence_pack.s(pack.pk), times=2)
        worker.wait_until(
            lambda: JobRun.objects.filter(name="build_evidence_pack")
            .exclude(status="running")
            .count()
            >= 2
        )

    pack.refresh_from_db()
    assert pack.status == EvidenceStatus.READY
    assert pack.progress == 100
    files = open_pack(evidence.archive_path(pack))
    assert files["manifest.json"]
    assert sha256(evidence.archive_path(pack).read_bytes()) == pack.archive_sha256
    # Two deliveries, one build: the pack's history shows one "built".
    assert pack.history.filter(history_change_reason__startswith="built").count() == 1
