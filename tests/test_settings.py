"""Settings are validated: a bad OUTAGEWATCH_* value stops the start with one line naming
it (exit code 2), never a silent default; names and defaults are those documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from outagewatch.app.settings import PREFIX, Settings, SettingsError

# The defaults as they were before validation came in: a change here is a change of
# documented behaviour, not a refactoring.
DEFAULTS = {
    "data": Path("./data"),
    "host": "127.0.0.1",
    "port": 8000,
    "bucket": "1m",
    "allowed_lateness_s": 10.0,
    "dedup_window_s": 3600.0,
    "tick_interval_s": 0.5,
    "snapshot_interval_s": 60.0,
    "max_report_bytes": 4096,
    "max_import_bytes": 64 << 20,
    "import_max_age_s": 7 * 86400.0,
    "import_max_ahead_s": 300.0,
    "min_free_mb": 64.0,
    "max_held_back_reports": 1_000_000,
    "wal_group_ms": 0.0,
    "duckdb_memory_mb": 256,
    "rate_address_per_s": 20.0,
    "rate_address_burst": 400.0,
    "rate_reporter_per_s": 0.2,
    "rate_reporter_burst": 10.0,
    "prefix_cap": 2,
    "api_keys": (),
    "admin_failures_per_minute": 10,
    "reporter_salt": "",
    "salt_rotation_s": 86400.0,
    "accept_unknown_services": False,
    "new_services_per_hour": 50,
    "new_regions_per_hour": 500,
    "public_url": "",
    "trusted_proxies": (),
    "webhook_allow_private": False,
    "webhook_deadline_s": 10.0,
    "webhook_concurrency": 8,
    "max_connections": 4096,
    "max_connections_per_address": 256,
    "header_timeout_s": 10.0,
    "body_timeout_s": 30.0,
    "keep_alive_s": 5.0,
    "max_body_bytes": 64 << 10,
    "max_sse_streams": 2048,
    "access_log": False,
    "log_level": "info",
    "broker": "",
    "partitions": 8,
    "broker_snapshot_interval_s": 600.0,
    "broker_snapshot_messages": 100_000,
    "broker_lease_s": 10.0,
    "broker_lease_renew_s": 2.0,
    "language": "en",
}

# One good value per variable, as text, and what it becomes.
GOOD = {
    "data": ("/srv/ow", Path("/srv/ow")),
    "host": ("::1", "::1"),
    "port": ("8080", 8080),
    "bucket": ("5m", "5m"),
    "allowed_lateness_s": ("2.5", 2.5),
    "dedup_window_s": ("60", 60.0),
    "tick_interval_s": ("0", 0.0),
    "snapshot_interval_s": ("30", 30.0),
    "max_report_bytes": ("1024", 1024),
    "max_import_bytes": ("1000000", 1_000_000),
    "import_max_age_s": ("3600", 3600.0),
    "import_max_ahead_s": ("10", 10.0),
    "min_free_mb": ("1", 1.0),
    "max_held_back_reports": ("500", 500),
    "wal_group_ms": ("2", 2.0),
    "duckdb_memory_mb": ("64", 64),
    "rate_address_per_s": ("5", 5.0),
    "rate_address_burst": ("50", 50.0),
    "rate_reporter_per_s": ("1", 1.0),
    "rate_reporter_burst": ("3", 3.0),
    "prefix_cap": ("0", 0),
    "api_keys": ("k1, sha256:ab ,", ("k1", "sha256:ab")),
    "admin_failures_per_minute": ("3", 3),
    "reporter_salt": ("pepper", "pepper"),
    "salt_rotation_s": ("0", 0.0),
    "accept_unknown_services": ("TRUE", True),
    "new_services_per_hour": ("7", 7),
    "new_regions_per_hour": ("9", 9),
    "public_url": ("https://status.example.com", "https://status.example.com"),
    "trusted_proxies": ("10.0.0.0/8,127.0.0.1", ("10.0.0.0/8", "127.0.0.1")),
    "webhook_allow_private": ("on", True),
    "webhook_deadline_s": ("4", 4.0),
    "webhook_concurrency": ("2", 2),
    "max_connections": ("100", 100),
    "max_connections_per_address": ("10", 10),
    "header_timeout_s": ("1", 1.0),
    "body_timeout_s": ("2", 2.0),
    "keep_alive_s": ("3", 3.0),
    "max_body_bytes": ("4096", 4096),
    "max_sse_streams": ("5", 5),
    "access_log": ("1", True),
    "log_level": ("warning", "warning"),
    "broker": ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
    "partitions": ("3", 3),
    "broker_snapshot_interval_s": ("300", 300.0),
    "broker_snapshot_messages": ("0", 0),
    "broker_lease_s": ("3", 3.0),
    "broker_lease_renew_s": ("0.5", 0.5),
    "language": ("pl", "pl"),
}


def test_defaults_are_unchanged_and_the_environment_is_read_only_by_from_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().model_dump() == DEFAULTS
    assert Settings.from_env({}).model_dump() == DEFAULTS
    monkeypatch.setenv("OUTAGEWATCH_PORT", "9999")
    assert Settings().port == 8000  # built from its arguments only
    assert Settings.from_env().port == 9999  # from_env() reads os.environ


def test_every_variable_keeps_its_name() -> None:
    assert set(GOOD) == set(DEFAULTS) == set(Settings.model_fields)
    env = {PREFIX + name.upper(): text for name, (text, _) in GOOD.items()}
    got = Settings.from_env(env).model_dump()
    assert got == {name: value for name, (_, value) in GOOD.items()}


def test_flags_win_and_an_empty_data_directory_means_in_memory() -> None:
    env = {"OUTAGEWATCH_PORT": "9000", "OUTAGEWATCH_DATA": ""}
    s = Settings.from_env(env, port=9100, host=None)
    assert (s.port, s.host, s.data) == (9100, "127.0.0.1", None)


@pytest.mark.parametrize(
    "name, raw",
    [
        ("ACCEPT_UNKNOWN_SERVICES", "ture"),  # once silently false
        ("ACCESS_LOG", "enabled"),
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("PARTITIONS", "0"),
        ("MAX_HELD_BACK_REPORTS", "0"),
        ("DEDUP_WINDOW_S", "-1"),
        ("PREFIX_CAP", "2.5"),
        ("BUCKET", "7m"),
        ("PUBLIC_URL", "status.example.com"),
        ("LANGUAGE", "klingon"),
        ("BROKER_LEASE_S", "0"),
        ("BROKER_LEASE_RENEW_S", "10"),  # not below the lease period (10 s)
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=PREFIX + name) as caught:
        Settings.from_env({PREFIX + name: raw})
    assert "\n" not in str(caught.value)


def test_a_bad_flag_is_named_as_a_flag_and_settings_are_frozen() -> None:
    with pytest.raises(SettingsError, match="--max-sse-streams"):
        Settings.from_env({}, max_sse_streams=-1)
    with pytest.raises(ValidationError):
        Settings(unknown_setting=1)  # type: ignore[call-arg]
    s = Settings()
    with pytest.raises(ValidationError):
        s.port = 1  # type: ignore[misc]


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_the_cli_stops_with_exit_code_2_and_one_clear_line(command: str, tmp_path: Path) -> None:
    env = {**os.environ, "OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES": "ture"}
    exe = Path(sys.executable).parent / "outagewatch"
    done = subprocess.run(
        [str(exe), command, "--port", "0", "--data", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir()), "nothing was created before the check"
