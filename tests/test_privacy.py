"""Reporter salts rotate; dedup holds across a rotation; old salts are forgotten."""

from __future__ import annotations

from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st

from outagewatch.app.privacy import reporter_hash, token_hashes
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, running

DAY = 86400.0


def salts(data: Path) -> dict[str, object]:
    out: dict[str, object] = orjson.loads((data / "reporter-salts.json").read_bytes())
    return out


def test_salts_rotate_daily_and_dedup_holds_across(clock: ManualClock, tmp_path: Path) -> None:
    clock.set(T0 + DAY - 60)  # a minute before midnight UTC
    with running(clock, tmp_path, salt_rotation_s=DAY, reporter_salt="") as (app, client):
        first = salts(tmp_path)["current"]

        def post() -> bool:
            body = {"service": "aws", "reporter": "alice"}
            resp = client.post("/v1/reports", json=body)
            assert resp.status_code == 202
            counted: bool = resp.json()["counted"]
            return counted

        assert post() is True
        clock.advance(120)  # past midnight: a new salt, the old one kept for dedup
        assert post() is False
        state = salts(tmp_path)
        assert state["current"] != first and state["previous"] == first

        clock.advance(3600)  # the dedup window has passed: the old salt is gone
        assert post() is True
        assert salts(tmp_path)["previous"] is None
        assert first not in (tmp_path / "reporter-salts.json").read_text()

        app.runtime.tick()
        stored = app.runtime.store.query("SELECT DISTINCT reporter FROM reports")
        assert len(stored) == 2  # the same person is not linkable across days
        assert all("alice" not in r[0] for r in stored)

    # A restart in the same day keeps the day's salt: dedup still works.
    with running(clock, tmp_path, salt_rotation_s=DAY, reporter_salt="") as (_, client):
        resp = client.post("/v1/reports", json={"service": "aws", "reporter": "alice"})
        assert resp.json()["counted"] is False


@given(st.binary(min_size=0, max_size=80), st.lists(st.one_of(st.none(), st.text(max_size=20))))
def test_a_batch_of_tokens_hashes_as_each_token_alone(
    salt: bytes, tokens: list[str | None]
) -> None:
    """Imports hash their tokens in one call; a token must get the identity it gets alone."""
    expected = [None if t is None else reporter_hash(salt, t) for t in tokens]
    assert token_hashes(salt, tokens) == expected
