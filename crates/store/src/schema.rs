//! The Arrow schema of a store and conversions between windows and record
//! batches, for the layout this crate writes (version 2: each window holds
//! only the time steps its predecessor does not share) and for the layout
//! it still reads (version 1: every window whole, with a boolean mask).
use crate::StoreMeta;
use arrow::array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int32Array,
    Int64Array, ListArray, RecordBatch, StringArray, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use wearlang_core::{Error, Event, EventKind, Location, Result, Split, Window};

/// Column names of the fixed part of the schema.
pub(crate) mod col {
    pub const SUBJECT: &str = "subject";
    pub const RECORDING: &str = "recording";
    pub const START_MS: &str = "start_ms";
    pub const RATE_HZ: &str = "rate_hz";
    pub const LABEL: &str = "label";
    pub const SPLIT: &str = "split";
    pub const MISSING_FRACTION: &str = "missing_fraction";
    pub const OVERLAP: &str = "overlap";
    pub const VALUES: &str = "values";
    pub const MISSING: &str = "missing";
    pub const EVENTS: &str = "events";
}

fn event_fields() -> Fields {
    Fields::from(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("start_s", DataType::Float64, false),
        Field::new("end_s", DataType::Float64, false),
    ])
}

fn item_field(dt: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", dt, true))
}

/// The Arrow schema of a store with `meta` in layout `version` (1 or 2).
pub(crate) fn arrow_schema(meta: &StoreMeta, version: u32) -> Result<SchemaRef> {
    let n = i32::try_from(meta.values_per_window())
        .map_err(|_| Error::param("window_len", "window too large for one row"))?;
    let mut fields = vec![
        Field::new(col::SUBJECT, DataType::Utf8, false),
        Field::new(col::RECORDING, DataType::Utf8, false),
        Field::new(col::START_MS, DataType::Int64, false),
        Field::new(col::RATE_HZ, DataType::Float64, false),
        Field::new(col::LABEL, DataType::Utf8, true),
        Field::new(col::SPLIT, DataType::Utf8, false),
        Field::new(col::MISSING_FRACTION, DataType::Float32, false),
    ];
    if version == 1 {
        fields.push(Field::new(
            col::VALUES,
            DataType::FixedSizeList(item_field(DataType::Float32), n),
            false,
        ));
        fields.push(Field::new(
            col::MISSING,
            DataType::FixedSizeList(item_field(DataType::Boolean), n),
            false,
        ));
    } else {
        fields.push(Field::new(col::OVERLAP, DataType::Int32, false));
        fields.push(Field::new(
            col::VALUES,
            DataType::List(item_field(DataType::Float32)),
            false,
        ));
    }
    fields.push(Field::new(
        col::EVENTS,
        DataType::List(item_field(DataType::Struct(event_fields()))),
        false,
    ));
    for name in &meta.caption_columns {
        fields.push(Field::new(
            StoreMeta::caption_column(name),
            DataType::Utf8,
            true,
        ));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Check that `schema` (read from `file`) has every column of a store with
/// `meta` in layout `version`, with the right types.
pub(crate) fn check_schema(
    schema: &Schema,
    meta: &StoreMeta,
    version: u32,
    file: &Path,
) -> Result<()> {
    let expected = arrow_schema(meta, version)?;
    for want in expected.fields() {
        let loc = || Location::file(file).column(want.name());
        let got = schema.field_with_name(want.name()).map_err(|_| {
            Error::data(
                loc(),
                "column missing: not a complete wearlang window store",
            )
        })?;
        if !same_type(got.data_type(), want.data_type()) {
            return Err(Error::data(
                loc(),
                format!(
                    "column has type {}, expected {}",
                    got.data_type(),
                    want.data_type()
                ),
            ));
        }
    }
    Ok(())
}

/// Type equality ignoring the names and nullability of list items.
fn same_type(a: &DataType, b: &DataType) -> bool {
    match (a, b) {
        (DataType::FixedSizeList(fa, na), DataType::FixedSizeList(fb, nb)) => {
            na == nb && same_type(fa.data_type(), fb.data_type())
        }
        (DataType::List(fa), DataType::List(fb)) => same_type(fa.data_type(), fb.data_type()),
        (DataType::Struct(fa), DataType::Struct(fb)) => {
            fa.len() == fb.len()
                && fa
                    .iter()
                    .zip(fb.iter())
                    .all(|(x, y)| x.name() == y.name() && same_type(x.data_type(), y.data_type()))
        }
        _ => a == b,
    }
}

fn kind_str(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Activity => "activity",
        EventKind::Sleep => "sleep",
        EventKind::Mood => "mood",
    }
}

fn parse_kind(s: &str) -> Option<EventKind> {
    match s {
        "activity" => Some(EventKind::Activity),
        "sleep" => Some(EventKind::Sleep),
        "mood" => Some(EventKind::Mood),
        _ => None,
    }
}

fn arrow_err(file: &Path, e: impl std::fmt::Display) -> Error {
    Error::data(Location::file(file), e.to_string())
}

/// Windows (already validated against `meta`) as one record batch of the
/// current layout: window `i` stores its steps from `overlap[i]` on (the
/// steps before are the last `overlap[i]` steps of the row before it).
pub(crate) fn to_batch(
    windows: &[Window],
    overlap: &[usize],
    meta: &StoreMeta,
    schema: &SchemaRef,
    file: &Path,
) -> Result<RecordBatch> {
    let c = meta.channels.len();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            windows.iter().map(|w| w.subject.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            windows.iter().map(|w| w.recording.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(
            windows.iter().map(|w| w.start_ms),
        )),
        Arc::new(Float64Array::from_iter_values(
            windows.iter().map(|w| w.rate_hz),
        )),
        Arc::new(StringArray::from_iter(
            windows.iter().map(|w| w.label.as_deref()),
        )),
        Arc::new(StringArray::from_iter_values(
            windows.iter().map(|w| w.split.as_str()),
        )),
        Arc::new(Float32Array::from_iter_values(
            windows.iter().map(|w| w.missing_fraction() as f32),
        )),
        Arc::new(Int32Array::from_iter_values(
            overlap.iter().map(|&k| k as i32),
        )),
    ];
    let fresh = || {
        windows
            .iter()
            .zip(overlap)
            .map(move |(w, &k)| &w.values[k * c..])
    };
    let mut flat = Vec::with_capacity(fresh().map(<[f32]>::len).sum());
    fresh().for_each(|v| flat.extend_from_slice(v));
    let offsets = OffsetBuffer::<i32>::from_lengths(fresh().map(<[f32]>::len));
    columns.push(Arc::new(
        ListArray::try_new(
            item_field(DataType::Float32),
            offsets,
            Arc::new(Float32Array::from(flat)),
            None,
        )
        .map_err(|e| arrow_err(file, e))?,
    ));
    columns.push(events_column(windows, file)?);
    for name in &meta.caption_columns {
        columns.push(Arc::new(StringArray::from_iter(
            windows
                .iter()
                .map(|w| w.captions.get(name).map(String::as_str)),
        )));
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| arrow_err(file, e))
}

fn events_column(windows: &[Window], file: &Path) -> Result<ArrayRef> {
    let all_events: Vec<&Event> = windows.iter().flat_map(|w| w.events.iter()).collect();
    let events = || all_events.iter();
    let ev_struct = StructArray::try_new(
        event_fields(),
        vec![
            Arc::new(StringArray::from_iter_values(
                events().map(|e| kind_str(e.kind)),
            )),
            Arc::new(StringArray::from_iter_values(
                events().map(|e| e.label.as_str()),
            )),
            Arc::new(Float64Array::from_iter_values(events().map(|e| e.start_s))),
            Arc::new(Float64Array::from_iter_values(events().map(|e| e.end_s))),
        ],
        None,
    )
    .map_err(|e| arrow_err(file, e))?;
    let offsets = OffsetBuffer::<i32>::from_lengths(windows.iter().map(|w| w.events.len()));
    Ok(Arc::new(
        ListArray::try_new(
            item_field(DataType::Struct(event_fields())),
            offsets,
            Arc::new(ev_struct),
            None,
        )
        .map_err(|e| arrow_err(file, e))?,
    ))
}

/// Typed access to the columns of one decoded batch.
pub(crate) struct BatchColumns<'a> {
    file: &'a Path,
    batch: &'a RecordBatch,
}

impl<'a> BatchColumns<'a> {
    pub(crate) fn new(file: &'a Path, batch: &'a RecordBatch) -> Self {
        Self { file, batch }
    }

    pub(crate) fn get<T: Array + 'static>(&self, name: &str) -> Result<&'a T> {
        self.batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| {
                Error::data(
                    Location::file(self.file).column(name),
                    "column missing or of the wrong type",
                )
            })
    }

    fn loc(&self, row: usize, column: &str) -> Location {
        Location::file(self.file).row(row as u64 + 1).column(column)
    }

    /// The split of `row` from a split column.
    pub(crate) fn split(&self, splits: &StringArray, row: usize) -> Result<Split> {
        Split::parse(splits.value(row)).map_err(|_| {
            Error::data(
                self.loc(row, col::SPLIT),
                format!("unknown split '{}'", splits.value(row)),
            )
        })
    }

    /// The float32 items of the list column `name` (nulls read as NaN by
    /// the callers).
    fn float_items(&self, list_values: &'a ArrayRef, name: &str) -> Result<&'a Float32Array> {
        list_values
            .as_any()
            .downcast_ref::<Float32Array>()
            .ok_or_else(|| Error::data(self.loc(0, name), "values are not float32"))
    }
}

/// The last window decoded from a layout-2 file, which the next row may
/// continue (its `overlap` first steps are this window's last ones).
#[derive(Debug, Default, Clone)]
pub(crate) struct Chain {
    last: Option<(String, String, Vec<f32>)>,
}

impl Chain {
    /// Forget the last window (at the start of a file).
    pub(crate) fn reset(&mut self) {
        self.last = None;
    }
}

/// Copy `n` values from `flat` at `off`, nulls (written by other tools) as
/// NaN.
fn copy_values(flat: &Float32Array, off: usize, n: usize, out: &mut Vec<f32>) {
    let start = out.len();
    out.extend_from_slice(&flat.values()[off..off + n]);
    if flat.null_count() > 0 {
        for (i, v) in out[start..].iter_mut().enumerate() {
            if flat.is_null(off + i) {
                *v = f32::NAN;
            }
        }
    }
}

/// Decode a batch of a layout-`version` file into windows. `chain` carries
/// the last window from one batch to the next (layout 2).
pub(crate) fn from_batch(
    batch: &RecordBatch,
    meta: &StoreMeta,
    version: u32,
    chain: &mut Chain,
    file: &Path,
) -> Result<Vec<Window>> {
    let c = BatchColumns::new(file, batch);
    let n = meta.values_per_window();
    let mut out = decode_rows(&c, meta)?;
    if version == 1 {
        let values = c.get::<FixedSizeListArray>(col::VALUES)?;
        let missing = c.get::<FixedSizeListArray>(col::MISSING)?;
        if values.value_length() as usize != n || missing.value_length() as usize != n {
            return Err(Error::data(
                c.loc(0, col::VALUES),
                format!("{} values per row, expected {n}", values.value_length()),
            ));
        }
        let flat_values = c.float_items(values.values(), col::VALUES)?;
        let flat_missing = missing
            .values()
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| Error::data(c.loc(0, col::MISSING), "mask is not boolean"))?;
        for (row, w) in out.iter_mut().enumerate() {
            let off = values.value_offset(row) as usize;
            copy_values(flat_values, off, n, &mut w.values);
            let moff = missing.value_offset(row) as usize;
            let bits = flat_missing.values();
            w.missing = (moff..moff + n)
                .map(|i| bits.value(i) || flat_missing.is_null(i))
                .collect();
        }
        return Ok(out);
    }
    let overlap = c.get::<Int32Array>(col::OVERLAP)?;
    let values = c.get::<ListArray>(col::VALUES)?;
    let flat = c.float_items(values.values(), col::VALUES)?;
    let channels = meta.channels.len();
    let offs = values.value_offsets();
    for row in 0..out.len() {
        let k = overlap.value(row);
        let shared = usize::try_from(k)
            .ok()
            .filter(|&k| k < meta.window_len)
            .ok_or_else(|| {
                Error::data(
                    c.loc(row, col::OVERLAP),
                    format!("overlap {k} outside 0..{}", meta.window_len),
                )
            })?;
        let (off, end) = (offs[row] as usize, offs[row + 1] as usize);
        if end - off != n - shared * channels {
            return Err(Error::data(
                c.loc(row, col::VALUES),
                format!(
                    "{} values after an overlap of {shared} steps, expected {}",
                    end - off,
                    n - shared * channels
                ),
            ));
        }
        let (before, rest) = out.split_at_mut(row);
        let w = &mut rest[0];
        let mut vals = Vec::with_capacity(n);
        if shared > 0 {
            let prev = match before.last() {
                Some(p) => Some((p.subject.as_str(), p.recording.as_str(), &p.values)),
                None => chain
                    .last
                    .as_ref()
                    .map(|(s, r, v)| (s.as_str(), r.as_str(), v)),
            };
            match prev {
                Some((s, r, v)) if s == w.subject && r == w.recording && v.len() == n => {
                    vals.extend_from_slice(&v[n - shared * channels..]);
                }
                _ => {
                    return Err(Error::data(
                        c.loc(row, col::OVERLAP),
                        format!(
                            "window {}/{} at {} ms shares {shared} steps with a row before it, \
                             but that row is not of the same recording",
                            w.subject, w.recording, w.start_ms
                        ),
                    ))
                }
            }
        }
        copy_values(flat, off, end - off, &mut vals);
        w.missing = vals.iter().map(|v| v.is_nan()).collect();
        w.values = vals;
    }
    if let Some(w) = out.last() {
        chain.last = Some((w.subject.clone(), w.recording.clone(), w.values.clone()));
    }
    Ok(out)
}

/// The windows of a batch with everything but their values and mask.
fn decode_rows(c: &BatchColumns<'_>, meta: &StoreMeta) -> Result<Vec<Window>> {
    let subject = c.get::<StringArray>(col::SUBJECT)?;
    let recording = c.get::<StringArray>(col::RECORDING)?;
    let start_ms = c.get::<Int64Array>(col::START_MS)?;
    let rate_hz = c.get::<Float64Array>(col::RATE_HZ)?;
    let label = c.get::<StringArray>(col::LABEL)?;
    let split = c.get::<StringArray>(col::SPLIT)?;
    let events = c.get::<ListArray>(col::EVENTS)?;
    let captions: Vec<(&String, &StringArray)> = meta
        .caption_columns
        .iter()
        .map(|name| {
            Ok((
                name,
                c.get::<StringArray>(&StoreMeta::caption_column(name))?,
            ))
        })
        .collect::<Result<_>>()?;
    let ev = events
        .values()
        .as_any()
        .downcast_ref::<StructArray>()
        .ok_or_else(|| Error::data(c.loc(0, col::EVENTS), "events are not structs"))?;
    fn field<'b, T: Array + 'static>(
        ev: &'b StructArray,
        i: usize,
        c: &BatchColumns<'_>,
        what: &str,
    ) -> Result<&'b T> {
        ev.column(i)
            .as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| Error::data(c.loc(0, col::EVENTS), format!("event {what} is mistyped")))
    }
    let ev_kind = field::<StringArray>(ev, 0, c, "kind")?;
    let ev_label = field::<StringArray>(ev, 1, c, "label")?;
    let ev_start = field::<Float64Array>(ev, 2, c, "start")?;
    let ev_end = field::<Float64Array>(ev, 3, c, "end")?;
    let channels = meta.channels.len();
    let rows = c.batch.num_rows();
    let mut out = Vec::with_capacity(rows);
    let offs = events.value_offsets();
    for row in 0..rows {
        let mut evs = Vec::new();
        for i in offs[row] as usize..offs[row + 1] as usize {
            let kind = parse_kind(ev_kind.value(i)).ok_or_else(|| {
                Error::data(
                    c.loc(row, col::EVENTS),
                    format!("unknown event kind '{}'", ev_kind.value(i)),
                )
            })?;
            evs.push(Event {
                kind,
                label: ev_label.value(i).to_string(),
                start_s: ev_start.value(i),
                end_s: ev_end.value(i),
            });
        }
        let mut caps = BTreeMap::new();
        for (name, col) in &captions {
            if col.is_valid(row) {
                caps.insert((*name).clone(), col.value(row).to_string());
            }
        }
        out.push(Window {
            subject: subject.value(row).to_string(),
            recording: recording.value(row).to_string(),
            start_ms: start_ms.value(row),
            rate_hz: rate_hz.value(row),
            channels,
            values: Vec::new(),
            missing: Vec::new(),
            label: label.is_valid(row).then(|| label.value(row).to_string()),
            split: c.split(split, row)?,
            events: evs,
            captions: caps,
        });
    }
    Ok(out)
}
