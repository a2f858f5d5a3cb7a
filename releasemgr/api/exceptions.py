from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from releasemgr.decisions import DomainError


def exception_handler(exc, context):
    """Map domain errors to HTTP: rule said no → 409 (or 403), protected delete → 409.

    A failed request writes nothing: ``BaseModelViewSet`` rolls back its own atomic block on
    an error response. Views that keep a record of a refusal (the gate, deployments) manage
    their transactions themselves, so this handler only rolls back under ATOMIC_REQUESTS.
    """
    set_rollback()
    if isinstance(exc, DomainError):
        body = {
            "detail": exc.message,
            "code": exc.code,
            "checks": [
                {"code": r.code, "passed": r.passed, "message": r.message} for r in exc.reasons
            ],
        }
        result = getattr(exc, "result", None)
        if result is not None:
            body["status"] = result.status
            body["checks"] = result.checks
            body["decision_id"] = str(result.record.pk) if result.record else None
            body["retry_after"] = result.retry_after.isoformat() if result.retry_after else None
        return Response(body, status=exc.status_code)
    if isinstance(exc, (ProtectedError, RestrictedError)):
        related = sorted(
            {
                str(o)
                for o in list(
                    exc.protected_objects
                    if isinstance(exc, ProtectedError)
                    else exc.restricted_objects
                )[:10]
            }
        )
        return Response(
            {
                "detail": "Cannot delete: other records still refer to it.",
                "code": "protected",
                "related": related,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, exceptions.Throttled):
        # Retry-After is set by DRF from exc.wait (releasemgr.security.ApiRateThrottle).
        response = drf_exception_handler(exc, context)
        response.data = {
            "detail": f"Rate limit reached for this token. Retry in {exc.wait} seconds."
            if exc.wait is not None
            else "Rate limit reached for this token.",
            "code": "throttled",
        }
        return response
    return drf_exception_handler(exc, context)


@csrf_exempt  # token-authenticated clients send no CSRF token; the answer is a 404 anyway
def api_not_found(request, *args, **kwargs):
    """No API resource at this URL: answer in JSON like every other API error."""
    return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
