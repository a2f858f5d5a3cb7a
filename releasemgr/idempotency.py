"""``Idempotency-Key`` on pipeline POSTs: a repeated request gets the first answer back.

A pipeline that retries after a timeout must not start a second deployment or record
an event twice. ``respond`` wraps an API view's work:

- no key: the work runs as usual;
- a new key: a claim row (user, endpoint, key, fingerprint of the body) is inserted and
  the work runs in the same transaction; a successful (2xx) answer is stored on the row.
  A concurrent request with the same key blocks on the row's unique index until this
  transaction ends, then reads the stored answer;
- a known key with the same body: the stored status code and body, nothing written
  (``Idempotent-Replayed: true`` header);
- a known key with a different body: 422 with a clear message, nothing written.

Refusals (4xx, a gate that says no) are not stored: the claim is dropped, and a retry
with the same key asks again (a freeze may have ended). Records the work keeps on
purpose (every gate answer) are committed all the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import QueryDict
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from releasemgr.idempotency_models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 100
REPLAY_HEADER = "Idempotent-Replayed"


class KeyReusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="`idempotency_key_reused`.")


# For ``extend_schema(responses={..., 422: KEY_REUSED})`` on every view that calls ``respond``.
KEY_REUSED = OpenApiResponse(
    KeyReusedSerializer,
    description=f"The {HEADER} was already used on this endpoint with a different body; "
    "nothing was done.",
)


def canonical_json(data) -> str:
    if isinstance(data, QueryDict):
        data = {k: data.getlist(k) if len(data.getlist(k)) > 1 else data.get(k) for k in data}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), cls=JSONEncoder)


def fingerprint(data) -> str:
    """SHA-256 of the body as canonical JSON (key order and spacing do not matter)."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def _stored(user, endpoint: str, key: str) -> IdempotentRequest | None:
    return IdempotentRequest.objects.filter(user=user, endpoint=endpoint, key=key).first()


def _replay(stored: IdempotentRequest, print_: str, key: str) -> Response:
    if stored.fingerprint != print_:
        return Response(
            {
                "detail": f"Idempotency-Key '{key}' was already used for a different request "
                "body on this endpoint; nothing was done. Send the same body to get the first "
                "answer again, or use a new key for a new request.",
                "code": "idempotency_key_reused",
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(
        stored.response_body, status=stored.status_code, headers={REPLAY_HEADER: "true"}
    )


def respond(request, endpoint: str, work: Callable[[], Response]) -> Response:
    """Run ``work`` (which returns a DRF Response) at most once per (user, endpoint, key)."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return work()
    if len(key) > MAX_KEY_LENGTH:
        return Response(
            {
                "detail": f"Idempotency-Key is at most {MAX_KEY_LENGTH} characters.",
                "code": "invalid",
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    user = request.user
    print_ = fingerprint(request.data)
    stored = _stored(user, endpoint, key)
    if stored is not None:
        return _replay(stored, print_, key)
    failure: BaseException | None = None
    try:
        with transaction.atomic():
            # Inserted first: a concurrent duplicate waits here on the unique index.
            claim = IdempotentRequest.objects.create(
                user=user, endpoint=endpoint, key=key, fingerprint=print_
            )
            try:
                response = work()
            except Exception as exc:  # a refusal: drop the claim, keep what the work keeps
                failure = exc
                claim.delete()
            else:
                if 200 <= response.status_code < 300:
                    claim.status_code = response.status_code
                    claim.response_body = json.loads(json.dumps(response.data, cls=JSONEncoder))
                    claim.save(update_fields=["status_code", "response_body"])
                else:
                    claim.delete()
    except IntegrityError:
        # Another request with this key committed first: its answer is ours.
        stored = _stored(user, endpoint, key)
        if stored is None:
            raise
        return _replay(stored, print_, key)
    if failure is not None:
        raise failure
    return response
