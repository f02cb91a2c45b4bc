"""The body of a bulk import (NDJSON or a JSON array of objects) as a frame of text
columns, for `ingest.batch.normalize` to check.

Polars reads the body in one call. Where its reading could differ from reading each
object with orjson and writing its values as text (`str`), that slower reading is the
one used, and it also gives the errors:
- values that are true, false, an object or an array (orjson's reading writes `True`,
  `{'a': 1}`);
- a number under a text field (a float is written `1e-07` by Python, `1e-7` by polars);
- a column of another type, and a body polars refuses.
Times and counts may be written differently (`1.0` for 1 in a column of floats), and
read back as the same numbers. One difference is left: an object that gives a field
twice is read with the first value here, with the last by orjson (JSON leaves it
undefined).

>>> parse_import_body(b'{"ts": 1, "service": "a"}\\n\\n{"ts": 2.5, "service": "b"}').rows()
[('a', '1.0'), ('b', '2.5')]
>>> parse_import_body(b'[{"service": "a", "region": true, "ts": 1}]').rows()
[('True', 'a', '1')]
"""

from __future__ import annotations

import io
import re

import orjson
import polars as pl

from outagewatch.app.errors import ApiError

TEXT_FIELDS = ("service", "region", "problem", "reporter")
NUMBER_FIELDS = ("ts", "count")
# A value that is not a string, a number or null, anywhere in the body: a string that
# happens to hold such text only sends the body the slow way.
_NOT_FLAT = re.compile(rb":\s*[tf{\[]")
_NUMBER_IN_TEXT = re.compile(rb'"(?:service|region|problem|reporter)"\s*:\s*[-0-9]')
_TEXT = (pl.String, pl.Null)
_NUMBER = (pl.String, pl.Null, pl.Int64, pl.Float64)


def parse_import_body(body: bytes) -> pl.DataFrame:
    """Every column as text, columns sorted by name; ApiError (400, 422) when the body
    is not NDJSON or a JSON array of objects."""
    text = body.strip()
    if not text:
        raise ApiError(400, "empty_body", "send reports as NDJSON or a JSON array")
    fast = _read_fast(text)
    return fast if fast is not None else _read_each(text)


def _read_fast(text: bytes) -> pl.DataFrame | None:
    """The body read by polars, or None where the slow reading must decide."""
    if _NOT_FLAT.search(text) or _NUMBER_IN_TEXT.search(text):
        return None
    try:
        # Every row's keys make the schema: polars reads the first 100 by default, and
        # then drops a field that first appears later without a word.
        if text[:1] == b"[":
            df = pl.read_json(io.BytesIO(text), infer_schema_length=None)
        else:
            df = pl.read_ndjson(io.BytesIO(text), infer_schema_length=None)
    except Exception:  # polars' own errors are many kinds; orjson's will explain
        return None
    if df.height == 0 or df.width == 0:
        return None
    for name, dtype in df.schema.items():
        allowed = _NUMBER if name in NUMBER_FIELDS else _TEXT
        if dtype not in allowed:
            return None
    return df.select(pl.col(c).cast(pl.String) for c in sorted(df.columns))


def _read_each(text: bytes) -> pl.DataFrame:
    """Each object read by orjson, each value written as text."""
    try:
        if text[:1] == b"[":
            rows = orjson.loads(text)
        else:
            rows = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"not valid NDJSON or a JSON array: {exc.args[0]}"
        ) from None
    if not rows:
        raise ApiError(400, "empty_body", "no reports in the body")
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ApiError(422, "invalid_row", f"row {i}: each report must be a JSON object")
    columns = sorted({k for row in rows for k in row})
    return pl.DataFrame(
        {c: [None if (v := row.get(c)) is None else str(v) for row in rows] for c in columns},
        schema={c: pl.String for c in columns},
    )
