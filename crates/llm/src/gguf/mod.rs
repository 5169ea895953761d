//! A reader for GGUF files (the llama.cpp model format, versions 2 and 3):
//! header, metadata of every value type, tensor infos, alignment, and the
//! raw bytes of each tensor, dequantised to f32 by [`dequant`].
//!
//! Every length and count read from the file is checked against the bytes
//! that remain before anything is allocated, so a malformed or truncated
//! file is an [`LlmError::Gguf`] naming the byte offset, never a panic or an
//! unbounded allocation.

pub mod dequant;
mod writer;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub use dequant::GgmlType;
pub use writer::GgufWriter;

use crate::{LlmError, Result};

/// The four bytes every GGUF file starts with.
pub const MAGIC: &[u8; 4] = b"GGUF";
/// Data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
pub const MAX_DIMS: u32 = 4;

/// One metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    /// `uint8`.
    U8(u8),
    /// `int8`.
    I8(i8),
    /// `uint16`.
    U16(u16),
    /// `int16`.
    I16(i16),
    /// `uint32`.
    U32(u32),
    /// `int32`.
    I32(i32),
    /// `float32`.
    F32(f32),
    /// `bool`.
    Bool(bool),
    /// A UTF-8 string.
    String(String),
    /// An array of values of one type.
    Array(Vec<MetaValue>),
    /// `uint64`.
    U64(u64),
    /// `int64`.
    I64(i64),
    /// `float64`.
    F64(f64),
}

impl MetaValue {
    /// The value as an unsigned integer, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v as u64),
            MetaValue::U16(v) => Some(v as u64),
            MetaValue::U32(v) => Some(v as u64),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            MetaValue::I8(v) => Some(v as i64),
            MetaValue::I16(v) => Some(v as i64),
            MetaValue::I32(v) => Some(v as i64),
            MetaValue::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v as f64),
            MetaValue::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as an array.
    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where a tensor lives in the file and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Its name (`blk.0.attn_q.weight`, …).
    pub name: String,
    /// ggml dimensions, innermost first (`[in, out]` for a linear weight).
    pub dims: Vec<u64>,
    /// Storage type.
    pub ggml_type: GgmlType,
    /// Offset of its data from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// The shape in row-major (PyTorch) order: dimensions reversed, so a
    /// linear weight is `[out, in]`.
    pub fn shape(&self) -> Vec<i64> {
        self.dims.iter().rev().map(|&d| d as i64).collect()
    }

    /// Bytes of data the tensor occupies.
    pub fn n_bytes(&self) -> u64 {
        self.ggml_type.n_bytes(self.n_elements())
    }
}

/// A parsed GGUF file: metadata and tensor infos (tensor data stays on disk
/// until asked for).
#[derive(Clone, Debug)]
pub struct Gguf {
    /// The file it was read from.
    pub path: PathBuf,
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata in file order of keys (sorted map for stable printing).
    pub metadata: BTreeMap<String, MetaValue>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Absolute offset of the data section.
    pub data_offset: u64,
    /// Size of the file in bytes.
    pub file_len: u64,
}

/// A reader that tracks its offset and the bytes left in the file.
struct Cursor<R> {
    inner: R,
    pos: u64,
    len: u64,
    path: PathBuf,
}

impl<R: Read> Cursor<R> {
    fn err(&self, reason: impl Into<String>) -> LlmError {
        LlmError::Gguf {
            path: self.path.clone(),
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        if self.remaining() < N as u64 {
            return Err(self.err(format!("file ends inside {what}")));
        }
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.err(format!("reading {what}: {e}")))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    /// A count of items each at least `min_size` bytes long, checked against
    /// the bytes left.
    fn count(&mut self, what: &str, min_size: u64) -> Result<u64> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n.saturating_mul(min_size.max(1)) > self.remaining() {
            return Err(LlmError::Gguf {
                path: self.path.clone(),
                offset: at,
                reason: format!(
                    "{what} {n} does not fit in the {} bytes left",
                    self.remaining()
                ),
            });
        }
        Ok(n)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let at = self.pos;
        let n = self.count(&format!("length of {what}"), 1)?;
        let mut buf = vec![0u8; n as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.err(format!("reading {what}: {e}")))?;
        self.pos += n;
        String::from_utf8(buf).map_err(|_| LlmError::Gguf {
            path: self.path.clone(),
            offset: at,
            reason: format!("{what} is not UTF-8"),
        })
    }

    fn value(&mut self, type_id: u32, key: &str, depth: u32) -> Result<MetaValue> {
        Ok(match type_id {
            0 => MetaValue::U8(u8::from_le_bytes(self.bytes(key)?)),
            1 => MetaValue::I8(i8::from_le_bytes(self.bytes(key)?)),
            2 => MetaValue::U16(u16::from_le_bytes(self.bytes(key)?)),
            3 => MetaValue::I16(i16::from_le_bytes(self.bytes(key)?)),
            4 => MetaValue::U32(u32::from_le_bytes(self.bytes(key)?)),
            5 => MetaValue::I32(i32::from_le_bytes(self.bytes(key)?)),
            6 => MetaValue::F32(f32::from_le_bytes(self.bytes(key)?)),
            7 => {
                let at = self.pos;
                match self.bytes::<1>(key)?[0] {
                    0 => MetaValue::Bool(false),
                    1 => MetaValue::Bool(true),
                    b => {
                        return Err(LlmError::Gguf {
                            path: self.path.clone(),
                            offset: at,
                            reason: format!("bool value of `{key}` is {b}, not 0 or 1"),
                        })
                    }
                }
            }
            8 => MetaValue::String(self.string(&format!("value of `{key}`"))?),
            9 => {
                if depth > 0 {
                    return Err(self.err(format!("`{key}`: arrays of arrays are not supported")));
                }
                let elem = self.u32(&format!("array type of `{key}`"))?;
                let min = match elem {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 | 10..=12 => 8,
                    9 => 12,
                    other => {
                        return Err(self.err(format!("`{key}`: unknown array element type {other}")))
                    }
                };
                let n = self.count(&format!("array length of `{key}`"), min)?;
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.value(elem, key, depth + 1)?);
                }
                MetaValue::Array(items)
            }
            10 => MetaValue::U64(u64::from_le_bytes(self.bytes(key)?)),
            11 => MetaValue::I64(i64::from_le_bytes(self.bytes(key)?)),
            12 => MetaValue::F64(f64::from_le_bytes(self.bytes(key)?)),
            other => return Err(self.err(format!("`{key}`: unknown value type {other}"))),
        })
    }
}

impl Gguf {
    /// Read the header, metadata and tensor infos of a GGUF file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| LlmError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let len = file
            .metadata()
            .map_err(|e| LlmError::File {
                path: path.clone(),
                reason: e.to_string(),
            })?
            .len();
        Self::parse(BufReader::new(file), len, path)
    }

    /// Parse from any reader holding `len` bytes (`path` names it in errors).
    pub fn parse<R: Read>(reader: R, len: u64, path: PathBuf) -> Result<Self> {
        let mut c = Cursor {
            inner: reader,
            pos: 0,
            len,
            path: path.clone(),
        };
        let magic: [u8; 4] = c.bytes("magic")?;
        if &magic != MAGIC {
            c.pos = 0;
            return Err(c.err(format!("not a GGUF file (magic {magic:?})")));
        }
        let version = c.u32("version")?;
        if !(2..=3).contains(&version) {
            c.pos -= 4;
            return Err(c.err(format!("GGUF version {version} is not supported (2 or 3)")));
        }
        // A tensor info is at least 8 (name) + 4 + 8 + 4 + 8 bytes; a
        // key-value pair at least 8 + 4 + 1.
        let n_tensors = c.count("tensor count", 32)?;
        let n_kv = c.count("metadata count", 13)?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = c.string("metadata key")?;
            let type_id = c.u32(&format!("value type of `{key}`"))?;
            let value = c.value(type_id, &key, 0)?;
            metadata.insert(key, value);
        }
        let mut tensors = Vec::with_capacity(n_tensors as usize);
        for i in 0..n_tensors {
            let name = c.string(&format!("name of tensor {i}"))?;
            let at = c.pos;
            let n_dims = c.u32(&format!("dimension count of `{name}`"))?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                c.pos = at;
                return Err(c.err(format!(
                    "tensor `{name}` has {n_dims} dimensions (1 to {MAX_DIMS})"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(c.u64(&format!("dimensions of `{name}`"))?);
            }
            let n: Option<u64> = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .filter(|&n| n <= i64::MAX as u64);
            if n.is_none() || dims.contains(&0) {
                c.pos = at;
                return Err(c.err(format!("tensor `{name}` has dimensions {dims:?}")));
            }
            let at = c.pos;
            let type_id = c.u32(&format!("type of `{name}`"))?;
            let ggml_type = GgmlType::from_id(type_id).ok_or_else(|| LlmError::Gguf {
                path: path.clone(),
                offset: at,
                reason: format!("tensor `{name}` has unknown ggml type {type_id}"),
            })?;
            let (block, _) = ggml_type.block();
            if dims[0] % block != 0 {
                c.pos = at;
                return Err(c.err(format!(
                    "tensor `{name}`: rows of {} elements are not whole {} blocks of {block}",
                    dims[0],
                    ggml_type.name()
                )));
            }
            let offset = c.u64(&format!("data offset of `{name}`"))?;
            tensors.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset,
            });
        }
        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a,
                _ => {
                    return Err(LlmError::metadata(
                        "general.alignment",
                        format!("{v:?} is not a power of two"),
                    ))
                }
            },
        };
        let data_offset = c.pos.div_ceil(alignment) * alignment;
        let gguf = Gguf {
            path,
            version,
            metadata,
            tensors,
            data_offset,
            file_len: len,
        };
        for t in &gguf.tensors {
            let end = gguf
                .data_offset
                .checked_add(t.offset)
                .and_then(|s| s.checked_add(t.n_bytes()));
            let inside = matches!(end, Some(e) if e <= len);
            if !inside || t.offset % alignment != 0 {
                return Err(LlmError::Gguf {
                    path: gguf.path.clone(),
                    offset: gguf.data_offset.saturating_add(t.offset),
                    reason: format!(
                        "data of tensor `{}` ({} bytes at offset {}) lies outside the \
                         {len}-byte file or is not {alignment}-aligned",
                        t.name,
                        t.n_bytes(),
                        t.offset
                    ),
                });
            }
        }
        Ok(gguf)
    }

    /// A metadata value.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    /// A required string value.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| LlmError::metadata(key, "missing"))?
            .as_str()
            .ok_or_else(|| LlmError::metadata(key, "not a string"))
    }

    /// A required non-negative integer value.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.get(key)
            .ok_or_else(|| LlmError::metadata(key, "missing"))?
            .as_u64()
            .ok_or_else(|| LlmError::metadata(key, "not a non-negative integer"))
    }

    /// A required number.
    pub fn get_f64(&self, key: &str) -> Result<f64> {
        self.get(key)
            .ok_or_else(|| LlmError::metadata(key, "missing"))?
            .as_f64()
            .ok_or_else(|| LlmError::metadata(key, "not a number"))
    }

    /// A tensor's info by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw bytes of a tensor.
    pub fn tensor_bytes(&self, info: &TensorInfo) -> Result<Vec<u8>> {
        let io = |e: std::io::Error| LlmError::File {
            path: self.path.clone(),
            reason: format!("reading tensor `{}`: {e}", info.name),
        };
        let mut file = File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(self.data_offset + info.offset))
            .map_err(io)?;
        let mut buf = vec![0u8; info.n_bytes() as usize];
        file.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }

    /// A tensor dequantised to f32 (row-major, shape [`TensorInfo::shape`]).
    pub fn tensor_f32(&self, name: &str) -> Result<(Vec<f32>, Vec<i64>)> {
        let info = self
            .tensor(name)
            .ok_or_else(|| LlmError::tensor(name, format!("not in {}", self.path.display())))?;
        let bytes = self.tensor_bytes(info)?;
        let values = dequant::dequantize(&info.name, info.ggml_type, &bytes, info.n_elements())?;
        Ok((values, info.shape()))
    }

    /// A one-line description: path, version, tensor and key counts, size.
    pub fn describe(&self) -> String {
        format!(
            "{} (GGUF v{}, {} tensors, {} metadata keys, {} bytes)",
            self.path.display(),
            self.version,
            self.tensors.len(),
            self.metadata.len(),
            self.file_len
        )
    }
}

#[cfg(test)]
mod tests;
