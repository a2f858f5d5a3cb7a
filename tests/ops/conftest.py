import pytest


@pytest.fixture
def eager_deliveries(settings):
    """Deliveries sent in-process (no worker), retried at once, email kept in mail.outbox."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DELIVERY_BACKOFF_SECONDS = 0
    settings.DELIVERY_MAX_ATTEMPTS = 3
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
