"""Replay files, read in bounded chunks so memory does not grow with the file.

CSV, NDJSON or Parquet, chosen by extension; every column is read as text (or as
stored, for Parquet) and then checked by `ingest.batch.normalize`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CHUNK_ROWS = 100_000


class FileFormatError(ValueError):
    """The file cannot be read as reports: the message says what to fix."""


def read_chunks(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    try:
        yield from _read(Path(path), chunk_rows)
    except (pa.ArrowInvalid, pl.exceptions.ComputeError, OSError) as exc:
        raise FileFormatError(f"{Path(path).name}: cannot be read: {exc}") from None


def _read(p: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    suffix = p.suffix.lower()
    if suffix == ".csv":
        yield from _csv(p, chunk_rows)
    elif suffix in {".ndjson", ".jsonl"}:
        yield from _ndjson(p, chunk_rows)
    elif suffix in {".parquet", ".pq"}:
        pf = pq.ParquetFile(p)
        for batch in pf.iter_batches(batch_size=chunk_rows):
            yield pl.from_arrow(pa.Table.from_batches([batch]))  # type: ignore[misc]
    else:
        raise FileFormatError(f"{p.name}: the file must end in .csv, .ndjson or .parquet")


def _csv(p: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    # Every column as text: the batch checks own the parsing and its error messages.
    with p.open("rb") as fh:
        header = fh.readline().decode("utf-8-sig").strip().split(",")
    convert = pacsv.ConvertOptions(column_types={c.strip(): pa.string() for c in header})
    reader = pacsv.open_csv(
        p,
        read_options=pacsv.ReadOptions(block_size=8 << 20),
        convert_options=convert,
    )
    buf: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        buf.append(batch)
        rows += batch.num_rows
        if rows >= chunk_rows:
            yield pl.from_arrow(pa.Table.from_batches(buf))  # type: ignore[misc]
            buf, rows = [], 0
    if buf:
        yield pl.from_arrow(pa.Table.from_batches(buf))  # type: ignore[misc]


def _ndjson(p: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    lines: list[bytes] = []
    with p.open("rb") as fh:
        for line in fh:
            if line.strip():
                lines.append(line)
            if len(lines) >= chunk_rows:
                yield _parse_ndjson(lines)
                lines = []
    if lines:
        yield _parse_ndjson(lines)


def _parse_ndjson(lines: list[bytes]) -> pl.DataFrame:
    import io

    return pl.read_ndjson(io.BytesIO(b"".join(lines)), infer_schema_length=None)
