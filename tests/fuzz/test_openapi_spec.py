"""The OpenAPI document itself: valid OpenAPI 3, and complete enough to be a product."""

from __future__ import annotations

import pytest
import schemathesis

from tests.fuzz.test_schemathesis import DOMAIN_REFUSALS, SPEC

METHODS = {"get", "put", "post", "patch", "delete"}
ERROR_REF = "#/components/schemas/Error"


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", item, operation


def response_object(spec: dict, response: dict) -> dict:
    ref = response.get("$ref")
    if ref is None:
        return response
    return spec["components"]["responses"][ref.rsplit("/", 1)[-1]]


def test_the_spec_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    schemathesis.openapi.from_dict(spec).validate()  # the OpenAPI 3 meta-schema


def test_the_fuzzed_spec_is_the_apps_spec(spec):
    """tests/fuzz/test_schemathesis.py loads the spec when imported, from an app of its own."""
    assert spec == SPEC


def test_every_operation_is_described(spec):
    missing = [label for label, _, op in operations(spec) if not op.get("summary", "").strip()]
    assert missing == []


def test_every_operation_has_a_success_answer(spec):
    missing = [
        label
        for label, _, op in operations(spec)
        if not any(code.startswith("2") for code in op["responses"])
    ]
    assert missing == []


def test_every_answer_declares_the_request_id_and_timing_headers(spec):
    """Schemathesis then checks, on every fuzzed call, that they are really there."""
    missing = []
    for label, _, op in operations(spec):
        for code, response in op["responses"].items():
            declared = response_object(spec, response).get("headers", {})
            if not {"X-Request-ID", "Server-Timing"} <= set(declared):
                missing.append(f"{label} {code}")
    assert missing == []
    for name in ("X_REQUEST_ID", "SERVER_TIMING"):
        assert spec["components"]["headers"][name]["required"] is True


def test_every_operation_but_the_webhook_documents_the_rate_limit(spec):
    missing = [
        label
        for label, _, op in operations(spec)
        if "429" not in op["responses"] and label != "POST /payments/octo/notify"
    ]
    assert missing == []
    webhook = spec["paths"]["/payments/octo/notify"]["post"]["responses"]
    assert "429" not in webhook  # never limited
    limited = spec["components"]["responses"]["RATE_LIMITED"]
    assert {"Retry-After", "X-RateLimit-Limit", "X-Request-ID"} <= set(limited["headers"])


def test_the_error_schema_requires_code_status_and_message(spec):
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message"}
    assert set(error["properties"]) == {"code", "status", "message", "errors"}


def test_every_error_answer_has_the_one_error_shape(spec):
    wrong = []
    for label, _, op in operations(spec):
        for code, response in op["responses"].items():
            if code != "default" and int(code) < 400:
                continue
            content = response_object(spec, response).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if schema.get("$ref") != ERROR_REF:
                wrong.append(f"{label} {code}")
    assert wrong == []


def test_protected_operations_document_401_and_admin_ones_403(spec):
    wrong = []
    for label, _, op in operations(spec):
        security = op.get("security") or []
        if security and {} not in security and "401" not in op["responses"]:
            wrong.append(f"{label}: requires a token but 401 is not documented")
        if "403" in op["responses"] and not security and "notify" not in label:
            wrong.append(f"{label}: 403 documented without a security requirement")
    assert wrong == []


def test_no_content_answers_have_no_body(spec):
    with_body = [
        label
        for label, _, op in operations(spec)
        if "204" in op["responses"] and response_object(spec, op["responses"]["204"]).get("content")
    ]
    assert with_body == []


def test_integer_path_ids_fit_the_database(spec):
    """A path id above the int range would reach the database and overflow."""
    unbounded = []
    for label, item, op in operations(spec):
        for parameter in item.get("parameters", []) + op.get("parameters", []):
            schema = parameter.get("schema", {})
            is_id = parameter["in"] == "path" and schema.get("type") == "integer"
            if is_id and schema.get("maximum", 2**63) > 2**31 - 1:
                unbounded.append(f"{label} {parameter['name']}")
    assert unbounded == []


def test_money_is_a_decimal_string_in_answers(spec):
    """Every money field of a response is documented as a two-place decimal string."""
    schemas = spec["components"]["schemas"]
    money_names = {"price", "unit_price", "line_total", "total_amount", "amount", "refunded_amount"}
    wrong = []
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            documented = (prop.get("type"), prop.get("format")) == ("string", "decimal")
            if field in money_names and prop.get("readOnly") and not documented:
                wrong.append(f"{name}.{field}")
    assert wrong == []


def test_domain_refusals_of_valid_data_are_documented(spec):
    """The fuzz run lets a domain rule refuse schema-valid data only with a status that the
    operation documents (e.g. 422 for a common password)."""
    missing = []
    for label, statuses in DOMAIN_REFUSALS.items():
        method, path = label.split(" ", 1)
        documented = spec["paths"][path][method.lower()]["responses"]
        missing += [f"{label} {status}" for status in statuses if status not in documented]
    assert missing == []
