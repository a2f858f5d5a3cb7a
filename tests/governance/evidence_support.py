"""A release with something of everything, for the evidence pack tests."""

import hashlib
import io
import json
import zipfile

from governance.choices import RegisterKind
from governance.register import create as record
from releases import gate, lifecycle
from tests.releases import builders
from tests.scheduling.exceptions_support import grant, window


def eventful_release(release, *, dave, carol, bob, alice, pipeline, environments, payments):
    """Approved by carol, deployed to dev with a smoke result and a log line, asked about at the
    gate, with a granted freeze exception for production and a recorded risk."""
    builders.approve(release, dave, carol)
    deployment = builders.deploy(release, environments["dev"], bob)
    lifecycle.record_event(
        deployment, bob, type="smoke", status="ok", message="checkout smoke 12/12 passed"
    )
    lifecycle.record_event(deployment, bob, type="log", message="migrated 3 tables")
    lifecycle.record_event(deployment, bob, type="succeeded")
    gate.ask(payments, release.version, environments["test"], pipeline)
    freeze = window("Quarter-end freeze", environments=[environments["production"]])
    exception = grant(release, freeze, dave, alice)
    entry = record(
        dave,
        kind=RegisterKind.RISK,
        release=release,
        title="Vault migration may not roll back",
        description="Saved cards depend on the new schema.",
    )
    release.refresh_from_db()
    return {"deployment": deployment, "exception": exception, "entry": entry}


def open_pack(path):
    """The archive's files by name (without the top folder)."""
    with zipfile.ZipFile(path) as archive:
        return {
            name.split("/", 1)[1]: archive.read(name)
            for name in archive.namelist()
            if not name.endswith("/")
        }


def json_file(files, name):
    return json.loads(files[name])


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def csv_rows(files, name):
    import csv

    return list(csv.DictReader(io.StringIO(files[name].decode())))
