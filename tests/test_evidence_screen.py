"""The evidence test screens out entries that cannot be evidence before running the
count and rate tests: its values must be, bit for bit, those of both tests run over
every entry (the replay's decisions rest on them)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.detector.model import evidence_logsf, nb_logsf, rate_logsf

counts = st.floats(0.0, 5000.0).map(round).map(float)  # whole counts, big ones too
means = st.floats(1e-9, 500.0)
phis = st.floats(1e-4, 2.0)
variances = st.floats(1e-3, 5.0)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(counts, means, phis, variances), min_size=1, max_size=40),
    windows=st.integers(1, 4),
    broadcast_phi=st.booleans(),
)
def test_the_screened_test_gives_every_entrys_value(
    rows: list[tuple[float, float, float, float]], windows: int, broadcast_phi: bool
) -> None:
    x, mu, phi, var = (np.array(c, dtype=np.float64) for c in zip(*rows, strict=True))
    # Shaped as the model calls it: (series, windows), the count dispersion per series
    # broadcast across windows as a view.
    x2 = np.repeat(x[:, None], windows, axis=1) * np.arange(1, windows + 1)
    mu2 = np.repeat(mu[:, None], windows, axis=1) * np.arange(1, windows + 1)
    phi2 = (
        np.broadcast_to(phi[:, None], x2.shape)
        if broadcast_phi
        else np.repeat(phi[:, None], windows, axis=1)
    )
    var2 = np.repeat(var[:, None], windows, axis=1)
    for args in ((x, mu, phi, var), (x2, mu2, phi2, var2)):
        everywhere = np.maximum(nb_logsf(*args[:3]), rate_logsf(args[0], args[1], args[3]))
        screened = evidence_logsf(*args)
        assert screened.shape == everywhere.shape
        assert screened.tobytes() == everywhere.tobytes()  # bit for bit, signs of zero too
