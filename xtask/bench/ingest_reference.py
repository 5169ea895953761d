#!/usr/bin/env python3
"""Reference ingestion in pandas + numpy + pyarrow, for `cargo xtask bench ingest`.

Does the work `wearlang ingest` does on a wide CSV, the way one would write it
with the usual Python tools:

1. read the CSV with pandas (channels as float32, string columns as
   categoricals),
2. per recording: sort by timestamp, put the samples onto the target-rate
   grid from the first to the last timestamp (a sample on a grid point is
   taken as is; between two samples at most --max-interp-gap-s apart the
   value is interpolated linearly; elsewhere it is NaN, i.e. missing; a grid
   point without a sample keeps the label only if both neighbours agree),
3. cut windows of --size-s with --overlap, compute each window's missing
   fraction and mask, drop windows whose samples carry different labels
   (unlabelled counting as a label of its own) and windows without any
   observed value (as `wearlang ingest` does),
4. split subject-wise (--train / --val fractions of the sorted, shuffled
   subjects), fit per-channel mean / std on the training windows,
5. write one Parquet row per window (subject, recording, start_ms, label,
   split, missing fraction, values and mask as fixed-size lists; zstd), with
   the normalisation statistics in the file's key-value metadata.

Prints the number of windows written.
"""

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="wide CSV")
    ap.add_argument("--out", required=True, help="output Parquet file")
    ap.add_argument("--channels", required=True, help="comma-separated channel columns")
    ap.add_argument("--time-col", default="timestamp", help="timestamp column, in ms")
    ap.add_argument("--subject-col", default="subject")
    ap.add_argument("--recording-col", default="recording")
    ap.add_argument("--label-col", default="label")
    ap.add_argument("--rate-hz", type=float, default=50.0)
    ap.add_argument("--size-s", type=float, default=2.0)
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("--max-interp-gap-s", type=float, default=0.1)
    ap.add_argument("--train", type=float, default=0.6)
    ap.add_argument("--val", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args()


def to_grid(ts, values, codes, step, max_gap):
    """Resample one recording onto the grid t0 + k * step.

    ts: sorted int64 ms; values: (n, C) float32 with NaN for missing cells;
    codes: (n,) int label codes. Returns grid values (m, C) and codes (m,)
    (-1 where a grid point has no sample)."""
    t0 = ts[0]
    m = int((ts[-1] - t0) // step) + 1
    grid = t0 + np.arange(m, dtype=np.float64) * step
    left = np.searchsorted(ts, grid, side="right") - 1
    right = np.minimum(left + 1, len(ts) - 1)
    tl = ts[left].astype(np.float64)
    tr = ts[right].astype(np.float64)
    exact = tl == grid
    bridge = ~exact & (tr > tl) & (tr - tl <= max_gap)
    frac = np.where(bridge, (grid - tl) / np.where(tr > tl, tr - tl, 1.0), 0.0)
    vl = values[left]
    vr = values[right]
    out = np.full((m, values.shape[1]), np.nan, dtype=np.float32)
    out[exact] = vl[exact]
    f = frac[bridge, None].astype(np.float32)
    out[bridge] = vl[bridge] * (1 - f) + vr[bridge] * f
    # A grid point without a sample keeps the label only if both neighbours agree.
    same = codes[left] == codes[right]
    grid_codes = np.where(exact | same, codes[left], -1)
    return out, grid_codes


def main():
    args = parse_args()
    started = time.perf_counter()
    channels = args.channels.split(",")
    step = 1000.0 / args.rate_hz
    max_gap = args.max_interp_gap_s * 1000.0 + 1e-6
    win = int(round(args.size_s * args.rate_hz))
    hop = max(1, int(round(win * (1 - args.overlap))))

    dtypes = {c: "float32" for c in channels}
    dtypes.update({args.time_col: "int64", args.subject_col: "category",
                   args.recording_col: "category", args.label_col: "category"})
    df = pd.read_csv(args.input, usecols=[args.time_col, args.subject_col, args.recording_col,
                                          args.label_col] + channels, dtype=dtypes)
    read_s = time.perf_counter() - started
    label_names = list(df[args.label_col].cat.categories)

    # Subject-wise split: sorted subjects shuffled with the seed, cut by ratio.
    subjects = sorted(df[args.subject_col].cat.categories)
    rng = np.random.default_rng(args.seed)
    order = [subjects[i] for i in rng.permutation(len(subjects))]
    n_train = int(round(args.train * len(order)))
    n_val = int(round(args.val * len(order)))
    split_of = {s: ("train" if i < n_train else "val" if i < n_train + n_val else "test")
                for i, s in enumerate(order)}

    schema = pa.schema([
        ("subject", pa.string()), ("recording", pa.string()), ("start_ms", pa.int64()),
        ("label", pa.string()), ("split", pa.string()), ("missing_fraction", pa.float32()),
        ("values", pa.list_(pa.float32(), win * len(channels))),
        ("mask", pa.list_(pa.bool_(), win * len(channels))),
    ])
    writer = pq.ParquetWriter(args.out, schema, compression="zstd")
    total = 0
    n_sum = np.zeros(len(channels))
    s_sum = np.zeros(len(channels))
    ss_sum = np.zeros(len(channels))
    offsets = np.arange(win)
    groups = df.groupby([args.subject_col, args.recording_col], sort=False, observed=True)
    for (subject, recording), g in groups:
        g = g.sort_values(args.time_col, kind="stable")
        ts = g[args.time_col].to_numpy()
        values = g[channels].to_numpy(dtype=np.float32)
        codes = g[args.label_col].cat.codes.to_numpy().astype(np.int64)
        grid, grid_codes = to_grid(ts, values, codes, step, max_gap)
        m = len(grid)
        if m < win:
            continue
        starts = np.arange((m - win) // hop + 1) * hop
        idx = starts[:, None] + offsets[None, :]
        wv = grid[idx]                      # (w, win, C)
        wc = grid_codes[idx]                # (w, win)
        # A window keeps its label when all its samples carry the same one
        # (unlabelled counts as a label of its own); mixed windows are dropped.
        lab_hi = wc.max(axis=1)
        keep = wc.min(axis=1) == lab_hi
        wv, lab_hi, starts = wv[keep], lab_hi[keep], starts[keep]
        if len(wv) == 0:
            continue
        mask = np.isnan(wv)
        missing = mask.reshape(len(wv), -1).mean(axis=1).astype(np.float32)
        # A window without any observed value is never kept.
        seen = missing < 1.0
        wv, lab_hi, starts, mask, missing = (
            wv[seen], lab_hi[seen], starts[seen], mask[seen], missing[seen])
        if len(wv) == 0:
            continue
        split = split_of[subject]
        if split == "train":
            obs = ~mask
            n_sum += obs.sum(axis=(0, 1))
            s_sum += np.where(obs, wv, 0).sum(axis=(0, 1), dtype=np.float64)
            ss_sum += np.where(obs, wv.astype(np.float64) ** 2, 0).sum(axis=(0, 1))
        k = len(wv)
        flat_v = pa.array(wv.reshape(-1), pa.float32())
        flat_m = pa.array(mask.reshape(-1), pa.bool_())
        table = pa.table({
            "subject": pa.array([str(subject)] * k, pa.string()),
            "recording": pa.array([str(recording)] * k, pa.string()),
            "start_ms": pa.array((ts[0] + starts * step).astype(np.int64), pa.int64()),
            "label": pa.array([label_names[c] if c >= 0 else None for c in lab_hi], pa.string()),
            "split": pa.array([split] * k, pa.string()),
            "missing_fraction": pa.array(missing, pa.float32()),
            "values": pa.FixedSizeListArray.from_arrays(flat_v, win * len(channels)),
            "mask": pa.FixedSizeListArray.from_arrays(flat_m, win * len(channels)),
        }, schema=schema)
        writer.write_table(table)
        total += k

    mean = s_sum / np.maximum(n_sum, 1)
    std = np.sqrt(np.maximum(ss_sum / np.maximum(n_sum, 1) - mean ** 2, 0))
    writer.add_key_value_metadata({"normalisation": json.dumps({"mean": mean.tolist(), "std": std.tolist()})})
    writer.close()
    print(f"reference: {total} windows from {groups.ngroups} recordings "
          f"(read {read_s:.1f} s, total {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    print(total)


if __name__ == "__main__":
    main()
