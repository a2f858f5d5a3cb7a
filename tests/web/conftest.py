"""Helpers for the server-rendered pages: a client signed in as a persona."""

import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture
def login(client):
    """``login(user)`` → the pytest-django client, signed in as that user."""

    def _login(user) -> Client:
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def admin(db):
    """The superuser (holds ``releasemgr.manage_all_tokens`` like every permission)."""
    user = UserFactory(username="admin")
    user.is_superuser = True
    user.is_staff = True
    user.save()
    return user
