"""Settings: one frozen object, from OUTAGEWATCH_* environment variables and flags.

Built once by the CLI (or a test) and passed to `create_app`; nothing reads the
environment anywhere else: `Settings(...)` takes its arguments only, `Settings.from_env`
adds the environment. Every value is validated (pydantic-settings): a bad one raises
`SettingsError` naming the variable, e.g. OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES=ture.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from outagewatch.app.engine.config import PipelineConfig
from outagewatch.ingest.windows import parse_bucket

PREFIX = "OUTAGEWATCH_"

Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(ge=0)]
Rate = Annotated[float, Field(ge=0)]
Listed = Annotated[tuple[str, ...], NoDecode]  # comma-separated in the environment


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable (or flag)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="forbid")

    data: Path | None = Path("./data")  # None: in memory (tests)
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    bucket: str = "1m"
    allowed_lateness_s: Seconds = 10.0
    dedup_window_s: Seconds = 3600.0
    tick_interval_s: Seconds = 0.5  # 0: no background ticker (tests drive `tick()`)
    snapshot_interval_s: Seconds = 60.0
    max_report_bytes: Count = 4096
    max_import_bytes: Count = 64 << 20
    import_max_age_s: Seconds = 7 * 86400.0  # how far back an import may reach (a backfill)
    import_max_ahead_s: Seconds = 300.0  # clock skew allowed for import times
    min_free_mb: Rate = 64.0  # below this, stop acknowledging (503) before the disk fills
    # Reports acknowledged but not yet written to DuckDB (its disk full) are held in
    # memory and retried; past this many, new reports are refused (503) until written.
    max_held_back_reports: Positive = 1_000_000
    # Group commit: 0 writes and fsyncs as soon as the committer is free, and the next
    # group gathers meanwhile (measured best, benchmarks/wal_bench.py); > 0 also waits.
    wal_group_ms: Seconds = 0.0
    # DuckDB's memory for the database file: its cache of written tables and its
    # working memory (larger queries spill to disk). 0: DuckDB's default, 80% of RAM,
    # which a long-running server's cache grows into.
    duckdb_memory_mb: Count = 256
    rate_address_per_s: Rate = 20.0  # per network (/24, /48): carriers share addresses
    rate_address_burst: Rate = 400.0
    rate_reporter_per_s: Rate = 0.2  # per reporter token
    rate_reporter_burst: Rate = 10.0
    # Counted reports per network (/24, /48) per service per dedup window (0: off). Kept
    # below the distinct reporters an incident needs (5 possible, 10 outage, in
    # detector/incidents.py IncidentParams), so one network can never raise one alone:
    # an outage needs reports from at least 5 distinct networks.
    prefix_cap: Count = 2
    api_keys: Listed = ()  # raw or "sha256:<hex>" (app/keys.py); empty: admin off
    admin_failures_per_minute: Count = 10  # wrong API keys per client network (0: no limit)
    reporter_salt: str = ""  # empty: random salts kept in the data directory, rotated
    salt_rotation_s: Seconds = 86400.0  # reporter-hash salts rotate this often (0: never)
    accept_unknown_services: bool = False  # False: only services in the catalog
    new_services_per_hour: Count = 50  # when unknown services are accepted
    new_regions_per_hour: Count = 500  # new (service, region) series, same condition
    # The origin (and optional path prefix) of every absolute link: feeds, the embed
    # card, webhook texts. Never a request's Host header, which anyone can forge into a
    # publicly cached page. Empty: this server's own http://host:port.
    public_url: str = ""
    # Addresses or CIDRs of reverse proxies whose X-Forwarded-For / -Proto are believed
    # (app/proxies.py). Empty: none, the peer address is the client, whatever it sends.
    trusted_proxies: Listed = ()
    # Webhooks: internal targets (loopback, private, link-local, ...) refused unless this
    # is on; one total deadline per delivery; at most this many deliveries at once.
    webhook_allow_private: bool = False
    webhook_deadline_s: Seconds = 10.0
    webhook_concurrency: Positive = 8
    # Connections and bodies (app/connections.py): open connections at most (past it
    # 503 at once), per client address (trusted proxies exempt), seconds for the request
    # line and headers, for a body, and idle between requests; bodies of routes without
    # a cap of their own (reports, import and the report form have theirs).
    max_connections: Count = 4096
    max_connections_per_address: Count = 256
    header_timeout_s: Seconds = 10.0
    body_timeout_s: Seconds = 30.0
    keep_alive_s: Seconds = 5.0
    max_body_bytes: Count = 64 << 10
    max_sse_streams: Count = 2048  # open /v1/outages/stream at most; past it 503
    access_log: bool = False  # one JSON line per answer (logger outagewatch.access)
    log_level: str = "info"  # debug, info, warning, error (app/logs.py)
    broker: str = ""  # nats://host:port[,...]: scale-out mode (app/broker); empty: embedded
    partitions: Positive = 8  # report partitions on the broker (hash of service mod N)
    # A worker copies each partition's restore set to JetStream (app/broker/handover.py)
    # when this much stream time passed or this many messages were applied since the
    # last copy (0: not on that ground; both 0: never, a takeover replays from the start).
    broker_snapshot_interval_s: Seconds = 600.0
    broker_snapshot_messages: Count = 100_000
    # Partition leases (app/broker/lease.py): a standby worker takes a partition over
    # once its holder has not renewed for this long; the holder renews this often.
    broker_lease_s: Annotated[float, Field(gt=0)] = 10.0
    broker_lease_renew_s: Annotated[float, Field(gt=0)] = 2.0

    # Language of the public faces when neither ?lang= nor Accept-Language picks one.
    language: str = "en"

    @property
    def bucket_seconds(self) -> int:
        return parse_bucket(self.bucket)

    def pipeline_config(self) -> PipelineConfig:
        """The engine's settings, one way for every process that runs it (the server,
        a NATS worker)."""
        return PipelineConfig(
            bucket_seconds=self.bucket_seconds,
            allowed_lateness_s=self.allowed_lateness_s,
            dedup_window_s=self.dedup_window_s,
            prefix_cap=self.prefix_cap,
        )

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

    @field_validator("data", mode="before")
    @classmethod
    def _empty_data_is_memory(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("bucket")
    @classmethod
    def _known_bucket(cls, v: str) -> str:
        parse_bucket(v)  # ValueError: bucket must be one of ...
        return v

    @field_validator("language")
    @classmethod
    def _known_language(cls, v: str) -> str:
        from outagewatch.app.i18n import LANGUAGES  # Babel loads only when asked

        if v not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        return v

    @field_validator("api_keys", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(k.strip() for k in v.split(",") if k.strip())
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the environment only through from_env

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Environment first, then explicit overrides (CLI flags win).

        >>> on = {"OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES": "yes", "OUTAGEWATCH_PORT": "80"}
        >>> s = Settings.from_env(on, port=9000)
        >>> s.accept_unknown_services, s.port
        (True, 9000)
        >>> Settings.from_env({"OUTAGEWATCH_API_KEYS": "a, b,"}).api_keys
        ('a', 'b')
        >>> try:
        ...     Settings.from_env({"OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES": "ture"})
        ... except SettingsError as exc:
        ...     print(exc)  # doctest: +ELLIPSIS
        OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES='ture': Input should be a valid boolean...
        """
        source = EnvSettingsSource(cls, case_sensitive=False, env_prefix=PREFIX)
        source.env_vars = {k.lower(): v for k, v in (os.environ if env is None else env).items()}
        values: dict[str, Any] = source()
        from_env = dict(values)
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            settings = cls(**values)
        except ValidationError as exc:
            raise SettingsError(_explain(exc, from_env)) from None
        try:  # checked on use too; here so that a bad one stops the start
            settings.base_url  # noqa: B018
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        if settings.broker_lease_renew_s >= settings.broker_lease_s:
            raise SettingsError(
                f"OUTAGEWATCH_BROKER_LEASE_RENEW_S={settings.broker_lease_renew_s:g} must be "
                f"below OUTAGEWATCH_BROKER_LEASE_S={settings.broker_lease_s:g} (a few renewals "
                "a lease period), or a working worker loses its partitions"
            )
        return settings


def _explain(exc: ValidationError, from_env: Mapping[str, Any]) -> str:
    """One line per bad value, naming the variable (or the flag) it came from."""
    lines = []
    for e in exc.errors(include_url=False):
        name = str(e["loc"][0]) if e["loc"] else ""
        where = PREFIX + name.upper() if name in from_env else f"--{name.replace('_', '-')}"
        lines.append(f"{where}={e['input']!r}: {e['msg']}")
    return "; ".join(lines)
