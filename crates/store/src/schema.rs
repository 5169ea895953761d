//! The Arrow schema of a store and conversions between windows and record
//! batches.
use crate::StoreMeta;
use arrow::array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int64Array,
    ListArray, RecordBatch, StringArray, StructArray,
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

/// The Arrow schema of a store with `meta`.
pub(crate) fn arrow_schema(meta: &StoreMeta) -> Result<SchemaRef> {
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
        Field::new(
            col::VALUES,
            DataType::FixedSizeList(item_field(DataType::Float32), n),
            false,
        ),
        Field::new(
            col::MISSING,
            DataType::FixedSizeList(item_field(DataType::Boolean), n),
            false,
        ),
        Field::new(
            col::EVENTS,
            DataType::List(item_field(DataType::Struct(event_fields()))),
            false,
        ),
    ];
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
/// `meta`, with the right types.
pub(crate) fn check_schema(schema: &Schema, meta: &StoreMeta, file: &Path) -> Result<()> {
    let expected = arrow_schema(meta)?;
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

/// Windows (already validated against `meta`) as one record batch.
pub(crate) fn to_batch(
    windows: &[Window],
    meta: &StoreMeta,
    schema: &SchemaRef,
    file: &Path,
) -> Result<RecordBatch> {
    let n = meta.values_per_window() as i32;
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
    ];
    let values =
        Float32Array::from_iter_values(windows.iter().flat_map(|w| w.values.iter().copied()));
    columns.push(Arc::new(
        FixedSizeListArray::try_new(item_field(DataType::Float32), n, Arc::new(values), None)
            .map_err(|e| arrow_err(file, e))?,
    ));
    let missing: BooleanArray = windows
        .iter()
        .flat_map(|w| w.missing.iter().map(|&m| Some(m)))
        .collect();
    columns.push(Arc::new(
        FixedSizeListArray::try_new(item_field(DataType::Boolean), n, Arc::new(missing), None)
            .map_err(|e| arrow_err(file, e))?,
    ));
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
    columns.push(Arc::new(
        ListArray::try_new(
            item_field(DataType::Struct(event_fields())),
            offsets,
            Arc::new(ev_struct),
            None,
        )
        .map_err(|e| arrow_err(file, e))?,
    ));
    for name in &meta.caption_columns {
        columns.push(Arc::new(StringArray::from_iter(
            windows
                .iter()
                .map(|w| w.captions.get(name).map(String::as_str)),
        )));
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| arrow_err(file, e))
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
}

/// Decode a full batch into windows. `first_row` is the index of the batch's
/// first row in the file (for error locations; `None` when rows were
/// filtered).
pub(crate) fn from_batch(
    batch: &RecordBatch,
    meta: &StoreMeta,
    file: &Path,
) -> Result<Vec<Window>> {
    let c = BatchColumns::new(file, batch);
    let subject = c.get::<StringArray>(col::SUBJECT)?;
    let recording = c.get::<StringArray>(col::RECORDING)?;
    let start_ms = c.get::<Int64Array>(col::START_MS)?;
    let rate_hz = c.get::<Float64Array>(col::RATE_HZ)?;
    let label = c.get::<StringArray>(col::LABEL)?;
    let split = c.get::<StringArray>(col::SPLIT)?;
    let values = c.get::<FixedSizeListArray>(col::VALUES)?;
    let missing = c.get::<FixedSizeListArray>(col::MISSING)?;
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
    let flat_values = values
        .values()
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or_else(|| c.loc(0, col::VALUES))
        .map_err(|l| Error::data(l, "values are not float32"))?;
    let flat_missing = missing
        .values()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| c.loc(0, col::MISSING))
        .map_err(|l| Error::data(l, "mask is not boolean"))?;
    let ev = events
        .values()
        .as_any()
        .downcast_ref::<StructArray>()
        .ok_or_else(|| Error::data(c.loc(0, col::EVENTS), "events are not structs"))?;
    let ev_col = |i: usize| ev.column(i).clone();
    let ev_kind = ev_col(0);
    let ev_kind = ev_kind
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::data(c.loc(0, col::EVENTS), "event kind is not a string"))?;
    let ev_label = ev_col(1);
    let ev_label = ev_label
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::data(c.loc(0, col::EVENTS), "event label is not a string"))?;
    let ev_start = ev_col(2);
    let ev_start = ev_start
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| Error::data(c.loc(0, col::EVENTS), "event start is not float64"))?;
    let ev_end = ev_col(3);
    let ev_end = ev_end
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| Error::data(c.loc(0, col::EVENTS), "event end is not float64"))?;

    let n = meta.values_per_window();
    let channels = meta.channels.len();
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        if values.value_length() as usize != n || missing.value_length() as usize != n {
            return Err(Error::data(
                c.loc(row, col::VALUES),
                format!("{} values per row, expected {n}", values.value_length()),
            ));
        }
        let off = values.value_offset(row) as usize;
        let mut vals: Vec<f32> = flat_values.values()[off..off + n].to_vec();
        if flat_values.null_count() > 0 {
            for (i, v) in vals.iter_mut().enumerate() {
                if flat_values.is_null(off + i) {
                    *v = f32::NAN;
                }
            }
        }
        let moff = missing.value_offset(row) as usize;
        let bits = flat_missing.values();
        let mask: Vec<bool> = (moff..moff + n)
            .map(|i| bits.value(i) || flat_missing.is_null(i))
            .collect();
        let mut evs = Vec::new();
        let offs = events.value_offsets();
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
            values: vals,
            missing: mask,
            label: label.is_valid(row).then(|| label.value(row).to_string()),
            split: c.split(split, row)?,
            events: evs,
            captions: caps,
        });
    }
    Ok(out)
}
