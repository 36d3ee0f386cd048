"""GET /api/v1/openapi.json."""

from __future__ import annotations


def test_document_lists_every_endpoint(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/api/v1/enroll",
        "/api/v1/config",
        "/api/v1/submissions",
        "/api/v1/heartbeat",
        "/api/v1/reports/scores",
        "/api/v1/reports/responses.csv",
        "/api/v1/kpis",
        "/api/v1/reports/kpis",
        "/api/v1/reports/links",
    }
    schemas = doc["components"]["schemas"]
    assert "SubmissionBatch" in schemas and "ErrorBody" in schemas
    batch = schemas["SubmissionBatch"]["properties"]["submissions"]
    assert batch["maxItems"] == 500


def test_every_route_is_documented(app) -> None:
    documented = set(app.test_client().get("/api/v1/openapi.json").json["paths"])
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert routes - {"/api/v1/openapi.json"} == documented


def test_per_submission_integers_carry_no_batch_limit(client) -> None:
    """An out-of-range `survey_version` or `value` is one submission's rejection, not a 4xx."""
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    version = schemas["Submission"]["properties"]["survey_version"]
    assert version["type"] == "integer" and "maximum" not in version
    value = schemas["Answer"]["properties"]["value"]
    assert "maximum" not in value
    age = schemas["HeartbeatRequest"]["properties"]["backlog"]
    assert age["maximum"] == 2**53  # other integers keep the limit the server enforces


def test_a_huge_survey_version_is_that_submissions_rejection(smiletap) -> None:
    kiosk = smiletap.setup()
    response = kiosk.submit([kiosk.item(survey_version=2**53 + 1)])
    assert response.status_code == 200
    assert response.json["results"][0]["reason"] == "unknown_survey_version"
