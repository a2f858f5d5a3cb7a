"""``manage.py issue_token``: prints a working key and nothing else."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from releasemgr.models import ApiToken, hash_token


def run(*args) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue()


def test_issue_token_prints_only_a_key_that_the_api_accepts(pipeline):
    output = run("pipeline")
    key = output.strip()
    assert output == key + "\n" and " " not in key and len(key) >= 32
    token = ApiToken.objects.get(key_hash=hash_token(key))
    assert token.user == pipeline
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/releases/").status_code == 200


def test_issue_token_names_the_token(pipeline):
    key = run("pipeline", "--name", "GitHub Actions").strip()
    assert ApiToken.objects.get(key_hash=hash_token(key)).name == "GitHub Actions"


def test_each_call_issues_a_new_key(pipeline):
    assert run("pipeline") != run("pipeline")
    assert ApiToken.objects.filter(user=pipeline).count() == 2


def test_issue_token_fails_clearly_for_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("ghost")
    assert not ApiToken.objects.exists()


def test_issue_token_refuses_an_inactive_user(pipeline):
    pipeline.is_active = False
    pipeline.save()
    with pytest.raises(CommandError, match="inactive"):
        run("pipeline")
    assert not ApiToken.objects.exists()
