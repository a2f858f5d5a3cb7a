"""The catalog the API fuzzer works on, and the all-roles user it calls as.

The catalog is the product's own demo data (``manage.py seed_demo``): teams,
services with dependencies, environments, releases in every state reached
through ``releases.lifecycle``, deployments, gate decisions, and the demo rows
of each scheduling area. It grows with the product, so new endpoints meet
real rows too.

It is loaded once per module inside an outer transaction; each test runs in a
savepoint (pytest-django's ``db``), so what one operation's fuzzing writes or
deletes is undone before the next, and everything is rolled back at the end.
"""

import re
import uuid
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import Resolver404, resolve

from releasemgr.models import ApiToken
from releasemgr.roles import ALL_ROLES
from releases.models import Release, Service, Team
from scheduling.models import Environment
from tests.conftest import make_user

# Values the fuzzer's hooks swap in for random ones: per body field kind
# ("service", "release"...), filled when the catalog is loaded, and per path
# template, filled on first use from the view's own queryset.
KNOWN: dict[str, list] = {}


@pytest.fixture(scope="module")
def catalog(django_db_setup, django_db_blocker):
    """Demo data plus a user holding every role; yields that user's API token key."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", stdout=StringIO())
            fuzzer = make_user("fuzzer", *ALL_ROLES)
            _token, key = ApiToken.issue(fuzzer, "schemathesis")
            assert Release.objects.values("state").distinct().count() >= 6
            KNOWN.clear()
            KNOWN.update(
                {
                    "service": list(Service.objects.values_list("slug", flat=True)),
                    "team": list(Team.objects.values_list("slug", flat=True)),
                    "environment": list(Environment.objects.values_list("slug", flat=True)),
                    "release": list(Release.objects.values_list("key", flat=True)),
                    "user": list(
                        get_user_model()
                        .objects.exclude(username="fuzzer")
                        .values_list("username", flat=True)
                    ),
                }
            )
            yield key
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            KNOWN.clear()


@pytest.fixture
def fuzzer(catalog, db):
    """The API token key of the all-roles user, inside this test's savepoint."""
    return catalog


def known_lookups(path_template: str) -> list:
    """Lookup values (slug, key, id...) of existing objects for a detail path template.

    ``/api/v1/releases/{key}/approve/`` → the keys of the releases the viewset serves.
    """
    cache_key = f"path:{path_template}"
    if cache_key not in KNOWN:
        KNOWN[cache_key] = _lookup_values(path_template)
    return KNOWN[cache_key]


def _lookup_values(path_template: str) -> list:
    if len(re.findall(r"\{[^}]+\}", path_template)) != 1:
        return []
    try:
        match = resolve(re.sub(r"\{[^}]+\}", "0", path_template))
    except Resolver404:
        return []
    view = getattr(match.func, "cls", None)
    queryset = getattr(view, "queryset", None)
    if queryset is None:
        return []
    field = getattr(view, "lookup_field", "pk")
    values = queryset.model._default_manager.order_by("pk").values_list(field, flat=True)[:30]
    return [str(v) if isinstance(v, uuid.UUID) else v for v in values]


@pytest.fixture
def in_process_requests():
    """Let the WSGI app run inside the test's transaction.

    Django's handler closes "old" connections at the start and end of every
    request; inside a test transaction that would mark it for rollback. The
    test client disconnects these receivers for the same reason.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Schemathesis's coverage phase (opt-in, see test_schemathesis.py) enumerates every subset of
# a list's optional query filters (2^12 = 4,096 requests for GET /releases/ alone). Keep one
# case per distinct scenario (description, location, parameter, method): every boundary
# value, wrong type and missing or unexpected field it derives is still sent once.
COVERAGE_CASES_PER_SCENARIO = 1


def pytest_collection_modifyitems(items):
    for item in items:
        if not item.nodeid.startswith("tests/api_fuzz/"):
            continue
        examples = getattr(item.obj, "hypothesis_explicit_examples", None)
        if not examples:
            continue
        seen: dict[tuple, int] = {}
        kept = []
        for example in examples:
            case = example.kwargs.get("case")
            if case is None or case.meta is None or case.meta.phase.name.value != "coverage":
                kept.append(example)
                continue
            data = case.meta.phase.data
            scenario = (
                data.description,
                data.location,
                data.parameter,
                data.parameter_location,
                case.method,
            )
            seen[scenario] = seen.get(scenario, 0) + 1
            if seen[scenario] <= COVERAGE_CASES_PER_SCENARIO:
                kept.append(example)
        examples[:] = kept
