"""Two pipeline runs start the same deployment with the same Idempotency-Key at once.

Real threads, connections and unique-index waits: PostgreSQL only (the pattern of
tests/test_concurrency.py).
"""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from releasemgr.models import ApiToken, IdempotentRequest
from releases.models import Deployment, GateDecision
from tests.test_concurrency import ROUNDS, race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL row locks; run with DATABASE_URL=postgres://...",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_two_pipelines_starting_with_the_same_key_get_one_deployment_and_the_same_answer(
    pipeline, dave, carol, environments, payments
):
    from tests.factories import ReleaseFactory
    from tests.releases import builders

    _token, key = ApiToken.issue(pipeline, "race")
    for n in range(ROUNDS):
        release = ReleaseFactory(author=dave, services=[(payments, f"2.{n}.0")])
        builders.approve(release, dave, carol)
        body = {"release": release.key, "environment": "dev", "commit": "abcdef1"}

        def start(body=body, n=n):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
            response = client.post(
                "/api/v1/deployments/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"run-{n}"
            )
            return response.status_code, response.json()

        outcomes = race(start, start)

        assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
        (status_a, body_a), (status_b, body_b) = [value for _, value in outcomes]
        assert (status_a, status_b) == (201, 201), outcomes
        assert body_a == body_b
        assert Deployment.objects.filter(release=release).count() == 1
        assert IdempotentRequest.objects.filter(key=f"run-{n}").count() == 1
        # The loser never asked the gate: it waited for the winner's answer.
        assert GateDecision.objects.filter(release=release, purpose="deployment").count() == 1
