"""A small OpenID Connect provider on loopback, for the single sign-on tests.

Implements what an authorization-code sign-in touches: discovery, /authorize (redirects
back with a code and the state), /token (checks the client secret, the code, the redirect
URI and the PKCE verifier; answers an RS256 ID token signed with a key made here), /userinfo
and /jwks. The test says who signs in next (``provider.next_claims``) and how the ID token
should be spoiled (``provider.spoil``), and reads what the app sent (``provider.token_requests``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "releasemgr"
CLIENT_SECRET = "stub-client-secret"
KID = "stub-key-1"


def _new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# Made once per test run: RSA key generation is the slow part.
_SIGNING_KEY = _new_key()
_OTHER_KEY = _new_key()


@dataclass
class StubProvider:
    base_url: str
    # Claims of whoever signs in next: sub, email, groups, ...
    next_claims: dict = field(default_factory=dict)
    # One of None, "audience", "expired", "signature", "issuer", "nonce": how to spoil the token.
    spoil: str | None = None
    token_requests: list[dict] = field(default_factory=list)
    _codes: dict = field(default_factory=dict)
    _access: dict = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a deployment would set to use this provider."""
        return {
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_DISCOVERY_URL": self.discovery_url,
            "OIDC_PROVIDER_NAME": "Stub IdP",
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_GROUP_ROLE_MAP": (
                "release-managers=release_manager,cab=cab_member,ops=deployer,ops=developer"
            ),
            **extra,
        }

    # -- what the endpoints answer --

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "userinfo_endpoint": f"{self.base_url}/userinfo",
            "jwks_uri": f"{self.base_url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwks(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(_SIGNING_KEY.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def authorize(self, query: dict) -> tuple[int, dict]:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, {"error": "invalid_request"}
        code = secrets.token_urlsafe(16)
        self._codes[code] = {
            "claims": dict(self.next_claims),
            "nonce": query.get("nonce"),
            "redirect_uri": query["redirect_uri"],
            "challenge": query.get("code_challenge"),
        }
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": location}

    def token(self, form: dict) -> tuple[int, dict]:
        self.token_requests.append(form)
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        if grant["challenge"]:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        claims = grant["claims"]
        now = int(time.time())
        id_claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **claims,
        }
        key = _SIGNING_KEY
        if self.spoil == "audience":
            id_claims["aud"] = "some-other-client"
        elif self.spoil == "expired":
            id_claims["iat"], id_claims["exp"] = now - 7200, now - 3600
        elif self.spoil == "signature":
            key = _OTHER_KEY  # same kid: only the signature gives it away
        elif self.spoil == "issuer":
            id_claims["iss"] = "https://evil.example.com"
        elif self.spoil == "nonce":
            id_claims["nonce"] = "not-the-one-we-were-sent"
        access = secrets.token_urlsafe(16)
        self._access[access] = claims
        id_token = jwt.encode(id_claims, key, algorithm="RS256", headers={"kid": KID})
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def userinfo(self, authorization: str) -> tuple[int, dict]:
        claims = self._access.get(authorization.removeprefix("Bearer ").strip())
        if claims is None:
            return 401, {"error": "invalid_token"}
        return 200, claims


@contextlib.contextmanager
def oidc_provider():
    """``with oidc_provider() as provider``: a provider on a free loopback port."""
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict):
            if status == 302:
                self.send_response(302)
                self.send_header("Location", body["Location"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            provider: StubProvider = holder["provider"]
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._answer(200, provider.discovery())
            elif url.path == "/jwks":
                self._answer(200, provider.jwks())
            elif url.path == "/authorize":
                self._answer(*provider.authorize(query))
            elif url.path == "/userinfo":
                self._answer(*provider.userinfo(self.headers.get("Authorization", "")))
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self):
            provider: StubProvider = holder["provider"]
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                self._answer(*provider.token(form))
            else:
                self._answer(404, {"error": "not_found"})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["provider"] = StubProvider(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["provider"]
    finally:
        server.shutdown()
        server.server_close()
