"""Schemathesis against the app's own OpenAPI document, with and without valid credentials.

Every generated request must get a documented answer: never a 5xx, the documented status,
content type, headers and body schema; schema-invalid input refused; auth never ignored.
Seeds are fixed (derandomize) so CI runs the same cases every time.

Two budgets: `smoke` (a few cases per operation, in the quick loop `-m "not e2e"`) and
`full` (marked `e2e`, so the whole suite and CI run it).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.server.conftest import Smiletap
from tests.soak import soak_factor

#: Cases per operation and pass. `full`: about 420 requests per backend in all;
#: `SMILETAP_SOAK=3` makes it over 1,200, with fresh random cases each run instead of CI's fixed
#: ones. `smoke`: every operation and pass still runs, with a few cases each.
EXAMPLES = {
    "full": {"positive": 40 * soak_factor(), "negative": 20 * soak_factor(), "anonymous": 10},
    "smoke": {"positive": 2, "negative": 2, "anonymous": 1},
}
EXAMPLES["full"]["anonymous"] *= soak_factor()
BUDGETS = [pytest.param("smoke"), pytest.param("full", marks=pytest.mark.e2e)]


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=soak_factor() == 1,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# A batch over 500 is 413 by PROTOCOL.md. 400 is the server refusing well-formed input on its
# meaning (an unknown enrollment code, `to` before `from`); 422, a schema-valid body refused as
# malformed, stays a failure.
CONFIG = {
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2XX", "304", "400", "401", "403", "404", "409", "429"]
        },
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "403", "404", "405", "413", "415", "422", "429"]
        },
    }
}


@pytest.fixture
def credentials(smiletap: Smiletap) -> dict[str, str]:
    """A device token and an admin API key on a location with a survey."""
    kiosk = smiletap.setup()
    return {"device": kiosk.token, "apiKey": smiletap.api_key("admin")}


def _operations(app: Any) -> list[Any]:
    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    return [result.ok() for result in schema.get_all_operations()]


def _auth_headers(operation: Any, credentials: dict[str, str]) -> dict[str, str]:
    schemes = [name for req in operation.definition.raw.get("security", []) for name in req]
    return {"Authorization": f"Bearer {credentials[schemes[0]]}"} if schemes else {}


def _has_integral_float(value: Any) -> bool:
    # JSON Schema counts 3.0 as an integer; the protocol's strict models refuse it (422).
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_integral_float(v) for v in value)
    return False


def _fuzz(
    operation: Any, mode: GenerationMode, headers: dict[str, str] | None, examples: int
) -> Counter[int]:
    """Run the operation's cases; return how many got each status."""
    statuses: Counter[int] = Counter()

    @_settings(examples)
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    def run(case: Any) -> None:
        response = case.call()
        statuses[response.status_code] += 1
        body = case.body if isinstance(case.body, dict | list) else None
        excluded = [positive_data_acceptance] if _has_integral_float(body) else []
        case.validate_response(response, headers=headers, excluded_checks=excluded)

    try:
        run()
    except Unsatisfiable:
        # An operation with no inputs (GET /config) has nothing to make invalid.
        assert mode is GenerationMode.NEGATIVE and not operation.body, operation.label
    return statuses


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzz_with_credentials(app, credentials, mode, budget) -> None:
    for operation in _operations(app):
        headers = _auth_headers(operation, credentials)
        statuses = _fuzz(operation, mode, headers, EXAMPLES[budget][mode.value])
        if mode is GenerationMode.POSITIVE and headers:
            # The credentials worked: authenticated paths were reached, not only 401s.
            assert any(200 <= s < 300 for s in statuses), (operation.label, statuses)


@pytest.mark.parametrize("budget", BUDGETS)
def test_fuzz_without_credentials(app, budget) -> None:
    for operation in _operations(app):
        statuses = _fuzz(operation, GenerationMode.POSITIVE, None, EXAMPLES[budget]["anonymous"])
        if operation.definition.raw.get("security"):
            assert set(statuses) == {401}, (operation.label, statuses)


def test_document_states_the_body_limits(client) -> None:
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    sent_at = schemas["SubmissionBatch"]["properties"]["sent_at"]
    assert sent_at["format"] == "date-time" and sent_at["pattern"].startswith("^(19")
    assert schemas["EnrollRequest"]["properties"]["code"]["pattern"] == "^[^\x00]*$"
