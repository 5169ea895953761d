#!/usr/bin/env python3
"""Regenerate scipy_peaks.json: find_peaks results of scipy on small seeded
series, used by tests/peaks_vs_scipy.rs. Run with numpy + scipy installed:
    python make_scipy_peaks.py > scipy_peaks.json
"""
import json
import sys

import numpy as np
import scipy
from scipy.signal import find_peaks, peak_prominences, peak_widths

rng = np.random.default_rng(20250601)
cases = []
for i in range(60):
    n = int(rng.integers(5, 48))
    if i % 3 == 0:
        x = rng.integers(0, 6, size=n).astype(float)  # plateaus and ties
    else:
        x = np.round(rng.normal(size=n).cumsum() + 3 * rng.normal(size=n), 3)
    rngx = float(x.max() - x.min())
    params = {
        "height": float(x.mean() + 0.2 * rngx) if i % 2 else None,
        "distance": int(rng.integers(1, 6)) if i % 4 else None,
        "prominence": float(0.3 * rngx) if i % 5 else None,
        "max_width": float(rng.uniform(1, 6)) if i % 3 else None,
    }
    all_peaks, _ = find_peaks(x)
    prom, lb, rb = peak_prominences(x, all_peaks)
    w, wh, lips, rips = peak_widths(x, all_peaks, rel_height=0.5, prominence_data=(prom, lb, rb))
    kw = {}
    if params["height"] is not None:
        kw["height"] = params["height"]
    if params["distance"] is not None:
        kw["distance"] = params["distance"]
    if params["prominence"] is not None:
        kw["prominence"] = params["prominence"]
    if params["max_width"] is not None:
        kw["width"] = (None, params["max_width"])
    filtered, _ = find_peaks(x, **kw)
    cases.append({
        "x": x.tolist(),
        "peaks": all_peaks.tolist(),
        "prominences": prom.tolist(),
        "left_bases": lb.tolist(),
        "right_bases": rb.tolist(),
        "widths": w.tolist(),
        "left_ips": lips.tolist(),
        "right_ips": rips.tolist(),
        "params": params,
        "filtered": filtered.tolist(),
    })
json.dump({"scipy": scipy.__version__, "cases": cases}, sys.stdout, indent=None)
print()
