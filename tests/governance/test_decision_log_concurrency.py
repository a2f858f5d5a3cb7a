"""Concurrent appends form one chain (real threads and connections: PostgreSQL only, like
tests/test_concurrency.py; SQLite serialises whole-database writes and would prove nothing)."""

import pytest
from django.conf import settings

from governance import decision_log
from governance.choices import DecisionKind
from governance.models import ChainHead, DecisionRecord
from tests.test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL row locks; run with DATABASE_URL=postgres://...",
    ),
]

WRITERS = 6
EACH = 5


def _writer(n):
    def write():
        for i in range(EACH):
            decision_log.append(DecisionKind.GATE, "allowed", f"writer {n} entry {i}")
        return n

    return write


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_unbroken_chain():
    outcomes = race(*[_writer(n) for n in range(WRITERS)])

    assert [kind for kind, _ in outcomes] == ["ok"] * WRITERS, outcomes
    sequences = list(DecisionRecord.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, WRITERS * EACH + 1))
    result = decision_log.verify()
    assert result.intact, result.problems
    assert ChainHead.objects.get().last_sequence == WRITERS * EACH


@pytest.mark.django_db(transaction=True)
def test_the_very_first_appends_racing_create_one_head():
    outcomes = race(*[_writer(n) for n in range(3)])

    assert [kind for kind, _ in outcomes] == ["ok"] * 3, outcomes
    assert ChainHead.objects.count() == 1
    assert decision_log.verify().intact
