//! Mutations: byte-level ones for any file, and structure-aware ones that
//! keep a file parseable enough to reach the code behind the parser (CSV
//! rows and fields, TOML and JSON values, safetensors headers).
//!
//! Every mutation draws from the caller's seeded generator, so a run is
//! reproducible from its seed.
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Field values that have broken parsers before: empty, non-finite, huge,
/// overflowing, badly formed times, other types.
pub const INTERESTING_TEXT: &[&str] = &[
    "",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e300",
    "-1e308",
    "1e-320",
    "0",
    "-1",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "99999999999999999999999999",
    "1700000000000",
    "0.001",
    "abc",
    "\"",
    "2026-13-45T25:61:61Z",
    "2026-01-01T00:00:00.1234567890123456789Z",
    "2026-01-01T00:00:00+99:99",
    "\u{feff}x",
    "ä🙂",
];

/// Flip, overwrite, insert, delete or duplicate bytes; truncate.
pub fn bytes(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    if data.is_empty() {
        data.push(rng.random());
        return;
    }
    let n = data.len();
    // Footers (Parquet, Arrow IPC) live at the end: aim there half the time.
    let pos = if rng.random_bool(0.5) {
        n - 1 - rng.random_range(0..n.min(512))
    } else {
        rng.random_range(0..n)
    };
    match rng.random_range(0..7) {
        0 => data[pos] ^= 1 << rng.random_range(0..8),
        1 => data[pos] = *[0u8, 0xff, 0x7f, 0x80].choose(rng).unwrap_or(&0),
        2 => {
            // Overwrite a little-endian integer with an extreme value.
            let v: u32 = *[0, u32::MAX, i32::MAX as u32, 1 << 31, 1 << 24]
                .choose(rng)
                .unwrap_or(&0);
            for (k, b) in v.to_le_bytes().iter().enumerate() {
                if let Some(slot) = data.get_mut(pos + k) {
                    *slot = *b;
                }
            }
        }
        3 => data.insert(pos, rng.random()),
        4 => {
            let len = rng.random_range(1..=16.min(n - pos));
            data.drain(pos..pos + len);
        }
        5 => {
            let len = rng.random_range(1..=64.min(n - pos));
            let chunk = data[pos..pos + len].to_vec();
            data.splice(pos..pos, chunk);
        }
        _ => data.truncate(pos),
    }
}

/// A CSV mutation on rows and fields: replace a field by an interesting
/// value, duplicate, swap or delete rows, drop or rename a header field,
/// change line endings, or add a field to a row. Falls back to a byte
/// mutation when the input is not UTF-8.
pub fn csv(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let Ok(text) = std::str::from_utf8(data) else {
        return bytes(data, rng);
    };
    let mut rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    if rows.is_empty() {
        return bytes(data, rng);
    }
    let r = rng.random_range(0..rows.len());
    let mut crlf = text.contains("\r\n");
    let mut cr_only = false;
    match rng.random_range(0..9) {
        0..=2 => {
            let row = &mut rows[r];
            let f = rng.random_range(0..row.len());
            row[f] = INTERESTING_TEXT.choose(rng).unwrap_or(&"").to_string();
        }
        3 => {
            let row = rows[r].clone();
            rows.insert(r, row);
        }
        4 => {
            let s = rng.random_range(0..rows.len());
            rows.swap(r, s);
        }
        5 => {
            rows.remove(r);
        }
        6 => {
            let head = &mut rows[0];
            let f = rng.random_range(0..head.len());
            if rng.random_bool(0.5) {
                head.remove(f);
            } else {
                head[f] = rows_name_for(rng);
            }
        }
        7 => {
            if rng.random_bool(0.5) {
                crlf = !crlf;
            } else {
                cr_only = true;
            }
        }
        _ => rows[r].push(INTERESTING_TEXT.choose(rng).unwrap_or(&"").to_string()),
    }
    let eol = if cr_only {
        "\r"
    } else if crlf {
        "\r\n"
    } else {
        "\n"
    };
    let mut out = String::with_capacity(data.len() + 16);
    for row in &rows {
        out.push_str(&row.join(","));
        out.push_str(eol);
    }
    *data = out.into_bytes();
}

fn rows_name_for(rng: &mut ChaCha8Rng) -> String {
    ["t", "ax", "label", "subject", "recording", "", "ax"]
        .choose(rng)
        .unwrap_or(&"t")
        .to_string()
}

/// A replacement for a JSON value: another type, an extreme number, an
/// empty or odd string, an empty container.
fn json_replacement(rng: &mut ChaCha8Rng) -> serde_json::Value {
    use serde_json::json;
    match rng.random_range(0..13) {
        0 => json!(null),
        12 => json!(*["I32", "F64", "BF16", "U8", "I64"]
            .choose(rng)
            .unwrap_or(&"I32")),
        1 => json!(0),
        2 => json!(-1),
        3 => json!(1e300),
        4 => json!(u64::MAX),
        5 => json!(i64::MIN),
        6 => json!(""),
        7 => json!("F32"),
        8 => json!([]),
        9 => json!({}),
        10 => json!(true),
        _ => json!(INTERESTING_TEXT.choose(rng).unwrap_or(&"")),
    }
}

/// Visit a uniformly chosen value of `v` (by pre-order index) with `f`.
fn nth_json<F: FnOnce(&mut serde_json::Value)>(
    v: &mut serde_json::Value,
    n: &mut usize,
    f: &mut Option<F>,
) {
    if *n == 0 {
        if let Some(f) = f.take() {
            f(v);
        }
        return;
    }
    *n -= 1;
    match v {
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| nth_json(x, n, f)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|x| nth_json(x, n, f)),
        _ => {}
    }
}

fn json_size(v: &serde_json::Value) -> usize {
    1 + match v {
        serde_json::Value::Array(a) => a.iter().map(json_size).sum(),
        serde_json::Value::Object(o) => o.values().map(json_size).sum(),
        _ => 0,
    }
}

/// Mutate one value of a JSON document in place: replace it, drop a key or
/// element, duplicate an element, reverse an array (a shape), nudge a
/// number.
pub fn json_value(v: &mut serde_json::Value, rng: &mut ChaCha8Rng) {
    let mut n = rng.random_range(0..json_size(v));
    let op = rng.random_range(0..6);
    let replacement = json_replacement(rng);
    let pick: u64 = rng.random();
    let mut f = Some(move |x: &mut serde_json::Value| match (op, x) {
        (1, serde_json::Value::Object(o)) if !o.is_empty() => {
            let k = o.keys().nth(pick as usize % o.len()).cloned();
            if let Some(k) = k {
                o.remove(&k);
            }
        }
        (2, serde_json::Value::Array(a)) if !a.is_empty() => {
            let i = pick as usize % a.len();
            if pick.is_multiple_of(2) {
                a.remove(i);
            } else {
                let e = a[i].clone();
                a.push(e);
            }
        }
        (4, serde_json::Value::Array(a)) if a.len() > 1 => a.reverse(),
        (3, serde_json::Value::Number(num)) => {
            let x0 = num.as_f64().unwrap_or(0.0);
            let scaled = [x0 * 1e6, -x0, x0 + 1.0, x0 - 1.0, 0.0][pick as usize % 5];
            if let Some(m) = serde_json::Number::from_f64(scaled) {
                *num = m;
            }
        }
        (_, x) => *x = replacement,
    });
    nth_json(v, &mut n, &mut f);
}

/// A JSON mutation that keeps the document JSON (falls back to bytes when
/// it is not).
pub fn json(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(mut v) => {
            json_value(&mut v, rng);
            *data = serde_json::to_vec_pretty(&v).unwrap_or_default();
        }
        Err(_) => bytes(data, rng),
    }
}

/// A TOML mutation through JSON's value model; a value TOML cannot hold
/// (null) is drawn again, and a document that is not TOML gets a byte
/// mutation.
pub fn toml(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let parsed = std::str::from_utf8(data)
        .ok()
        .and_then(|t| toml::from_str::<serde_json::Value>(t).ok());
    let Some(v) = parsed else {
        return bytes(data, rng);
    };
    // A value TOML cannot hold (null, a top-level non-table): try again.
    for _ in 0..8 {
        let mut w = v.clone();
        json_value(&mut w, rng);
        if let Ok(text) = toml::to_string(&w) {
            *data = text.into_bytes();
            return;
        }
    }
    bytes(data, rng)
}

/// A safetensors mutation: the JSON header (dtypes, shapes, offsets) most
/// of the time, otherwise its length prefix or the bytes after it.
pub fn safetensors(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let header_len = data
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize);
    let Some(len) = header_len.filter(|&l| l > 0 && l <= data.len().saturating_sub(8)) else {
        return bytes(data, rng);
    };
    match rng.random_range(0..10) {
        0 => {
            let bad: u64 = *[0, 1, u64::MAX, len as u64 + 1, len as u64 - 1, 1 << 40]
                .choose(rng)
                .unwrap_or(&0);
            data[..8].copy_from_slice(&bad.to_le_bytes());
        }
        1 => bytes(data, rng),
        _ => {
            let Ok(mut header) = serde_json::from_slice::<serde_json::Value>(&data[8..8 + len])
            else {
                return bytes(data, rng);
            };
            json_value(&mut header, rng);
            let text = serde_json::to_vec(&header).unwrap_or_default();
            let mut out = (text.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(&text);
            out.extend_from_slice(&data[8 + len..]);
            *data = out;
        }
    }
}

/// A document in two parts, `name\0contents`: the contents are mutated by
/// `inner`, the name is kept (so a target knows which file it fills).
pub fn named(data: &mut Vec<u8>, rng: &mut ChaCha8Rng, inner: fn(&mut Vec<u8>, &mut ChaCha8Rng)) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => {
            let mut body = data[i + 1..].to_vec();
            inner(&mut body, rng);
            data.truncate(i + 1);
            data.extend_from_slice(&body);
        }
        None => inner(data, rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mutations_are_reproducible_and_change_the_input() {
        let seed = b"t,ax,label\n0,1.0,walk\n20,2.0,walk\n40,3.0,run\n".to_vec();
        for m in [bytes, csv, json, toml] as [fn(&mut Vec<u8>, &mut ChaCha8Rng); 4] {
            let run = |s: u64| {
                let mut rng = ChaCha8Rng::seed_from_u64(s);
                (0..20)
                    .map(|_| {
                        let mut d = seed.clone();
                        m(&mut d, &mut rng);
                        d
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(run(3), run(3));
            assert!(run(3).iter().any(|d| *d != seed));
        }
    }

    #[test]
    fn structure_aware_mutations_keep_the_structure() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let doc = serde_json::json!({"a": [1, 2, {"b": "x"}], "c": 3.5});
        let text = serde_json::to_vec(&doc).unwrap();
        let toml_text = b"seed = 1\n[encoder]\ndim = 64\nname = \"x\"\n".to_vec();
        let mut still_toml = 0;
        for _ in 0..50 {
            let mut d = text.clone();
            json(&mut d, &mut rng);
            assert!(serde_json::from_slice::<serde_json::Value>(&d).is_ok());
            let mut t = toml_text.clone();
            toml(&mut t, &mut rng);
            still_toml += usize::from(
                std::str::from_utf8(&t).is_ok_and(|t| toml::from_str::<toml::Table>(t).is_ok()),
            );
        }
        assert!(still_toml >= 45, "{still_toml} of 50");
        // A safetensors header stays a length-prefixed JSON header.
        let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut st = (header.len() as u64).to_le_bytes().to_vec();
        st.extend_from_slice(header);
        st.extend_from_slice(&[0u8; 8]);
        let mut changed = 0;
        for _ in 0..50 {
            let mut d = st.clone();
            safetensors(&mut d, &mut rng);
            changed += usize::from(d != st);
        }
        assert!(changed > 40, "{changed}");
    }
}
