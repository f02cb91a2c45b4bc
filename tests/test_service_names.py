"""Service names as people type them ("Amazon", " AWS ", "Microsoft Teams") reach the
catalog's id on every intake path; a name that leads to no known service is judged as
before."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from outagewatch.app.catalog import aliases, seed_ids, service_id, typed
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, import_rows, running, tick_to

KNOWN = sorted(seed_ids())
names = st.one_of(
    st.text(max_size=40),
    st.sampled_from(KNOWN + list(aliases())),
    # A known id or alias as someone might type it: other case, spaces around and inside.
    st.builds(
        lambda name, upper, pad: (" " * pad) + (name.upper() if upper else name.title()) + " ",
        st.sampled_from(KNOWN + list(aliases())),
        st.booleans(),
        st.integers(0, 3),
    ),
)


@given(names, st.booleans())
def test_normalising_is_idempotent(name: str, custom: bool) -> None:
    known = {"amazon", "aws", "my-service"} if custom else None
    once = service_id(name, known)
    assert service_id(once, known) == once


@given(st.sampled_from(KNOWN), st.booleans(), st.integers(0, 3))
def test_a_known_id_typed_loosely_finds_itself(slug: str, upper: bool, pad: int) -> None:
    name = " " * pad + (slug.upper() if upper else slug) + " " * pad
    assert service_id(name) == slug


def test_aliases_lead_to_seed_services_and_stop_there() -> None:
    table = aliases()
    assert table["amazon-web-services"] == "aws" and table["microsoft-teams"] == "teams"
    for alias, slug in table.items():
        assert slug in seed_ids(), alias
        assert table.get(slug, slug) == slug  # an id is never an alias of another
    assert typed(" Microsoft\tTeams ") == "microsoft-teams"


def test_unknown_names_are_returned_as_given() -> None:
    for name in ("Free Money Now", "  ", "", "x" * 80, "<script>"):
        assert service_id(name) == name
    assert service_id(None) is None and service_id(42) == 42


def test_http_reports_and_imports_take_typed_names(clock: ManualClock) -> None:
    with running(clock, accept_unknown_services=False) as (app, client):
        for i, name in enumerate(("Amazon", " AWS ", "Microsoft Teams", "AMAZON")):
            resp = client.post("/v1/reports", json={"service": name, "reporter": f"p{i}"})
            assert resp.status_code == 202, resp.text
            read_as = service_id(name)
            assert resp.json() == {
                "accepted": True, "counted": True, "normalised": {"service": read_as}
            }  # fmt: skip
        # The same person again, named another way: the same service, so not counted.
        again = client.post("/v1/reports", json={"service": "amazon", "reporter": "p0"})
        assert again.json() == {"accepted": True, "counted": False}
        # Unknown names: as before (not a slug, or not in the catalog).
        bad = client.post("/v1/reports", json={"service": "Free Money Now"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_service"
        made_up = client.post("/v1/reports", json={"service": "free-money-now"})
        assert made_up.json()["error"]["code"] == "unknown_service"

        answer = import_rows(
            client,
            [
                {"ts": T0 - 30, "service": "Microsoft Teams", "reporter": "q1"},
                {"ts": T0 - 30, "service": " Amazon Web Services ", "reporter": "q2"},
            ],
        )
        assert answer["counted"] == 2
        listed = {s["service"] for s in client.get("/v1/catalog").json()["services"]}
        assert not {"Microsoft Teams", "microsoft-teams"} & listed

        tick_to(app, clock, T0 + 120)
        services = {s["service"]: s for s in client.get("/v1/services").json()["services"]}
        assert services["teams"]["reports_24h"] == 2
        assert services["aws"]["reports_24h"] == 2
        assert services["amazon"]["reports_24h"] == 2  # "Amazon" and "AMAZON"
