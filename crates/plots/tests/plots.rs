//! Every plot function writes a PNG (right magic bytes and size, text
//! actually rasterised) and an SVG holding the names as text; bad data is
//! an error and leaves no file behind.

use std::fs;
use std::path::Path;

use wearlang_plots::{
    confusion_matrix, few_shot_curve, histogram, loss_curves, rank_histogram, save_both,
    ConfusionMatrixPlot, HistogramPlot, Labels, LineChart, Plot, PlotError, Series,
};

/// Decoded RGB(A) pixels of a PNG and its size.
struct Image {
    width: u32,
    height: u32,
    channels: usize,
    data: Vec<u8>,
}

impl Image {
    fn rgb(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let i = (y as usize * self.width as usize + x as usize) * self.channels;
        (self.data[i], self.data[i + 1], self.data[i + 2])
    }

    /// Pixels in the rectangle that are clearly dark (text or lines).
    fn dark_pixels(&self, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
        let mut n = 0;
        for y in y0..y1.min(self.height) {
            for x in x0..x1.min(self.width) {
                let (r, g, b) = self.rgb(x, y);
                if (r as u32 + g as u32 + b as u32) < 300 {
                    n += 1;
                }
            }
        }
        n
    }
}

fn read_png(path: &Path) -> Image {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{path:?} is not a PNG");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut data = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut data).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    data.truncate(info.buffer_size());
    Image {
        width: info.width,
        height: info.height,
        channels,
        data,
    }
}

/// The contents of the SVG's `<text>` elements.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|chunk| {
            let body = &chunk[chunk.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

fn check_pair(files: &[std::path::PathBuf], stem: &Path) -> (Image, String) {
    assert_eq!(files.len(), 2);
    assert_eq!(files[0], stem.with_extension("png"));
    assert_eq!(files[1], stem.with_extension("svg"));
    let png = read_png(&files[0]);
    let svg = fs::read_to_string(&files[1]).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // No temporary files left beside them.
    let dir = stem.parent().unwrap();
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.contains(".tmp-"), "left over: {name}");
    }
    (png, svg)
}

#[test]
fn confusion_matrix_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("cm");
    let names = ["walking", "running", "sitting & lying"];
    let counts = vec![vec![90, 10, 0], vec![5, 95, 0], vec![0, 0, 12345]];
    let files = confusion_matrix(&stem, &counts, &names, "Zero-shot").unwrap();
    let (png, svg) = check_pair(&files, &stem);

    let plot = ConfusionMatrixPlot::new(&counts, &names, "Zero-shot");
    assert_eq!((png.width, png.height), plot.size().unwrap());
    let texts = svg_texts(&svg);
    for text in [
        "walking",
        "running",
        "sitting &amp; lying",
        "12345",
        "Zero-shot",
        "predicted class",
    ] {
        // Each class name twice (rows and columns).
        let n = texts.iter().filter(|t| *t == text).count();
        assert!(n >= 1, "SVG lacks {text}: {texts:?}");
    }
    assert_eq!(texts.iter().filter(|t| *t == "walking").count(), 2);
    // Rows are normalised: the diagonal cells of all three rows (72 × 72
    // pixels each) are dark blue (share ≥ 0.9) whatever the absolute
    // counts; colouring by the global maximum would leave only one.
    let dark_blue = (0..png.height)
        .flat_map(|y| (0..png.width).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let (r, g, b) = png.rgb(x, y);
            b > 100 && r < 40 && g < 100
        })
        .count();
    assert!(dark_blue > 3 * 4000, "dark cells: {dark_blue}");
    // The class names were rasterised: dark pixels left of the grid.
    assert!(png.dark_pixels(0, 0, 120, png.height) > 200);
}

#[test]
fn confusion_matrix_scales_to_twenty_classes() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("cm20");
    let names: Vec<String> = (0..20).map(|i| format!("activity number {i}")).collect();
    let counts: Vec<Vec<usize>> = (0..20)
        .map(|t| {
            (0..20)
                .map(|p| if t == p { 50 } else { (t + p) % 3 })
                .collect()
        })
        .collect();
    let files = confusion_matrix(&stem, &counts, &names, "").unwrap();
    let (png, svg) = check_pair(&files, &stem);
    assert!(
        png.width < 1400 && png.height < 1400,
        "{}×{}",
        png.width,
        png.height
    );
    assert!(svg.contains("activity number 19"));
    // Long names are shortened, not dropped.
    let long = vec!["a".repeat(60), "b".to_string()];
    let files = confusion_matrix(
        dir.path().join("long"),
        &[vec![1, 0], vec![0, 1]],
        &long,
        "t",
    )
    .unwrap();
    let svg = fs::read_to_string(&files[1]).unwrap();
    assert!(svg.contains(&format!("{}…", "a".repeat(27))));
}

#[test]
fn few_shot_curve_with_error_bars() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("sub/few_shot");
    let shots = [2.0, 5.0, 10.0, 25.0, 50.0, 100.0];
    let series = vec![
        Series::new("linear probe", &shots, &[0.3, 0.4, 0.5, 0.6, 0.65, 0.7])
            .with_error(&[0.05; 6]),
        Series::new(
            "projection heads",
            &shots,
            &[0.35, 0.45, 0.55, 0.62, 0.7, 0.74],
        )
        .with_error(&[0.04; 6]),
    ];
    let files = few_shot_curve(&stem, &series, "Few-shot").unwrap();
    let (png, svg) = check_pair(&files, &stem);
    assert!(png.width >= 800 && png.height == 500);
    let texts = svg_texts(&svg);
    for text in [
        "linear probe",
        "projection heads",
        "macro-F1",
        "2",
        "5",
        "10",
        "25",
        "50",
        "100",
    ] {
        assert!(
            texts.iter().any(|t| t == text),
            "SVG lacks {text}: {texts:?}"
        );
    }
    // The legend (right of the 760-pixel plot area) has rasterised text
    // and the series colours.
    assert!(png.dark_pixels(790, 0, png.width, 200) > 100);
}

#[test]
fn loss_curves_linear_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let steps: Vec<f64> = (0..500).map(|s| s as f64).collect();
    let a: Vec<f64> = steps
        .iter()
        .map(|s| 3.0 * (-s / 100.0).exp() + 0.1)
        .collect();
    let b: Vec<f64> = steps
        .iter()
        .map(|s| 2.0 * (-s / 200.0).exp() + 0.2)
        .collect();
    let series = vec![
        Series::new("train", &steps, &a),
        Series::new("validation", &steps, &b),
    ];
    for (log, name) in [(false, "loss"), (true, "loss_log")] {
        let stem = dir.path().join(name);
        let files = loss_curves(&stem, &series, log, "Loss").unwrap();
        let (_, svg) = check_pair(&files, &stem);
        let texts = svg_texts(&svg);
        for text in ["train", "validation", "step", "loss", "Loss"] {
            assert!(
                texts.iter().any(|t| t == text),
                "SVG lacks {text}: {texts:?}"
            );
        }
    }
    // log y with a zero loss is an error naming the series and the point.
    let bad = vec![Series::new("bad", &[0.0, 1.0], &[1.0, 0.0])];
    let err = loss_curves(dir.path().join("bad"), &bad, true, "").unwrap_err();
    assert!(matches!(err, PlotError::Input(_)));
    assert!(err.to_string().contains("`bad` point 1"), "{err}");
    assert!(!dir.path().join("bad.png").exists() && !dir.path().join("bad.svg").exists());
}

#[test]
fn histograms_of_ranks_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let ranks = [1, 1, 1, 2, 3, 7, 12, 40, 100];
    let stem = dir.path().join("ranks");
    let files = rank_histogram(&stem, &ranks, 100, "Sensor → text").unwrap();
    let (_, svg) = check_pair(&files, &stem);
    assert!(svg.contains("Sensor → text") && svg.contains("rank of the first relevant item"));

    let h = HistogramPlot::from_ranks(&ranks, 100, Labels::default()).unwrap();
    // 100 items → width 4 → 25 bins; ranks 1, 1, 1, 2, 3 fall in the first.
    assert_eq!(h.counts.len(), 25);
    assert_eq!(h.counts[0], 5);
    assert_eq!(h.counts.iter().sum::<usize>(), ranks.len());
    assert_eq!(h.counts[24], 1); // rank 100
    let h = HistogramPlot::from_ranks(&[1, 2, 2], 5, Labels::default()).unwrap();
    assert_eq!(h.counts, vec![1, 2, 0, 0, 0]);
    let err = HistogramPlot::from_ranks(&[1, 6], 5, Labels::default()).unwrap_err();
    assert!(err.to_string().contains("query 1"), "{err}");

    let values = [0.0, 0.1, 0.5, 0.9, 1.0];
    let h = HistogramPlot::from_values(&values, 2, Labels::default()).unwrap();
    assert_eq!(h.counts, vec![2, 3]); // 0.5 starts the second bin; 1.0 is in the last
    let stem = dir.path().join("values");
    let files = histogram(&stem, &values, 4, &Labels::new("Values", "value", "count")).unwrap();
    check_pair(&files, &stem);
    assert!(HistogramPlot::from_values(&[f64::NAN], 3, Labels::default()).is_err());
}

#[test]
fn bad_data_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("x");
    // Not square.
    let err = confusion_matrix(&stem, &[vec![1, 2]], &["a"], "").unwrap_err();
    assert!(err.to_string().contains("row 0 has 2 columns"), "{err}");
    assert!(confusion_matrix(&stem, &[vec![1]], &["a", "b"], "").is_err());
    assert!(confusion_matrix(&stem, &[], &[] as &[&str], "").is_err());
    // Mismatched series.
    let bad = vec![Series::new("s", &[1.0, 2.0], &[1.0])];
    assert!(few_shot_curve(&stem, &bad, "").is_err());
    let bad = vec![Series::new("s", &[1.0], &[f64::NAN])];
    assert!(loss_curves(&stem, &bad, false, "").is_err());
    let bad = vec![Series::new("s", &[1.0], &[0.5]).with_error(&[0.1, 0.2])];
    assert!(few_shot_curve(&stem, &bad, "").is_err());
    // Log x needs positive shots.
    let bad = vec![Series::new("s", &[0.0, 5.0], &[0.5, 0.6])];
    assert!(few_shot_curve(&stem, &bad, "").is_err());
    assert!(few_shot_curve(&stem, &[], "").is_err());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn save_both_takes_any_plot_and_keeps_dots_in_the_stem() {
    let dir = tempfile::tempdir().unwrap();
    let mut chart = LineChart::new(
        vec![Series::new("one point", &[3.0], &[3.0])],
        Labels::new("", "x", "y"),
    );
    chart.y_range = Some((0.0, 10.0));
    let files = save_both(&chart, dir.path().join("chart.v2")).unwrap();
    assert!(files[0].ends_with("chart.v2.png") && files[1].ends_with("chart.v2.svg"));
    assert!(files.iter().all(|f| fs::metadata(f).unwrap().len() > 0));
}
