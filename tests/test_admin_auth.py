"""Admin authentication through the real app: which header carries the key, and
wrong keys throttled per client network (on the manual clock, no sleeping)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, running


def test_an_empty_x_api_key_does_not_hide_a_bearer_token(clock: ManualClock) -> None:
    with running(clock) as (_, client):
        for headers in (
            {"x-api-key": "", "authorization": f"Bearer {API_KEY}"},
            {"x-api-key": "  ", "authorization": f"bearer {API_KEY}"},
            {"authorization": f"Bearer {API_KEY}"},
            {"x-api-key": API_KEY},
        ):
            assert client.get("/v1/webhooks", headers=headers).status_code == 200, headers
        missing = client.get("/v1/webhooks", headers={"x-api-key": "", "authorization": ""})
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "missing_api_key"


def test_wrong_keys_are_throttled_per_network(clock: ManualClock) -> None:
    with running(clock) as (app, _):
        guesser = TestClient(app, client=("203.0.113.9", 5000))
        neighbour = TestClient(app, client=("203.0.113.77", 5000))  # the same /24
        elsewhere = TestClient(app, client=("198.51.100.7", 5000))
        good = {"authorization": f"Bearer {API_KEY}"}

        for _ in range(5):  # a missing key is not a guess
            assert guesser.get("/v1/webhooks").status_code == 401
        for i in range(10):  # ten wrong keys a minute are let through (as 401s)
            wrong = guesser.get("/v1/webhooks", headers={"x-api-key": f"guess-{i}"})
            assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"

        throttled = guesser.get("/v1/webhooks", headers={"x-api-key": "guess-10"})
        assert throttled.status_code == 429
        assert throttled.json()["error"]["code"] == "too_many_failures"
        retry = int(throttled.headers["retry-after"])
        assert retry == 6  # one more guess every 6 s: ten a minute
        # While throttled, a right key from that network waits too (else guessing goes on),
        # and so do other admin routes; another network is not affected.
        assert guesser.get("/v1/webhooks", headers=good).status_code == 429
        assert neighbour.post("/v1/webhooks", json={}, headers=good).status_code == 429
        assert elsewhere.get("/v1/webhooks", headers=good).status_code == 200
        assert elsewhere.get("/v1/webhooks", headers={"x-api-key": "nope"}).status_code == 401

        clock.advance(retry - 1)
        assert guesser.get("/v1/webhooks", headers=good).status_code == 429
        clock.advance(1)
        assert guesser.get("/v1/webhooks", headers=good).status_code == 200
        assert guesser.get("/v1/webhooks", headers={"x-api-key": "again"}).status_code == 401
        assert guesser.get("/v1/webhooks", headers={"x-api-key": "more"}).status_code == 429
        clock.advance(60)  # a quiet minute: the full allowance is back
        codes = [
            guesser.get("/v1/webhooks", headers={"x-api-key": f"g{i}"}).status_code
            for i in range(11)
        ]
        assert codes == [401] * 10 + [429]


def test_the_limit_is_a_setting(clock: ManualClock) -> None:
    with running(clock, admin_failures_per_minute=2) as (_, client):
        codes = [
            client.get("/v1/webhooks", headers={"x-api-key": "x"}).status_code for _ in range(3)
        ]
        assert codes == [401, 401, 429]
