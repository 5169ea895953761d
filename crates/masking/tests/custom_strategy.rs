//! A strategy registered from outside the crate is built from a config and
//! masks like the config says.

use std::sync::Arc;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wearlang_masking::{
    register_mask_strategy, registered_mask_strategies, target_count, Grid, MaskConfig, MaskParams,
    MaskStrategy, MaskStrategyFactory, Result,
};

/// Hides the first `round(ratio · n_observed)` observed tokens in time
/// order (a "mask the beginning" strategy no built-in offers).
#[derive(Debug)]
struct Prefix(f32);

impl MaskStrategy for Prefix {
    fn mask(&self, observed: &[bool], grid: Grid, _rng: &mut dyn RngCore) -> Result<Vec<bool>> {
        assert_eq!(observed.len(), grid.len());
        let k = target_count(observed.iter().filter(|&&o| o).count(), self.0);
        let mut out = vec![false; observed.len()];
        for n in (0..observed.len()).filter(|&n| observed[n]).take(k) {
            out[n] = true;
        }
        Ok(out)
    }
}

struct PrefixFactory;

fn ratio_of(params: &MaskParams) -> Result<f32> {
    params
        .get("ratio")
        .and_then(|v| v.as_f64())
        .map(|r| r as f32)
        .ok_or_else(|| wearlang_masking::MaskError::Param {
            name: "mask.params.ratio",
            reason: "a number is required".into(),
        })
}

impl MaskStrategyFactory for PrefixFactory {
    fn build(&self, params: &MaskParams) -> Result<Box<dyn MaskStrategy>> {
        Ok(Box::new(Prefix(ratio_of(params)?)))
    }
    fn ratio(&self, params: &MaskParams) -> Result<f32> {
        ratio_of(params)
    }
}

#[test]
fn a_registered_strategy_is_named_in_a_config() {
    register_mask_strategy("prefix", Arc::new(PrefixFactory)).unwrap();
    assert!(registered_mask_strategies().contains(&"prefix".to_string()));
    let err = register_mask_strategy("prefix", Arc::new(PrefixFactory)).unwrap_err();
    assert!(err.to_string().contains("already registered"), "{err}");

    let cfg: MaskConfig =
        serde_json::from_str(r#"{"kind": "custom", "name": "prefix", "params": {"ratio": 0.5}}"#)
            .unwrap();
    assert_eq!(cfg.ratio().unwrap(), 0.5);
    let strategy = cfg.build().unwrap();
    let grid = Grid::new(4, 2);
    let mut observed = vec![true; 8];
    observed[1] = false;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let m = strategy.mask(&observed, grid, &mut rng).unwrap();
    // 7 observed tokens, round(3.5) = 4 hidden: the first four observed.
    assert_eq!(m, vec![true, false, true, true, true, false, false, false]);

    // Inside a mixture, its ratio is weighted like a built-in's.
    let mix = MaskConfig::Mixture {
        components: vec![(1.0, cfg.clone()), (3.0, MaskConfig::Random { ratio: 0.9 })],
    };
    assert!((mix.ratio().unwrap() - (0.5 + 3.0 * 0.9) / 4.0).abs() < 1e-6);
    assert!(mix.build().is_ok());

    // A bad setting and an out-of-range ratio are errors naming them.
    let bad: MaskConfig =
        serde_json::from_str(r#"{"kind": "custom", "name": "prefix", "params": {}}"#).unwrap();
    assert!(bad.build().err().unwrap().to_string().contains("ratio"));
    let high: MaskConfig =
        serde_json::from_str(r#"{"kind": "custom", "name": "prefix", "params": {"ratio": 1.5}}"#)
            .unwrap();
    assert!(high.ratio().is_err());
}

#[test]
fn an_unregistered_strategy_says_how_to_register() {
    let cfg = MaskConfig::Custom {
        name: "nowhere".into(),
        params: MaskParams::new(),
    };
    let msg = cfg.build().err().unwrap().to_string();
    assert!(
        msg.contains("nowhere") && msg.contains("register_mask_strategy"),
        "{msg}"
    );
    assert!(cfg.ratio().is_err());
}
