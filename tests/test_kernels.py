"""The compiled tests call scipy's own functions through its Cython API: they must be
the double versions scipy.special's ufuncs use, whatever the build names them."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from outagewatch.detector.model import nb_logsf, nb_sf, rate_logsf

counts = st.integers(0, 20_000).map(float)
means = st.floats(0.01, 500.0)
phis = st.floats(0.005, 4.0)


@settings(max_examples=300, deadline=None)
@given(x=counts, mu=means, phi=phis)
def test_the_count_tail_is_scipys_incomplete_beta(x: float, mu: float, phi: float) -> None:
    got = float(nb_sf(np.array([x]), np.array([mu]), np.array([phi]))[0])
    r = 1.0 / phi
    want = float(special.betainc(x, r, mu / (mu + r))) if x > mu else 1.0
    assert got == want


@settings(max_examples=300, deadline=None)
@given(x=counts, mu=means, phi=phis)
def test_the_far_tail_is_scipys_gammaln_bound(x: float, mu: float, phi: float) -> None:
    got = float(nb_logsf(np.array([x]), np.array([mu]), np.array([phi]))[0])
    sf = float(nb_sf(np.array([x]), np.array([mu]), np.array([phi]))[0])
    if sf > 1e-290:
        assert got == math.log(sf)
        return
    r = 1.0 / phi
    log_q = math.log(mu) - math.log(mu + r)
    log_pmf = (
        special.gammaln(x + r) - special.gammaln(r) - special.gammaln(x + 1.0)
        + r * (math.log(r) - math.log(mu + r)) + x * log_q
    )  # fmt: skip
    ratio = min((x + r) / (x + 1.0) * math.exp(log_q), 1.0 - 1e-12)
    want = min(log_pmf - math.log1p(-ratio), math.log(1e-290))
    assert math.isclose(got, want, rel_tol=1e-12)


@settings(max_examples=300, deadline=None)
@given(x=counts, mu=means, var=st.floats(0.02, 3.0))
def test_the_rate_tail_is_scipys_log_ndtr(x: float, mu: float, var: float) -> None:
    got = float(rate_logsf(np.array([x]), np.array([mu]), np.array([var]))[0])
    need = max(x - math.sqrt(x), 0.0) / mu
    if need <= 1.0:
        assert got == 0.0
        return
    s2 = math.log1p(var)
    want = float(special.log_ndtr(-(math.log(need) + s2 / 2) / math.sqrt(s2)))
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-300)
