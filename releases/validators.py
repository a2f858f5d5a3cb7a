import re

from django.core.validators import RegexValidator

VERSION_RE = re.compile(r"^v?\d+(\.\d+){0,3}([-+][0-9A-Za-z][0-9A-Za-z.+-]*)?$")

validate_version = RegexValidator(
    VERSION_RE,
    message="Enter a version such as 1.4.2, 2.0.0-rc.1 or v3.1 (digits separated by dots).",
    code="invalid_version",
)
