"""Notifications where people live, through Apprise, delivered to real local receivers:
an HTTP server behind Apprise's json:// and an SMTP server (aiosmtpd) behind mailto://.
They share the webhooks' outbox: filtered by service, region and level, retried after
failures, kept across a restart; internal targets are refused unless allowed."""

from __future__ import annotations

import email
import email.policy
import http.server
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller

from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, running, surge, tick_to, warm_up
from tests.receivers import served

KEY = {"authorization": f"Bearer {API_KEY}"}
INTERNAL = {"webhook_allow_private": True}  # the receivers are on loopback


class JsonReceiver:
    """What Apprise's json:// posts to: fails the first `failures` posts, keeps the rest."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.posts: list[dict[str, Any]] = []
        self.answered: list[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                status = 500 if len(receiver.answered) < receiver.failures else 200
                receiver.answered.append(status)
                if status == 200:
                    receiver.posts.append(orjson.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.apprise = f"json://127.0.0.1:{self.server.server_address[1]}/notify"

    @contextmanager
    def running(self) -> Iterator[JsonReceiver]:
        with served(self.server):
            yield self


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_receiver() -> Iterator[tuple[int, list[Any]]]:
    mails: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mails.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mails
    finally:
        controller.stop()


def outage(app: Any, client: Any, clock: ManualClock) -> None:
    warm_up(app, client, clock)
    surge(client, clock)  # tinyapp, IT, login: an outage
    tick_to(app, clock, clock.now() + 120)


def test_json_and_email_receivers_get_the_outage_after_a_failure(clock: ManualClock) -> None:
    with (
        JsonReceiver(failures=1).running() as rx,
        smtp_receiver() as (port, mails),
        running(clock, **INTERNAL) as (app, client),
    ):
        hook = client.post(
            "/v1/notifications",
            json={"apprise": rx.apprise, "service": "tinyapp", "level": "outage"},
            headers=KEY,
        )
        assert hook.status_code == 201, hook.text
        mail_url = f"mailto://127.0.0.1:{port}?from=ow@example.org&to=ops@example.org"
        mail = client.post("/v1/notifications", json={"apprise": mail_url}, headers=KEY)
        assert mail.status_code == 201, mail.text
        # Someone else's service: filtered out.
        other = {"apprise": rx.apprise, "service": "busy"}
        assert client.post("/v1/notifications", json=other, headers=KEY).status_code == 201

        outage(app, client, clock)
        first = app.runtime.deliver()
        assert first["retry"] >= 1  # the JSON receiver answered 500 once
        assert mails, "the email went out on the first round"
        clock.advance(120)  # past the backoff
        app.runtime.deliver()

        assert rx.answered[0] == 500 and rx.posts
        titles = [p["title"] for p in rx.posts]
        assert all(t.startswith("tinyapp: ") for t in titles), titles
        assert any("Outage" in t for t in titles)
        assert all("/s/tinyapp" in p["message"] for p in rx.posts)
        assert all(re.match(r"\d+ reports since ", p["message"]) for p in rx.posts)
        # The service-wide incident says where its reports come from.
        assert "tinyapp: Outage" in titles and "tinyapp: Outage — IT" in titles
        wide = next(p for p in rx.posts if p["title"] == "tinyapp: Outage")
        assert "\nReported from IT.\n" in wide["message"]
        assert len(rx.posts) == len(set(titles))  # each event once, the retry included

        # The default policy decodes a subject that is not ASCII ("Outage — IT").
        msg = email.message_from_bytes(mails[0].content, policy=email.policy.default)
        assert mails[0].rcpt_tos == ["ops@example.org"]
        assert msg["Subject"].startswith("tinyapp: ")
        log = client.get(f"/v1/webhooks/{hook.json()['id']}/deliveries", headers=KEY).json()
        assert {d["status"] for d in log["deliveries"]} == {"delivered"}
        assert any(d["attempts"] == 2 for d in log["deliveries"])


def test_a_region_filter_sends_that_regions_incidents_only(clock: ManualClock) -> None:
    with (
        JsonReceiver().running() as italy,
        JsonReceiver().running() as france,
        running(clock, **INTERNAL) as (app, client),
    ):
        for rx, region in ((italy, "IT"), (france, "FR")):
            body = {"apprise": rx.apprise, "service": "tinyapp", "region": region}
            made = client.post("/v1/notifications", json=body, headers=KEY)
            assert made.status_code == 201 and made.json()["region"] == region, made.text
        outage(app, client, clock)  # tinyapp in IT: a regional and a service-wide incident
        app.runtime.deliver()
        titles = [p["title"] for p in italy.posts]
        assert titles and all(t.startswith("tinyapp: ") and t.endswith(" — IT") for t in titles)
        assert france.posts == []


def test_people_read_notifications_and_slack_in_the_servers_language(
    clock: ManualClock,
) -> None:
    with (
        JsonReceiver().running() as rx,
        JsonReceiver().running() as chat,
        running(clock, language="pl", **INTERNAL) as (app, client),
    ):
        note = {"apprise": rx.apprise, "region": "IT"}
        assert client.post("/v1/notifications", json=note, headers=KEY).status_code == 201
        slack = {"url": chat.apprise.replace("json://", "http://"), "format": "slack"}
        made = client.post("/v1/webhooks", json={**slack, "region": "IT"}, headers=KEY)
        assert made.status_code == 201, made.text
        named = client.put("/v1/catalog/tinyapp", json={"name": "Tiny App"}, headers=KEY)
        assert named.is_success, named.text
        outage(app, client, clock)
        app.runtime.deliver()
        # The service by its display name; the link keeps the slug.
        titles = [p["title"] for p in rx.posts]
        assert titles and all(re.fullmatch(r"Tiny App: .+ — IT", t) for t in titles), titles
        assert all(p["message"].endswith("/s/tinyapp") for p in rx.posts)
        assert any("Awaria" in t for t in titles)
        # The reports in Polish's plural form ("300 zgłoszeń"), never "300 reports".
        assert all(re.match(r"\d+ zgłosze(ń|nia) od ", p["message"]) for p in rx.posts)
        texts = [p["text"] for p in chat.posts]
        assert texts and all(
            re.search(r"Tiny App: .+ — IT \(\d+ zgłosze(ń|nia)\) ", x) for x in texts
        )


def test_each_subscriber_reads_their_own_language_kept_across_a_restart(
    clock: ManualClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    polish, arabic, server = JsonReceiver(), JsonReceiver(), JsonReceiver()
    with running(clock, data, language="de", **INTERNAL) as (_, client):
        for rx, lang in ((polish, "pl"), (arabic, "ar"), (server, None)):
            body = {"apprise": rx.apprise, "region": "IT", "lang": lang}
            made = client.post("/v1/notifications", json=body, headers=KEY)
            assert made.status_code == 201 and made.json()["lang"] == lang, made.text
        for bad in ["xx", "PL", 7, ""]:
            resp = client.post(
                "/v1/notifications", json={"apprise": polish.apprise, "lang": bad}, headers=KEY
            )
            assert resp.status_code == 422 and resp.json()["error"]["field"] == "lang", bad
        bad_hook = {"url": "https://example.org/hook", "lang": "klingon"}
        resp = client.post("/v1/webhooks", json=bad_hook, headers=KEY)
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_lang"
    # The choice is stored: after a restart each subscriber still gets their language.
    with (
        polish.running(),
        arabic.running(),
        server.running(),
        running(clock, data, language="de", **INTERNAL) as (app, client),
    ):
        listed = client.get("/v1/notifications", headers=KEY).json()["notifications"]
        assert sorted(str(n["lang"]) for n in listed) == ["None", "ar", "pl"]
        outage(app, client, clock)
        app.runtime.deliver()
        assert polish.posts and all("Awaria" in p["title"] for p in polish.posts)
        assert arabic.posts and all("انقطاع" in p["title"] for p in arabic.posts)
        assert server.posts and all("Störung" in p["title"] for p in server.posts)


def test_pending_notifications_survive_a_restart(clock: ManualClock, tmp_path: Path) -> None:
    data = tmp_path / "data"
    rx = JsonReceiver()
    with running(clock, data, **INTERNAL) as (app, client):
        body = {"apprise": rx.apprise, "level": "outage"}
        assert client.post("/v1/notifications", json=body, headers=KEY).status_code == 201
        outage(app, client, clock)
        down = app.runtime.deliver()  # the receiver is not running yet
        assert down["retry"] >= 1 and down["delivered"] == 0
    with rx.running(), running(clock, data, **INTERNAL) as (app, client):
        clock.advance(600)
        assert app.runtime.deliver()["delivered"] >= 1
        assert rx.posts and rx.posts[0]["title"].startswith("tinyapp: ")


def test_bad_and_internal_targets_are_refused(clock: ManualClock) -> None:
    with running(clock) as (_, client):
        for bad in ["", "nope://x", "https://example.org/hook", 42, "x" * 3000]:
            resp = client.post("/v1/notifications", json={"apprise": bad}, headers=KEY)
            assert resp.status_code == 422, bad
            assert resp.json()["error"]["field"] == "apprise"
        for inside in [
            "json://127.0.0.1:8080/x",
            "mailto://10.0.0.5?from=b@example.org&to=a@example.org",
            "mailto://user:pw@example.org?smtp=10.0.0.5&to=a@example.org",  # its server
        ]:
            resp = client.post("/v1/notifications", json={"apprise": inside}, headers=KEY)
            assert resp.status_code == 422 and resp.json()["error"]["code"] == "internal_target"
        level = client.post(
            "/v1/notifications", json={"apprise": "ntfy://alerts", "level": "bad"}, headers=KEY
        )
        assert level.status_code == 422 and level.json()["error"]["field"] == "level"
        assert client.post("/v1/notifications", json={"apprise": "ntfy://x"}).status_code == 401


def test_listing_masks_secrets_and_unsubscribing_stops_them(clock: ManualClock) -> None:
    with running(clock) as (_, client):
        url = "tgram://123456789:AAHsecrettoken/987654"
        made = client.post("/v1/notifications", json={"apprise": url}, headers=KEY).json()
        listed = client.get("/v1/notifications", headers=KEY).json()["notifications"]
        assert [n["id"] for n in listed] == [made["id"]]
        assert "AAHsecrettoken" not in orjson.dumps(listed).decode()
        gone = client.delete(f"/v1/notifications/{made['id']}", headers=KEY)
        assert gone.status_code == 204
        assert client.get("/v1/notifications", headers=KEY).json()["notifications"] == []
        again = client.delete(f"/v1/notifications/{made['id']}", headers=KEY)
        assert again.status_code == 404


@pytest.mark.parametrize(("level", "notified"), [(None, True), ("possible", True)])
def test_level_filter_lets_every_level_through_below_outage(
    clock: ManualClock, level: str | None, notified: bool
) -> None:
    from outagewatch.app.webhooks import Subscription

    sub = Subscription("nt_x", "ntfy://a", None, None, "apprise", "s", level)
    assert sub.matches({"service": "a", "region": None, "level": "possible"}) is notified
    strict = Subscription("nt_y", "ntfy://a", None, None, "apprise", "s", "outage")
    assert not strict.matches({"service": "a", "region": None, "level": "possible"})
    assert strict.matches({"service": "a", "region": None, "level": "outage"})
