"""``manage.py verify_decision_log``: output and exit codes for an intact and a broken chain."""

import json

import pytest
from django.core.management import call_command
from django.db import connection

from governance import decision_log
from governance.choices import DecisionKind
from governance.models import DecisionRecord

pytestmark = pytest.mark.django_db


def _log(n=3):
    for i in range(n):
        decision_log.append(DecisionKind.APPROVAL, "approved", f"entry {i}")


def _run(*args):
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_decision_log", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def _tamper():
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DecisionRecord._meta.db_table} SET outcome = 'rejected' WHERE sequence = 2"
        )


def test_an_intact_log_exits_0_and_says_so():
    _log()

    code, out = _run()

    assert code == 0
    assert "Decision log intact: 3 entries verified." in out


def test_a_broken_log_exits_1_and_names_the_entry():
    _log()
    _tamper()

    code, out = _run()

    assert code == 1
    assert "BROKEN" in out and "first at #2" in out
    assert "#2 altered" in out


def test_json_output_is_the_verification_result():
    _log()
    _tamper()

    code, out = _run("--json")

    assert code == 1
    body = json.loads(out)
    assert body["intact"] is False and body["entries"] == 3
    assert body["first_break"]["sequence"] == 2 and body["first_break"]["code"] == "altered"


def test_json_output_for_an_intact_log_exits_0():
    code, out = _run("--json")

    assert code == 0
    assert json.loads(out)["intact"] is True
