"""What a newcomer tries first: a report shows at once, names are taken as typed (and
the answer says how they were read), and the CLI tells its version and defaults."""

from __future__ import annotations

from importlib.metadata import version

import httpx
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outagewatch.app.cli import cli
from outagewatch.app.main import create_app
from outagewatch.app.settings import Settings
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, import_rows, running, serving, settings, tick_to


def test_a_first_report_shows_before_its_minute_closes(clock: ManualClock) -> None:
    clock.set(T0 + 10)
    with running(clock, accept_unknown_services=False) as (app, client):
        resp = client.post("/v1/reports", json={"service": "amazon", "region": "IT"})
        assert resp.json() == {"accepted": True, "counted": True}
        app.runtime.tick()  # the writer's next tick (every half second), same minute
        detail = client.get("/v1/services/amazon")
        assert detail.status_code == 200, detail.text
        d = detail.json()
        assert d["reports_1h"] == 1 and d["regions"] == [
            {"region": "IT", "reports": 1, "level": None}
        ]
        assert d["series"][-1] == {
            "ts": "2026-11-02T00:00:00Z", "count": 1, "expected": 0.0, "upper": 0.0,
            "level": "", "open": True,
        }  # fmt: skip
        page = client.get("/s/amazon")
        assert page.status_code == 200 and "1 report in the last hour" in page.text

        # Once the minute closes, the same report is in a closed bucket, counted once.
        tick_to(app, clock, T0 + 125)
        series = client.get("/v1/services/amazon").json()["series"]
        assert [p["count"] for p in series if p["count"]] == [1]
        assert not any(p.get("open") for p in series)


def test_a_report_shows_to_a_read_right_after_it_on_a_running_server(clock: ManualClock) -> None:
    """No hand-made tick: the server's own writer (a tick a second here). A read right
    after `counted: true` waits for the writer's next view instead of answering 404."""
    clock.set(T0 + 10)
    app = create_app(settings(accept_unknown_services=False, tick_interval_s=1.0), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        made = client.post("/v1/reports", json={"service": "amazon", "region": "IT"})
        assert made.json()["counted"] is True
        detail = client.get("/v1/services/amazon")
        assert detail.status_code == 200, detail.text
        assert detail.json()["reports_1h"] == 1 and detail.json()["series"][-1]["open"] is True
        # The no-JavaScript form: its redirect's page shows the report it just thanked for.
        form = client.post("/s/allegro/report", data={"problem": "login"}, follow_redirects=True)
        assert form.status_code == 200 and "1 report in the last hour" in form.text
        assert "Thanks, your report was counted." in form.text
        # A service nobody reported answers at once (no waiting when nothing waits).
        assert client.get("/v1/services/bca").status_code == 404


def test_typed_names_are_read_and_the_answer_says_how(clock: ManualClock) -> None:
    with running(clock, accept_unknown_services=False) as (app, client):
        cases = [
            ({"service": "Amazon", "region": "it"}, {"service": "amazon", "region": "IT"}),
            ({"service": "amazon", "region": "it"}, {"region": "IT"}),
            ({"service": " Bank Mandiri ", "region": "ID"}, {"service": "bank-mandiri"}),
            ({"service": "allegro", "tz": "Europe/Warsaw"}, None),  # a region from the zone
        ]
        for i, (body, normalised) in enumerate(cases):
            resp = client.post("/v1/reports", json={**body, "reporter": f"p{i}"})
            assert resp.status_code == 202, resp.text
            expected = {"accepted": True, "counted": True}
            assert resp.json() == (
                expected | {"normalised": normalised} if normalised else expected
            )
        # Pages take typed names too: a permanent redirect to the service's own address.
        for typed, slug in (("Amazon", "amazon"), ("Microsoft Teams", "teams"), ("AWS", "aws")):
            moved = client.get(f"/s/{typed}", params={"lang": "pl"}, follow_redirects=False)
            assert moved.status_code == 308 and moved.headers["location"] == f"/s/{slug}?lang=pl"
        assert client.get("/s/Nope", follow_redirects=False).status_code == 404
        # The common case keeps the fixed answer, byte for byte.
        plain = client.post("/v1/reports", json={"service": "amazon", "region": "IT"})
        assert plain.content == b'{"accepted":true,"counted":true}'
        # Still refused as before: what cannot be read as a known service or a region.
        bad = client.post("/v1/reports", json={"service": "Amazon", "region": "Italy"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "region"

        # The no-script form takes the name typed in the address, and says it counted.
        form = client.post("/s/Allegro/report", data={"problem": "app"}, follow_redirects=False)
        assert form.status_code == 303
        assert form.headers["location"] == "/s/allegro?thanks=1#report"

        answer = import_rows(
            client, [{"ts": T0 - 30, "service": "Amazon", "region": "it", "reporter": "q1"}]
        )
        assert answer["counted"] == 1
        tick_to(app, clock, T0 + 120)
        d = client.get("/v1/services/amazon").json()
        regions = {r["region"]: r["reports"] for r in d["regions"]}
        assert regions["IT"] == 4  # three posts and the import, not the refused one


@hypothesis_settings(max_examples=25, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ", max_size=12))
def test_the_normalised_field_is_exactly_what_changed(typed: str) -> None:
    from outagewatch.app.intake import ACCEPTED, _accepted

    body = _accepted(True, (typed, None), "amazon", None)
    if typed == "amazon":
        assert body == ACCEPTED[True]
    else:
        assert body == b'{"accepted":true,"counted":true,"normalised":{"service":"amazon"}}'


def test_version_and_serve_defaults() -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["--version"])
    assert out.exit_code == 0 and out.stdout.strip() == f"outagewatch {version('outagewatch')}"
    help_text = runner.invoke(cli, ["serve", "--help"]).stdout
    flat = " ".join(help_text.replace("│", " ").split())
    defaults = Settings.model_fields
    for option, shown in (
        ("--host", defaults["host"].default),
        ("--port", defaults["port"].default),
        ("--data", "./data"),
        ("--broker", "none: the embedded server"),
        ("--partitions", defaults["partitions"].default),
    ):
        # The option's own entry, however the terminal wrapped it.
        entry = flat.split(f" {option} ", 1)[1].split(" --", 1)[0]
        assert f"[default: ({shown})]" in entry, (option, entry)  # ( ): from settings
