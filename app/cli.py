"""The `outagewatch` command: serve, replay."""

from __future__ import annotations

import gc
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from outagewatch.app.settings import Settings
from outagewatch.ingest.readers import FileFormatError
from outagewatch.ingest.report import ReportError
from outagewatch.ingest.store import StoreError
from outagewatch.ingest.windows import BUCKET_CHOICES, parse_bucket

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Open outage detection.")
err = Console(stderr=True)


def _print_version(asked: bool) -> None:
    if asked:
        print(f"outagewatch {version('outagewatch')}")
        raise typer.Exit()


@cli.callback()
def _main(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Open outage detection."""


def setting_default(name: str) -> str:
    """A setting's default as `--help` shows it: serve's flags default to None so that
    OUTAGEWATCH_* can fill them, and would otherwise show no default at all."""
    value = Settings.model_fields[name].default
    if isinstance(value, Path) and not value.is_absolute():
        return f"./{value.as_posix()}"
    return str(value) if value != "" else "none"


def load_settings(**flags: Any) -> Settings:
    """Settings from OUTAGEWATCH_* and the flags, logging set up; a bad value ends the
    command with one line naming it and exit code 2, not a traceback."""
    from outagewatch.app.logs import configure

    try:
        settings = Settings.from_env(**flags)
        configure(settings.log_level)
    except ValueError as exc:
        err.print(f"[red]cannot start:[/] {exc}")
        raise typer.Exit(2) from None
    return settings


def need_nats() -> None:
    """Scale-out mode needs the [nats] extra: say so rather than a traceback."""
    import importlib.util

    if importlib.util.find_spec("nats") is None:
        err.print(
            "[red]cannot start:[/] --broker needs the nats extra: pip install 'outagewatch\\[nats]'"
        )
        raise typer.Exit(2)


@cli.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on.", show_default=setting_default("host")),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on.", show_default=setting_default("port"))
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Directory for the DuckDB file.", show_default=setting_default("data")),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            help="nats://host:port[,...]: run a stateless intake node.",
            show_default="none: the embedded server",
        ),
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            help="Report partitions (broker).", show_default=setting_default("partitions")
        ),
    ] = None,
) -> None:
    """Start the embedded server (DuckDB file under --data), or an intake node (--broker)."""
    import uvicorn

    from outagewatch.app.connections import raise_fd_limit, server_options
    from outagewatch.app.main import create_app

    settings = load_settings(host=host, port=port, data=data, broker=broker, partitions=partitions)
    if settings.broker:
        need_nats()
        from outagewatch.app.broker.intake_node import create_intake_node

        err.print(f"intake node on http://{settings.host}:{settings.port} -> {settings.broker}")
        try:
            node = create_intake_node(settings)
        except ValueError as exc:
            err.print(f"[red]cannot start:[/] {exc}")
            raise typer.Exit(2) from None
        uvicorn.run(node, host=settings.host, port=settings.port, **server_options(settings))
        return
    import duckdb

    try:
        app = create_app(settings)
    except (StoreError, ValueError, OSError, duckdb.Error) as exc:
        # One line, whatever the terminal's width: it is read in logs and by scripts.
        reason = " ".join(str(exc).split())
        if isinstance(exc, duckdb.Error):
            reason = f"cannot read the database in {settings.data}: {reason}"
        err.print(f"[red]cannot start:[/] {reason}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    url = f"http://{settings.host}:{settings.port}"
    err.print(f"outagewatch on [bold]{url}[/]  (API docs {url}/docs, feed {url}/v1/outages)")
    err.print(f"data in {app.runtime.store.path}")
    # Start-up objects (modules, the restored state) live as long as the process:
    # move them out of the cyclic collector's reach, so its full passes stay short.
    gc.collect()
    gc.freeze()
    raise_fd_limit(settings)  # room for max_connections
    uvicorn.run(app, host=settings.host, port=settings.port, **server_options(settings))
    if app.runtime.stop_error is not None:
        err.print(f"[red]stopped with an error:[/] {app.runtime.stop_error}")
        raise typer.Exit(1)


@cli.command("new-key")
def new_key_cmd(
    key: Annotated[str | None, typer.Argument(help="Hash this key instead of a new one.")] = None,
) -> None:
    """Make an API key: give the key to the client, put its hash in OUTAGEWATCH_API_KEYS."""
    from outagewatch.app.keys import hash_key, new_key

    key = key or new_key()
    err.print("key (give to the client, shown once):")
    print(key)
    err.print("hash (for OUTAGEWATCH_API_KEYS; the server never needs the key itself):")
    print(hash_key(key))


@cli.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data: Annotated[Path | None, typer.Option(help="Directory (default: a temp dir).")] = None,
) -> None:
    """The server with simulated traffic and, a minute in, a cascading outage."""
    import tempfile

    import uvicorn

    from outagewatch.app.connections import server_options
    from outagewatch.app.demo import Demo
    from outagewatch.app.main import create_app

    where = data or Path(tempfile.mkdtemp(prefix="outagewatch-demo-"))
    settings = load_settings(host=host, port=port, data=where)
    app = create_app(settings)
    show = Demo(app)
    err.print("loading a day of ordinary traffic for the detector to learn ...")
    rows = show.preload()
    url = f"http://{host}:{port}"
    err.print(f"{rows:,} reports loaded. Open [bold]{url}/[/] ; the outage starts in a minute.")
    show.start()
    try:
        uvicorn.run(show.around(app), host=host, port=port, **server_options(settings))
    finally:
        show.stop()  # if the server never started


@cli.command()
def replay(
    file: Annotated[Path, typer.Argument(help="CSV, NDJSON or Parquet of reports.")],
    bucket: Annotated[str, typer.Option(help=f"One of {', '.join(BUCKET_CHOICES)}.")] = "1m",
    feed: Annotated[Path | None, typer.Option(help="Write every incident here (JSON).")] = None,
    scores: Annotated[
        Path | None,
        typer.Option(
            help="Per-series, per-bucket scores: CSV, or Parquet when the name ends in .parquet."
        ),
    ] = None,
    maintenance: Annotated[
        Path | None,
        typer.Option(help="Maintenance windows (JSON, as GET /v1/maintenance answers)."),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            help="Who runs on whom: a catalog file in the format of the bundled one "
            "(its `on:` columns); default: the bundled catalog's."
        ),
    ] = None,
) -> None:
    """Replay a file through the same pipeline as the server, on stream time."""
    from outagewatch.app.catalog import parse_catalog, providers_of
    from outagewatch.app.errors import ApiError
    from outagewatch.app.maintenance import windows_from_json
    from outagewatch.app.replay import count_rows
    from outagewatch.app.replay import replay as run
    from outagewatch.ingest.dependencies import DependencyError

    try:
        width = parse_bucket(bucket)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    for path in (file, maintenance, catalog):
        if path is not None and not path.exists():
            err.print(f"[red]no such file:[/] {path}")
            raise typer.Exit(2)
    try:
        declared = providers_of(parse_catalog(catalog.read_text("utf-8"))) if catalog else None
    except (DependencyError, UnicodeDecodeError) as exc:
        err.print(f"[red]{catalog}:[/] {exc}")
        raise typer.Exit(2) from None
    try:
        windows = windows_from_json(maintenance.read_bytes()) if maintenance else []
    except ApiError as exc:
        err.print(f"[red]{maintenance}:[/] {exc.message}")
        raise typer.Exit(2) from None
    show = sys.stderr.isatty()
    progress = Progress(
        TextColumn("replay"), BarColumn(), TextColumn("{task.completed:,} rows"),
        TimeRemainingColumn(), console=err, disable=not show,
    )  # fmt: skip
    try:
        with progress:
            task = progress.add_task("replay", total=count_rows(file) if show else None)
            summary, _ = run(
                file,
                bucket_seconds=width,
                feed=feed,
                scores=scores,
                on_progress=lambda n: progress.advance(task, n),
                maintenance=windows,
                providers=declared,
            )
    except (ReportError, FileFormatError) as exc:
        message = exc.message if isinstance(exc, ReportError) else str(exc)
        err.print(f"[red]{file}:[/] {message}")
        raise typer.Exit(2) from None
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    err.print(
        f"{summary.rows:,} rows ({summary.reports:,} reports, {summary.counted:,} counted), "
        f"{summary.series:,} series, {summary.buckets:,} buckets, "
        f"{summary.incidents} incidents in {summary.seconds:.1f} s ({rate:,.0f} rows/s)"
    )


@cli.command()
def worker(
    broker: Annotated[str, typer.Option(help="nats://host:port[,...]")],
    partitions: Annotated[str, typer.Option(help="Partitions to consume, e.g. 0,1,2.")],
    data: Annotated[Path | None, typer.Option(help="Directory for p<N>.duckdb files.")] = None,
) -> None:
    """Consume report partitions from JetStream through the same pipeline as `serve`."""
    import asyncio
    import signal

    need_nats()
    from outagewatch.app.broker.intake_node import servers_of
    from outagewatch.app.broker.worker import AheadOfStream, Worker

    settings = load_settings(data=data, broker=broker)
    parts = [int(p) for p in partitions.split(",") if p.strip()]
    if not parts or any(not 0 <= p < settings.partitions for p in parts):
        err.print(f"[red]--partitions must be in 0..{settings.partitions - 1}[/]")
        raise typer.Exit(2)
    w = Worker(settings, servers_of(broker), parts)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, w.stop)
        await w.run()

    err.print(f"worker on partitions {parts} of {broker}; data in {settings.data}")
    try:
        asyncio.run(run())
    except AheadOfStream as exc:
        err.print(f"[red]cannot start:[/] {exc}")
        raise typer.Exit(2) from None


def main() -> None:
    cli()
