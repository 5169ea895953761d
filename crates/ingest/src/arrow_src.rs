//! Parquet and Arrow IPC readers (record batches, projected columns).
use crate::columns::{default_keys, resolve, SourceSpec};
use crate::parse::{parse_f64, parse_iso8601_ms};
use crate::source::{Assembler, Block, Recording, RecordingSource, TimeMode, TsKind};
use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Field, Float32Type, Float64Type, Int32Type, Int64Type, Schema, TimeUnit as ArrowUnit,
};
use arrow::error::ArrowError;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wearlang_core::guard::catch_reader_panic;
use wearlang_core::{ChannelSpec, Error, Location, Result};

const BATCH_ROWS: usize = 65_536;

type Batches = Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>;

/// Positions of the roles in the projected batches.
struct Plan {
    time: Option<(usize, String)>,
    subject: Option<usize>,
    recording: Option<usize>,
    label: Option<(usize, String)>,
    channels: Vec<(usize, String)>,
}

/// A Parquet or Arrow IPC file read batch by batch as a [`RecordingSource`].
pub struct ArrowSource {
    file: PathBuf,
    batches: Batches,
    plan: Plan,
    asm: Assembler,
    channels: Arc<[ChannelSpec]>,
    next_row: u64,
    finished: bool,
}

/// Check an Arrow IPC file's footer before arrow reads it: every record
/// batch and dictionary block must lie inside the file. arrow-ipc allocates
/// a block's stated length before reading it, so one corrupt length would
/// abort the process (an allocation failure cannot be caught).
fn check_ipc_blocks(path: &Path, f: &mut File) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |why: String| {
        Error::data(
            Location::file(path),
            format!("not a valid Arrow IPC file: {why}"),
        )
    };
    let io = |e| Error::io(path, e);
    let len = f.metadata().map_err(io)?.len();
    // "ARROW1" + 2 padding bytes, …, footer, footer length (i32), "ARROW1".
    if len < 8 + 10 {
        return Err(bad(format!("{len} bytes is too short (truncated?)")));
    }
    let mut tail = [0u8; 10];
    f.seek(SeekFrom::End(-10)).map_err(io)?;
    f.read_exact(&mut tail).map_err(io)?;
    if &tail[4..] != b"ARROW1" {
        return Err(bad(
            "no ARROW1 magic at its end (truncated, or the stream format?)".into(),
        ));
    }
    let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if footer_len <= 0 || footer_len as u64 > len - 10 - 8 {
        return Err(bad(format!(
            "footer length {footer_len} in a file of {len} bytes"
        )));
    }
    let mut footer = vec![0u8; footer_len as usize];
    f.seek(SeekFrom::End(-10 - footer_len as i64)).map_err(io)?;
    f.read_exact(&mut footer).map_err(io)?;
    let parsed = arrow::ipc::root_as_footer(&footer).map_err(|e| bad(format!("footer: {e}")))?;
    let blocks = parsed
        .recordBatches()
        .into_iter()
        .flatten()
        .chain(parsed.dictionaries().into_iter().flatten());
    for (i, b) in blocks.enumerate() {
        let end = (b.offset() as i128) + (b.metaDataLength() as i128) + (b.bodyLength() as i128);
        if b.offset() < 0 || b.metaDataLength() < 0 || b.bodyLength() < 0 || end > len as i128 {
            return Err(bad(format!(
                "block {i} (offset {}, metadata {} bytes, body {} bytes) lies outside the file of {len} bytes",
                b.offset(),
                b.metaDataLength(),
                b.bodyLength()
            )));
        }
    }
    f.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(())
}

fn numeric(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Boolean)
}

fn corrupt(file: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::data(
        Location::file(file),
        format!("cannot read {what} file: {e}"),
    )
}

impl ArrowSource {
    /// Open a Parquet file.
    pub fn open_parquet(path: &Path, root: Option<&Path>, spec: &SourceSpec) -> Result<Self> {
        catch_reader_panic(path, "Parquet", || {
            Self::open_parquet_inner(path, root, spec)
        })
    }

    fn open_parquet_inner(path: &Path, root: Option<&Path>, spec: &SourceSpec) -> Result<Self> {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        if f.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
            return Err(Error::data(Location::file(path), "empty file"));
        }
        // The footer is parsed once; a schema hint below reuses it.
        let meta = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new())
            .map_err(|e| corrupt(path, "Parquet (truncated or not Parquet?)", e))?;
        let schema = meta.schema().clone();
        let (plan, asm, channels, proj) = Self::plan(path, root, spec, &schema)?;
        // Key and label columns (text, in long runs) are read as
        // dictionary arrays: the reader keeps a column chunk's dictionary
        // and hands out its indices, instead of copying every row's text,
        // and a run of equal cells is a run of equal indices.
        let key_cols: Vec<usize> = [
            plan.subject,
            plan.recording,
            plan.label.as_ref().map(|l| l.0),
        ]
        .into_iter()
        .flatten()
        .map(|pos| proj[pos])
        .filter(|&i| schema.field(i).data_type() == &DataType::Utf8)
        .collect();
        let meta = if key_cols.is_empty() {
            meta
        } else {
            let hinted: Vec<Field> = schema
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let f = f.as_ref().clone();
                    if key_cols.contains(&i) {
                        f.with_data_type(DataType::Dictionary(
                            Box::new(DataType::Int32),
                            Box::new(DataType::Utf8),
                        ))
                    } else {
                        f
                    }
                })
                .collect();
            let hint = Arc::new(Schema::new_with_metadata(hinted, schema.metadata().clone()));
            ArrowReaderMetadata::try_new(
                meta.metadata().clone(),
                ArrowReaderOptions::new().with_schema(hint),
            )
            .map_err(|e| corrupt(path, "Parquet", e))?
        };
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta);
        let mask = ProjectionMask::roots(builder.parquet_schema(), proj);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(path, "Parquet", e))?;
        Ok(Self {
            file: path.to_path_buf(),
            batches: Box::new(reader),
            plan,
            asm,
            channels,
            next_row: 1,
            finished: false,
        })
    }

    /// Open an Arrow IPC (file format) file.
    pub fn open_ipc(path: &Path, root: Option<&Path>, spec: &SourceSpec) -> Result<Self> {
        catch_reader_panic(path, "Arrow IPC", || Self::open_ipc_inner(path, root, spec))
    }

    fn open_ipc_inner(path: &Path, root: Option<&Path>, spec: &SourceSpec) -> Result<Self> {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        if f.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
            return Err(Error::data(Location::file(path), "empty file"));
        }
        check_ipc_blocks(path, &mut f)?;
        let probe = arrow::ipc::reader::FileReader::try_new(BufReader::new(f), None)
            .map_err(|e| corrupt(path, "Arrow IPC (truncated or not IPC?)", e))?;
        let schema = probe.schema();
        drop(probe);
        let (plan, asm, channels, proj) = Self::plan(path, root, spec, &schema)?;
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = arrow::ipc::reader::FileReader::try_new(BufReader::new(f), Some(proj))
            .map_err(|e| corrupt(path, "Arrow IPC", e))?;
        Ok(Self {
            file: path.to_path_buf(),
            batches: Box::new(reader),
            plan,
            asm,
            channels,
            next_row: 1,
            finished: false,
        })
    }

    #[allow(clippy::type_complexity)]
    fn plan(
        path: &Path,
        root: Option<&Path>,
        spec: &SourceSpec,
        schema: &Schema,
    ) -> Result<(Plan, Assembler, Arc<[ChannelSpec]>, Vec<usize>)> {
        let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let r = resolve(path, &header, spec, |i| {
            numeric(schema.field(i).data_type())
        })?;
        for &i in &r.channels {
            let dt = schema.field(i).data_type();
            if !numeric(dt) {
                return Err(Error::data(
                    Location::file(path).column(header[i].clone()),
                    format!("channel column is not numeric ({dt})"),
                ));
            }
        }
        let mut proj: Vec<usize> = r
            .time
            .into_iter()
            .chain(r.subject)
            .chain(r.recording)
            .chain(r.label)
            .chain(r.channels.iter().copied())
            .collect();
        proj.sort_unstable();
        proj.dedup();
        let pos = |i: usize| proj.binary_search(&i).expect("projected");
        let plan = Plan {
            time: r.time.map(|i| (pos(i), header[i].clone())),
            subject: r.subject.map(pos),
            recording: r.recording.map(pos),
            label: r.label.map(|i| (pos(i), header[i].clone())),
            channels: r
                .channels
                .iter()
                .map(|&i| (pos(i), header[i].clone()))
                .collect(),
        };
        let channels: Arc<[ChannelSpec]> = r.specs.clone().into();
        let (ds, dr) = default_keys(path, root, spec);
        let asm = Assembler::new(
            path,
            channels.clone(),
            r.time_mode.clone(),
            (ds, dr),
            r.label.is_some(),
            spec.interleaved,
        );
        let _ = matches!(r.time_mode, TimeMode::Fixed(_));
        Ok((plan, asm, channels, proj))
    }

    fn block(&self, batch: &RecordBatch) -> Result<Block> {
        let n = batch.num_rows();
        let first_row = self.next_row;
        let loc = |row: usize, col: &str| {
            Location::file(&self.file)
                .row(first_row + row as u64)
                .column(col.to_string())
        };
        let mut b = Block {
            first_row,
            n,
            ..Block::default()
        };
        // Channels: cast to f32, nulls → NaN, infinities are errors.
        let c = self.plan.channels.len();
        b.values = vec![f32::NAN; n * c];
        for (j, (p, name)) in self.plan.channels.iter().enumerate() {
            let arr = cast(batch.column(*p), &DataType::Float32).map_err(|e| {
                Error::data(
                    Location::file(&self.file).column(name.clone()),
                    e.to_string(),
                )
            })?;
            let a = arr.as_primitive::<Float32Type>();
            let vals = a.values();
            if a.null_count() == 0 {
                for (i, &v) in vals.iter().enumerate() {
                    b.values[i * c + j] = v;
                }
            } else {
                for (i, &v) in vals.iter().enumerate() {
                    if a.is_valid(i) {
                        b.values[i * c + j] = v;
                    }
                }
            }
            if let Some(i) = vals
                .iter()
                .enumerate()
                .position(|(i, v)| v.is_infinite() && a.is_valid(i))
            {
                return Err(Error::data(
                    loc(i, name),
                    format!("infinite value {} (use NaN or null for missing)", vals[i]),
                ));
            }
        }
        if let Some((p, name)) = &self.plan.time {
            self.times(batch.column(*p), name, &mut b, &loc)?;
        }
        if self.plan.subject.is_some() || self.plan.recording.is_some() {
            let s = self.plan.subject.map(|p| self.text(batch, p)).transpose()?;
            let r = self
                .plan
                .recording
                .map(|p| self.text(batch, p))
                .transpose()?;
            let s = s.as_ref().map(TextColumn::view);
            let r = r.as_ref().map(TextColumn::view);
            let get = |a: Option<&TextView<'_>>, i: usize| {
                a.map(|a| a.cell(i).map(|v| v.trim().to_string()).unwrap_or_default())
            };
            let mut prev: Option<(Option<String>, Option<String>)> = None;
            for i in 0..n {
                let same = match &prev {
                    // Keys come in runs: cells equal to the row before
                    // need no trimming.
                    Some(_)
                        if s.as_ref().is_none_or(|a| a.same_as_previous(i))
                            && r.as_ref().is_none_or(|a| a.same_as_previous(i)) =>
                    {
                        true
                    }
                    Some((ps, pr)) => {
                        ps.as_deref() == s.as_ref().map(|a| a.text(i).trim())
                            && pr.as_deref() == r.as_ref().map(|a| a.text(i).trim())
                    }
                    None => false,
                };
                if !same {
                    let k = (get(s.as_ref(), i), get(r.as_ref(), i));
                    b.keys.push((i, k.0.clone(), k.1.clone()));
                    prev = Some(k);
                }
            }
        }
        if let Some((p, _)) = &self.plan.label {
            let col = self.text(batch, *p)?;
            let a = col.view();
            let mut prev: Option<Option<&str>> = None;
            for i in 0..n {
                // As for the keys: an unchanged cell needs no trimming.
                if a.same_as_previous(i) {
                    continue;
                }
                let v = a.cell(i).map(str::trim).filter(|v| !v.is_empty());
                if prev != Some(v) {
                    b.labels.push((i, v.map(Arc::<str>::from)));
                    prev = Some(v);
                }
            }
        }
        Ok(b)
    }

    /// Column `p` of `batch` as text: a dictionary of strings as it is,
    /// anything else cast to strings.
    fn text(&self, batch: &RecordBatch, p: usize) -> Result<TextColumn> {
        let col = batch.column(p);
        if let Some(d) = col.as_dictionary_opt::<Int32Type>() {
            if d.values().data_type() == &DataType::Utf8 {
                // The Parquet reader checks the keys against a non-empty
                // dictionary only; a valid row with an empty one would
                // index nothing.
                if d.values().is_empty() && d.null_count() < d.len() {
                    return Err(Error::data(
                        Location::file(&self.file).column(batch.schema().field(p).name().clone()),
                        "corrupt dictionary column: rows with a value but an empty dictionary",
                    ));
                }
                return Ok(TextColumn::Dict(d.clone()));
            }
        }
        let a = cast(col, &DataType::Utf8)
            .map_err(|e| Error::data(Location::file(&self.file), e.to_string()))?;
        Ok(TextColumn::Plain(a.as_string::<i32>().clone()))
    }

    fn times(
        &self,
        col: &ArrayRef,
        name: &str,
        b: &mut Block,
        loc: &dyn Fn(usize, &str) -> Location,
    ) -> Result<()> {
        if let Some(i) = (0..col.len()).find(|&i| col.is_null(i)) {
            return Err(Error::data(loc(i, name), "missing timestamp"));
        }
        let dt = col.data_type().clone();
        match dt {
            DataType::Timestamp(unit, _) => {
                let a = cast(col, &DataType::Int64)
                    .map_err(|e| Error::data(loc(0, name), e.to_string()))?;
                let div = match unit {
                    ArrowUnit::Second => 1e-3,
                    ArrowUnit::Millisecond => 1.0,
                    ArrowUnit::Microsecond => 1e3,
                    ArrowUnit::Nanosecond => 1e6,
                };
                b.ts = a
                    .as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .map(|&v| v as f64 / div)
                    .collect();
                b.ts_kind = Some(TsKind::Typed);
            }
            DataType::Date32 | DataType::Date64 => {
                let a = cast(col, &DataType::Timestamp(ArrowUnit::Millisecond, None))
                    .and_then(|a| cast(&a, &DataType::Int64))
                    .map_err(|e| Error::data(loc(0, name), e.to_string()))?;
                b.ts = a
                    .as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .map(|&v| v as f64)
                    .collect();
                b.ts_kind = Some(TsKind::Typed);
            }
            d if d.is_numeric() => {
                let a = cast(col, &DataType::Float64)
                    .map_err(|e| Error::data(loc(0, name), e.to_string()))?;
                let v = a.as_primitive::<Float64Type>().values();
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(Error::data(
                        loc(i, name),
                        format!("timestamp is not finite ({})", v[i]),
                    ));
                }
                b.ts = v.to_vec();
                b.ts_kind = Some(TsKind::Number);
            }
            _ => {
                let a = cast(col, &DataType::Utf8)
                    .map_err(|e| Error::data(loc(0, name), e.to_string()))?;
                let a = a.as_string::<i32>();
                b.ts.reserve(a.len());
                for i in 0..a.len() {
                    let cell = a.value(i).as_bytes();
                    let (t, kind) = if let Some(t) = parse_f64(cell) {
                        (t, TsKind::Number)
                    } else if let Some(t) = parse_iso8601_ms(cell) {
                        (t, TsKind::Iso)
                    } else {
                        return Err(Error::data(
                            loc(i, name),
                            format!("not a timestamp: '{}'", a.value(i)),
                        ));
                    };
                    match b.ts_kind {
                        None => b.ts_kind = Some(kind),
                        Some(k) if k != kind && b.ts_mixed.is_none() => {
                            b.ts_mixed = Some((b.first_row + i as u64, kind))
                        }
                        _ => {}
                    }
                    b.ts.push(t);
                }
            }
        }
        Ok(())
    }
}

/// A text column of one batch: plain strings, or indices into a dictionary
/// of strings (how key columns are read from Parquet).
enum TextColumn {
    Plain(StringArray),
    Dict(DictionaryArray<Int32Type>),
}

impl TextColumn {
    fn view(&self) -> TextView<'_> {
        match self {
            TextColumn::Plain(a) => TextView {
                values: a,
                keys: None,
                nulls: a.nulls(),
            },
            TextColumn::Dict(d) => TextView {
                values: d.values().as_string::<i32>(),
                keys: Some(d.keys().values()),
                nulls: d.nulls(),
            },
        }
    }
}

/// Row-wise access to a [`TextColumn`].
struct TextView<'a> {
    values: &'a StringArray,
    /// Row → index into `values` (dictionary columns).
    keys: Option<&'a [i32]>,
    nulls: Option<&'a arrow::buffer::NullBuffer>,
}

impl TextView<'_> {
    fn is_valid(&self, i: usize) -> bool {
        self.nulls.is_none_or(|n| n.is_valid(i))
            && self
                .keys
                .is_none_or(|k| self.values.is_valid(k[i] as usize))
    }

    /// Row `i`'s text ("" when null).
    fn text(&self, i: usize) -> &str {
        let j = self.keys.map_or(i, |k| k[i] as usize);
        if self.is_valid(i) {
            self.values.value(j)
        } else {
            ""
        }
    }

    /// Row `i`'s text, `None` when null.
    fn cell(&self, i: usize) -> Option<&str> {
        self.is_valid(i).then(|| self.text(i))
    }

    /// Whether row `i` equals the row before it (both null, or both valid
    /// with the same text); false for the first row.
    fn same_as_previous(&self, i: usize) -> bool {
        if i == 0 {
            return false;
        }
        let (a, b) = (self.is_valid(i), self.is_valid(i - 1));
        if a != b {
            return false;
        }
        if !a {
            return true;
        }
        match self.keys {
            Some(k) if k[i] == k[i - 1] => true,
            _ => self.text(i) == self.text(i - 1),
        }
    }
}

impl RecordingSource for ArrowSource {
    fn channels(&self) -> &[ChannelSpec] {
        &self.channels
    }

    fn next_part(&mut self) -> Result<Option<Recording>> {
        loop {
            if let Some(p) = self.asm.queue.pop_front() {
                return Ok(Some(p));
            }
            if self.finished {
                return Ok(None);
            }
            let batches = &mut self.batches;
            let next = catch_reader_panic(&self.file, "Parquet / Arrow IPC", || Ok(batches.next()))
                .map_err(|e| match e {
                    Error::Data { location, message } => Error::Data {
                        location: location.row(self.next_row),
                        message,
                    },
                    other => other,
                })?;
            match next {
                Some(Ok(batch)) => {
                    let block = self.block(&batch)?;
                    self.next_row += batch.num_rows() as u64;
                    self.asm.push(block)?;
                }
                Some(Err(e)) => {
                    return Err(Error::data(
                        Location::file(&self.file).row(self.next_row),
                        format!("corrupt or truncated data: {e}"),
                    ))
                }
                None => {
                    self.asm.finish(false)?;
                    self.finished = true;
                }
            }
        }
    }
}
