"""Property-based API fuzzing: every /api/v1/ operation against the published OpenAPI schema.

The schema is loaded from the running app (``/api/schema/``, drf-spectacular)
and every operation is called in-process through the WSGI app, as a user who
holds every role, on the product's demo catalog (``conftest.catalog``: teams,
services, environments, releases in every state, deployments, gate decisions,
scheduling rows). Each operation is one pytest test; what it writes is rolled
back before the next. Schemathesis runs the schema's explicit examples and
MAX_EXAMPLES fuzzed cases per operation, positive and negative data alike
(plus its coverage phase with API_FUZZ_COVERAGE=1), and checks that

- no request gets a 5xx (``not_a_server_error``),
- every status code is documented (``status_code_conformance``),
- the content type is documented (``content_type_conformance``),
- the body matches the documented schema (``response_schema_conformance``),
- documented response headers are present and valid (``response_headers_conformance``).

Random slugs, keys and ids would nearly always miss, so hooks swap path
parameters and body references for values of existing objects most of the
time. Runs are derandomized so a failure reproduces.

No operation is excluded.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.wsgi import WSGI_TRANSPORT
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from tests.api_fuzz.conftest import KNOWN, known_lookups

MAX_EXAMPLES = 20
# The coverage phase derives boundary and wrong-type cases from the schema deterministically.
# Over 100+ operations it adds minutes (generated while collecting, even for deselected
# tests), so it is opt-in for a deeper run: API_FUZZ_COVERAGE=1.
WITH_COVERAGE = os.environ.get("API_FUZZ_COVERAGE", "") not in ("", "0")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# Loaded at collection: drf-spectacular builds the schema without touching the database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
schema.config.generation.update(deterministic=True, max_examples=MAX_EXAMPLES, database="none")
schema.config.phases.update(
    phases=["examples", "fuzzing", "coverage"] if WITH_COVERAGE else ["examples", "fuzzing"]
)
schema = schema.include(path_regex=r"^/api/v1/")

# Body fields that refer to other objects, and which seeded values fit them.
BODY_REFERENCES = {
    "team": "team",
    "service": "service",
    "depends_on": "service",
    "services": "service",
    "environment": "environment",
    "environments": "environment",
    "release": "release",
    "owner": "user",
    "owners": "user",
    "contributor": "user",
}


@schema.hook
def flatmap_path_parameters(ctx, path_parameters):
    """Often point the path at an object that exists, otherwise keep the generated value."""
    known = known_lookups(ctx.operation.path) if path_parameters else []
    if not known:
        return st.just(path_parameters)
    (name,) = path_parameters
    # The seeded value comes first: Hypothesis starts from (and shrinks toward) the first branch.
    return st.one_of(
        st.sampled_from(known).map(lambda value: {**path_parameters, name: value}),
        st.just(path_parameters),
    )


@schema.hook
def flatmap_body(ctx, body):
    """Often make the body refer to existing teams, services, releases..."""
    if not isinstance(body, dict) or not any(k in BODY_REFERENCES for k in body):
        return st.just(body)
    return st.one_of(_with_real_references(body), st.just(body))


def _with_real_references(body: dict):
    fields = {}
    for field, value in body.items():
        values = KNOWN.get(BODY_REFERENCES.get(field, ""), [])
        if not values:
            fields[field] = st.just(value)
        elif field == "services" and isinstance(value, list):
            # A release's services: [{service, version}], each service at most once.
            fields[field] = st.lists(
                st.sampled_from(values), max_size=len(values), unique=True
            ).map(lambda slugs, old=value: _release_services(slugs, old))
        elif isinstance(value, list):
            fields[field] = st.lists(st.sampled_from(values), max_size=3, unique=True)
        else:
            fields[field] = st.sampled_from(values)
    return st.fixed_dictionaries(fields)


def _release_services(slugs, old):
    versions = [item.get("version") for item in old if isinstance(item, dict)] or ["1.0.0"]
    return [
        {"service": slug, "version": versions[i % len(versions)]} for i, slug in enumerate(slugs)
    ]


# The API also accepts form bodies (DRF's form and multipart parsers), and the schema says so.
# Schemathesis's WSGI transport hands any body to Werkzeug as a form mapping, which breaks on
# the arrays, nulls and nested objects that negative testing generates. Encode those bodies
# the way its HTTP transport does: a dict becomes form fields (non-strings as JSON text),
# anything else is sent as raw text in the body.


def _form_fields(body) -> MultiDict:
    def text(value):
        return value if isinstance(value, str) else json.dumps(value)

    return MultiDict(
        [
            (name, text(item))
            for name, value in body.items()
            for item in (value if isinstance(value, list) else [value])
        ]
    )


@WSGI_TRANSPORT.serializer("multipart/form-data")
def _multipart(ctx, body):
    if isinstance(body, dict):
        boundary, data = encode_multipart(_form_fields(body))
    else:
        boundary = "schemathesis-raw-body"
        data = f"--{boundary}\r\n{body}--{boundary}--\r\n".encode()
    return {"data": data, "content_type": f"multipart/form-data; boundary={boundary}"}


@WSGI_TRANSPORT.serializer("application/x-www-form-urlencoded")
def _urlencoded(ctx, body):
    if isinstance(body, dict):
        return {"data": urlencode(list(_form_fields(body).items(multi=True))).encode()}
    return {"data": str(body).encode()}


@pytest.mark.django_db
@pytest.mark.usefixtures("in_process_requests")
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_api_operation_conforms_to_its_schema(case, fuzzer):
    case.call_and_validate(headers={"Authorization": f"Token {fuzzer}"}, checks=CHECKS)
