import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

VERSION_RE = re.compile(r"^v?\d+(\.\d+){0,3}([-+][0-9A-Za-z][0-9A-Za-z.+-]*)?$")

validate_version = RegexValidator(
    VERSION_RE,
    message="Enter a version such as 1.4.2, 2.0.0-rc.1 or v3.1 (digits separated by dots).",
    code="invalid_version",
)

# Semantic Versioning 2.0.0 (https://semver.org), optionally prefixed with "v": stricter than
# VERSION_RE, for API versions and shared-library versions where the numbers are compared.
SEMVER_RE = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def parse_semver(text: str) -> tuple[int, int, int, str] | None:
    """``(major, minor, patch, prerelease)`` of a semantic version, or None if it is not one."""
    match = SEMVER_RE.match((text or "").strip())
    if not match:
        return None
    major, minor, patch, pre, _build = match.groups()
    return int(major), int(minor), int(patch), pre or ""


def validate_semver(value: str) -> None:
    if parse_semver(value) is None:
        raise ValidationError(
            "Enter a semantic version MAJOR.MINOR.PATCH such as 2.4.0 or 3.0.0-rc.1; "
            "'%(value)s' is not a semantic version.",
            code="invalid_semver",
            params={"value": value},
        )
