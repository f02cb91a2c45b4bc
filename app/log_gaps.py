"""Sequence numbers that neither DuckDB nor the write-ahead log holds: acknowledged
reports lost before a start (a database restored from an old copy, a log deleted).

Found at start; `/healthz` answers 503 with `log_gap` until an operator acknowledges
the gap (`POST /v1/log-gaps`, API key). Acknowledging records its runs in the
database (`seq_gaps`): from then on they count as held, so replay and log cuts go past
them and the next start does not report them again, and `GET /v1/log-gaps` keeps the
history of what was lost. Nothing clears it by itself: only a person can know the
loss was looked at.
"""

from __future__ import annotations

from collections.abc import Iterable


def missing_runs(after: int, top: int, held: Iterable[int]) -> list[tuple[int, int]]:
    """Runs (first, last) of the numbers in after+1..top not in `held`, in order.

    >>> missing_runs(3, 10, {6, 7, 9, 10})
    [(4, 5), (8, 8)]
    >>> missing_runs(3, 5, {4, 5})
    []
    """
    runs: list[tuple[int, int]] = []
    expected = after + 1
    for seq in sorted(s for s in set(held) if after < s <= top):
        if seq > expected:
            runs.append((expected, seq - 1))
        expected = seq + 1
    if expected <= top:
        runs.append((expected, top))
    return runs


def describe(runs: list[tuple[int, int]], top: int) -> str | None:
    """What /healthz says about the runs, None when there are none."""
    if not runs:
        return None
    missing = sum(b - a + 1 for a, b in runs)
    first = runs[0][0]
    return (
        f"{missing} sequence number(s) from {first} up to {top} are neither in the "
        f"database nor in the write-ahead log: acknowledged reports may have been lost "
        f"before this start; the log is kept from {first} on until an operator "
        f"acknowledges the gap (POST /v1/log-gaps)"
    )
