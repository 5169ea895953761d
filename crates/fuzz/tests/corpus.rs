//! Every input kept under `corpus/<target>/` (crashes found by the fuzzer
//! and fixed since) ends as a result or an error, never a panic; and a short
//! seeded run of every target finds no panic.
use std::path::Path;

use rand::SeedableRng;
use wearlang_fuzz::{next_input, run_catching, Fixture, Outcome};

#[test]
fn the_corpus_and_a_short_run_of_every_target_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Fixture::build(&dir.path().join("seeds")).unwrap();
    let targets = fixture.targets();
    let scratch = dir.path().join("scratch");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut replayed = 0;
    for t in &targets {
        // The seeds themselves are accepted.
        for s in t.seeds() {
            let o = run_catching(t.as_ref(), s, &scratch);
            assert_eq!(o, Outcome::Ok, "{}: a seed is refused", t.name());
        }
        let dir = corpus.join(t.name());
        let mut files: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        };
        files.retain(|f| f.extension().is_some_and(|x| x == "bin"));
        files.sort();
        for f in files {
            let input = std::fs::read(&f).unwrap();
            let o = run_catching(t.as_ref(), &input, &scratch);
            assert!(!matches!(o, Outcome::Panic(_)), "{}: {o:?}", f.display());
            replayed += 1;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut errors = 0;
        for _ in 0..10 {
            let input = next_input(t.as_ref(), &mut rng);
            let o = run_catching(t.as_ref(), &input, &scratch);
            assert!(!matches!(o, Outcome::Panic(_)), "{}: {o:?}", t.name());
            errors += usize::from(matches!(o, Outcome::Error(_)));
        }
        // The mutations reach past the seeds: some inputs are refused.
        println!("{}: {errors} of 10 mutated inputs refused", t.name());
    }
    println!("{replayed} corpus inputs replayed");
}
