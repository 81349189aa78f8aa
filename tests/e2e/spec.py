"""Validate response bodies against the TMI OpenAPI document in ../shared/spec/.

The document is read where it lives (never copied). Two documented deviations
are applied to the schemas before validation (docs/deviations.md):
- `allOf` members that each say `additionalProperties: false` are merged into
  one object first, as TMI's generated clients read them; otherwise no object
  could satisfy `UserWithAdminStatus`.
- JWKS keys may carry their public parameters (RFC 7517), which the spec's
  key schema forbids; without them no client could verify a token.
"""

import copy
import json
import os
from pathlib import Path

from openapi_schema_validator import OAS30Validator

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = Path(os.environ.get("TMI_SPEC", REPO.parent / "shared" / "spec" / "tmi-auth-openapi.json"))
# The spec lives beside the project in CI, not in a user's clone: without
# it, statuses and error codes are still checked, bodies are not validated
# (conftest.py says so loudly), and the schemathesis run is skipped.
SPEC = json.loads(SPEC_PATH.read_text()) if SPEC_PATH.exists() else None
SPEC_MISSING = f"{SPEC_PATH} is absent: response bodies are NOT validated against the OpenAPI spec"


def _resolve(node):
    if isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _resolve(target)
    return node


def _normalise(schema):
    """Inline refs and merge allOf-of-objects into one object schema."""
    schema = _resolve(schema)
    if isinstance(schema, list):
        return [_normalise(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "allOf" in schema:
        merged = {"type": "object", "properties": {}, "required": []}
        closed = False
        for member in (_normalise(m) for m in schema["allOf"]):
            merged["properties"].update(member.get("properties", {}))
            merged["required"] += member.get("required", [])
            closed = closed or member.get("additionalProperties") is False
        if closed:
            merged["additionalProperties"] = False
        return merged
    return {k: _normalise(v) for k, v in schema.items()}


def response_schema(path, method, status):
    op = SPEC["paths"][path][method.lower()]
    response = _resolve(op["responses"][str(status)])
    schema = _normalise(response["content"]["application/json"]["schema"])
    if path == "/.well-known/jwks.json":
        schema = copy.deepcopy(schema)
        schema["properties"]["keys"]["items"]["additionalProperties"] = True
    return schema


def assert_valid(response, path, method, status=None):
    """The response has the expected status and its JSON body validates."""
    status = status or response.status_code
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    if SPEC is not None:
        OAS30Validator(response_schema(path, method, status)).validate(response.json())
    return response.json()


def assert_error(response, status, error=None):
    """A refusal: the given status and the spec's Error body."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) >= {"error", "error_description"}, body
    if SPEC is not None:
        OAS30Validator(_normalise({"$ref": "#/components/schemas/Error"})).validate(body)
    if error:
        assert body["error"] == error, body
    return body
