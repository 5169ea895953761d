//! Streaming wide-CSV reader: reads blocks of bytes, parses them in parallel
//! (rayon) into column blocks, never holds the file as strings.
use crate::columns::{default_keys, resolve, Resolved, SourceSpec};
use crate::parse::{is_missing_token, parse_f32, parse_f64, parse_iso8601_ms, Num};
use crate::source::{Assembler, Block, Recording, RecordingSource, TimeMode, TsKind};
use rayon::prelude::*;
use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wearlang_core::{ChannelSpec, Error, Location, Result};

const BLOCK_BYTES: usize = 8 << 20;
const MIN_PIECE_BYTES: usize = 256 << 10;
/// The longest line read: a longer one is an error (a file with CR-only
/// line endings after its first lines reads as one line).
const MAX_LINE_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Skip,
    Time,
    Subject,
    Recording,
    Label,
    Channel(usize),
}

struct Ctx {
    file: PathBuf,
    delim: u8,
    header: Vec<String>,
    roles: Vec<Role>,
    nchan: usize,
    has_time: bool,
    has_keys: bool,
    has_label: bool,
    /// A first pass over the keys and times (`SourceSpec::scan_only`):
    /// the fields after `last_used` are neither read nor counted (the
    /// main pass checks them).
    scan_only: bool,
    /// Index of the last column with a role.
    last_used: usize,
}

/// A wide CSV file with a header row, read as a [`RecordingSource`].
pub struct CsvSource {
    file: File,
    ctx: Arc<Ctx>,
    buf: Vec<u8>,
    /// The buffer of the block before, reused for the next read.
    spare: Vec<u8>,
    eof: bool,
    next_row: u64,
    asm: Assembler,
    channels: Arc<[ChannelSpec]>,
    finished: bool,
    /// Bytes read so far.
    pub bytes: u64,
}

fn split_fields(line: &[u8], delim: u8) -> Vec<Cow<'_, [u8]>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let (field, next) = next_field(line, pos, delim);
        out.push(field);
        match next {
            Some(n) => pos = n,
            None => break,
        }
    }
    out
}

/// The field starting at `pos` and the start of the next one (None at the
/// end of the line). Quoted fields may contain the delimiter and `""`.
#[inline]
fn next_field(line: &[u8], pos: usize, delim: u8) -> (Cow<'_, [u8]>, Option<usize>) {
    let rest = &line[pos..];
    if rest.first() == Some(&b'"') {
        let mut out = Vec::new();
        let mut i = 1;
        while i < rest.len() {
            if rest[i] == b'"' {
                if rest.get(i + 1) == Some(&b'"') {
                    out.push(b'"');
                    i += 2;
                    continue;
                }
                // closing quote
                let after = i + 1;
                return match memchr::memchr(delim, &rest[after..]) {
                    Some(p) => (Cow::Owned(out), Some(pos + after + p + 1)),
                    None => (Cow::Owned(out), None),
                };
            }
            out.push(rest[i]);
            i += 1;
        }
        return (Cow::Owned(out), None);
    }
    match find_byte(delim, rest) {
        Some(p) => (Cow::Borrowed(&rest[..p]), Some(pos + p + 1)),
        None => (Cow::Borrowed(rest), None),
    }
}

/// The first position of `b` in `s`, eight bytes at a time. Cells are
/// short (a number, an id), where this beats a call into `memchr`.
#[inline]
fn find_byte(b: u8, s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(b);
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let x = word ^ pattern;
        // The lowest flagged byte is the first zero byte of x (a borrow
        // can flag only bytes above a true zero).
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b)
        .map(|p| at + p)
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

/// The most characters of a cell an error quotes.
const QUOTE_CHARS: usize = 40;

/// A cell as an error quotes it: at most [`QUOTE_CHARS`] characters (then
/// `…` and its length), and a note when it holds carriage returns (a file
/// whose later lines end in CR only reads as one long line).
fn shown(b: &[u8]) -> String {
    let t = text(b);
    let n = t.chars().count();
    let mut out: String = if n > QUOTE_CHARS {
        let head: String = t.chars().take(QUOTE_CHARS).collect();
        format!("{head}…' ({} bytes", b.len())
    } else {
        format!("{t}'")
    };
    if b.contains(&b'\r') {
        out += if n > QUOTE_CHARS { "; " } else { " (" };
        out += "it holds carriage returns: CR-only line endings? convert them to LF)";
    } else if n > QUOTE_CHARS {
        out += ")";
    }
    out
}

impl Ctx {
    /// The location of cell `col` of `row`, for errors.
    fn cell(&self, row: u64, col: usize) -> Location {
        Location::file(&self.file)
            .row(row)
            .column(self.header[col].clone())
    }

    /// The error of a row with `got` fields where the header has another
    /// number; a `line` holding carriage returns is named as CR-only line endings.
    fn field_count_error(&self, row: u64, got: usize, line: &[u8]) -> Error {
        let cr = if line.contains(&b'\r') {
            " (the line holds carriage returns: CR-only line endings? convert them to LF)"
        } else {
            ""
        };
        Error::data(
            Location::file(&self.file).row(row),
            format!("{got} fields, but the header has {}{cr}", self.roles.len()),
        )
    }
}

/// Parse a channel cell: a value, or NaN for a missing one.
///
/// Errors (naming the cell): an infinity, or not a number.
fn parse_channel(field: &[u8], ctx: &Ctx, row: u64, col: usize) -> Result<f32> {
    match parse_f32(field) {
        Num::Value(v) => Ok(v),
        Num::Infinite => Err(Error::data(
            ctx.cell(row, col),
            format!(
                "infinite value '{} (use NaN or an empty cell for missing)",
                shown(field)
            ),
        )),
        Num::Invalid => Err(Error::data(
            ctx.cell(row, col),
            format!("not a number: '{}", shown(field)),
        )),
    }
}

/// Parse a timestamp cell: a number (unit decided later) or an ISO-8601
/// date-time (in ms), with the kind it was read as.
///
/// Errors (naming the cell): a missing timestamp, or not a timestamp.
fn parse_timestamp(field: &[u8], ctx: &Ctx, row: u64, col: usize) -> Result<(f64, TsKind)> {
    if let Some(t) = parse_f64(field) {
        Ok((t, TsKind::Number))
    } else if let Some(t) = parse_iso8601_ms(field) {
        Ok((t, TsKind::Iso))
    } else if is_missing_token(field.trim_ascii()) {
        Err(Error::data(ctx.cell(row, col), "missing timestamp"))
    } else {
        Err(Error::data(
            ctx.cell(row, col),
            format!(
                "not a timestamp: '{} (expected epoch ms, epoch s or ISO-8601)",
                shown(field)
            ),
        ))
    }
}

/// The subject and recording cells of one row (`None` without such a
/// column).
#[derive(Default)]
struct RowKeys<'l> {
    subject: Option<Cow<'l, [u8]>>,
    recording: Option<Cow<'l, [u8]>>,
}

/// Turns the lines of one piece into a [`Block`], recording runs of keys
/// and labels.
struct PieceParser<'c> {
    ctx: &'c Ctx,
    block: Block,
    /// Trimmed subject and recording of the last key run.
    prev_key: Option<(Vec<u8>, Vec<u8>)>,
    /// Trimmed label cell of the last label run.
    prev_label: Option<Vec<u8>>,
    /// Trimmed label cell of the current row.
    label_cell: Vec<u8>,
}

impl<'c> PieceParser<'c> {
    fn new(ctx: &'c Ctx, first_row: u64) -> Self {
        Self {
            ctx,
            block: Block {
                first_row,
                ..Block::default()
            },
            prev_key: None,
            prev_label: None,
            label_cell: Vec::new(),
        }
    }

    /// Add the non-empty `line` at `row` as the block's next row.
    ///
    /// Errors (naming file, row and column): a wrong number of fields or a
    /// bad cell.
    fn push_row(&mut self, line: &[u8], row: u64) -> Result<()> {
        let keys = self.parse_cells(line, row)?;
        let offset = self.block.n;
        if self.ctx.has_keys {
            self.push_key_run(offset, &keys);
        }
        if self.ctx.has_label {
            self.push_label_run(offset);
        }
        self.block.n += 1;
        Ok(())
    }

    /// Parse the fields of `line` by their roles: channel values (NaN when
    /// missing) and the timestamp into the block, the label into
    /// `label_cell`. Returns the subject and recording cells.
    ///
    /// Errors: a wrong number of fields, or a bad channel or time cell.
    fn parse_cells<'l>(&mut self, line: &'l [u8], row: u64) -> Result<RowKeys<'l>> {
        let ctx = self.ctx;
        let ncols = ctx.roles.len();
        let base = self.block.values.len();
        self.block.values.resize(base + ctx.nchan, f32::NAN);
        let mut keys = RowKeys::default();
        let mut pos = Some(0usize);
        let mut col = 0usize;
        while let Some(p) = pos {
            if col >= ncols {
                let got = split_fields(line, ctx.delim).len();
                return Err(ctx.field_count_error(row, got, line));
            }
            let (field, next) = next_field(line, p, ctx.delim);
            match ctx.roles[col] {
                Role::Skip => {}
                Role::Channel(j) => {
                    self.block.values[base + j] = parse_channel(&field, ctx, row, col)?;
                }
                Role::Time => {
                    let (t, kind) = parse_timestamp(&field, ctx, row, col)?;
                    self.push_timestamp(t, kind, row);
                }
                Role::Subject => keys.subject = Some(field),
                Role::Recording => keys.recording = Some(field),
                Role::Label => {
                    self.label_cell.clear();
                    self.label_cell.extend_from_slice(field.trim_ascii());
                }
            }
            if ctx.scan_only && col == ctx.last_used {
                return Ok(keys);
            }
            col += 1;
            pos = next;
        }
        if col < ncols {
            return Err(ctx.field_count_error(row, col, line));
        }
        Ok(keys)
    }

    /// Add a timestamp, noting the block's first kind and the first row of
    /// another kind.
    fn push_timestamp(&mut self, t: f64, kind: TsKind, row: u64) {
        let b = &mut self.block;
        match b.ts_kind {
            None => b.ts_kind = Some(kind),
            Some(k) if k != kind && b.ts_mixed.is_none() => b.ts_mixed = Some((row, kind)),
            _ => {}
        }
        b.ts.push(t);
    }

    /// Start a key run at `offset` when the row's (trimmed) subject or
    /// recording differs from the previous row's.
    fn push_key_run(&mut self, offset: usize, keys: &RowKeys<'_>) {
        let s = keys.subject.as_deref().unwrap_or(b"").trim_ascii();
        let r = keys.recording.as_deref().unwrap_or(b"").trim_ascii();
        let changed = match &self.prev_key {
            Some((ps, pr)) => ps.as_slice() != s || pr.as_slice() != r,
            None => true,
        };
        if changed {
            self.prev_key = Some((s.to_vec(), r.to_vec()));
            self.block.keys.push((
                offset,
                keys.subject.is_some().then(|| text(s)),
                keys.recording.is_some().then(|| text(r)),
            ));
        }
    }

    /// Start a label run at `offset` when the row's label cell differs from
    /// the previous row's (a missing-value cell is no label).
    fn push_label_run(&mut self, offset: usize) {
        let cell = &self.label_cell;
        if self.prev_label.as_deref() != Some(cell.as_slice()) {
            let l = (!is_missing_token(cell))
                .then(|| Arc::<str>::from(String::from_utf8_lossy(cell).as_ref()));
            self.block.labels.push((offset, l));
            self.prev_label = Some(cell.clone());
        }
    }

    /// The finished block (timestamps dropped when the file has no time
    /// column).
    fn finish(mut self) -> Block {
        if !self.ctx.has_time {
            self.block.ts.clear();
        }
        self.block
    }
}

/// Parse one piece of whole lines (without its final newline) whose first
/// line is file row `first_row`. Empty lines are skipped but counted.
///
/// Errors (naming file, row and column): a wrong number of fields or a bad
/// cell.
fn parse_piece(data: &[u8], first_row: u64, ctx: &Ctx) -> Result<Block> {
    let mut parser = PieceParser::new(ctx, first_row);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
    for (row, end) in (first_row..).zip(ends) {
        let raw = &data[start..end];
        start = end + 1;
        let line = strip_cr(raw);
        if !line.is_empty() {
            parser.push_row(line, row)?;
        }
    }
    Ok(parser.finish())
}

impl CsvSource {
    /// Open `path`; `root` is the input directory when the file is one of
    /// several (for the default subject).
    pub fn open(path: &Path, root: Option<&Path>, spec: &SourceSpec) -> Result<Self> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut buf = Vec::with_capacity(BLOCK_BYTES + 4096);
        let mut bytes = 0u64;
        // Read until the first two lines (header + first data row) are in.
        let (mut eof, mut lines, mut counted) = (false, 0usize, 0usize);
        loop {
            // Count only the bytes read since the last pass (linear).
            lines += buf[counted..].iter().filter(|&&c| c == b'\n').count();
            counted = buf.len();
            if lines == 0 && (eof || buf.len() >= 1 << 16) && buf.contains(&b'\r') {
                return Err(Error::data(
                    Location::file(path),
                    "no line break but carriage returns in the first 64 KiB: CR-only line \
                     endings (classic Mac) are not read; convert them to LF, e.g. \
                     `tr '\\r' '\\n' < in.csv > out.csv`",
                ));
            }
            if lines >= 2 || eof {
                break;
            }
            let n = read_more(&mut file, &mut buf, 1 << 16, path)?;
            bytes += n as u64;
            eof = n == 0;
        }
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            buf.drain(..3);
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::data(Location::file(path), "empty file"));
        }
        let header_end = buf.iter().position(|&c| c == b'\n').unwrap_or(buf.len());
        let header_line = strip_cr(&buf[..header_end]).to_vec();
        let delim = spec.delimiter;
        let header: Vec<String> = split_fields(&header_line, delim)
            .iter()
            .map(|f| text(f))
            .collect();
        buf.drain(..(header_end + 1).min(buf.len()));
        let first_line: Vec<u8> = {
            let end = buf.iter().position(|&c| c == b'\n').unwrap_or(buf.len());
            strip_cr(&buf[..end]).to_vec()
        };
        let first_fields = split_fields(&first_line, delim);
        let numeric = |i: usize| {
            first_fields
                .get(i)
                .map(|f| !matches!(parse_f32(f), Num::Invalid))
                .unwrap_or(false)
        };
        let r: Resolved = resolve(path, &header, spec, numeric)?;
        let mut roles = vec![Role::Skip; header.len()];
        if let Some(i) = r.time {
            roles[i] = Role::Time;
        }
        if let Some(i) = r.subject {
            roles[i] = Role::Subject;
        }
        if let Some(i) = r.recording {
            roles[i] = Role::Recording;
        }
        if let Some(i) = r.label {
            roles[i] = Role::Label;
        }
        for (j, &i) in r.channels.iter().enumerate() {
            roles[i] = Role::Channel(j);
        }
        let channels: Arc<[ChannelSpec]> = r.specs.clone().into();
        let (ds, dr) = default_keys(path, root, spec);
        let has_time = matches!(r.time_mode, TimeMode::Column(..));
        let asm = Assembler::new(
            path,
            channels.clone(),
            r.time_mode,
            (ds, dr),
            r.label.is_some(),
            spec.interleaved,
        );
        let ctx = Ctx {
            file: path.to_path_buf(),
            delim,
            header,
            nchan: r.channels.len(),
            has_time,
            has_keys: r.subject.is_some() || r.recording.is_some(),
            has_label: r.label.is_some(),
            scan_only: spec.scan_only,
            last_used: roles.iter().rposition(|r| *r != Role::Skip).unwrap_or(0),
            roles,
        };
        Ok(Self {
            file,
            ctx: Arc::new(ctx),
            buf,
            spare: Vec::new(),
            eof,
            next_row: 2,
            asm,
            channels,
            finished: false,
            bytes,
        })
    }

    /// The header's column names.
    pub fn header(&self) -> &[String] {
        &self.ctx.header
    }

    fn fill(&mut self) -> Result<()> {
        // Read one block, parse its complete lines in parallel.
        while !self.eof && self.buf.len() < BLOCK_BYTES {
            let n = read_more(&mut self.file, &mut self.buf, BLOCK_BYTES, &self.ctx.file)?;
            self.bytes += n as u64;
            if n == 0 {
                self.eof = true;
            }
        }
        let end = if self.eof {
            self.buf.len()
        } else {
            match memchr::memrchr(b'\n', &self.buf) {
                Some(p) => p + 1,
                None if self.buf.len() > MAX_LINE_BYTES => {
                    let cr = if self.buf.contains(&b'\r') {
                        ": it holds carriage returns, CR-only line endings? convert them to LF"
                    } else {
                        ": not a CSV file?"
                    };
                    return Err(Error::data(
                        Location::file(&self.ctx.file).row(self.next_row),
                        format!("a line longer than {} MiB{cr}", MAX_LINE_BYTES >> 20),
                    ));
                }
                None => {
                    // A line longer than a block: read more.
                    let n = read_more(&mut self.file, &mut self.buf, BLOCK_BYTES, &self.ctx.file)?;
                    self.bytes += n as u64;
                    self.eof = n == 0;
                    return Ok(());
                }
            }
        };
        let data = &self.buf[..end];
        let threads = rayon::current_num_threads().max(1);
        let n_pieces = (data.len() / MIN_PIECE_BYTES).clamp(1, threads * 2);
        let mut pieces: Vec<(&[u8], u64)> = Vec::with_capacity(n_pieces);
        let mut start = 0;
        let mut row = self.next_row;
        for k in 1..=n_pieces {
            let target = data.len() * k / n_pieces;
            let cut = if k == n_pieces {
                data.len()
            } else if target <= start {
                continue;
            } else {
                match memchr::memchr(b'\n', &data[target..]) {
                    Some(p) => target + p + 1,
                    None => data.len(),
                }
            };
            if cut <= start {
                continue;
            }
            let piece = &data[start..cut];
            pieces.push((piece, row));
            row += memchr::memchr_iter(b'\n', piece).count() as u64;
            if !piece.ends_with(b"\n") {
                row += 1;
            }
            start = cut;
        }
        // Read the next block (after the partial line left over) while
        // this one is parsed.
        let mut next = std::mem::take(&mut self.spare);
        next.clear();
        next.extend_from_slice(&self.buf[end..]);
        let (ctx, file, eof) = (&*self.ctx, &mut self.file, self.eof);
        let (blocks, read) = rayon::join(
            || -> Vec<Result<Block>> {
                pieces
                    .par_iter()
                    .map(|(p, r)| {
                        let p = p.strip_suffix(b"\n").unwrap_or(p);
                        parse_piece(p, *r, ctx)
                    })
                    .collect()
            },
            || match eof {
                true => Ok(0),
                false => read_more(file, &mut next, BLOCK_BYTES, &ctx.file),
            },
        );
        self.next_row = row;
        self.spare = std::mem::replace(&mut self.buf, next);
        // This block's errors come before those of reading the next one.
        for b in blocks {
            self.asm.push(b?)?;
        }
        let n = read?;
        self.bytes += n as u64;
        self.eof |= n == 0;
        Ok(())
    }
}

/// Append up to `want` bytes of `file` to `buf` (fewer only at the end of
/// the file), without zeroing the space first. Returns the bytes read.
fn read_more(file: &mut File, buf: &mut Vec<u8>, want: usize, path: &Path) -> Result<usize> {
    buf.reserve(want);
    file.take(want as u64)
        .read_to_end(buf)
        .map_err(|e| Error::io(path, e))
}

impl RecordingSource for CsvSource {
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
            if self.eof && self.buf.is_empty() {
                self.asm.finish(true)?;
                self.finished = true;
                continue;
            }
            self.fill()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `find_byte` finds what `memchr` finds, at every offset and length
    /// around its 8-byte steps, with bytes on either side of the target
    /// (0x00, 0x80, 0xFF, the byte just below and above it).
    #[test]
    fn find_byte_agrees_with_memchr() {
        let fill = [b'a', 0x00, 0x80, 0xFF, b',' - 1, b',' + 1, b';', b'\t'];
        for len in 0..40 {
            for f in fill {
                let mut s = vec![f; len];
                for b in [b',', b';', b'\t', 0x00, 0xFF] {
                    assert_eq!(find_byte(b, &s), memchr::memchr(b, &s), "{len} {f} {b}");
                }
                for at in 0..len {
                    s[at] = b',';
                    if at + 3 < len {
                        s[at + 3] = b',';
                    }
                    assert_eq!(find_byte(b',', &s), memchr::memchr(b',', &s), "{len} {at}");
                    s.fill(f);
                }
            }
        }
    }

    #[test]
    fn errors_quote_cells_short_and_name_carriage_returns() {
        assert_eq!(shown(b" abc "), "abc'");
        let long = "9".repeat(5000);
        let s = shown(long.as_bytes());
        assert!(s.starts_with(&"9".repeat(QUOTE_CHARS)), "{s}");
        assert!(s.ends_with("…' (5000 bytes)"), "{s}");
        let cr = b"1.0\r2,3\r4,5";
        assert!(shown(cr).contains("CR-only"), "{}", shown(cr));
        let long_cr = "1,2\r".repeat(1000);
        let s = shown(long_cr.as_bytes());
        assert!(
            s.len() < 200 && s.contains("4000 bytes; it holds carriage returns"),
            "{s}"
        );
    }
}
