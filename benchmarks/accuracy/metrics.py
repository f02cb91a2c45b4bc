"""Accuracy metrics of a feed ({"outages": [...]}) against labels.json.

Matching rules:
- recall: a label is found when an incident of the same service and region (a
  service-wide label needs a region-null incident) reaching the level overlaps
  [start, end + 30 min] (incident span: started_at/opened_at .. ended_at or open).
- false incidents: incidents (opened after the warm-up) matching no incident label;
  an incident matches a label of its service when the regions are equal or either is
  service-wide (a global outage shows in every region; a regional one in the total).
- per series-week: series = distinct (service, region) pairs incl. service-wide ones
  in the data; weeks = data span minus the warm-up days.
- delays (surges): labels at >= 10x and every cascade dependant (whatever its
  multiplier), but not the multi-day slow shapes (judged on their own, below).
- resolve lag: latest resolved_at of the matching incidents minus the labelled end,
  for found labels that are not multi-day slow shapes (minutes).
- slow burn: passes when confirmed as an outage in at most one incident per
  working day of the label.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

GRACE = 30 * 60
LEVELS = {"possible": 1, "outage": 2}


def ts(s: str | None) -> float | None:
    if s is None:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _span(inc: dict[str, Any]) -> tuple[float, float]:
    a = ts(inc.get("opened_at")) or ts(inc.get("started_at"))
    s = ts(inc.get("started_at"))
    lo = min(a, s) if a is not None and s is not None else (a or s or 0.0)
    end = ts(inc.get("ended_at"))
    return lo, end if end is not None else float("inf")


def _overlaps(inc: dict[str, Any], lab: dict[str, Any]) -> bool:
    lo, hi = _span(inc)
    return lo <= ts(lab["end"]) + GRACE and hi >= ts(lab["start"])  # type: ignore[operator]


def _recall_match(inc: dict[str, Any], lab: dict[str, Any], level: str) -> bool:
    return (
        inc["service"] == lab["service"]
        and inc.get("region") == lab["region"]
        and LEVELS.get(inc.get("level", ""), 0) >= LEVELS[level]
        and _overlaps(inc, lab)
    )


def _loose_match(inc: dict[str, Any], lab: dict[str, Any]) -> bool:
    if lab["service"] not in (inc["service"], "*"):
        return False
    r, lr = inc.get("region"), lab["region"]
    return (r is None or lr is None or r == lr) and _overlaps(inc, lab)


SLOW = ("slow_degradation", "slow_burn")


def is_surge(lab: dict[str, Any]) -> bool:
    if lab["shape"] in SLOW:
        return False
    return (lab["multiplier"] or 0) >= 10 or lab["shape"] == "cascade_dependant"


def _q(xs: list[float], q: float) -> float | None:
    return float(np.percentile(xs, q)) if xs else None


def compute(
    labels: list[dict[str, Any]],
    feed: dict[str, Any],
    *,
    series: int,
    data_start: str,
    data_end: str,
    warmup_days: int = 7,
) -> dict[str, Any]:
    incidents = feed["outages"]
    warm_end = ts(data_start) + warmup_days * 86400  # type: ignore[operator]
    weeks = max((ts(data_end) - warm_end) / (7 * 86400), 1e-9)  # type: ignore[operator]
    inc_labels = [lab for lab in labels if lab["kind"] == "incident"]
    traps = [lab for lab in labels if lab["kind"] == "trap"]
    outage_labels = [lab for lab in inc_labels if lab["expected_level"] == "outage"]

    found_outage = [
        lab for lab in outage_labels if any(_recall_match(i, lab, "outage") for i in incidents)
    ]
    found_possible = [
        lab for lab in inc_labels if any(_recall_match(i, lab, "possible") for i in incidents)
    ]

    open_delays: list[float] = []
    conf_delays: list[float] = []
    frag: list[int] = []
    end_err: list[float] = []
    resolve_lag: list[float] = []
    dep_delays: list[float] = []
    dep_split: dict[bool, list[float]] = {True: [], False: []}  # declared or not
    slow_burn: list[dict[str, Any]] = []
    per_label: list[dict[str, Any]] = []
    for lab in inc_labels:
        hits = [i for i in incidents if _recall_match(i, lab, "possible")]
        row = {k: lab[k] for k in ("shape", "service", "region", "start", "multiplier")}
        row["expected_level"] = lab["expected_level"]
        if "declared" in lab:  # a cascade dependant: does the catalog say it runs on the provider?
            row["declared"] = lab["declared"]
        row["found_level"] = max((i["level"] for i in hits), key=LEVELS.get, default=None)
        row["open_delay_buckets"] = row["confirm_delay_buckets"] = None
        row["incidents"] = len(hits)
        row["resolve_lag_min"] = None
        if hits:
            frag.append(len(hits))
            start = ts(lab["start"])
            opened = min(ts(i["opened_at"]) for i in hits)  # type: ignore[type-var]
            row["open_delay_buckets"] = (opened - start) // 60  # type: ignore[operator]
            confs = [ts(i["confirmed_at"]) for i in hits if i.get("confirmed_at")]
            if confs:
                row["confirm_delay_buckets"] = (min(confs) - start) // 60  # type: ignore
            if is_surge(lab):
                open_delays.append(row["open_delay_buckets"])
                if row["confirm_delay_buckets"] is not None:
                    conf_delays.append(row["confirm_delay_buckets"])
                    if lab["shape"] == "cascade_dependant":
                        dep_delays.append(row["confirm_delay_buckets"])
                        dep_split[bool(lab.get("declared"))].append(row["confirm_delay_buckets"])
            ends = [ts(i["ended_at"]) for i in hits if i.get("ended_at")]
            if ends:
                end_err.append(abs(max(ends) - ts(lab["end"])) / 60)  # type: ignore
            resolved = [ts(i["resolved_at"]) for i in hits if i.get("resolved_at")]
            if resolved and len(resolved) == len(hits):
                row["resolve_lag_min"] = (max(resolved) - ts(lab["end"])) / 60  # type: ignore
                if lab["shape"] not in SLOW:
                    resolve_lag.append(row["resolve_lag_min"])
        if lab["shape"] == "slow_burn":
            first = ts(lab["start"])
            days = round((ts(lab["end"]) - first) / 86400) + 1  # type: ignore
            # A working day is covered when an outage of this series is open during it.
            covered = 0
            for d in range(days):
                a = first + d * 86400  # type: ignore[operator]
                b = a + 8 * 3600
                covered += any(
                    i["level"] == "outage"
                    and (ts(i.get("confirmed_at")) or 0) < b
                    and _span(i)[1] >= a
                    for i in hits
                )
            ok = row["found_level"] == "outage" and covered == days and len(hits) <= days
            slow_burn.append({"service": lab["service"], "incidents": len(hits),
                              "working_days": days, "days_in_outage": covered,
                              "found_level": row["found_level"],
                              "confirm_delay_buckets": row["confirm_delay_buckets"],
                              "pass": ok})  # fmt: skip
        per_label.append(row)
    surge_labels = [lab for lab in inc_labels if is_surge(lab)]
    unconfirmed = len(surge_labels) - len(conf_delays)

    false = [
        i
        for i in incidents
        if (ts(i["opened_at"]) or 0) >= warm_end
        and not any(_loose_match(i, lab) for lab in inc_labels)
    ]
    false_outage = [i for i in false if i.get("level") == "outage"]
    on_traps: dict[str, int] = {}
    for lab in traps:
        on_traps.setdefault(lab["shape"], 0)
        on_traps[lab["shape"]] += sum(1 for i in false if _loose_match(i, lab))

    return {
        "outage_labels": len(outage_labels),
        "recall_outage": len(found_outage) / len(outage_labels) if outage_labels else None,
        "incident_labels": len(inc_labels),
        "recall_possible": len(found_possible) / len(inc_labels) if inc_labels else None,
        "surge_labels": len(surge_labels),
        "open_delay_median": _q(open_delays, 50),
        "open_delay_p90": _q(open_delays, 90),
        "confirm_delay_median": _q(conf_delays, 50),
        "confirm_delay_p90": _q(conf_delays, 90),
        "surges_never_confirmed": unconfirmed,
        "false_outage_per_series_week": len(false_outage) / (series * weeks),
        "false_possible_per_series_week": len(false) / (series * weeks),
        "false_outage": len(false_outage),
        "false_any": len(false),
        "fragmentation": float(np.mean(frag)) if frag else None,
        "end_error_median_min": _q(end_err, 50),
        "resolve_lag_median_min": _q(resolve_lag, 50),
        "resolve_lag_p90_min": _q(resolve_lag, 90),
        "dependant_confirm_delay_median": _q(dep_delays, 50),
        "dependant_confirm_delay_p90": _q(dep_delays, 90),
        "dependant_labels": sum(1 for lab in inc_labels if lab["shape"] == "cascade_dependant"),
        # Dependants the scenario's catalog declares as running on the provider, and the rest.
        "declared_dependant_labels": sum(
            1 for lab in inc_labels if lab["shape"] == "cascade_dependant" and lab.get("declared")
        ),
        "declared_dependant_confirm_delay_median": _q(dep_split[True], 50),
        "declared_dependant_confirm_delay_p90": _q(dep_split[True], 90),
        "undeclared_dependant_confirm_delay_median": _q(dep_split[False], 50),
        "undeclared_dependant_confirm_delay_p90": _q(dep_split[False], 90),
        "slow_burn": slow_burn,
        "traps_pass": {
            **{k: v == 0 for k, v in on_traps.items()},
            **({"slow_burn": all(x["pass"] for x in slow_burn)} if slow_burn else {}),
        },
        "false_on_traps": on_traps,
        "series": series,
        "weeks": weeks,
        "per_label": per_label,
        "false_incidents": false,
    }
