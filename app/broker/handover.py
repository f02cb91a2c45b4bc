"""A partition's restore set in JetStream's object store, so that a worker on another
host, with an empty data folder, can take the partition over.

Every so often (`broker_snapshot_interval_s` of stream time, or
`broker_snapshot_messages` applied) a worker copies, right after a batch's DuckDB
transaction committed, the rows the one restore reads (`Store.restore_set`: the
pipeline snapshot and the last applied stream sequence, the open incidents, the
reports of the buckets still open and of the dedup window) to the object store
`partitions`, one object per partition. A worker that finds no partition file seeds
an empty one with the newest set and restores from it as from its own file; the
partition's messages after the set's sequence are read again from REPORTS (limits
retention keeps them all) and go through the one driver. Without a set it reads the
partition from its first message.

A put replaces the object only once all of it is stored (its chunks first, then the
name points at them), so a worker killed mid-put leaves the previous set readable.
"""

from __future__ import annotations

import io
import zipfile

import orjson
import polars as pl
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

FORMAT = 1


def object_name(partition: int) -> str:
    return f"p{partition}"


def pack(seq: int, tables: dict[str, pl.DataFrame]) -> bytes:
    """One blob: the set's stream sequence, and each table as compressed Arrow IPC.

    >>> seq, tables = unpack(pack(7, {"reports": pl.DataFrame({"service": ["aws"]})}))
    >>> seq, tables["reports"]["service"].to_list()
    (7, ['aws'])
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("meta.json", orjson.dumps({"format": FORMAT, "seq": seq}))
        for name, frame in tables.items():
            ipc = io.BytesIO()
            frame.write_ipc(ipc, compression="zstd")
            z.writestr(f"{name}.arrow", ipc.getvalue())
    return buf.getvalue()


def unpack(blob: bytes) -> tuple[int, dict[str, pl.DataFrame]]:
    """The stream sequence a set was taken at, and its tables."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        meta = orjson.loads(z.read("meta.json"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"restore set of format {meta.get('format')!r}, not {FORMAT}")
        tables = {
            name.removesuffix(".arrow"): pl.read_ipc(io.BytesIO(z.read(name)))
            for name in z.namelist()
            if name.endswith(".arrow")
        }
    return int(meta["seq"]), tables


async def put(objects: ObjectStore, partition: int, blob: bytes) -> None:
    await objects.put(object_name(partition), blob)


async def fetch(objects: ObjectStore, partition: int) -> bytes | None:
    """The partition's newest restore set, or None when no worker stored one yet."""
    try:
        result = await objects.get(object_name(partition))
    except NotFoundError:
        return None
    return None if result.data is None else bytes(result.data)
