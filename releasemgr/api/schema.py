"""OpenAPI post-processing: document the error answers every endpoint can give.

drf-spectacular documents only the success response. Clients (and the
schemathesis fuzzer in ``tests/api_fuzz``) need the error codes as well, and
they follow from the project's rules rather than from each view:

- 401 / 403 everywhere: every endpoint needs a token, and a role or rule may refuse;
- 404 where the path names an object, and on paginated lists (a page that does not exist);
- 400 where there is input: a body, or filters in the query string;
- 409 on writes: an illegal transition, a refusing gate or a protected delete
  (``releasemgr.api.exceptions``);
- 429 everywhere: the token's (or user's) rate limit was reached (``releasemgr.security``),
  with a ``Retry-After`` header in seconds.

A response an operation already documents (``extend_schema``) is left as it is, except
that a documented 400 on an operation with query parameters also admits the `Error` the
NUL-byte check answers before any view runs.
"""

WRITE_METHODS = {"post", "put", "patch", "delete"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

ERROR = {
    "type": "object",
    "description": "A refusal, with a human-readable reason and, for rule-based refusals, "
    "the checks that failed.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "passed": {"type": "boolean"},
                    "message": {"type": "string"},
                    "data": {"type": "object", "additionalProperties": {}},
                },
                "required": ["code", "passed", "message"],
            },
        },
    },
    "required": ["detail"],
}

VALIDATION_ERROR = {
    "type": "object",
    "description": "Field errors: each key is a field name (or `non_field_errors`, or "
    "`detail` for a body that cannot be parsed) and each value the messages for it; "
    "nested fields nest the same way.",
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {}},
            {"type": "object", "additionalProperties": {}},
        ]
    },
}

DESCRIPTIONS = {
    "400": "Invalid input: the body or a filter did not validate. Nothing was written.",
    "401": "No valid `Authorization: Token <key>` (or session) was given.",
    "403": "The user lacks the role for this, or a rule (e.g. segregation of duties) forbids it.",
    "404": "No such object (or no such page of the list).",
    "409": "A rule said no: illegal state transition, refusing gate or protected delete. "
    "Nothing was written.",
    "429": "Rate limit reached for this token (or user): wait the `Retry-After` seconds. "
    "Nothing was written.",
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the next request will be accepted.",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _admit_query_refusal(response: dict) -> None:
    """A view's own 400 shape (e.g. an import result) is not the only 400 a query string
    can get: ``RejectNulBytesMiddleware`` refuses before the view with an ``Error``."""
    for media in response.get("content", {}).values():
        schema = media.get("schema")
        if schema and schema not in (_ref("Error"), _ref("ValidationError")):
            media["schema"] = {"anyOf": [schema, _ref("Error")]}


def document_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            params = operation.get("parameters", [])
            has_path_params = any(p.get("in") == "path" for p in params)
            has_query = any(p.get("in") == "query" for p in params)
            paginated = any(p.get("in") == "query" and p.get("name") == "page" for p in params)
            codes = {"401": "Error", "403": "Error", "429": "Error"}
            if "requestBody" in operation or has_query:
                codes["400"] = "ValidationError"
            if has_path_params or paginated:
                codes["404"] = "Error"
            if method in WRITE_METHODS:
                codes["409"] = "Error"
            responses = operation.setdefault("responses", {})
            if has_query and "400" in responses:
                _admit_query_refusal(responses["400"])
            for code, schema in codes.items():
                response = {
                    "description": DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": _ref(schema)}},
                }
                if code == "429":
                    response["headers"] = RETRY_AFTER
                responses.setdefault(code, response)
    return result
