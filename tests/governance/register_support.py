"""Helpers for the register tests."""

from governance import register
from governance.choices import RegisterKind


def known_error(user, release=None, service=None, **fields):
    fields.setdefault("title", "Report times out for big merchants")
    fields.setdefault("description", "The query scans without an index.")
    fields.setdefault("workaround", "Run it from the replica.")
    return register.create(
        user, kind=RegisterKind.KNOWN_ERROR, release=release, service=service, **fields
    )


def risk(user, release=None, service=None, **fields):
    fields.setdefault("title", "Vault migration may not roll back")
    fields.setdefault("description", "Saved cards depend on the new schema.")
    return register.create(user, kind=RegisterKind.RISK, release=release, service=service, **fields)
