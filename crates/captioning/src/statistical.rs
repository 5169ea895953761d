//! Low level (statistical) captions: mean, max, min and std per channel,
//! over observed values only, grouped by channel group.
use crate::config::{GroupConfig, StatisticalConfig};
use crate::stats::all_channel_stats;
use crate::templates::{NO_DATA, STATISTICAL};
use crate::util::{
    check_window, derive_seed, display_name, fill_into, format_number, pick, rng, unit_slot,
};
use crate::{Captioner, Result};
use rand::seq::index::sample;
use wearlang_core::{ChannelSpec, Window};

/// Salt of the statistical level's random stream.
pub(crate) const SALT: u64 = 0x5354_4154;

/// The caption group of a channel under `config`.
pub fn channel_group<'a>(config: &'a GroupConfig, spec: &'a ChannelSpec) -> &'a str {
    config
        .overrides
        .get(&spec.name)
        .map(String::as_str)
        .unwrap_or(spec.group.as_str())
}

/// Channel indices by group, groups in the configured order (unlisted groups
/// follow in order of first appearance), channels in channel order.
pub fn grouped_channels(
    config: &GroupConfig,
    channels: &[ChannelSpec],
) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (c, spec) in channels.iter().enumerate() {
        let g = channel_group(config, spec);
        match groups.iter_mut().find(|(name, _)| name == g) {
            Some((_, v)) => v.push(c),
            None => groups.push((g.to_string(), vec![c])),
        }
    }
    let rank = |name: &str| {
        config
            .order
            .iter()
            .position(|g| g == name)
            .unwrap_or(usize::MAX)
    };
    // Stable sort keeps first-appearance order among unlisted groups.
    groups.sort_by_key(|(name, _)| rank(name));
    groups
}

/// Low-level captioner.
#[derive(Debug, Clone, Default)]
pub struct StatisticalCaptioner {
    /// Parameters.
    pub config: StatisticalConfig,
    /// Channel groups.
    pub groups: GroupConfig,
}

impl StatisticalCaptioner {
    /// A captioner with `config` and the default groups.
    pub fn new(config: StatisticalConfig) -> Self {
        Self {
            config,
            groups: GroupConfig::default(),
        }
    }

    /// The channels described for this seed, by group.
    pub fn selected_channels(
        &self,
        channels: &[ChannelSpec],
        seed: u64,
    ) -> Vec<(String, Vec<usize>)> {
        let mut r = rng(derive_seed(seed, SALT ^ 1));
        grouped_channels(&self.groups, channels)
            .into_iter()
            .map(|(g, members)| {
                let base = self.config.base_channels_per_group.min(members.len());
                let rest = &members[base..];
                let extra = self.config.extra_channels_per_group.min(rest.len());
                let mut chosen: Vec<usize> = members[..base].to_vec();
                chosen.extend(
                    sample(&mut r, rest.len(), extra)
                        .into_iter()
                        .map(|i| rest[i]),
                );
                chosen.sort_unstable();
                (g, chosen)
            })
            .collect()
    }
}

impl Captioner for StatisticalCaptioner {
    fn name(&self) -> &str {
        "low"
    }

    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String> {
        check_window(window, channels)?;
        let mut r = rng(derive_seed(seed, SALT));
        let d = self.config.decimals;
        // One caption string, the sentences filled into it in turn.
        let mut out = String::with_capacity(2048);
        let stats = all_channel_stats(window);
        for (_, members) in self.selected_channels(channels, seed) {
            for c in members {
                let spec = &channels[c];
                let name = display_name(spec);
                let numbers = stats[c].and_then(|s| {
                    Some([
                        format_number(s.mean, d)?,
                        format_number(s.max, d)?,
                        format_number(s.min, d)?,
                        format_number(s.std, d)?,
                    ])
                });
                if !out.is_empty() {
                    out.push(' ');
                }
                match numbers {
                    Some([mean, max, min, std]) => fill_into(
                        &mut out,
                        pick(&mut r, STATISTICAL),
                        &[
                            ("channel", &name),
                            ("mean", &mean),
                            ("max", &max),
                            ("min", &min),
                            ("std", &std),
                            ("u", &unit_slot(spec)),
                        ],
                    )?,
                    None => fill_into(&mut out, pick(&mut r, NO_DATA), &[("channel", &name)])?,
                }
            }
        }
        Ok(out)
    }
}
