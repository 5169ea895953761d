//! Files whose recordings interleave: a logger that writes the rows of
//! several subjects in time order. Without `columns.interleaved` such a file
//! is refused naming the row and the option; with it, each recording is
//! gathered from wherever its rows are, and the store equals the one of the
//! same rows grouped by recording, in CSV, Parquet and Arrow IPC alike.
mod common;

use common::{
    batch, files_in, opts, read_windows, table, write_csv, write_ipc, write_parquet, Table,
};
use std::path::Path;
use wearlang_core::Window;
use wearlang_ingest::{ingest, IngestSummary};

/// The rows of `t` in the order `order` gives.
fn reorder(t: &Table, order: &[usize]) -> Table {
    Table {
        t: order.iter().map(|&i| t.t[i]).collect(),
        subject: order.iter().map(|&i| t.subject[i].clone()).collect(),
        recording: order.iter().map(|&i| t.recording[i].clone()).collect(),
        label: order.iter().map(|&i| t.label[i].clone()).collect(),
        ax: order.iter().map(|&i| t.ax[i]).collect(),
        ay: order.iter().map(|&i| t.ay[i]).collect(),
    }
}

/// The rows of `t` in time order across recordings (recordings in their
/// order of first appearance at each time), as a logger writes them.
fn interleave(t: &Table) -> Table {
    let mut order: Vec<usize> = (0..t.t.len()).collect();
    order.sort_by_key(|&i| t.t[i]);
    reorder(t, &order)
}

/// The summary and windows of `t` written grouped by recording (as
/// [`table`] writes it) and ingested from CSV in `dir`.
fn grouped(t: &Table, dir: &Path) -> (IngestSummary, Vec<Window>) {
    let csv = dir.join("grouped.csv");
    write_csv(t, &csv);
    let out = dir.join("want.parquet");
    let summary = ingest(&opts(&csv), &out).unwrap();
    (summary, read_windows(&out))
}

/// Same windows in the same order, values bit for bit (NaN where missing).
fn same(a: &[Window], b: &[Window]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            (&x.subject, &x.recording, x.start_ms, &x.label, x.split),
            (&y.subject, &y.recording, y.start_ms, &y.label, y.split)
        );
        assert_eq!(x.missing, y.missing);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&x.values), bits(&y.values));
    }
}

#[test]
fn interleaved_recordings_are_gathered_into_the_grouped_store() {
    let dir = tempfile::tempdir().unwrap();
    let t = table(3, 2, 900);
    let (want_summary, want) = grouped(&t, dir.path());
    assert!(want.len() > 6 * 10, "{} windows", want.len());

    let it = interleave(&t);
    // Rows really interleave: the second row is another recording's.
    assert_ne!(it.recording[0], it.recording[1]);
    let (c, p, i) = (
        dir.path().join("mixed.csv"),
        dir.path().join("mixed.parquet"),
        dir.path().join("mixed.arrow"),
    );
    write_csv(&it, &c);
    let b = batch(&it);
    write_parquet(&b, &p);
    write_ipc(&b, &i);
    for input in [&c, &p, &i] {
        // Refused by default, naming the file, the row where a recording
        // comes back, and the option.
        let out = dir.path().join("out.parquet");
        let before = files_in(dir.path());
        let e = ingest(&opts(input), &out).unwrap_err().to_string();
        assert!(e.contains(&*input.to_string_lossy()), "{e}");
        assert!(e.contains("appears again"), "{e}");
        assert!(
            e.contains("columns.interleaved") && e.contains("--interleaved"),
            "{e}"
        );
        assert!(e.contains("row"), "{e}");
        assert_eq!(files_in(dir.path()), before, "nothing left behind");
        // Gathered with the option: the grouped file's store.
        let mut o = opts(input);
        o.columns.interleaved = true;
        let s = ingest(&o, &out).unwrap();
        assert_eq!(
            (s.recordings, s.rows),
            (want_summary.recordings, want_summary.rows)
        );
        same(&want, &read_windows(&out));
        std::fs::remove_file(&out).unwrap();
    }
}

/// With `time.sort` too, the rows of each gathered recording are sorted
/// into the grouped file's store; an error found when a gathered recording
/// is sorted (two rows of one time) names those rows of the file, not rows
/// counted from where the recording began.
#[test]
fn gathered_recordings_keep_their_file_rows_for_errors_and_sorting() {
    let dir = tempfile::tempdir().unwrap();
    let t = table(2, 1, 600);
    let (_, want) = grouped(&t, dir.path());

    // Interleaved (s0, s1, s0, s1, ...), and two rows of s0 swapped: data
    // rows 10 and 12 (0-based), s0's 6th and 7th samples.
    let mut it = interleave(&t);
    let (a, b) = (10, 12);
    assert!(it.subject[a] == "s0" && it.subject[b] == "s0");
    it.t.swap(a, b);
    it.ax.swap(a, b);
    it.ay.swap(a, b);
    let mixed = dir.path().join("mixed.csv");
    write_csv(&it, &mixed);
    let mut o = opts(&mixed);
    o.columns.interleaved = true;
    o.time.sort = true;
    let out = dir.path().join("sorted.parquet");
    ingest(&o, &out).unwrap();
    same(&want, &read_windows(&out));

    // Row 12 given row 10's time: a duplicate, found when s0 is sorted at
    // the end of the file. Row 1 is the header, so data row k is file row
    // k + 2: rows 14 and 12 (counted within s0 they would be 8 and 7).
    let mut dup = interleave(&t);
    dup.t[b] = dup.t[a];
    let p = dir.path().join("dup.csv");
    write_csv(&dup, &p);
    let mut o = opts(&p);
    o.columns.interleaved = true;
    o.time.sort = true;
    let e = ingest(&o, &dir.path().join("dup.parquet"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("duplicate timestamp"), "{e}");
    assert!(e.contains("row 14") && e.contains("also at row 12"), "{e}");
}
