"""The bytes of a pipeline snapshot: JSON metadata and the detector's arrays.

A million series hold ~2.5 GB of model arrays. The first format (JSON holding a
hex-encoded `np.savez_compressed`) copied every array, then deflated them at level 6
under the writer's lock: 16 s of CPU and 2.2 GB more resident memory, once a minute.
This one compresses each array's own buffer with zstd (no copy; ~7x faster than
deflate for the same size on noisy floats, and it lets other threads run meanwhile):

    MAGIC, meta length (8 bytes, little-endian), JSON {"meta", "arrays"}, payload

where "arrays" lists each array's name, dtype, shape and compressed size, in the
payload's order. The model keeps some arrays slot by slot (`detector.model.by_slot`):
those are compressed a column at a time, in their own layout, and their size is the
list of the columns' sizes (format 3; format 2 had only whole arrays, row by row).
`unpack` also reads formats 1 and 2, so a server upgraded in place restores from the
snapshot its predecessor wrote.

>>> import numpy as np
>>> blob = pack({"now": 60.0}, {"x": np.arange(6.0).reshape(2, 3), "ok": np.ones(2, bool)})
>>> meta, arrays = unpack(blob)
>>> meta, arrays["x"].tolist(), arrays["ok"].tolist()
({'now': 60.0}, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], [True, True])
>>> cols = np.asfortranarray(np.arange(12.0).reshape(4, 3))[:3]  # a bank's view
>>> back = unpack(pack({}, {"c": cols}))[1]["c"]
>>> back.tolist() == cols.tolist(), back.flags.f_contiguous
(True, True)
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

MAGIC = b"OWSNAP3\n"
READS = (MAGIC, b"OWSNAP2\n")  # format 2: no arrays by column
SYSTEM = pa.system_memory_pool()
CODEC = "zstd"

Arrays = dict[str, npt.NDArray[Any]]


def pack(meta: dict[str, Any], arrays: Arrays) -> bytes:
    """`meta` (JSON-able) and `arrays`, read as they are: the caller holds them still."""
    listed: list[list[Any]] = []
    parts: list[bytes] = []
    for name, a in arrays.items():
        if a.ndim == 2 and not a.flags.c_contiguous and a.strides[0] == a.itemsize:
            # Slot by slot: each column is contiguous (a view of the first n series).
            columns = [_compress(a[:, k]) for k in range(a.shape[1])]
            listed.append([name, a.dtype.str, list(a.shape), [len(c) for c in columns]])
            parts.extend(columns)
            continue
        raw = np.ascontiguousarray(a)  # a view when it already is (the model's arrays are)
        part = _compress(raw)
        listed.append([name, raw.dtype.str, list(raw.shape), len(part)])
        parts.append(part)
    head = orjson.dumps({"meta": meta, "arrays": listed})
    out = io.BytesIO()
    out.write(MAGIC)
    out.write(len(head).to_bytes(8, "little"))
    out.write(head)
    for part in parts:
        out.write(part)
    return out.getvalue()


def _compress(a: npt.NDArray[Any]) -> bytes:
    out: bytes = pa.compress(a.reshape(-1).view(np.uint8), codec=CODEC, asbytes=True)
    return out


def _decompress(part: memoryview, size: int) -> pa.Buffer:
    # Arrow's buffer is fresh and mutable: an array can be a writable view of it, not
    # a second copy. From the system allocator: Arrow's own pool (mimalloc) would keep
    # a freed buffer's pages, and the bank drops these arrays when it grows.
    return pa.decompress(part, decompressed_size=size, codec=CODEC, memory_pool=SYSTEM)


Job = tuple[np.dtype[Any], tuple[int, ...], list[memoryview] | memoryview]


def _array(job: Job) -> npt.NDArray[Any]:
    dt, shape, part = job
    if isinstance(part, list):  # by column, into an array laid out the same way
        rows = shape[0]
        out = np.zeros(shape[::-1], dtype=dt).T
        for k, column in enumerate(part):
            values = np.frombuffer(_decompress(column, rows * dt.itemsize), dtype=dt)
            # A slot never written (all bits zero) stays unwritten: its pages untouched.
            if values.view(np.uint8).any():
                out[:, k] = values
        return out
    raw_size = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    array = np.frombuffer(_decompress(part, raw_size), dtype=dt).reshape(shape)
    return array if array.flags.writeable else array.copy()


def unpack(blob: bytes) -> tuple[dict[str, Any], Arrays]:
    """(meta, arrays) from `pack`'s bytes or from formats 1 and 2. Arrays are fresh
    and writable, those packed by column laid out by column."""
    if not blob.startswith(READS):
        data = orjson.loads(blob)
        with np.load(io.BytesIO(bytes.fromhex(data["bank"]))) as npz:
            return data["meta"], {k: npz[k] for k in npz.files}
    at = len(MAGIC)
    size = int.from_bytes(blob[at : at + 8], "little")
    head = orjson.loads(blob[at + 8 : at + 8 + size])
    at += 8 + size
    view = memoryview(blob)
    names: list[str] = []
    jobs: list[Job] = []
    for name, dtype, shape, length in head["arrays"]:
        names.append(name)
        if isinstance(length, list):
            columns = []
            for size in length:
                columns.append(view[at : at + size])
                at += size
            jobs.append((np.dtype(dtype), tuple(shape), columns))
            continue
        jobs.append((np.dtype(dtype), tuple(shape), view[at : at + length]))
        at += length
    # zstd lets go of the interpreter's lock: the arrays decompress side by side.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        arrays: Arrays = dict(zip(names, pool.map(_array, jobs), strict=True))
    return head["meta"], arrays
