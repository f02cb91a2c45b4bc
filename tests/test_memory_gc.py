"""The per-reporter memories grow with the crowd (millions of entries on outage day).

Python's cyclic garbage collector stops every thread while a full pass walks every
tracked container; with tuple keys these memories made each pass ~100 ms at 200k
entries (the p99 of every request). Kept as dicts of strings and floats, they are
never tracked, so the passes do not grow with the crowd.
"""

from __future__ import annotations

import gc

from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.generations import Generations
from outagewatch.ingest.limits import PrefixCap, TokenBuckets


def tracked_in(obj: object) -> list[object]:
    """Dicts the collector walks, in `obj` or the Generations it holds."""
    out: list[object] = []
    for value in vars(obj).values():
        if isinstance(value, dict) and gc.is_tracked(value):
            out.append(value)
        elif isinstance(value, Generations):
            out += tracked_in(value)
    return out


def test_crowd_memories_stay_out_of_the_collector() -> None:
    dedup = Dedup(3600)
    rate = TokenBuckets(rate=0.1, burst=5, max_keys=500)  # small: _forget runs too
    cap = PrefixCap(cap=3, window=3600)
    before = len(gc.get_objects())
    for i in range(2_000):
        t = float(i)
        reporter, service, prefix = f"r{i}", f"svc-{i % 50}", f"10.0.{i % 200}"
        dedup.check(reporter, service, t, alias=f"old-{i}")
        rate.take(reporter, t)
        if cap.allows(prefix, service, t):
            cap.note(prefix, service, t)
    dedup.sweep(9_000.0)  # two windows on: both generations go
    dedup.restore(["a", "b"], ["aws", "aws"], [8_999.0, 8_999.0])
    assert len(dedup) == 2
    for memory in (dedup, rate, cap):
        assert tracked_in(memory) == [], type(memory).__name__
    # Nothing the collector walks was left behind per entry either.
    assert len(gc.get_objects()) - before < 100


def test_dedup_restore_remembers() -> None:
    again = Dedup(3600)
    again.restore(["tok-1", "tok-2"], ["aws", "netflix"], [10.0, 20.0])
    assert len(again) == 2
    assert not again.check("tok-1", "aws", 100.0)
    assert again.check("tok-1", "netflix", 100.0)


def test_prefix_cap_holds_the_window() -> None:
    cap = PrefixCap(cap=4, window=3600)
    times = []
    for minute in range(120):  # one report a minute from one network for two hours
        t = minute * 60.0
        if cap.allows("net", "aws", t):
            cap.note("net", "aws", t)
            times.append(t)
    # 4 at once, then one per window / cap (15 minutes).
    assert times == [0.0, 60.0, 120.0, 180.0, *(900.0 * k for k in range(1, 8))]
    assert max(sum(1 for u in times if t <= u < t + 3600) for t in times) <= 2 * 4 - 1
    assert cap.allows("other-net", "aws", 7200.0)


def test_dedup_generations_forget_only_what_is_older_than_a_window() -> None:
    d = Dedup(100)
    assert d.check("a", "aws", 0.0)
    assert d.check("b", "aws", 90.0)
    assert not d.check("b", "aws", 150.0)  # rotated at 150: b (90) is kept
    assert d.check("a", "aws", 150.0)  # a was a window ago: counts again
    assert not d.check("a", "aws", 249.0) and not d.check("b", "aws", 189.0)
    assert d.check("b", "aws", 190.0)
    assert len(d) == 2
    d.sweep(250.0)  # rotated again: the generation of 0..150 is gone
    assert not d.check("a", "aws", 249.9)  # a's count at 150 is still remembered


def test_rate_memory_forgets_in_amortised_rounds() -> None:
    rate = TokenBuckets(rate=1.0, burst=100.0, max_keys=1_000)  # refilled after 100 s
    for i in range(10_000):  # 10x max_keys live keys: all still refilling
        rate.take(f"k{i}", i * 0.001)
    # The memory doubled its limit instead of being rebuilt on every request.
    assert rate._limit >= 2 * 1_000
    assert len(rate._at) == 10_000
    assert rate.take("k0", 10.0)[0]
