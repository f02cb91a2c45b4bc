"""Intake policies against hostile crowds: rate limits and per-network caps.

Pure: time comes in as an argument. Keys are already-hashed identities, so no raw
address is ever held here. State is dicts of strings to floats only: such dicts are
never tracked by Python's cyclic garbage collector, so a flood of new keys does not
lengthen its full passes (which stop every thread).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from outagewatch.ingest.dedup import Column
from outagewatch.ingest.generations import Generations, pick


class TokenBuckets:
    """One token bucket per key: `rate` tokens a second, at most `burst` saved up.

    >>> tb = TokenBuckets(rate=1.0, burst=2)
    >>> [tb.take("a", 0.0)[0] for _ in range(3)]
    [True, True, False]
    >>> tb.take("a", 1.0)
    (True, 0.0)
    """

    def __init__(self, rate: float, burst: float, max_keys: int = 200_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._tokens: dict[str, float] = {}
        self._at: dict[str, float] = {}
        # Forget when the memory doubles, not whenever it is over max_keys: with more
        # live keys than max_keys that would rebuild it on every request.
        self._limit = max_keys

    def take(self, key: str, now: float) -> tuple[bool, float]:
        """(allowed, seconds until a token is available)."""
        last = self._at.get(key)
        tokens = (
            self.burst
            if last is None
            else min(self.burst, self._tokens[key] + (now - last) * self.rate)
        )
        self._at[key] = now
        if tokens >= 1.0:
            self._tokens[key] = tokens - 1.0
            if len(self._at) > self._limit:
                self._forget(now)
            return True, 0.0
        self._tokens[key] = tokens
        return False, (1.0 - tokens) / self.rate

    def _forget(self, now: float) -> None:
        """Drop keys whose bucket has refilled: they hold no information."""
        full = self.burst / self.rate
        self._at = {k: t for k, t in self._at.items() if now - t < full}
        self._tokens = {k: self._tokens[k] for k in self._at}
        self._limit = max(self.max_keys, 2 * len(self._at))


class PrefixCap:
    """At most `cap` counted reports per network prefix per service per window: a
    thousand reporter tokens from one network stand for a few people, not a crowd.

    A generic cell rate algorithm (one float per key, the theoretical arrival time):
    `cap` at once, then one per `window / cap`: `cap` a window over the long run, and
    never more than 2 * `cap` - 1 in any one window.

    >>> pc = PrefixCap(cap=2, window=3600)
    >>> [pc.allows("net", "aws", 0.0) and pc.note("net", "aws", 0.0) is None for _ in range(3)]
    [True, True, False]
    >>> pc.allows("net", "aws", 3600.0)
    True
    """

    def __init__(self, cap: int, window: float) -> None:
        self.cap = cap
        self.window = window
        self.interval = window / cap
        # key: prefix + " " + service. A key last noted more than a window ago has
        # its TAT in the past, so forgetting it by generations loses nothing.
        self._tat = Generations(window)

    def allows(self, prefix: str, service: str, now: float) -> bool:
        self._tat.advance(now)
        tat = self._tat.get(prefix + " " + service)
        return tat is None or tat - now <= self.window - self.interval

    def note(self, prefix: str, service: str, now: float) -> None:
        key = prefix + " " + service
        tat = self._tat.get(key)
        self._tat[key] = (now if tat is None else max(tat, now)) + self.interval

    def admit_many(
        self,
        prefixes: Column,
        services: Column,
        ts: Sequence[float] | pl.Series,
        verdicts: Sequence[bool] | npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """Batch form of what intake does for one report (app/intake.py: `allows`,
        dedup's verdict, `note` when it counts), in order: a report counts if dedup
        says so and its network is under the cap. A NATS worker counts this way, so
        the cap holds over every intake node. A missing prefix (None) is not capped.

        Vectorised as `Dedup.check_many` is: runs that see the same generations, each
        run's keys looked up and noted at once; only a key that comes back within its
        run (one network reporting a service again) is decided row by row, in order.

        >>> pc = PrefixCap(cap=2, window=3600)
        >>> pc.admit_many(["n", "n", "n", None], ["aws"] * 4, [0.0] * 4, [True] * 4).tolist()
        [True, True, False, True]
        >>> pc.admit_many(["m", "m", "m"], ["aws"] * 3, [1.0] * 3, [False, True, True]).tolist()
        [False, True, True]
        """
        out = np.array(verdicts, dtype=np.bool_)
        nets = pl.Series(prefixes, dtype=pl.String)
        capped = nets.is_not_null().to_numpy()
        if not capped.any():
            return out
        rows = np.flatnonzero(capped)
        what = pl.Series(services, dtype=pl.String)
        keys = (nets.filter(capped) + " " + what.filter(capped)).to_list()
        times = ts.to_numpy() if isinstance(ts, pl.Series) else np.asarray(ts)
        t = times.astype(np.float64)[rows]
        # Every capped row moves the generations as `allows` would; only a row that
        # dedup counts is looked up and noted.
        wanted = out[rows]
        for a, b in self._tat.runs(t):
            wanted[a:b] = self._run(keys[a:b], t[a:b], wanted[a:b])
        out[rows] = wanted
        return out

    def _run(
        self, keys: list[str], t: npt.NDArray[np.float64], wanted: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.bool_]:
        """Verdicts for rows that see the same generations (see `admit_many`)."""
        idx = np.flatnonzero(wanted)
        out = np.zeros(len(keys), dtype=np.bool_)
        if not len(idx):
            return out
        mine = pick(keys, idx)
        tt = t[idx]
        tat = self._tat.get_many(mine)  # NaN: not capped yet
        ok = np.isnan(tat) | (tat - tt <= self.window - self.interval)
        # Most runs hold each network and service once: those are decided together.
        again = None if len(set(mine)) == len(mine) else pl.Series(mine).is_duplicated().to_numpy()
        once = ok if again is None else ok & ~again
        after = np.fmax(tat, tt) + self.interval
        self._tat.set_many(zip(pick(mine, np.flatnonzero(once)), after[once].tolist(), strict=True))
        if again is not None:  # each row of a key seen more than once sees the one before
            seen: dict[str, float] = {}
            limit = self.window - self.interval
            for i in np.flatnonzero(again).tolist():
                key, ti = mine[i], float(tt[i])
                before = seen.get(key, float(tat[i]))
                ok[i] = before != before or before - ti <= limit  # NaN: not capped yet
                if ok[i]:
                    seen[key] = (ti if before != before else max(before, ti)) + self.interval
            self._tat.set_many(seen.items())
        out[idx] = ok
        return out


def network_prefix(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) a client address belongs to; itself if unparsable.

    >>> network_prefix("203.0.113.77"), network_prefix("2001:db8:1:2::5")
    ('203.0.113.0/24', '2001:db8:1::/48')
    """
    # Most clients are a plain dotted quad: its /24 by splitting, as ipaddress would
    # write it (no leading zeros, 0-255), at a tenth of ipaddress's cost per report.
    parts = address.split(".")
    if len(parts) == 4 and all(p in _OCTETS for p in parts):
        return f"{parts[0]}.{parts[1]}.{parts[2]}.0/24"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


# The canonical spellings of an octet, as ipaddress writes them ("0".."255").
_OCTETS = frozenset(str(i) for i in range(256))
