"""Settings: one frozen object, from OUTAGEWATCH_* environment variables and flags.

Built once by the CLI (or a test) and passed to `create_app`; nothing reads the
environment anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from outagewatch.ingest.windows import parse_bucket

PREFIX = "OUTAGEWATCH_"


@dataclass(frozen=True)
class Settings:
    data: Path | None = Path("./data")  # None: in memory (tests)
    host: str = "127.0.0.1"
    port: int = 8000
    bucket: str = "1m"
    allowed_lateness_s: float = 10.0
    dedup_window_s: float = 3600.0
    tick_interval_s: float = 0.5  # 0: no background ticker (tests drive `tick()`)
    snapshot_interval_s: float = 60.0
    max_report_bytes: int = 4096
    max_import_bytes: int = 64 << 20
    import_max_age_s: float = 7 * 86400.0  # how far back an import may reach (a backfill)
    import_max_ahead_s: float = 300.0  # clock skew allowed for import times
    min_free_mb: float = 64.0  # below this, stop acknowledging (503) before the disk fills
    # Group commit: 0 writes and fsyncs as soon as the committer is free, and the next
    # group gathers meanwhile (measured best, benchmarks/wal_bench.py); > 0 also waits.
    wal_group_ms: float = 0.0
    rate_address_per_s: float = 20.0  # per network (/24, /48): carriers share addresses
    rate_address_burst: float = 400.0
    rate_reporter_per_s: float = 0.2  # per reporter token
    rate_reporter_burst: float = 10.0
    # Counted reports per network (/24, /48) per service per dedup window (0: off). Kept
    # below the distinct reporters an incident needs (5 possible, 10 outage, in
    # detector/incidents.py IncidentParams), so one network can never raise one alone:
    # an outage needs reports from at least 5 distinct networks.
    prefix_cap: int = 2
    api_keys: tuple[str, ...] = ()  # raw or "sha256:<hex>" (app/keys.py); empty: admin off
    admin_failures_per_minute: int = 10  # wrong API keys per client network (0: no limit)
    reporter_salt: str = ""  # empty: random salts kept in the data directory, rotated
    salt_rotation_s: float = 86400.0  # reporter-hash salts rotate this often (0: never)
    accept_unknown_services: bool = False  # False: only services in the catalog
    new_services_per_hour: int = 50  # when unknown services are accepted
    new_regions_per_hour: int = 500  # new (service, region) series, same condition
    # The origin (and optional path prefix) of every absolute link: feeds, the embed
    # card, webhook texts. Never a request's Host header, which anyone can forge into a
    # publicly cached page. Empty: this server's own http://host:port.
    public_url: str = ""
    # Addresses or CIDRs of reverse proxies whose X-Forwarded-For / -Proto are believed
    # (app/proxies.py). Empty: none, the peer address is the client, whatever it sends.
    trusted_proxies: tuple[str, ...] = ()
    # Webhooks: internal targets (loopback, private, link-local, ...) refused unless this
    # is on; one total deadline per delivery; at most this many deliveries at once.
    webhook_allow_private: bool = False
    webhook_deadline_s: float = 10.0
    webhook_concurrency: int = 8
    # Connections and bodies (app/connections.py): open connections at most (past it
    # 503 at once), per client address (trusted proxies exempt), seconds for the request
    # line and headers, for a body, and idle between requests; bodies of routes without
    # a cap of their own (reports, import and the report form have theirs).
    max_connections: int = 4096
    max_connections_per_address: int = 256
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_s: float = 5.0
    max_body_bytes: int = 64 << 10
    max_sse_streams: int = 2048  # open /v1/outages/stream at most; past it 503
    access_log: bool = False  # one JSON line per answer (logger outagewatch.access)
    log_level: str = "info"  # debug, info, warning, error (app/logs.py)
    broker: str = ""  # nats://host:port[,...]: scale-out mode (app/broker); empty: embedded
    partitions: int = 8  # report partitions on the broker (hash of service mod N)

    @property
    def bucket_seconds(self) -> int:
        return parse_bucket(self.bucket)

    @property
    def base_url(self) -> str:
        """Absolute links start with this: `public_url`, else http://host:port.

        >>> Settings(public_url="https://status.example.com/").base_url
        'https://status.example.com'
        >>> Settings(host="::1", port=8080).base_url
        'http://[::1]:8080'
        >>> Settings(public_url="status.example.com").base_url  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: OUTAGEWATCH_PUBLIC_URL: 'status.example.com' is not an absolute http(s) URL...
        """
        if not self.public_url:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"http://{host}:{self.port}"
        parts = urlsplit(self.public_url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.query
            or parts.fragment
            or any(c in self.public_url for c in "\"<>' \t\r\n")
        ):
            raise ValueError(
                f"OUTAGEWATCH_PUBLIC_URL: {self.public_url!r} is not an absolute http(s) URL "
                "(such as https://status.example.com)"
            )
        return self.public_url.rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Environment first, then explicit overrides (CLI flags win)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.bucket_seconds  # noqa: B018 - validate early with a clear message
        return settings

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _convert(name: str, raw: str) -> Any:
    default = getattr(Settings, name, None)
    if name == "data":
        return Path(raw) if raw else None
    if isinstance(default, tuple):  # comma-separated lists (api_keys, trusted_proxies)
        return tuple(k.strip() for k in raw.split(",") if k.strip())
    if isinstance(default, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw
