//! BasicMotions (UEA multivariate time-series archive): a smartwatch on the
//! wrist, 3-D accelerometer and gyroscope at 10 Hz, 80 ten-second
//! recordings of four activities (standing, walking, running, badminton).
//! It ships as two `.ts` files inside the `aeon` wheel; setup extracts them
//! and writes them in wearlang's CSV input format, one recording per
//! instance, with the archive's TRAIN / TEST split kept as a `group` column
//! (the archive has no subject identifiers).
use super::{complete_with_provenance, extract, sha256_file, wheel_to_stage, Dist, PypiFile};
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The aeon wheel (BSD-3-Clause code; the data set is the UEA archive's).
pub(super) const AEON_WHEEL: PypiFile = PypiFile {
    requirement: "aeon==1.6.0",
    file_prefix: "aeon-1.6.0-",
    sha256: "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
    dist: Dist::Wheel,
};
/// The converted data set's directory in the cache.
pub(super) const DIR: &str = "data/basicmotions-aeon-1.6.0";
/// The converted file in [`DIR`].
pub(super) const CSV: &str = "basic_motions.csv";
/// Where the two `.ts` files lie inside the wheel.
const PREFIX: &str = "aeon/datasets/data/BasicMotions/";
/// The archive files and their SHA-256 (checked after extraction).
const PARTS: [(&str, &str); 2] = [
    (
        "BasicMotions_TRAIN.ts",
        "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
    ),
    (
        "BasicMotions_TEST.ts",
        "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc",
    ),
];
/// Channels in the archive's dimension order.
const CHANNELS: [&str; 6] = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"];
/// Of each class's TRAIN instances (in file order), the last this many go
/// to the `val` group.
const VAL_PER_CLASS: usize = 2;

/// Fetch, check and convert BasicMotions into the cache (reused while
/// `.complete` is there).
pub(super) fn fetch(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join(DIR);
    let Some((wheel, tmp)) = wheel_to_stage(cache, &dir, &AEON_WHEEL, "BasicMotions (aeon wheel)")?
    else {
        return Ok(dir);
    };
    extract(&wheel, &tmp, |name| {
        let file = name.strip_prefix(PREFIX)?;
        PARTS
            .iter()
            .any(|(f, _)| *f == file)
            .then(|| PathBuf::from("ts").join(file))
    })?;
    let mut csv = String::from("group,recording,label,");
    csv.push_str(&CHANNELS.join(","));
    csv.push('\n');
    let mut hashes = serde_json::Map::new();
    for (file, sha256) in PARTS {
        let path = tmp.join("ts").join(file);
        let got =
            sha256_file(&path).with_context(|| format!("{file} is not in {}", wheel.display()))?;
        if got != sha256 {
            bail!("{}: expected sha256 {sha256}, got {got}", path.display());
        }
        hashes.insert(file.into(), got.into());
        let text = fs::read_to_string(&path)?;
        let part = if file.contains("TRAIN") {
            "train"
        } else {
            "test"
        };
        let instances = parse_ts(&text).with_context(|| format!("parsing {}", path.display()))?;
        write_csv(&mut csv, part, &instances);
    }
    fs::write(tmp.join(CSV), &csv)?;
    let provenance = serde_json::json!({
        "source": AEON_WHEEL.requirement,
        "wheel_sha256": AEON_WHEEL.sha256,
        "members": hashes,
        "converted_sha256": sha256_file(&tmp.join(CSV))?,
        "licence": "UEA & UCR time-series classification archive (free for research; \
                    cite Bagnall et al. 2018); aeon itself is BSD-3-Clause",
        "units": "accelerometer as in the archive (gravity removed; m/s² assumed), \
                  gyroscope rad/s assumed: the archive does not state units",
    });
    complete_with_provenance(&tmp, &dir, &wheel, &provenance)?;
    Ok(dir)
}

/// One instance of a `.ts` file: label and `channels × length` values.
#[derive(Debug, PartialEq)]
struct Instance {
    label: String,
    series: Vec<Vec<f64>>,
}

/// Parse a `.ts` file of equal-length multivariate series: header lines
/// (`#`, `@`) up to `@data`, then one line per instance, dimensions
/// separated by `:`, values by `,`, the class label last. Errors name the
/// line.
fn parse_ts(text: &str) -> Result<Vec<Instance>> {
    let mut lines = text.lines().enumerate();
    lines
        .by_ref()
        .find(|(_, l)| l.trim().eq_ignore_ascii_case("@data"))
        .context("no @data line")?;
    let mut out = Vec::new();
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut fields: Vec<&str> = line.split(':').collect();
        let label = fields.pop().unwrap_or_default().trim().to_string();
        if fields.len() != CHANNELS.len() || label.is_empty() {
            bail!(
                "line {}: expected {} dimensions and a label, found {} fields",
                i + 1,
                CHANNELS.len(),
                fields.len() + 1
            );
        }
        let series = fields
            .iter()
            .map(|d| {
                d.split(',')
                    .map(|v| {
                        v.trim()
                            .parse::<f64>()
                            .with_context(|| format!("line {}: bad value '{v}'", i + 1))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        if series
            .iter()
            .any(|s| s.len() != series[0].len() || s.is_empty())
        {
            bail!("line {}: dimensions of unequal length", i + 1);
        }
        out.push(Instance { label, series });
    }
    if out.is_empty() {
        bail!("no instances after @data");
    }
    Ok(out)
}

/// Append the instances of one archive part as CSV rows: `group` is the
/// part (`train`, `test`), or `val` for the last [`VAL_PER_CLASS`] training
/// instances of each class; `recording` is `<part>_<index>`.
fn write_csv(csv: &mut String, part: &str, instances: &[Instance]) {
    for (i, inst) in instances.iter().enumerate() {
        let later_of_class = instances[i + 1..]
            .iter()
            .filter(|o| o.label == inst.label)
            .count();
        let group = if part == "train" && later_of_class < VAL_PER_CLASS {
            "val"
        } else {
            part
        };
        for t in 0..inst.series[0].len() {
            let _ = write!(csv, "{group},{part}_{i:03},{}", inst.label);
            for s in &inst.series {
                let _ = write!(csv, ",{}", s[t]);
            }
            csv.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = "#comment\n@problemName X\n@data\n\
        1,2:3,4:5,6:7,8:9,10:11,12:Walking\n\
        1,2:3,4:5,6:7,8:9,10:11,12:Walking\n\
        1,2:3,4:5,6:7,8:9,10:11,12:Walking\n\
        0,0:0,0:0,0:0,0:0,0:0,0:Running\n";

    #[test]
    fn ts_lines_become_one_recording_each_with_validation_held_out() {
        let inst = parse_ts(TS).unwrap();
        assert_eq!(inst.len(), 4);
        assert_eq!(inst[0].series[5], vec![11.0, 12.0]);
        let mut csv = String::new();
        write_csv(&mut csv, "train", &inst);
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[0], "train,train_000,Walking,1,3,5,7,9,11");
        assert_eq!(rows[1], "train,train_000,Walking,2,4,6,8,10,12");
        // The last two of each class are validation (the only Running too).
        assert!(rows[2].starts_with("val,train_001,"));
        assert!(rows[4].starts_with("val,train_002,"));
        assert!(rows[6].starts_with("val,train_003,Running"));
        let mut test = String::new();
        write_csv(&mut test, "test", &inst);
        assert!(test.lines().all(|l| l.starts_with("test,test_")));
    }

    #[test]
    fn malformed_ts_lines_are_named() {
        let short = "@data\n1,2:3,4:Walking\n";
        let err = format!("{:#}", parse_ts(short).unwrap_err());
        assert!(
            err.contains("line 2") && err.contains("dimensions"),
            "{err}"
        );
        let bad = "@data\n1,x:3,4:5,6:7,8:9,10:11,12:Walking\n";
        let err = format!("{:#}", parse_ts(bad).unwrap_err());
        assert!(err.contains("line 2") && err.contains("'x'"), "{err}");
        assert!(parse_ts("@data\n").is_err());
        assert!(parse_ts("no data line").is_err());
    }
}
