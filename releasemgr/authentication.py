"""``Authorization: Token <key>`` against hashed, revocable API tokens.

``Bearer <key>`` is taken as well: many CI systems and HTTP clients only know that scheme, and
a key sent that way used to be answered "credentials were not provided"."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from releasemgr.models import ApiToken, hash_token


class HashedTokenAuthentication(TokenAuthentication):
    keyword = "Token"
    model = ApiToken

    schemes = (b"token", b"bearer")

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in self.schemes:
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(
                f"Invalid token header: use 'Authorization: {self.keyword} <key>'."
            )
        try:
            key = auth[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: the key has characters a key never has."
            ) from exc
        result = self.authenticate_credentials(key)
        if result is not None:
            # Lets history rows say which token made a change (releasemgr.signals).
            request._request.api_token = result[1]
        return result

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Token has been revoked.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        resolution = timedelta(seconds=settings.TOKEN_LAST_USED_RESOLUTION_SECONDS)
        if token.last_used_at is None or now - token.last_used_at >= resolution:
            # A plain UPDATE: no history row for every request, one write per minute at most.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "releasemgr.authentication.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token authentication: "Token <key>" (or "Bearer <key>")',
        }
