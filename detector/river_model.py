"""`SeasonalNB`: the bank's model for a single series, as a river AnomalyDetector.

river's interface learns from and scores one observation at a time; here an
observation is one closed bucket: `{"t": bucket start (epoch s), "count": n}`.
The arithmetic is the bank's, with one row, so the two can never disagree.

>>> m = SeasonalNB()
>>> for i in range(24 * 60):
...     m.learn_one({"t": i * 60.0, "count": 2})
>>> m.score_one({"t": 24 * 3600.0, "count": 2}) < 0.99
True
>>> m.score_one({"t": 24 * 3600.0, "count": 60}) > 0.5  # beyond the outage bar, 1e-8
True
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from river import base as river_base

from outagewatch.detector.model import ModelParams, SeriesBank


class SeasonalNB(river_base.AnomalyDetector):
    def __init__(self, params: ModelParams | None = None) -> None:
        self.params = params
        self._bank = SeriesBank(params, capacity=1)
        self._bank.ensure(1)

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        self._bank.step(float(x["t"]), np.array([float(x["count"])]))

    def score_one(self, x: dict[Hashable, Any]) -> float:
        # Scoring writes only the ring slot the next learn_one overwrites: no state change.
        step = self._bank.score(float(x["t"]), np.array([float(x["count"])]))
        return float(step.score[0])

    def expected_one(self, t: float) -> float:
        return float(self._bank.expected(t)[0])
