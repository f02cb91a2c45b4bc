"""Declared dependencies in the catalog: the file's `on:` column, the API, the checks,
and the detector being told, through the real app."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from outagewatch.app.catalog import parse_catalog, providers_of, seed_services
from outagewatch.app.cli import cli
from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.dependencies import MAX_PROVIDERS, DependencyError
from tests.conftest import API_KEY, running

AUTH = {"authorization": f"Bearer {API_KEY}"}


def test_the_file_format_grows_a_column_and_old_lines_read_as_before() -> None:
    text = (
        "# a comment\n"
        "aws  Amazon Web Services\n"
        "cloudflare\tCloudflare\n"
        "netflix  Netflix  on:aws\n"
        "allegro  Allegro  PL\n"
        "shop  Shop  PL,DE  on:aws,cloudflare\n"
        "bare  on:cloudflare\n"
    )
    seeds = {s.service: s for s in parse_catalog(text)}
    assert seeds["allegro"].name == "Allegro" and seeds["allegro"].regions == ("PL",)
    assert seeds["allegro"].providers == ()
    assert seeds["shop"].regions == ("PL", "DE")
    assert seeds["shop"].providers == ("aws", "cloudflare")
    assert seeds["bare"].name is None and seeds["bare"].providers == ("cloudflare",)
    assert providers_of(tuple(seeds.values())) == {
        "netflix": ("aws",),
        "shop": ("aws", "cloudflare"),
        "bare": ("cloudflare",),
    }


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("netflix  Netflix  on:aws\n", "unknown_provider", "'aws' is not in the catalog"),
        ("aws\naws-mirror  on:aws-mirror\n", "self_dependency", "itself"),
        ("a  on:b\nb  on:c\nc  on:a\n", "dependency_cycle", "a -> b -> c"),
        (
            "".join(f"p{i}\n" for i in range(MAX_PROVIDERS + 1))
            + "x  on:"
            + ",".join(f"p{i}" for i in range(MAX_PROVIDERS + 1)),
            "too_many_providers",
            f"at most {MAX_PROVIDERS}",
        ),
    ],
)
def test_a_bad_file_names_the_service_and_what_to_fix(text: str, code: str, words: str) -> None:
    with pytest.raises(DependencyError) as err:
        parse_catalog(text)
    assert err.value.code == code and words in err.value.message, err.value.message


def test_the_bundled_list_declares_a_few_public_facts() -> None:
    declared = providers_of(seed_services())
    assert declared["netflix"] == ("aws",) and declared["teams"] == ("microsoft-365",)
    assert declared["microsoft-365"] == ("azure",) and "aws" not in declared


def test_the_api_round_trip_and_the_detector_is_told(clock: ManualClock, tmp_path: Path) -> None:
    with running(clock, tmp_path, accept_unknown_services=False) as (app, client):
        tracker = app.runtime.pipeline.tracker
        listed = {s["service"]: s for s in client.get("/v1/catalog").json()["services"]}
        assert listed["netflix"]["providers"] == ["aws"] and listed["aws"]["providers"] == []
        assert tracker.providers["netflix"] == ("aws",)

        put = client.put(
            "/v1/catalog/slack", json={"name": "Slack", "providers": ["aws", "cloudflare"]},
            headers=AUTH,
        )  # fmt: skip
        assert put.status_code == 200, put.text
        assert put.json() == {
            "service": "slack",
            "name": "Slack",
            "providers": ["aws", "cloudflare"],
        }
        assert tracker.providers["slack"] == ("aws", "cloudflare")
        # Renaming without "providers" keeps them; [] clears them.
        client.put("/v1/catalog/slack", json={"name": "Slack!"}, headers=AUTH)
        listed = {s["service"]: s for s in client.get("/v1/catalog").json()["services"]}
        assert listed["slack"]["providers"] == ["aws", "cloudflare"]
        cleared = client.put("/v1/catalog/netflix", json={"providers": []}, headers=AUTH)
        assert cleared.json()["providers"] == [] and "netflix" not in tracker.providers
        # A new service may run on an existing one.
        made = client.put("/v1/catalog/acme", json={"providers": ["azure"]}, headers=AUTH)
        assert made.status_code == 201 and made.json()["providers"] == ["azure"]

    with running(clock, tmp_path, accept_unknown_services=False) as (app, client):  # restart
        tracker = app.runtime.pipeline.tracker
        listed = {s["service"]: s for s in client.get("/v1/catalog").json()["services"]}
        assert listed["slack"]["providers"] == ["aws", "cloudflare"]
        assert listed["netflix"]["providers"] == [] and listed["acme"]["providers"] == ["azure"]
        assert tracker.providers["slack"] == ("aws", "cloudflare")
        assert tracker.providers["teams"] == ("microsoft-365",)  # the bundled ones stay


@pytest.mark.parametrize(
    ("service", "providers", "code"),
    [
        ("netflix", ["no-such-cloud"], "unknown_provider"),
        ("netflix", ["<script>"], "unknown_provider"),
        ("netflix", ["netflix"], "self_dependency"),
        ("aws", ["netflix"], "dependency_cycle"),  # netflix runs on aws
        ("azure", ["teams"], "dependency_cycle"),  # teams -> microsoft-365 -> azure
        ("slack", ["aws", "azure", "google-cloud", "cloudflare", "akamai", "fastly"],
         "too_many_providers"),
        ("slack", "aws", "invalid_providers"),
        ("slack", [1], "invalid_providers"),
    ],
)  # fmt: skip
def test_bad_declarations_get_a_clear_422(
    clock: ManualClock, service: str, providers: object, code: str
) -> None:
    with running(clock, accept_unknown_services=False) as (app, client):
        before = dict(app.runtime.pipeline.tracker.providers)
        resp = client.put(f"/v1/catalog/{service}", json={"providers": providers}, headers=AUTH)
        assert resp.status_code == 422, resp.text
        err = resp.json()["error"]
        assert err["code"] == code and err["field"] == "providers" and err["message"]
        assert "<script>" not in err["message"] or "'<script>'" in err["message"]
        assert app.runtime.pipeline.tracker.providers == before  # nothing changed


def test_a_provider_in_use_cannot_be_removed(clock: ManualClock) -> None:
    with running(clock, accept_unknown_services=False) as (_, client):
        resp = client.delete("/v1/catalog/aws", headers=AUTH)
        assert resp.status_code == 409
        err = resp.json()["error"]
        assert err["code"] == "provider_in_use" and "netflix" in err["message"]
        for user in ("netflix", "prime-video", "coinbase", "robinhood", "heroku", "slack"):
            client.put(f"/v1/catalog/{user}", json={"providers": []}, headers=AUTH)
        assert client.delete("/v1/catalog/aws", headers=AUTH).status_code == 204


def test_replay_takes_a_catalog_file_and_refuses_a_bad_one(tmp_path: Path) -> None:
    reports = tmp_path / "r.csv"
    reports.write_text("ts,service\n2026-11-02T00:00:00Z,aws\n")
    bad = tmp_path / "catalog.txt"
    bad.write_text("aws\nnetflix  Netflix  on:aws,netflix\n")
    result = CliRunner().invoke(cli, ["replay", str(reports), "--catalog", str(bad)])
    assert result.exit_code == 2
    assert "netflix" in result.output and "itself" in result.output
    good = tmp_path / "good.txt"
    good.write_text("aws\nnetflix  Netflix  on:aws\n")
    result = CliRunner().invoke(cli, ["replay", str(reports), "--catalog", str(good)])
    assert result.exit_code == 0, result.output
