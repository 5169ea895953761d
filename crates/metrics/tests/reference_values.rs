//! Caption metrics against the reference implementations.
//!
//! Expected numbers come from running, on the same whitespace-split tokens,
//! NLTK 3.10.4 `nltk.translate.bleu_score.corpus_bleu` (default weights; no
//! smoothing and `SmoothingFunction().method1`) and pycocoevalcap 1.2
//! `Rouge().compute_score` / `Cider().compute_score` (Python 3.11, a venv
//! under /tmp; the script is reproduced in `docs/metrics.md`).

use wearlang_metrics::{cider_d, corpus_bleu, rouge_l, BleuSmoothing, CaptionReport};

struct Case {
    hyps: &'static [&'static str],
    refs: &'static [&'static [&'static str]],
    bleu0: f64,
    bleu1: f64,
    rouge: f64,
    rouge_per: &'static [f64],
    cider: f64,
    cider_per: &'static [f64],
}

const CASES: &[Case] = &[
    Case {
        hyps: &["walking at a steady pace heart rate 95 bpm", "asleep"],
        refs: &[
            &["walking at a steady pace with heart rate 95 bpm"],
            &["asleep heart rate 52 bpm"],
        ],
        bleu0: 0.40977216064946154,
        bleu1: 0.40977216064946154,
        rouge: 0.6180112570356473,
        rouge_per: &[0.9384615384615386, 0.2975609756097561],
        cider: 4.231805709754671,
        cider_per: &[7.048094300628891, 1.4155171188804494],
    },
    Case {
        hyps: &[
            "the user walked briskly for 30 minutes in the morning",
            "heart rate stayed low while sleeping",
            "a short run followed by a long walk",
            "resting heart rate of 62 bpm",
        ],
        refs: &[
            &[
                "the user walked briskly for about 30 minutes this morning",
                "a brisk 30 minute morning walk",
            ],
            &[
                "heart rate stayed low during sleep",
                "low heart rate while asleep",
            ],
            &[
                "a long walk after a short run",
                "short run then a long walk",
            ],
            &[
                "resting heart rate was 62 bpm",
                "heart rate at rest 62 bpm",
                "62 bpm at rest",
            ],
        ],
        bleu0: 0.4089601472043678,
        bleu1: 0.4089601472043678,
        rouge: 0.7582932692307692,
        rouge_per: &[
            0.8,
            0.6666666666666666,
            0.7331730769230769,
            0.8333333333333334,
        ],
        cider: 3.077022170785776,
        cider_per: &[
            2.705624627305295,
            3.2573652648243274,
            3.747003827557363,
            2.598094963456119,
        ],
    },
    Case {
        // No 4-gram matches anywhere: unsmoothed BLEU is NLTK's
        // sys.float_info.min artefact (≈ 3e-78), method 1 is not.
        hyps: &[
            "steps increased in the afternoon",
            "sleep was interrupted twice",
            "high stress",
        ],
        refs: &[
            &["step count increased during the afternoon"],
            &[
                "sleep was interrupted two times",
                "the night had two awakenings",
            ],
            &["stress level was high in the evening"],
        ],
        bleu0: 2.984428797065476e-78,
        bleu1: 0.09716505843832994,
        rouge: 0.4640716916779724,
        rouge_per: &[0.5366568914956013, 0.6535714285714286, 0.20198675496688742],
        cider: 1.5674963611439345,
        cider_per: &[1.6539196147001007, 1.946175559669664, 1.1023939090620387],
    },
];

fn split(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn matches_nltk_and_pycocoevalcap() {
    for (i, case) in CASES.iter().enumerate() {
        let hyps: Vec<Vec<&str>> = case.hyps.iter().map(|h| split(h)).collect();
        let refs: Vec<Vec<Vec<&str>>> = case
            .refs
            .iter()
            .map(|rs| rs.iter().map(|r| split(r)).collect())
            .collect();
        let b0 = corpus_bleu(&hyps, &refs, BleuSmoothing::None)
            .unwrap()
            .score;
        assert!(
            (b0 - case.bleu0).abs() <= 1e-12 * case.bleu0,
            "case {i}: bleu0 {b0}"
        );
        let b1 = corpus_bleu(&hyps, &refs, BleuSmoothing::method1())
            .unwrap()
            .score;
        assert!(close(b1, case.bleu1), "case {i}: bleu1 {b1}");
        let r = rouge_l(&hyps, &refs).unwrap();
        assert!(close(r.score, case.rouge), "case {i}: rouge {}", r.score);
        for (a, b) in r.per_caption.iter().zip(case.rouge_per) {
            assert!(close(*a, *b), "case {i}: rouge per caption {a} vs {b}");
        }
        let c = cider_d(&hyps, &refs).unwrap();
        assert!(close(c.score, case.cider), "case {i}: cider {}", c.score);
        for (a, b) in c.per_caption.iter().zip(case.cider_per) {
            assert!(close(*a, *b), "case {i}: cider per caption {a} vs {b}");
        }
    }
}

#[test]
fn caption_report_on_raw_text_matches_the_tokenised_case() {
    // Tokenising these strings gives exactly the tokens of CASES[0].
    let generated = ["Walking at a steady pace, heart rate 95 bpm.", "Asleep."];
    let references = vec![
        vec!["walking at a steady pace with heart rate 95 bpm"],
        vec!["asleep, heart rate 52 bpm"],
    ];
    let r = CaptionReport::compute(&generated, &references).unwrap();
    assert!(close(r.bleu4, CASES[0].bleu0));
    assert!(close(r.rouge_l, CASES[0].rouge));
    assert!(close(r.cider_d, CASES[0].cider));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["n_captions"], 2);
}
