"""Snapshots round-trip their arrays exactly, in their layout, and snapshots in the
older formats (JSON around a hex-encoded npz, written by servers before the zstd
format; zstd with every array row by row, before the model kept some slot by slot)
still restore a pipeline to the same state, so an upgrade in place carries on."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from outagewatch.app.engine.drive import drive
from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig
from outagewatch.app.engine.snapshot_format import MAGIC, pack, unpack
from outagewatch.ingest.batch import normalize
from tests.scenario import background

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC

arrays = st.dictionaries(
    st.text("abcdefgh_", min_size=1, max_size=8),
    hnp.arrays(
        st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.int8]),
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=40),
    ),
    max_size=6,
)


def by_column(a: np.ndarray) -> np.ndarray:
    """`a` as a bank holds a slot-by-slot array: a view of the first rows of a
    column-major array with room for more."""
    if a.ndim != 2:
        return a
    room = np.zeros((a.shape[0] + 3, a.shape[1]), dtype=a.dtype, order="F")
    room[: a.shape[0]] = a
    return room[: a.shape[0]]


@settings(max_examples=80)
@given(arrays, st.sets(st.text("abcdefgh_", min_size=1, max_size=8)))
def test_arrays_round_trip_exactly(state: dict[str, np.ndarray], columns: set[str]) -> None:
    state = {k: by_column(a) if k in columns else a for k, a in state.items()}
    meta = {"keys": [["a", None], ["b", "IT"]], "now": 1.5}
    blob = pack(meta, state)
    assert blob.startswith(MAGIC)
    got_meta, got = unpack(blob)
    assert got_meta == meta
    assert list(got) == list(state)
    for k, a in state.items():
        assert got[k].dtype == a.dtype and got[k].shape == a.shape
        np.testing.assert_array_equal(got[k], a)  # NaN in the same places too
        assert got[k].tobytes() == a.tobytes()  # and -0.0 where it was
        assert got[k].flags.writeable
        # Each in its own layout: a bank takes it as it is (no copy on restore).
        if a.flags.c_contiguous:
            assert got[k].flags.c_contiguous
        else:
            assert got[k].flags.f_contiguous


def first_format(blob: bytes) -> bytes:
    """The same snapshot as the servers before this format wrote it."""
    meta, state = unpack(blob)
    buf = io.BytesIO()
    np.savez_compressed(buf, **state)  # type: ignore[arg-type]
    return orjson.dumps({"meta": meta, "bank": buf.getvalue().hex()})


def second_format(blob: bytes) -> bytes:
    """The same snapshot as the servers before the slot-by-slot arrays wrote it: the
    same framing, every array row by row."""
    meta, state = unpack(blob)
    rows = pack(meta, {k: np.ascontiguousarray(a) for k, a in state.items()})
    return b"OWSNAP2\n" + rows[len(MAGIC) :]


def stepped(hours: int) -> tuple[Pipeline, float]:
    pipe = Pipeline(PipelineConfig())
    pipe.ingest(normalize(pl.DataFrame(background(T0, hours * 60))))
    end = T0 + hours * 3600
    drive(pipe, end)
    return pipe, end


@pytest.mark.parametrize("older", [first_format, second_format])
def test_an_older_format_snapshot_restores_the_same_pipeline(
    older: Callable[[bytes], bytes],
) -> None:
    pipe, end = stepped(26)
    blob = pipe.snapshot()
    assert blob.startswith(MAGIC)
    new, old = Pipeline(PipelineConfig()), Pipeline(PipelineConfig())
    new.restore(blob, [])
    old.restore(older(blob), [])
    for k, a in pipe.bank.state().items():
        np.testing.assert_array_equal(new.bank.state()[k], a)
        np.testing.assert_array_equal(old.bank.state()[k], a)
    # Restored row by row or not, the bank keeps its rings and hours slot by slot.
    assert new.bank.ring_x.flags.f_contiguous and old.bank.shape_x.flags.f_contiguous
    np.testing.assert_array_equal(old.hourly, new.hourly)
    assert old.agg.series.keys() == new.agg.series.keys() == pipe.agg.series.keys()
    assert old.agg.closed_until == new.agg.closed_until == pipe.agg.closed_until
    # And both carry on alike: the same surge scores the same in each (the original
    # also has the dedup memory and open buckets a store-backed restore reads back).
    surge = pl.DataFrame(
        {
            "ts": [end + 1.0 + i for i in range(40)],
            "service": ["aws"] * 40,
            "region": ["DE"] * 40,
            "problem": ["login"] * 40,
            "reporter": [f"r{i}" for i in range(40)],
        }
    )
    scores = []
    for p in (new, old):
        got: list[pl.DataFrame] = []
        p.scores_sink = got.append
        p.ingest(normalize(surge))
        drive(p, end + 180)
        scores.append(pl.concat(got))
    assert scores[0].equals(scores[1])
    assert scores[0].filter(pl.col("region") == "DE")["score"].max() > 0.5  # it was seen


keys = st.lists(
    st.tuples(
        st.sampled_from(["aws", "netflix", "gmail", "télé-2", "x"]),
        st.one_of(st.none(), st.sampled_from(["IT", "DE", "PL", "ID"])),
    ),
    unique=True,
    max_size=30,
)


@settings(max_examples=60)
@given(keys)
def test_series_keys_come_back_with_their_ids(given_keys: list[tuple[str, str | None]]) -> None:
    """A snapshot keeps the series' names as codes (each name once, a pair code per
    series); a restore gives every key back under the same id."""
    pipe = Pipeline(PipelineConfig())
    pipe.agg.series.extend(given_keys)
    meta, state = unpack(pipe.snapshot())
    assert "keys" not in meta and len(state["key_pairs"]) == len(given_keys)
    back = Pipeline(PipelineConfig())
    back.restore(pipe.snapshot(), [])
    assert back.agg.series.keys() == pipe.agg.series.keys() == given_keys


def test_a_snapshot_with_its_keys_as_a_json_list_still_restores() -> None:
    """Snapshots written before the keys were coded carry them as a list in the meta."""
    pipe, _ = stepped(2)
    meta, state = unpack(pipe.snapshot())
    state.pop("key_pairs")
    meta.pop("key_names")
    old_keys = pipe.agg.series.keys()
    meta["keys"] = [list(k) for k in old_keys]
    old = Pipeline(PipelineConfig())
    old.restore(pack(meta, state), [])
    assert old.agg.series.keys() == pipe.agg.series.keys()
    for k, a in pipe.bank.state().items():
        np.testing.assert_array_equal(old.bank.state()[k], a)
