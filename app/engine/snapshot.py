"""The pipeline's memory across restarts: a snapshot of the detector, the aggregator's
position and the open incidents, and the restore that carries on from it.

A part of `Pipeline` (app/engine/pipeline.py), which holds the state it uses; the
one restore from a store is app/engine/restore.py.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from outagewatch.app.engine.config import PipelineConfig
from outagewatch.app.engine.open_incidents import OpenIncidents
from outagewatch.app.engine.snapshot_format import pack, unpack
from outagewatch.detector.incidents import Incident, IncidentTracker
from outagewatch.detector.model import SeriesBank
from outagewatch.ingest.aggregator import Aggregator
from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.store import Store


class Snapshots:
    # Set by Pipeline.__init__.
    config: PipelineConfig
    store: Store | None
    dedup: Dedup
    agg: Aggregator
    bank: SeriesBank
    tracker: IncidentTracker
    hourly: np.ndarray
    incidents: dict[str, Incident]
    open_book: OpenIncidents
    now: float
    publish: Callable[[], None]
    _hour_of: float | None
    _seen: np.ndarray
    _work: threading.Lock
    _credited: dict[int, tuple[float, Incident]]
    _later: dict[str, Incident]

    def snapshot(self) -> bytes:
        """Detector, aggregator position and open incidents, for a restart that carries
        on. The model's arrays are packed as they lie, under the writer's lock, not
        copied first (app/engine/snapshot_format.py)."""
        with self._work:
            n = len(self.agg.series)
            arrays = self.bank.state()
            arrays["hourly"] = self.hourly[:n]
            # Counts per series while the system is cold: without them a restart in
            # the first day judges big services against nothing and alarms on them.
            arrays["seen"] = self._seen
            # Rises in progress (a `possible` one bucket into its two, an onset that
            # dates an incident and ties it to a common cause) go on across a restart.
            arrays |= self.tracker.state(n)
            # No dedup memory: on start it is rebuilt from the stored reports, which
            # also covers reports stored after this snapshot (and keeps snapshots small).
            # The series' names as the index codes them: each distinct name once, and
            # one int64 pair code per series (a million names as JSON were 18 MB of a
            # 26 MB snapshot, and a second to parse on restore).
            services, regions, arrays["key_pairs"] = self.agg.series.coded_keys()
            key = self.agg.series.key
            meta = {
                "key_names": {"services": services, "regions": regions},
                "closed_until": self.agg.closed_until,
                "now": self.now,
                "hour_of": self._hour_of,
                # Open incidents as the detector holds them at this snapshot: buckets
                # stepped again after a crash then carry them on exactly.
                "incidents": [inc.to_record() for inc in self.tracker.open.values()],
                # Outages that ended lately, by series: a new rise there is likely the same.
                "last_out": [
                    [*key(sid), at] for sid, at in self.tracker.last_out.items() if sid < n
                ],
            }
            return pack(meta, arrays)

    def settle_later(self) -> list[dict[str, Any]]:
        """After an advance since a restore, which stepped again the buckets closed
        after the snapshot: an incident stored after the snapshot that opened before
        now and was not opened again (it is, as a rule) carries on as stored, or, if
        another opened on its series meanwhile, ends now. Returns the ones that ended."""
        due = {k: inc for k, inc in self._later.items() if inc.opened_at <= self.now}
        self._later = {k: inc for k, inc in self._later.items() if k not in due}
        missing = [inc for key, inc in due.items() if key not in self.incidents]
        if not missing:
            return []
        self.agg.series.extend((inc.service, inc.region) for inc in missing)
        sid_of = self.agg.series.get
        carried, ended = [], []
        for inc in missing:
            if sid_of((inc.service, inc.region)) in self.tracker.open:
                inc.state, inc.resolved_at = "resolved", max(self.now, inc.opened_at)
                inc.ended_at = inc.last_active_end or inc.opened_at
                ended.append(inc.to_dict())
            else:
                carried.append(inc)
            self.incidents[inc.id] = inc
        self.tracker.restore(carried, sid_of)
        return ended

    def restore(
        self,
        blob: bytes | None,
        open_incidents: list[tuple[dict[str, Any], dict[str, Any] | None]],
    ) -> None:
        """Carry on from a snapshot and the stored open incidents: (feed object, detector
        state). An incident comes back as the snapshot held it (buckets closed after it
        are stepped again), else as last stored, else (older data) from its feed object."""
        if self.store is not None:
            self.dedup.restore(*self.store.recent_reporters(self.dedup.window))
        meta: dict[str, Any] = {}
        if blob:
            meta, state = unpack(blob)
            if "keys" in meta:  # snapshots before the codes: the keys as a JSON list
                self.agg.series.extend(meta["keys"])
            else:
                names = meta["key_names"]
                pairs = state.pop("key_pairs")
                self.agg.series.extend_coded(names["services"], names["regions"], pairs)
            self.agg.closed_until = meta["closed_until"]
            self.now = meta["now"]
            if "dedup" in meta:  # snapshots before the memory was rebuilt from the store
                self.dedup.restore(*meta["dedup"])
            hourly = state.pop("hourly", None)
            seen = state.pop("seen", None)
            self.tracker.load({k: state.pop(k) for k in list(state) if k.startswith("rise_")})
            if seen is not None:  # snapshots before it was kept restart with zeros
                self._seen = seen
            self.bank.load(state, owned=True)  # unpack's arrays are fresh: no copy
            if hourly is not None:
                self.hourly = np.zeros((max(64, len(hourly)), 24), dtype=np.float32)
                self.hourly[: len(hourly)] = hourly
                self._hour_of = meta.get("hour_of")
        sid_of = self.agg.series.get
        at_snapshot = {r["id"]: r for r in meta.get("incidents", [])}
        # The snapshot's open incidents as it held them: the buckets closed after it are
        # stepped again, which carries them on (and resolves again those that ended
        # before a crash, though the store has them resolved).
        restored = [Incident.from_record(record) for record in at_snapshot.values()]
        self._later = {}
        for body, detail in open_incidents:
            if body["id"] in at_snapshot:
                continue
            # Stored before the detector's state was kept: rebuilt from the feed object.
            inc = Incident.from_record(detail) if detail else Incident.from_dict(body)
            if "incidents" in meta and inc.opened_at > self.now:
                # Opened after the snapshot: stepping its buckets again opens it again,
                # from the same reports and model (restored as stored, it would count
                # them twice and miss its related services).
                self._later[inc.id] = inc
            else:
                restored.append(inc)
        restored.sort(key=lambda inc: (inc.opened_at, inc.id))  # `incidents` keeps that order
        # Their series in one call, in order (a wave restores thousands of incidents).
        self.agg.series.extend((inc.service, inc.region) for inc in restored)
        for inc in restored:
            self.incidents[inc.id] = inc
        self.open_book.note([body for body, _ in open_incidents if body["id"] not in self._later])
        # Incidents that opened within the related window and have ended since are
        # still in it (a new incident names them): the store keeps them.
        since = self.now - self.tracker.params.related_window_s
        ended = [] if self.store is None or not blob else self.store.opened_since(since)
        resolved = [Incident.from_dict(body) for body in ended if body["state"] != "open"]
        self.tracker.restore(restored, sid_of, self.now if blob else None, resolved)
        for service, region, at in meta.get("last_out", []):
            sid = sid_of((service, region))
            if sid is not None:
                self.tracker.last_out[sid] = at
        width, closed = self.config.bucket_seconds, self.agg.closed_until
        for sid, inc in self.tracker.open.items():
            # Opened from a partial bucket that is still open: its reports are credited.
            b = math.floor(inc.opened_at / width) * width
            if inc.peak_at == b < inc.opened_at and (closed is None or b >= closed):
                self._credited[sid] = (b, inc)
        self.publish()
