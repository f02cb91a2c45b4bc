"""The service catalog, API keys and annotations through the real app."""

from __future__ import annotations

from pathlib import Path

from outagewatch.app.keys import hash_key
from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, import_rows, running, tick_to

AUTH = {"authorization": f"Bearer {API_KEY}"}


def test_a_curated_catalog_is_the_default(clock: ManualClock, tmp_path: Path) -> None:
    with running(clock, tmp_path, accept_unknown_services=False) as (_, client):
        assert client.post("/v1/reports", json={"service": "amazon"}).status_code == 202
        made_up = client.post("/v1/reports", json={"service": "free-money-now"})
        assert made_up.status_code == 422
        err = made_up.json()["error"]
        assert err["code"] == "unknown_service" and err["field"] == "service"
        assert "GET /v1/catalog" in err["message"]

        listed = client.get("/v1/catalog").json()
        assert listed["accept_unknown_services"] is False
        slugs = {s["service"] for s in listed["services"]}
        assert {"amazon", "aws", "netflix"} <= slugs and "free-money-now" not in slugs

        # Changing the catalog needs a key; with one, the service is taken at once.
        assert client.put("/v1/catalog/acme-cloud").status_code == 401
        added = client.put("/v1/catalog/acme-cloud", json={"name": "Acme Cloud"}, headers=AUTH)
        assert added.status_code == 201, added.text
        again = client.put("/v1/catalog/acme-cloud", json={"name": "Acme"}, headers=AUTH)
        assert again.status_code == 200
        assert client.post("/v1/reports", json={"service": "acme-cloud"}).status_code == 202
        bad = client.put("/v1/catalog/<script>", headers=AUTH)
        assert bad.status_code in (404, 422) and "error" in bad.json()

        assert client.delete("/v1/catalog/netflix", headers=AUTH).status_code == 204
        assert client.delete("/v1/catalog/netflix", headers=AUTH).status_code == 404
        assert client.post("/v1/reports", json={"service": "netflix"}).status_code == 422

        # A trusted import may bring new services; they are known from then on.
        import_rows(client, [{"service": "partner-feed", "ts": clock.now(), "count": 3}])
        assert client.post("/v1/reports", json={"service": "partner-feed"}).status_code == 202

    with running(clock, tmp_path, accept_unknown_services=False) as (_, client):  # restart
        slugs = {s["service"] for s in client.get("/v1/catalog").json()["services"]}
        assert {"acme-cloud", "partner-feed"} <= slugs and "netflix" not in slugs
        names = {s["service"]: s["name"] for s in client.get("/v1/catalog").json()["services"]}
        assert names["acme-cloud"] == "Acme"


def test_unknown_services_accepted_within_hourly_caps(clock: ManualClock) -> None:
    caps = {"accept_unknown_services": True, "new_services_per_hour": 3, "new_regions_per_hour": 2}
    with running(clock, **caps) as (app, client):
        codes = [
            client.post("/v1/reports", json={"service": f"new{i}"}).status_code for i in range(5)
        ]
        assert codes == [202, 202, 202, 429, 429]
        limited = client.post("/v1/reports", json={"service": "new9"})
        assert limited.json()["error"]["code"] == "new_service_limit"
        assert 0 < int(limited.headers["retry-after"]) <= 3600
        assert client.post("/v1/reports", json={"service": "new0"}).status_code == 202  # known

        # Regions: two new (service, region) series this hour; the third is folded into
        # the service-wide series, not lost.
        for region in ("IT", "DE", "FR"):
            body = {"service": "new0", "region": region, "reporter": region}
            assert client.post("/v1/reports", json=body).status_code == 202
        tick_to(app, clock, clock.now() + 120)
        keys = app.runtime.pipeline.agg.series.keys()
        regions = {k[1] for k in keys if k[0] == "new0"}
        assert regions == {None, "IT", "DE"}
        detail = client.get("/v1/services/new0").json()
        assert detail["reports_1h"] == 4  # the three regions and the first anonymous one

        clock.advance(3601)  # an hour on, there is room again
        assert client.post("/v1/reports", json={"service": "new5"}).status_code == 202
        slugs = {s["service"] for s in client.get("/v1/catalog").json()["services"]}
        assert {"new0", "new1", "new2"} <= slugs and "new3" not in slugs


def test_api_keys_can_be_configured_as_hashes(clock: ManualClock) -> None:
    with running(clock, api_keys=(hash_key("s3cret-key"),)) as (_, client):
        assert client.get("/v1/webhooks", headers={"x-api-key": "s3cret-key"}).status_code == 200
        wrong = client.get("/v1/webhooks", headers={"x-api-key": "s3cret-kez"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        as_hash = client.get("/v1/webhooks", headers={"x-api-key": hash_key("s3cret-key")})
        assert as_hash.status_code == 401  # the stored hash is not itself a key
    with running(clock, api_keys=()) as (_, client):
        off = client.put("/v1/catalog/x", headers=AUTH)
        assert off.status_code == 403 and "OUTAGEWATCH_API_KEYS" in off.json()["error"]["message"]


def test_operators_annotate_incidents(clock: ManualClock) -> None:
    with running(clock) as (app, client):
        import_rows(client, [{"service": "aws", "ts": clock.now(), "count": 1}])
        tick_to(app, clock, clock.now() + 3 * 86400, step=3600)
        start = clock.now()
        rows = [{"service": "aws", "ts": start + i, "reporter": f"p{i}"} for i in range(120)]
        import_rows(client, rows)
        tick_to(app, clock, start + 180)
        (incident,) = client.get("/v1/outages").json()["outages"]
        iid = incident["id"]

        url = f"/v1/outages/{iid}/annotations"
        assert client.post(url, json={"text": "hi"}).status_code == 401
        note = {"text": "Provider confirms <b>us-east-1</b> issue", "author": "ops"}
        made = client.post(url, json=note, headers=AUTH)
        assert made.status_code == 201, made.text
        assert client.post(url, json={"text": " "}, headers=AUTH).status_code == 422
        assert client.post(url, json={"text": "x" * 5000}, headers=AUTH).status_code == 422
        missing = client.post("/v1/outages/nope/annotations", json=note, headers=AUTH)
        assert missing.status_code == 404

        listed = client.get(url).json()["annotations"]
        assert [a["text"] for a in listed] == [note["text"]] and listed[0]["author"] == "ops"
        one = client.get(f"/v1/outages/{iid}").json()
        assert one["annotations"][0]["id"] == made.json()["id"]


def test_the_stories_services_are_known_with_their_regions(
    clock: ManualClock, tmp_path: Path
) -> None:
    from outagewatch.app.catalog import seed_services
    from outagewatch.ingest.regions import REGIONS
    from outagewatch.ingest.report import SERVICE_RE

    # The seed list itself: ASCII slugs, one line each, real region codes.
    seeds = seed_services()
    assert len({s.service for s in seeds}) == len(seeds) > 96
    for seed in seeds:
        assert SERVICE_RE.fullmatch(seed.service) and seed.service.isascii(), seed
        assert set(seed.regions) <= REGIONS, seed

    stories = {
        "allegro": ("Allegro", "PL"),
        "firetms": ("fireTMS", "PL"),
        "pko-bp": ("PKO BP", "PL"),
        "ing-pl": ("ING Bank Śląski", "PL"),
        "bca": ("BCA", "ID"),
        "telkomsel": ("Telkomsel", "ID"),
        "tokopedia": ("Tokopedia", "ID"),
        "al-rajhi": ("Al Rajhi Bank", "SA"),
        "etisalat": ("e&", "AE"),
        "vodafone-eg": ("Vodafone Egypt", "EG"),
        "maroc-telecom": ("Maroc Telecom", "MA"),
        "algerie-telecom": ("Algérie Télécom", "DZ"),
        "credit-agricole": ("Crédit Agricole", "FR"),
        "caisse-epargne": ("Caisse d'Épargne", "FR"),
        "leboncoin": ("Leboncoin", "FR"),
    }
    with running(clock, tmp_path, accept_unknown_services=False) as (_, client):
        listed = {s["service"]: s for s in client.get("/v1/catalog").json()["services"]}
        for slug, (name, region) in stories.items():
            assert listed[slug]["name"] == name, slug  # kept exactly, accents and all
            assert region in listed[slug]["regions"], slug
        assert listed["amazon"]["regions"] == []  # worldwide
        # A curated server takes them, by id or by display name as typed.
        for i, name in enumerate(("allegro", "Crédit Agricole", "PKO BP", "e&", "Bank Mandiri")):
            resp = client.post("/v1/reports", json={"service": name, "reporter": f"r{i}"})
            assert resp.status_code == 202, (name, resp.text)
    with running(clock, tmp_path, accept_unknown_services=False) as (_, client):  # restart
        listed = {s["service"]: s for s in client.get("/v1/catalog").json()["services"]}
        assert listed["credit-agricole"]["name"] == "Crédit Agricole"
