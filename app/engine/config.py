"""The engine's settings and the answer to a batch of reports: plain data, shared by
the pipeline and its callers."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from outagewatch.detector.incidents import IncidentParams
from outagewatch.detector.model import ModelParams


@dataclass(frozen=True)
class PipelineConfig:
    bucket_seconds: int = 60
    allowed_lateness_s: float = 10.0
    dedup_window_s: float = 3600.0
    model: ModelParams = field(default_factory=ModelParams)
    incidents: IncidentParams = field(default_factory=IncidentParams)
    early_check_s: float = 15.0  # partial buckets are checked this often (0: never)
    # A bucket where nothing at all arrived while the whole system expected at least
    # this many reports is our outage (server or network down), not the users' quiet.
    silence_expected: float = 20.0
    # Resolved incidents kept in memory (open ones always are); None keeps all, as a
    # replay does to write its feed. The store keeps every incident either way.
    keep_resolved: int | None = 10_000
    # Counted reports per network per service per dedup window, for reports that carry
    # their network (`network`: a NATS worker's, from every intake node); 0: off. The
    # embedded server applies the same cap at intake (app/intake.py).
    prefix_cap: int = 0


@dataclass
class IngestResult:
    accepted: int  # rows
    reports: int  # reports the rows stand for (sum of count)
    counted: int
    rows: pl.DataFrame  # as buffered: with the dedup verdict per row
    too_late: int = 0  # reports in buckets already closed: stored, not counted
    closed_before: float | None = None  # where closed buckets end, when some were too late
