#!/usr/bin/env python3
"""Python reference of wearlang's hierarchical captioning, for the benchmark.

The same algorithm as crates/captioning (statistical, structural and semantic
levels with the reference constants; see docs/captioning.md), written the way
a numpy/scipy pipeline would write it: numpy nan-aware statistics,
`scipy.stats.linregress` for every trend window and `scipy.signal.find_peaks`
for spikes and drops. Inputs are the benchmark days of
`wearlang_captioning::bench_input` (same closed formulas, regenerated here
with numpy), or a .npy array of shape (days, 1440, 34) with NaN for missing.

Usage:
    python reference_caption.py [--days N] [--repeat R] [--npy FILE]
    python reference_caption.py --dump DAY   # JSON of trends/anomalies

Prints captions per second (one caption = one day, variant high+middle+low)
as `python_captions_per_second=<x>`.
"""
import argparse
import json
import math
import random
import sys
import time
import warnings

import numpy as np
from scipy.signal import find_peaks
from scipy.stats import linregress

MINUTES = 1440
CHANNELS = [
    ("heart_rate", "bpm", "Heart"), ("resting_heart_rate", "bpm", "Heart"),
    ("hrv_rmssd", "ms", "Heart"), ("hrv_sdnn", "ms", "Heart"),
    ("rr_interval", "ms", "Heart"), ("hr_zone", "", "Heart"),
    ("steps", "count", "Activity"), ("activity_intensity", "METs", "Activity"),
    ("calories", "kcal", "Activity"), ("distance", "m", "Activity"),
    ("floors", "count", "Activity"), ("active_minutes", "min", "Activity"),
    ("cadence", "spm", "Activity"), ("sedentary_minutes", "min", "Activity"),
    ("vo2_estimate", "ml/kg/min", "Activity"), ("met_minutes", "MET-min", "Activity"),
    ("sleep", "", "Sleep"), ("sleep_stage", "", "Sleep"),
    ("sleep_probability", "", "Sleep"), ("sleep_movement", "", "Sleep"),
    ("skin_temperature", "°C", "Temperature"), ("wrist_temperature", "°C", "Temperature"),
    ("ambient_temperature", "°C", "Temperature"),
    ("eda_level", "µS", "EDA"), ("eda_tonic", "µS", "EDA"), ("eda_phasic", "µS", "EDA"),
    ("scr_count", "count", "EDA"), ("scr_amplitude", "µS", "EDA"), ("eda_slope", "µS/min", "EDA"),
    ("acc_x", "g", "Motion"), ("acc_y", "g", "Motion"), ("acc_z", "g", "Motion"),
    ("acc_magnitude", "g", "Motion"), ("gyro_magnitude", "rad/s", "Motion"),
]
GROUP_ORDER = ["Heart", "Activity", "Sleep", "Motion", "Temperature", "EDA", "Other"]

# Reference constants (docs/captioning.md).
N_BINS = 36
WINDOWS = [(6, 1.5), (8, 1.3), (12, 1.0)]
SLOPE_DIVISOR = 40.0
OVERLAP = 0.5
MIN_CHANGE = 0.2
STABLE_SLOPE = 0.01
STABLE_RANGE = 0.1
MAX_TRENDS = 3
MAX_OVERLAP = 0.3
MIN_COVERAGE = 0.5
PROMINENCE = 0.5
HEIGHT = 0.6
DISTANCE = 5
MAX_WIDTH = 4.0
MAX_INSIGHTS = 7
BASE_PER_GROUP, EXTRA_PER_GROUP = 3, 1
MIN_ACTIVITY_MIN, MAX_ACTIVITIES, MAX_SLEEP = 20.0, 8, 2

STAT_T = [
    "The average {channel} was {mean}{u}, ranging from {min}{u} to {max}{u} with a standard deviation of {std}.",
    "{channel} averaged {mean}{u} (min {min}, max {max}, std {std}).",
    "{channel}: mean {mean}{u}, maximum {max}{u}, minimum {min}{u}, standard deviation {std}.",
]
TREND_T = ["{channel} showed {trend} from minute {start} to minute {end}.",
           "Between minutes {start} and {end}, {channel} displayed {trend}."]
TREND_P = {"increasing": ["an increasing trend", "an upward trend"],
           "decreasing": ["a decreasing trend", "a downward trend"],
           "stable": ["a stable pattern", "a flat trend"]}
ANOM_T = ["{channel} showed {anomaly} around minute {time}.",
          "At minute {time}, {channel} had {anomaly}."]
ANOM_P = {"spike": ["a spike", "a sharp peak"], "drop": ["a drop", "a sharp dip"]}
ACT_T = "{activity} was detected between minutes {start} and {end}."
SLEEP_T = "Sleep was recorded from minute {start} to minute {end}."
MOOD_T = "A mood of {mood} was logged at minute {time}."

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(x):
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def uniform(day, c, t, salt):
    with np.errstate(over="ignore"):
        k = (np.uint64(day) * np.uint64(1000003) + c.astype(np.uint64) * np.uint64(10007)
             + t.astype(np.uint64) + np.uint64(salt) * np.uint64(0x10000000))
    return (splitmix64(k) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def bench_day(day):
    """Values (1440, 34) float32 with NaN, and events, as bench_input::day."""
    t = np.arange(MINUTES, dtype=np.int64)[:, None]
    c = np.arange(len(CHANNELS), dtype=np.int64)[None, :]
    t, c = np.broadcast_arrays(t, c)
    base = 10.0 + 5.0 * c
    amp = 1.0 + (c % 7)
    phase = 2.0 * math.pi * t / MINUTES + 0.7 * c + 0.3 * day
    v = base + amp * np.sin(phase) + 0.3 * amp * (uniform(day, c, t, 0) - 0.5)
    v = np.where(uniform(day, c, t, 1) < 0.002, v + 40.0 * amp, v)
    v = np.where((t + 97 * day + 31 * c) % 720 < 45, np.nan, v)
    m = 60.0
    run = 300 + (17 * day) % 200
    events = [("sleep", "sleep", 0.0, 360 * m), ("activity", "running", run * m, (run + 35) * m),
              ("activity", "walking", 700 * m, 725 * m), ("activity", "cycling", 900 * m, 910 * m),
              ("mood", "happy", 600 * m, 600 * m), ("sleep", "sleep", 1380 * m, 1440 * m)]
    return v.astype(np.float32), events


def fmt(x, d=1):
    s = f"{x:.{d}f}"
    return s[1:] if s.startswith("-") and set(s[1:]) <= set("0.") else s


def fill(template, **slots):
    s = template.format(**slots)
    return s[0].upper() + s[1:]


def downsample(x, n_bins):
    n = len(x)
    nb = max(1, min(n_bins, n))
    bounds = [i * n // nb for i in range(nb + 1)]
    if n % nb == 0:
        bins = np.nanmean(x.reshape(nb, n // nb), axis=1)
    else:
        bins = np.array([np.nanmean(x[bounds[i]:bounds[i + 1]]) for i in range(nb)])
    return bins, bounds


def classify(series, lo, hi, factor, rng_):
    idx = np.arange(lo, hi + 1)
    y = series[lo:hi + 1]
    ok = np.isfinite(y)
    n, width = int(ok.sum()), hi - lo + 1
    if n < 2 or n < MIN_COVERAGE * width:
        return None
    fit = linregress(idx[ok].astype(float), y[ok])
    slope = fit.slope
    change = slope * (width - 1)
    wr = float(np.max(y[ok]) - np.min(y[ok]))
    if rng_ <= 0:
        return ("stable", slope, change)
    if abs(slope) > factor * rng_ / SLOPE_DIVISOR and abs(change) > MIN_CHANGE * rng_:
        return ("increasing" if slope > 0 else "decreasing", slope, change)
    if abs(slope) < STABLE_SLOPE * rng_ and wr < STABLE_RANGE * rng_:
        return ("stable", slope, change)
    return None


def analyse(x):
    """Trends [(dir, lo, hi)] and anomalies [(kind, bin)] of one channel."""
    bins, bounds = downsample(x, N_BINS)
    observed = np.flatnonzero(np.isfinite(bins))
    if len(observed) < 2:
        return [], [], bounds
    xs = bins[observed]
    rng_ = float(xs.max() - xs.min())
    mean = float(xs.mean())
    fit = bins.copy()
    anomalies = []
    if rng_ > 0:
        for kind, s in (("spike", xs), ("drop", -xs)):
            h = (mean if kind == "spike" else -mean) + HEIGHT * rng_
            peaks, props = find_peaks(s, height=np.nextafter(h, np.inf), distance=DISTANCE,
                                      prominence=PROMINENCE * rng_, width=(None, MAX_WIDTH),
                                      rel_height=0.5)
            for p, l, r in zip(peaks, props["left_ips"], props["right_ips"]):
                anomalies.append((kind, int(observed[p])))
                lo, hi = int(math.ceil(l)), min(int(math.floor(r)), len(xs) - 1)
                for j in range(lo, max(hi, lo) + 1):
                    fit[observed[j]] = np.nan
        anomalies.sort(key=lambda a: a[1])
    nb = len(bins)
    cands = []
    for w, f in WINDOWS:
        if w > nb:
            continue
        step = max(1, int(math.floor(w * (1 - OVERLAP) + 0.5)))
        for start in range(0, nb - w + 1, step):
            c = classify(fit, start, start + w - 1, f, rng_)
            if c:
                cands.append((c[0], start, start + w - 1, c[1]))

    def key(t):
        # Steepest first (|slope| / range in 1e-9 units), then longer, then earlier.
        if t[0] == "stable":
            return (1, 0, -(t[2] - t[1]), t[1])
        steep = int(math.floor(abs(t[3]) / rng_ * 1e9 + 0.5)) if rng_ > 0 else 0
        return (0, -steep, -(t[2] - t[1]), t[1])

    cands.sort(key=key)

    def overlap(a, b):
        lo, hi = max(a[1], b[1]), min(a[2], b[2])
        if hi < lo:
            return 0.0
        return (hi - lo + 1) / min(a[2] - a[1] + 1, b[2] - b[1] + 1)

    kept = []
    for t in cands:
        if len(kept) >= MAX_TRENDS:
            break
        if all(overlap(k, t) < MAX_OVERLAP for k in kept):
            kept.append(t)
    kept.sort(key=lambda t: t[1])
    factor = max(WINDOWS)[1]
    merged = []
    for t in kept:
        if merged and merged[-1][0] == t[0] and t[1] <= merged[-1][2] + 1:
            end = max(t[2], merged[-1][2])
            c = classify(fit, merged[-1][1], end, factor, rng_)
            if c and c[0] == t[0]:
                merged[-1] = (t[0], merged[-1][1], end, c[2])
                continue
        merged.append(t)
    return [(t[0], t[1], t[2]) for t in merged], anomalies, bounds


def grouped():
    groups = {}
    for i, (_, _, g) in enumerate(CHANNELS):
        groups.setdefault(g, []).append(i)
    order = sorted(groups, key=lambda g: GROUP_ORDER.index(g) if g in GROUP_ORDER else 99)
    return [(g, groups[g]) for g in order]


def name(c):
    return CHANNELS[c][0].replace("_", " ")


def caption(values, events, rnd):
    """high+middle+low caption of one day (values: (1440, C), NaN = missing)."""
    mps = 1.0  # one sample per minute
    out = []
    # High: events >= 20 min (up to 8), sleep (up to 2), moods; ascending duration.
    acts = sorted([e for e in events if e[0] == "activity" and e[3] - e[2] >= MIN_ACTIVITY_MIN * 60],
                  key=lambda e: (e[3] - e[2], e[2]))[:MAX_ACTIVITIES]
    sleeps = sorted([e for e in events if e[0] == "sleep"], key=lambda e: (e[3] - e[2], e[2]))[:MAX_SLEEP]
    moods = [e for e in events if e[0] == "mood"]
    for e in sorted(acts + sleeps + moods, key=lambda e: (e[3] - e[2], e[2])):
        a, b = str(round(e[2] / 60)), str(round(e[3] / 60))
        if e[0] == "activity":
            out.append(fill(ACT_T, activity=e[1], start=a, end=b))
        elif e[0] == "sleep":
            out.append(fill(SLEEP_T, start=a, end=b))
        else:
            out.append(fill(MOOD_T, mood=e[1], time=a))
    # Middle.
    for _, members in grouped():
        per = []
        for c in members:
            trends, anomalies, bounds = analyse(values[:, c].astype(np.float64))
            items = [("t", c, t) for t in trends] + [("a", c, a) for a in anomalies]
            per.append(items)
        chosen, rnd_i = [], 0
        while len(chosen) < MAX_INSIGHTS:
            anyone = False
            for items in per:
                if rnd_i < len(items):
                    anyone = True
                    if len(chosen) < MAX_INSIGHTS:
                        chosen.append(items[rnd_i])
            if not anyone:
                break
            rnd_i += 1
        for kind, c, item in chosen:
            if kind == "t":
                d, lo, hi = item
                out.append(fill(rnd.choice(TREND_T), channel=name(c), trend=rnd.choice(TREND_P[d]),
                                start=str(round(bounds[lo] * mps)), end=str(round(bounds[hi + 1] * mps))))
            else:
                k, b = item
                out.append(fill(rnd.choice(ANOM_T), channel=name(c), anomaly=rnd.choice(ANOM_P[k]),
                                time=str(round(bounds[b + 1] * mps))))
    # Low.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        for _, members in grouped():
            chosen = members[:BASE_PER_GROUP]
            rest = members[BASE_PER_GROUP:]
            chosen += rnd.sample(rest, min(EXTRA_PER_GROUP, len(rest)))
            for c in sorted(chosen):
                x = values[:, c].astype(np.float64)
                if not np.isfinite(x).any():
                    out.append(f"No {name(c)} data was observed.")
                    continue
                u = f" {CHANNELS[c][1]}" if CHANNELS[c][1] else ""
                out.append(fill(rnd.choice(STAT_T), channel=name(c), u=u,
                                mean=fmt(np.nanmean(x)), max=fmt(np.nanmax(x)),
                                min=fmt(np.nanmin(x)), std=fmt(np.nanstd(x))))
    return " ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--npy", help="array (days, 1440, 34), NaN = missing")
    ap.add_argument("--dump", type=int, help="print trends/anomalies of this day as JSON")
    ap.add_argument("--print", dest="show", action="store_true", help="print the first caption")
    args = ap.parse_args()
    warnings.simplefilter("ignore", category=RuntimeWarning)
    if args.dump is not None:
        values, _ = bench_day(args.dump)
        res = []
        for c in range(values.shape[1]):
            trends, anomalies, _ = analyse(values[:, c].astype(np.float64))
            res.append({"trends": [list(t) for t in trends], "anomalies": [list(a) for a in anomalies]})
        json.dump(res, sys.stdout)
        print()
        return
    if args.npy:
        arr = np.load(args.npy)
        days = [(arr[i], []) for i in range(arr.shape[0])]
    else:
        days = [bench_day(d) for d in range(args.days)]
    rnd = random.Random(0)
    best = math.inf
    first = None
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        for values, events in days:
            text = caption(values, events, rnd)
            first = first or text
        best = min(best, time.perf_counter() - t0)
    if args.show:
        print(first)
    print(f"python_days={len(days)}")
    print(f"python_seconds_per_caption={best / len(days):.6f}")
    print(f"python_captions_per_second={len(days) / best:.2f}")


if __name__ == "__main__":
    main()
