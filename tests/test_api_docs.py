"""The API reference tells the truth: every success has a real schema, every error is
documented with our body (never FastAPI's HTTPValidationError), and /docs is served
from this server alone, under the pages' strict Content-Security-Policy."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

ERROR_REF = "#/components/schemas/ErrorBody"


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]


def test_every_success_has_a_schema(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ops = operations(spec)
    assert len(ops) > 20
    for method, path, op in ops:
        statuses = set(op["responses"])
        assert statuses & {"200", "201", "202", "204"}, f"{method} {path} documents no success"
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2") and s != "204"}
        for status, answer in successes.items():
            content = answer.get("content")
            assert content, f"{method} {path} {status} has no content"
            for media, body in content.items():
                assert body.get("schema") not in (None, {}), f"{method} {path} {status} {media}"


def test_errors_are_documented_with_our_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in client.get("/openapi.json").text
    for method, path, op in operations(spec):
        assert "422" in op["responses"], f"{method} {path}"
        for status, answer in op["responses"].items():
            if status.startswith("4"):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, f"{method} {path} {status}"
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    # And a real 422 matches it: a bad query parameter on a GET.
    body = client.get("/v1/outages?limit=0").json()
    assert set(body) == {"error"} and {"code", "message", "field"} <= set(body["error"])


def test_keyed_operations_keep_both_security_schemes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"] == {
        **schemes["APIKeyHeader"],
        "in": "header",
        "name": "X-API-Key",
    }
    op = spec["paths"]["/v1/import"]["post"]
    assert {k for s in op["security"] for k in s} == {"HTTPBearer", "APIKeyHeader"}
    assert op["responses"]["401"]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}


def test_docs_page_loads_only_from_this_server(client: TestClient) -> None:
    resp = client.get("/docs")
    assert resp.status_code == 200
    csp = resp.headers["content-security-policy"]
    # Only this origin (and data: images): no CDN, no inline code.
    sources = set(re.findall(r"[a-z-]+:[^\s;']*|'[a-z-]+'", csp))
    assert sources <= {"'self'", "'none'", "data:"}, csp
    assert "unsafe" not in csp
    html = resp.text
    assert "<script>" not in html and "http" not in html
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(refs) >= 4
    for ref in refs:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 0
    assert client.get("/redoc", follow_redirects=False).headers["location"] == "/docs"
