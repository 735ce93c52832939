"""Fuzz the published OpenAPI schema with schemathesis over real HTTP: no input may cause a 5xx.

A bounded number of examples per operation keeps it in the default suite; every 4xx must carry
the service's one error shape (``error``, ``message``, ``field``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from support.serve_fixtures import LiveServer, stub_bundle

from model.scorer import Scorer
from serve.app import create_app
from serve.settings import Settings

KEY = "fuzz-key-0123456789abcdef"
EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    settings_ = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'feedguard.db'}",
        api_keys=[{"name": "fuzz", "key": KEY, "scopes": ["score", "feed", "preferences"]}],
        local_key=False,
        batch_wait_ms=0.0,
    )
    app = create_app(settings_, scorer_factory=lambda s: Scorer(stub_bundle(home / "bundle")))
    with LiveServer(app) as server:
        yield server.url


def _published_schema():
    """The OpenAPI document the service publishes (building the app does not start it)."""
    app = create_app(
        Settings(
            home=Path("unused-home"),
            local_key=False,
            api_keys=[{"name": "x", "key": KEY, "scopes": ["score"]}],
        )
    )
    return schemathesis.openapi.from_dict(app.openapi())


SCHEMA = _published_schema()
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


#: Operations that take input get negative (schema-violating) examples too; /healthz and /readyz take none.
CASES = [
    pytest.param(label, mode, id=f"{label}-{mode.value}")
    for label in sorted(OPERATIONS)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or label.startswith(("POST", "PUT")) or "{" in label
]


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_no_input_causes_a_server_error(label: str, mode: GenerationMode, live_url: str) -> None:
    operation = OPERATIONS[label]
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case) -> None:
        response = case.call(base_url=live_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
        seen.append(response.status_code)
        assert response.status_code < 500, (case.method, case.path, case.body, response.text)
        if 400 <= response.status_code < 500:
            body = response.json()
            assert {"error", "message", "field"} <= set(body), body
            assert body["message"]

    check()
    assert seen, "schemathesis generated no request"
