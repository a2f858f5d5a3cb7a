"""Redacting secrets before anything is stored, shown or logged (DESIGN rule 6).

One module, used wherever free text or payloads from pipelines, agents or users
are kept: deployment event messages, configuration snapshots, KPI and incident
payloads, and the server logs. ``redact`` rewrites text; ``redact_data`` walks
JSON-like data and also blanks the values of keys named like secrets.

A value that *refers* to a secret (``vault:...``, ``${DB_PASSWORD}``) is not a
secret and is kept, so configuration can say where its secrets live.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "[REDACTED]"

# Values that point at a secret instead of holding it.
REFERENCE_RE = re.compile(
    r"^(?:vault:|ssm:|secret:|secretsmanager:|env:|kms:|\$\{[^}]+\}|\{\{[^}]+\}\}|<[^>]+>|\*+$|"
    + re.escape(MASK)
    + r"$)",
    re.I,
)
# A key whose value is a secret: password, DB_PASSWORD, api_key, authToken, client-secret ...
SECRET_NAME = (
    r"(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key(?:[_-]?id)?|account[_-]?key|credentials?|auth)"
)
SECRET_KEY_RE = re.compile(rf"{SECRET_NAME}$", re.I)

# (label, pattern, replacement) in the order they are applied.
PATTERNS: list[tuple[str, re.Pattern, str]] = [
    (
        "a private key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        MASK,
    ),
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), MASK),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,})\b"), MASK),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), MASK),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), MASK),
    (
        "a Slack webhook URL",
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]+"),
        MASK,
    ),
    ("a Stripe key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b"), MASK),
    ("a Google OAuth access token", re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}"), MASK),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), MASK),
    ("a PyPI token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{40,}"), MASK),
    (
        # Azure storage / service bus connection strings and SAS URLs.
        "an Azure account key or signature",
        re.compile(
            r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig)(=)([^;\s\"'&<>]+)"
        ),
        rf"\1\2{MASK}",
    ),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
        MASK,
    ),
    (
        "a bearer or token credential",
        re.compile(r"(?i)\b(bearer|token|basic)(\s+)[A-Za-z0-9._~+/=-]{12,}"),
        rf"\1\2{MASK}",
    ),
    (
        "a password in a URL",
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)"),
        rf"\1{MASK}\3",
    ),
    (
        "a literal value of a secret-named variable",
        re.compile(
            rf"""(?i)(?P<key>[A-Za-z0-9_.-]*{SECRET_NAME})(?P<sep>["']?\s*[:=]\s*["']?)"""
            r"""(?P<value>[^\s"',;#&]+)"""
        ),
        None,  # handled by _assignment: references are kept
    ),
]


def _assignment(match: re.Match) -> str:
    value = match.group("value")
    if REFERENCE_RE.match(value):
        return match.group(0)
    return f"{match.group('key')}{match.group('sep')}{MASK}"


def redact(text: str) -> str:
    """``text`` with every secret it holds replaced by ``[REDACTED]``."""
    if not text:
        return text
    for _label, pattern, replacement in PATTERNS:
        text = pattern.sub(replacement if replacement is not None else _assignment, text)
    return text


def found_in(text: str) -> list[str]:
    """What kinds of secret ``text`` holds (labels), for messages that refuse input."""
    if not text:
        return []
    found = []
    for label, pattern, replacement in PATTERNS:
        for match in pattern.finditer(text):
            if replacement is None and REFERENCE_RE.match(match.group("value")):
                continue
            found.append(label)
            break
    return found


def is_secret_name(key: str) -> bool:
    return bool(SECRET_KEY_RE.search(str(key).replace("-", "_")))


def redact_data(data: Any) -> Any:
    """JSON-like ``data`` with secrets redacted: strings rewritten, secret-named keys blanked."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if (
                is_secret_name(key)
                and value not in (None, "")
                and not isinstance(value, dict | list)
            ):
                out[key] = value if REFERENCE_RE.match(str(value)) else MASK
            else:
                out[key] = redact_data(value)
        return out
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    if isinstance(data, str):
        return redact(data)
    return data
