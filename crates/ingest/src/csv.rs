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
}

/// A wide CSV file with a header row, read as a [`RecordingSource`].
pub struct CsvSource {
    file: File,
    ctx: Arc<Ctx>,
    buf: Vec<u8>,
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
                return match rest[after..].iter().position(|&b| b == delim) {
                    Some(p) => (Cow::Owned(out), Some(pos + after + p + 1)),
                    None => (Cow::Owned(out), None),
                };
            }
            out.push(rest[i]);
            i += 1;
        }
        return (Cow::Owned(out), None);
    }
    match rest.iter().position(|&b| b == delim) {
        Some(p) => (Cow::Borrowed(&rest[..p]), Some(pos + p + 1)),
        None => (Cow::Borrowed(rest), None),
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

fn parse_piece(data: &[u8], first_row: u64, ctx: &Ctx) -> Result<Block> {
    let mut b = Block {
        first_row,
        ..Block::default()
    };
    let ncols = ctx.roles.len();
    let mut prev_key: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut prev_label: Option<Vec<u8>> = None;
    let mut row = first_row;
    let mut subj: &[u8] = b"";
    let mut rec: &[u8] = b"";
    let mut owned_s: Vec<u8> = Vec::new();
    let mut owned_r: Vec<u8> = Vec::new();
    let mut label_cell: Vec<u8> = Vec::new();
    for raw in data.split(|&c| c == b'\n') {
        let line = strip_cr(raw);
        if line.is_empty() {
            row += 1;
            continue;
        }
        let loc = |col: usize| {
            Location::file(&ctx.file)
                .row(row)
                .column(ctx.header[col].clone())
        };
        let base = b.values.len();
        b.values.resize(base + ctx.nchan, f32::NAN);
        let mut pos = Some(0usize);
        let mut col = 0usize;
        let mut subj_set = false;
        let mut rec_set = false;
        while let Some(p) = pos {
            if col >= ncols {
                return Err(Error::data(
                    Location::file(&ctx.file).row(row),
                    format!(
                        "{} fields, but the header has {ncols}",
                        split_fields(line, ctx.delim).len()
                    ),
                ));
            }
            let (field, next) = next_field(line, p, ctx.delim);
            match ctx.roles[col] {
                Role::Skip => {}
                Role::Channel(j) => match parse_f32(&field) {
                    Num::Value(v) => b.values[base + j] = v,
                    Num::Infinite => {
                        return Err(Error::data(
                            loc(col),
                            format!(
                                "infinite value '{}' (use NaN or an empty cell for missing)",
                                text(&field)
                            ),
                        ))
                    }
                    Num::Invalid => {
                        return Err(Error::data(
                            loc(col),
                            format!("not a number: '{}'", text(&field)),
                        ))
                    }
                },
                Role::Time => {
                    let (t, kind) = if let Some(t) = parse_f64(&field) {
                        (t, TsKind::Number)
                    } else if let Some(t) = parse_iso8601_ms(&field) {
                        (t, TsKind::Iso)
                    } else if is_missing_token(field.trim_ascii()) {
                        return Err(Error::data(loc(col), "missing timestamp"));
                    } else {
                        return Err(Error::data(
                            loc(col),
                            format!(
                                "not a timestamp: '{}' (expected epoch ms, epoch s or ISO-8601)",
                                text(&field)
                            ),
                        ));
                    };
                    match b.ts_kind {
                        None => b.ts_kind = Some(kind),
                        Some(k) if k != kind && b.ts_mixed.is_none() => {
                            b.ts_mixed = Some((row, kind))
                        }
                        _ => {}
                    }
                    b.ts.push(t);
                }
                Role::Subject => {
                    subj_set = true;
                    match field {
                        Cow::Borrowed(s) => subj = s,
                        Cow::Owned(o) => {
                            owned_s = o;
                            subj = b"";
                        }
                    }
                }
                Role::Recording => {
                    rec_set = true;
                    match field {
                        Cow::Borrowed(s) => rec = s,
                        Cow::Owned(o) => {
                            owned_r = o;
                            rec = b"";
                        }
                    }
                }
                Role::Label => {
                    label_cell.clear();
                    label_cell.extend_from_slice(field.trim_ascii());
                }
            }
            col += 1;
            pos = next;
        }
        if col < ncols {
            return Err(Error::data(
                Location::file(&ctx.file).row(row),
                format!("{col} fields, but the header has {ncols}"),
            ));
        }
        let offset = b.n;
        if ctx.has_keys {
            let s: &[u8] = if subj.is_empty() { &owned_s } else { subj };
            let r: &[u8] = if rec.is_empty() { &owned_r } else { rec };
            let s = s.trim_ascii();
            let r = r.trim_ascii();
            let changed = match &prev_key {
                Some((ps, pr)) => ps.as_slice() != s || pr.as_slice() != r,
                None => true,
            };
            if changed {
                prev_key = Some((s.to_vec(), r.to_vec()));
                b.keys
                    .push((offset, subj_set.then(|| text(s)), rec_set.then(|| text(r))));
            }
            owned_s.clear();
            owned_r.clear();
            subj = b"";
            rec = b"";
        }
        if ctx.has_label {
            let changed = prev_label.as_deref() != Some(label_cell.as_slice());
            if changed {
                let l = (!is_missing_token(&label_cell))
                    .then(|| Arc::<str>::from(String::from_utf8_lossy(&label_cell).as_ref()));
                b.labels.push((offset, l));
                prev_label = Some(label_cell.clone());
            }
        }
        b.n += 1;
        row += 1;
    }
    if !ctx.has_time {
        b.ts.clear();
    }
    Ok(b)
}

impl CsvSource {
    /// Open `path`; `root` is the input directory when the file is one of
    /// several (for the default subject).
    pub fn open(path: &Path, root: Option<&Path>, spec: &SourceSpec) -> Result<Self> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut buf = Vec::with_capacity(BLOCK_BYTES + 4096);
        let mut bytes = 0u64;
        // Read until the first two lines (header + first data row) are in.
        let mut eof = false;
        loop {
            let lines = buf.iter().filter(|&&c| c == b'\n').count();
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
            ds,
            dr,
            r.label.is_some(),
        );
        let ctx = Ctx {
            file: path.to_path_buf(),
            delim,
            header,
            roles,
            nchan: r.channels.len(),
            has_time,
            has_keys: r.subject.is_some() || r.recording.is_some(),
            has_label: r.label.is_some(),
        };
        Ok(Self {
            file,
            ctx: Arc::new(ctx),
            buf,
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
            match self.buf.iter().rposition(|&c| c == b'\n') {
                Some(p) => p + 1,
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
                match data[target..].iter().position(|&c| c == b'\n') {
                    Some(p) => target + p + 1,
                    None => data.len(),
                }
            };
            if cut <= start {
                continue;
            }
            let piece = &data[start..cut];
            pieces.push((piece, row));
            row += piece.iter().filter(|&&c| c == b'\n').count() as u64;
            if !piece.ends_with(b"\n") {
                row += 1;
            }
            start = cut;
        }
        let ctx = self.ctx.clone();
        let blocks: Vec<Result<Block>> = pieces
            .par_iter()
            .map(|(p, r)| {
                let p = p.strip_suffix(b"\n").unwrap_or(p);
                parse_piece(p, *r, &ctx)
            })
            .collect();
        self.next_row = row;
        self.buf.drain(..end);
        for b in blocks {
            self.asm.push(b?)?;
        }
        Ok(())
    }
}

fn read_more(file: &mut File, buf: &mut Vec<u8>, want: usize, path: &Path) -> Result<usize> {
    let old = buf.len();
    buf.resize(old + want, 0);
    let n = loop {
        match file.read(&mut buf[old..]) {
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(old);
                return Err(Error::io(path, e));
            }
        }
    };
    buf.truncate(old + n);
    Ok(n)
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
