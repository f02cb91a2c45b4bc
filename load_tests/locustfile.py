"""Locust scenarios for outagewatch: an ordinary day, and outage day for one service.

    LOAD_SCENARIO=mixed (default)  readers and reporters across 10,000 services
    LOAD_SCENARIO=surge            20,000 reports for one service in 15 minutes, on top
                                   of background reports across 10,000 services

Every user runs on `constant_throughput`, and every task sends exactly one request, so a
user is a lane of traffic: N users of a class at LOAD_USER_RPS=1 are N requests a
second. Reporter identity is per report (a fresh token), not per Locust user.
load_tests/README.md has the server settings this needs, the commands, the rate math
and measured figures.

Knobs (environment variables, read when Locust loads this file):
    LOAD_SCENARIO        mixed | surge                                  (mixed)
    LOAD_USER_RPS        requests/s per user, all classes but surge     (1.0)
    LOAD_SERVICES        how many `svc-NNNNN` slugs                     (10000)
    LOAD_ZIPF_S          Zipf exponent of service popularity            (1.0)
    LOAD_REPEAT          share of reports that repeat the same user's
                         previous (token, service): dedup answers
                         counted=false                                  (0.05)
    LOAD_NO_TOKEN        share of reports without a reporter token
                         (the web form's path; distinct User-Agents)    (0.10)
    LOAD_READ_REPORTED   share of per-service reads aimed at a service
                         this run has reported (people look up what
                         others report); the rest follow the Zipf law   (0.5)
    LOAD_EXPECT_429      1: a 429 with a proper error body is expected
                         (a server with default rate limits), not a
                         failure; it is tallied                         (0)
    SURGE_SERVICE        the service having an outage                   (aws)
    SURGE_REPORTS        reports for it; surge users stop after these   (20000)
    SURGE_SECONDS        ...spread over this many seconds               (900)
    SURGE_USERS          fixed number of surge users                    (20)
    LOAD_SUMMARY_JSON    path: also write the end-of-run summary here   (unset)
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from typing import Any

import gevent
from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

try:  # the real allowed set; a bare Locust worker without the project falls back
    from outagewatch.ingest.report import PROBLEMS
except ImportError:  # pragma: no cover
    PROBLEMS = ("login", "app", "website", "payments", "connection", "other")

log = logging.getLogger("outagewatch.load")


def _env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number") from None


SCENARIO = os.environ.get("LOAD_SCENARIO", "mixed").strip().lower() or "mixed"
if SCENARIO not in ("mixed", "surge"):
    raise SystemExit(f"LOAD_SCENARIO={SCENARIO!r}: use mixed or surge")
MIXED = SCENARIO == "mixed"
SURGE = SCENARIO == "surge"

USER_RPS = _env("LOAD_USER_RPS", 1.0)
N_SERVICES = int(_env("LOAD_SERVICES", 10_000))
ZIPF_S = _env("LOAD_ZIPF_S", 1.0)
REPEAT = _env("LOAD_REPEAT", 0.05)
NO_TOKEN = _env("LOAD_NO_TOKEN", 0.10)
READ_REPORTED = _env("LOAD_READ_REPORTED", 0.5)
EXPECT_429 = _env("LOAD_EXPECT_429", 0) != 0
SURGE_SERVICE = os.environ.get("SURGE_SERVICE", "aws").strip() or "aws"
SURGE_REPORTS = int(_env("SURGE_REPORTS", 20_000))
SURGE_SECONDS = _env("SURGE_SECONDS", 900.0)
SURGE_USERS = max(1, int(_env("SURGE_USERS", 20)))
SURGE_USER_RPS = SURGE_REPORTS / SURGE_SECONDS / SURGE_USERS

# Services: svc-00001 is the most popular; P(rank r) is proportional to 1/r**s. With
# s=1 over 10,000 services the top one gets ~10% of the traffic, the top 100 ~53%.
SERVICES = [f"svc-{i:05d}" for i in range(1, N_SERVICES + 1)]
_SERVICE_CUM = list(itertools.accumulate(1.0 / r**ZIPF_S for r in range(1, N_SERVICES + 1)))


def pick_service() -> str:
    return random.choices(SERVICES, cum_weights=_SERVICE_CUM)[0]


# The services of the latest accepted reports, repeats included: a uniform pick from it
# follows the report rate, as the crowd looking up a service follows the crowd reporting.
RECENTLY_REPORTED: deque[str] = deque(maxlen=5000)


def pick_read_service() -> str:
    if RECENTLY_REPORTED and random.random() < READ_REPORTED:
        return random.choice(RECENTLY_REPORTED)
    return pick_service()


def _table(weights: dict[Any, float]) -> tuple[list[Any], list[float]]:
    return list(weights), list(itertools.accumulate(weights.values()))


def _pick(table: tuple[list[Any], list[float]]) -> Any:
    return random.choices(table[0], cum_weights=table[1])[0]


# Regions: ISO 3166-1 alpha-2, weighted roughly by online population; None = unknown.
REGIONS = _table(
    {
        "US": 30, "IN": 8, "GB": 7, "DE": 6, "BR": 6, "FR": 4, "JP": 4, "CA": 4, "MX": 3,
        "IT": 3, "ES": 3, "AU": 3, "NL": 2, "PL": 2, "TR": 2, "ID": 2, "PH": 2, "SE": 1,
        "ZA": 1, "NG": 1, "AR": 1, "KR": 1, None: 10,
    }
)  # fmt: skip
# A cloud outage is felt most where its biggest region is.
SURGE_REGIONS = _table(
    {"US": 50, "GB": 8, "DE": 7, "IN": 6, "CA": 5, "BR": 4, "FR": 4, "JP": 4, "AU": 3, None: 9}
)
_problems = {"login": 25, "app": 20, "website": 20, "connection": 15, "payments": 5, "other": 5}
PROBLEM_TABLE = _table({**{p: w for p, w in _problems.items() if p in PROBLEMS}, None: 10})
_surge_problems = {"connection": 35, "website": 25, "app": 20, "login": 10, "other": 5}
SURGE_PROBLEMS = _table({**{p: w for p, w in _surge_problems.items() if p in PROBLEMS}, None: 5})

# End-of-run tallies (local to this process; with --processes each worker keeps its own).
TALLY: Counter[str] = Counter()
GROUP_OF: dict[str, str] = {}  # request name -> endpoint group, for the summary
surge_sent = 0


def _token() -> str:
    return f"lt-{random.getrandbits(64):016x}"


def _random_phase(user: _Base) -> None:
    """Start a user at a random point of its period.

    Locust spawns a whole batch of users within a few milliseconds, and
    constant_throughput keeps each user on the schedule of its first run: 100 users at
    1/s are then a 100-request burst every second, measured as queueing (p50 went from
    ~2 ms to ~200 ms in a trial). constant_pacing keeps its anchor in `_cp_last_run`,
    set when the user is created, and would make up for a plain sleep here, so the
    anchor is moved to the end of the sleep.
    """
    gevent.sleep(random.random() / user.lane_rps)
    if hasattr(user, "_cp_last_run"):
        user._cp_last_run = time.perf_counter()
    elif not TALLY["warning: phase"]:
        TALLY["warning: phase"] = 1
        log.warning("this Locust has no _cp_last_run: users may fire in lock-step")


class _Base(FastHttpUser):
    abstract = True
    # Localhost answers in milliseconds; anything slower than this is a failure.
    network_timeout = 30.0
    connection_timeout = 10.0
    lane_rps = USER_RPS  # this class's constant_throughput

    def on_start(self) -> None:
        self.etags: dict[str, str] = {}
        _random_phase(self)

    def get(
        self,
        path: str,
        name: str,
        group: str,
        *,
        missing_ok: bool = False,
        conditional: bool = False,
    ) -> None:
        """One GET. 304 counts as success when we sent If-None-Match (a polling feed
        reader or a browser cache); 404 counts as success only where a service may have
        no reports yet (`missing_ok`), and is tallied."""
        GROUP_OF[name] = group
        headers = {}
        if conditional and path in self.etags:
            headers["If-None-Match"] = self.etags[path]
        with self.client.get(path, name=name, headers=headers, catch_response=True) as r:
            status = r.status_code
            if status == 200:
                if not r.content:
                    r.failure("200 with an empty body")
                    return
                if conditional:
                    tag = r.headers.get("etag") if r.headers else None
                    if tag:
                        if len(self.etags) > 256:
                            self.etags.clear()
                        self.etags[path] = tag
                r.success()
            elif status == 304 and headers:
                TALLY[f"{group}: 304 not modified"] += 1
                r.success()
            elif status == 404 and missing_ok:
                TALLY[f"{group}: 404 no reports yet"] += 1
                r.success()
            else:
                r.failure(f"HTTP {status}: {(r.text or '')[:200]}")


class _Reporter(_Base):
    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.last: tuple[str, str] | None = None  # (token, service) of the last report

    def report(
        self,
        service: str,
        name: str,
        regions: tuple[list[Any], list[float]] = REGIONS,
        problems: tuple[list[Any], list[float]] = PROBLEM_TABLE,
    ) -> None:
        GROUP_OF[name] = "reports: surge" if "surge" in name else "reports"
        headers: dict[str, str] = {}
        token: str | None
        if self.last is not None and random.random() < REPEAT:
            token, service = self.last  # the same person, again: not counted
        elif random.random() < NO_TOKEN:
            token = None  # the server hashes address + User-Agent: make the person distinct
            headers["User-Agent"] = f"Mozilla/5.0 (load-test {random.getrandbits(48):012x})"
        else:
            token = _token()
        body: dict[str, Any] = {
            "service": service,
            "region": _pick(regions),
            "problem": _pick(problems),
        }
        if token is not None:
            body["reporter"] = token
            self.last = (token, service)
        with self.client.post(
            "/v1/reports", json=body, headers=headers, name=name, catch_response=True
        ) as r:
            status = r.status_code
            if status == 202:
                try:
                    data = json.loads(r.content or b"")
                except ValueError:
                    r.failure(f"202 but not JSON: {r.content[:100]!r}")
                    return
                counted = data.get("counted")
                if data.get("accepted") is not True or not isinstance(counted, bool):
                    r.failure(f"202 but unexpected body: {data}")
                    return
                TALLY["reports: counted" if counted else "reports: not counted (dedup/cap)"] += 1
                RECENTLY_REPORTED.append(service)
                r.success()
            elif status == 429:
                code = _error_code(r.content)
                TALLY[f"reports: 429 {code}"] += 1
                if EXPECT_429 and code in ("rate_limited", "new_service_limit"):
                    r.success()
                else:
                    r.failure(
                        f"429 {code}: unexpected; start the server with "
                        "OUTAGEWATCH_RATE_ADDRESS_PER_S=1e9 OUTAGEWATCH_RATE_ADDRESS_BURST=1e9 "
                        "OUTAGEWATCH_NEW_SERVICES_PER_HOUR=1000000 (or set LOAD_EXPECT_429=1)"
                    )
            else:
                r.failure(f"HTTP {status}: {(r.text or '')[:200]}")


def _error_code(content: bytes | None) -> str:
    try:
        return str(json.loads(content or b"")["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


# ---------------------------------------------------------------------------------------
# Scenario "mixed": an ordinary day. Reads dominate: 10% reports, 90% reads.
# Share of users (and of requests, all at LOAD_USER_RPS): reporters 1/10, feed readers
# 2/10, status page viewers 4/10, widget loads 3/10.
# ---------------------------------------------------------------------------------------


class Reporter(_Reporter):
    """Someone saying a service is broken: one report, a fresh reporter token."""

    abstract = not MIXED
    weight = 1
    wait_time = constant_throughput(USER_RPS)

    @task
    def post_report(self) -> None:
        self.report(pick_service(), "/v1/reports")


class FeedReader(_Base):
    """Feed pollers (bots, chat integrations, feed readers): conditional GETs."""

    abstract = not MIXED
    weight = 2
    wait_time = constant_throughput(USER_RPS)

    @task(5)
    def outages(self) -> None:
        self.get("/v1/outages", "/v1/outages", "feeds", conditional=True)

    @task(2)
    def outages_of_service(self) -> None:
        path = f"/v1/outages?service={pick_read_service()}"
        self.get(path, "/v1/outages?service=[service]", "feeds", conditional=True)

    @task(2)
    def atom(self) -> None:
        self.get("/v1/outages.atom", "/v1/outages.atom", "feeds", conditional=True)

    @task(1)
    def json_feed(self) -> None:
        self.get("/v1/outages.feed.json", "/v1/outages.feed.json", "feeds", conditional=True)


class StatusPageViewer(_Base):
    """People looking at a service's status: the page, its JSON, the home page."""

    abstract = not MIXED
    weight = 4
    wait_time = constant_throughput(USER_RPS)

    @task(6)
    def status_page(self) -> None:
        self.get(f"/s/{pick_read_service()}", "/s/[service]", "status pages", missing_ok=True)

    @task(3)
    def service_json(self) -> None:
        path = f"/v1/services/{pick_read_service()}"
        self.get(path, "/v1/services/[service]", "status pages", missing_ok=True)

    @task(1)
    def home(self) -> None:
        self.get("/", "/", "status pages")


class WidgetLoad(_Base):
    """Third-party pages embedding status: the script (and the JSON it fetches), the
    iframe card, the README badge."""

    abstract = not MIXED
    weight = 3
    wait_time = constant_throughput(USER_RPS)

    @task(2)
    def widget_js(self) -> None:
        # Half the browsers revalidate a cached copy.
        self.get("/widget.js", "/widget.js", "widgets", conditional=random.random() < 0.5)

    @task(2)
    def widget_data(self) -> None:
        # What app/static/widget.js fetches: the widget's own status, not the full
        # service detail (whose per-region charts are ~8x larger).
        path = f"/v1/services/{pick_read_service()}/widget.json?lang=en"
        self.get(path, "/v1/services/[service]/widget.json", "widgets", missing_ok=True)

    @task(3)
    def embed(self) -> None:
        self.get(f"/embed/{pick_read_service()}", "/embed/[service]", "widgets", missing_ok=True)

    @task(3)
    def badge(self) -> None:
        path = f"/v1/services/{pick_read_service()}/badge.svg"
        self.get(path, "/v1/services/[service]/badge.svg", "widgets")


# ---------------------------------------------------------------------------------------
# Scenario "surge": SURGE_REPORTS reports for SURGE_SERVICE over SURGE_SECONDS, from
# SURGE_USERS fixed users (20,000 / 900 s = 22.2/s = 20 users x 1.11/s), plus every
# other user (-u minus SURGE_USERS) reporting across the 10,000 services at
# LOAD_USER_RPS each.
# ---------------------------------------------------------------------------------------


class SurgeReporter(_Reporter):
    abstract = not SURGE
    fixed_count = SURGE_USERS
    lane_rps = SURGE_USER_RPS
    wait_time = constant_throughput(SURGE_USER_RPS)

    @task
    def post_surge_report(self) -> None:
        global surge_sent
        if surge_sent >= SURGE_REPORTS:
            if not TALLY["surge: done"]:
                TALLY["surge: done"] = 1
                log.info("surge: all %d reports for %s sent", SURGE_REPORTS, SURGE_SERVICE)
            raise StopUser()
        surge_sent += 1
        self.report(SURGE_SERVICE, "/v1/reports (surge)", SURGE_REGIONS, SURGE_PROBLEMS)


class BackgroundReporter(_Reporter):
    abstract = not SURGE
    weight = 1
    wait_time = constant_throughput(USER_RPS)

    @task
    def post_report(self) -> None:
        self.report(pick_service(), "/v1/reports")


# ---------------------------------------------------------------------------------------
# Preflight and summary.
# ---------------------------------------------------------------------------------------


def _fetch(host: str, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(host.rstrip("/") + path, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw[:200]


@events.test_start.add_listener
def preflight(environment: Environment, **_: Any) -> None:
    """Fail fast on a server that would turn the run into a wall of 422/429s."""
    if isinstance(environment.runner, WorkerRunner) or not environment.host:
        return
    log.info(
        "scenario=%s services=%d zipf_s=%.2f user_rps=%.3f%s",
        SCENARIO,
        N_SERVICES,
        ZIPF_S,
        USER_RPS,
        f" surge={SURGE_SERVICE}: {SURGE_REPORTS} reports / {SURGE_SECONDS:.0f} s "
        f"= {SURGE_REPORTS / SURGE_SECONDS:.2f}/s from {SURGE_USERS} users x "
        f"{SURGE_USER_RPS:.3f}/s"
        if SURGE
        else "",
    )
    problems: list[str] = []
    try:
        status, catalog = _fetch(environment.host, "/v1/catalog")
    except OSError as exc:
        problems.append(f"cannot reach {environment.host}: {exc}")
    else:
        if status == 200 and isinstance(catalog, dict):
            known = {s["service"] for s in catalog.get("services", [])}
            if not catalog.get("accept_unknown_services") and not set(SERVICES) <= known:
                problems.append(
                    "the server accepts only catalog services, and svc-NNNNN are not in it: "
                    "start it with OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES=1 "
                    "OUTAGEWATCH_NEW_SERVICES_PER_HOUR=1000000"
                )
            if SURGE and SURGE_SERVICE not in known and not catalog.get("accept_unknown_services"):
                problems.append(f"{SURGE_SERVICE!r} is not in the server's catalog")
        else:
            log.warning("GET /v1/catalog answered %s: cannot check the catalog", status)
    for p in problems:
        log.error("preflight: %s", p)
    if problems:
        environment.process_exit_code = 2
        gevent.spawn_later(0.5, environment.runner.quit)


def _summary(environment: Environment) -> dict[str, Any]:
    stats = environment.stats
    groups: dict[str, StatsEntry] = {}
    for entry in stats.entries.values():
        group = GROUP_OF.get(entry.name, "other")
        if group not in groups:
            groups[group] = StatsEntry(stats, group, "")
        groups[group].extend(entry)
    groups["all"] = stats.total
    elapsed = (stats.last_request_timestamp or time.time()) - stats.start_time
    out: dict[str, Any] = {"scenario": SCENARIO, "seconds": round(elapsed, 1), "groups": {}}
    for name, e in sorted(groups.items()):
        out["groups"][name] = {
            "requests": e.num_requests,
            "failures": e.num_failures,
            "rps": round(e.num_requests / elapsed, 1) if elapsed > 0 else 0.0,
            "p50_ms": e.get_response_time_percentile(0.50),
            "p95_ms": e.get_response_time_percentile(0.95),
            "p99_ms": e.get_response_time_percentile(0.99),
            "max_ms": round(e.max_response_time),
        }
    out["tally"] = dict(sorted(TALLY.items()))
    if SURGE:
        out["surge_reports_sent"] = surge_sent
    return out


@events.test_stop.add_listener
def summary(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    out = _summary(environment)
    lines = [
        f"outagewatch load summary: scenario={SCENARIO}, {out['seconds']} s",
        f"{'group':<16}{'requests':>10}{'fails':>7}{'req/s':>9}{'p50':>7}{'p95':>7}"
        f"{'p99':>7}{'max':>8}  (ms)",
    ]
    for name, g in out["groups"].items():
        lines.append(
            f"{name:<16}{g['requests']:>10}{g['failures']:>7}{g['rps']:>9}{g['p50_ms']:>7}"
            f"{g['p95_ms']:>7}{g['p99_ms']:>7}{g['max_ms']:>8}"
        )
    lines += [f"  {k}: {v}" for k, v in out["tally"].items()]
    if environment.host:
        try:
            _, health = _fetch(environment.host, "/healthz")
            out["healthz"] = health
            lines.append(f"  /healthz: {health}")
            if SURGE:
                path = f"/v1/outages?service={SURGE_SERVICE}&state=all"
                status, feed = _fetch(environment.host, path)
                incidents = feed.get("outages", []) if isinstance(feed, dict) else []
                out["surge_incidents"] = incidents
                lines.append(
                    f"  GET {path}: HTTP {status}, {len(incidents)} incident(s)"
                    + "".join(
                        f"\n    {i.get('level')} {i.get('state')} region={i.get('region')} "
                        f"opened_at={i.get('opened_at')} total_reports={i.get('total_reports')}"
                        for i in incidents
                    )
                )
        except OSError as exc:
            lines.append(f"  (server not reachable after the run: {exc})")
    log.info("\n".join(lines))
    path = os.environ.get("LOAD_SUMMARY_JSON")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2, default=str)
