"""URL converters shared by the UI and the API."""


class ReleaseKeyConverter:
    """A release key in a URL (``REL-2026-0001``, or an imported key of the same characters).

    Anything else (a slash, a NUL byte, spaces) does not match, so the URL answers 404
    instead of reaching the database with a value PostgreSQL refuses.
    """

    regex = r"[-\w.]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
