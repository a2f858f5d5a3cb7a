"""Every list endpoint runs the same bounded number of SQL queries for 5 rows and for 200."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import Approval
from releases.models import (
    Deployment,
    DeploymentEvent,
    GateDecision,
    Release,
    ReleaseService,
    ScopeItem,
    Service,
    ServiceDependency,
    Team,
)
from scheduling.models import Environment, FreezeWindow
from tests.factories import UserFactory

# Authentication (token, last-used, permissions), the page count, the page, and a few
# prefetches. What matters is that it does not grow with the number of rows.
MAX_QUERIES = 10
SIZES = [5, 200]


class World:
    """Bulk-built rows, every one pointing at different related rows so an N+1 would show."""

    def __init__(self, n: int):
        self.n = n
        now = timezone.now()
        self.users = UserFactory.create_batch(3)
        self.teams = Team.objects.bulk_create(
            [Team(slug=f"team-{i}", name=f"Team {i}") for i in range(n)]
        )
        self.services = Service.objects.bulk_create(
            [Service(slug=f"svc-{i}", name=f"Service {i}", team=self.teams[i]) for i in range(n)]
        )
        Service.owners.through.objects.bulk_create(
            [
                Service.owners.through(service=s, user=self.users[i % 3])
                for i, s in enumerate(self.services)
            ]
        )
        ServiceDependency.objects.bulk_create(
            [
                ServiceDependency(service=self.services[i], depends_on=self.services[i - 1])
                for i in range(1, n)
            ]
            + [ServiceDependency(service=self.services[0], depends_on=self.services[-1])]
        )
        self.environments = Environment.objects.bulk_create(
            [Environment(slug=f"env-{i}", name=f"Env {i}", order=i + 1) for i in range(n)]
        )
        self.releases = Release.objects.bulk_create(
            [
                Release(
                    key=f"REL-T-{i:04d}",
                    name=f"Release {i}",
                    version="1.0.0",
                    author=self.users[i % 3],
                    owner=self.users[(i + 1) % 3],
                )
                for i in range(n)
            ]
        )
        ReleaseService.objects.bulk_create(
            [
                ReleaseService(release=r, service=self.services[(i + k) % n], version="1.0.0")
                for i, r in enumerate(self.releases)
                for k in (0, 1)
            ]
        )
        ScopeItem.objects.bulk_create(
            [
                ScopeItem(
                    release=r,
                    title=f"Change {i}",
                    service=self.services[i],
                    contributor=self.users[i % 3],
                )
                for i, r in enumerate(self.releases)
            ]
        )
        Approval.objects.bulk_create(
            [
                Approval(release=r, approver=self.users[i % 3], decision="approved", role="cab")
                for i, r in enumerate(self.releases)
            ]
        )
        windows = FreezeWindow.objects.bulk_create(
            [
                FreezeWindow(
                    name=f"Freeze {i}",
                    start=now + timedelta(days=i),
                    end=now + timedelta(days=i, hours=4),
                    created_by=self.users[i % 3],
                )
                for i in range(n)
            ]
        )
        FreezeWindow.services.through.objects.bulk_create(
            [
                FreezeWindow.services.through(freezewindow=w, service=self.services[i])
                for i, w in enumerate(windows)
            ]
        )
        FreezeWindow.environments.through.objects.bulk_create(
            [
                FreezeWindow.environments.through(freezewindow=w, environment=self.environments[i])
                for i, w in enumerate(windows)
            ]
        )
        decisions = GateDecision.objects.bulk_create(
            [
                GateDecision(
                    requested_by=self.users[i % 3],
                    service_slug=self.services[i].slug,
                    version="1.0.0",
                    environment_slug=self.environments[i].slug,
                    release=r,
                    status="allowed",
                    allowed=True,
                    checks=[{"code": "approved", "passed": True, "message": "ok", "data": {}}],
                    purpose="deployment",
                )
                for i, r in enumerate(self.releases)
            ]
        )
        deployments = Deployment.objects.bulk_create(
            [
                Deployment(
                    release=r,
                    environment=self.environments[i],
                    started_by=self.users[i % 3],
                    started_at=now - timedelta(minutes=i),
                    gate_decision=decisions[i],
                )
                for i, r in enumerate(self.releases)
            ]
        )
        DeploymentEvent.objects.bulk_create(
            [DeploymentEvent(deployment=d, type="node", actor=self.users[0]) for d in deployments]
        )


LISTS = [
    "teams",
    "services",
    "service-dependencies",
    "releases",
    "scope-items",
    "approvals",
    "environments",
    "freeze-windows",
    "deployments",
    "gate-decisions",
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", LISTS)
def test_a_list_endpoint_runs_a_bounded_number_of_queries(
    api_client, audrey, django_assert_max_num_queries, name, size
):
    World(size)
    client = api_client(audrey)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(f"/api/v1/{name}/", {"page_size": 500})

    assert response.status_code == 200
    assert len(response.json()["results"]) == size


@pytest.mark.parametrize("size", SIZES)
def test_the_events_of_a_deployment_are_listed_in_bounded_queries(
    api_client, audrey, django_assert_max_num_queries, size
):
    world = World(2)
    deployment = Deployment.objects.first()
    DeploymentEvent.objects.bulk_create(
        [
            DeploymentEvent(deployment=deployment, type="node", actor=world.users[i % 3])
            for i in range(size - 1)
        ]
    )
    client = api_client(audrey)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(f"/api/v1/deployments/{deployment.pk}/events/", {"page_size": 500})

    assert len(response.json()["results"]) == size
