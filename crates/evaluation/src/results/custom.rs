//! What a registered protocol found ([`CustomResult`]): it brings its own
//! summary rows and Markdown.

use serde::{Deserialize, Serialize};

/// What a registered protocol found, in a shape the report can show
/// without knowing the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomResult {
    /// The protocol's name (its section heading).
    pub name: String,
    /// Rows of the summary table: `(metric, value)`.
    pub summary: Vec<(String, String)>,
    /// Its section of `report.md` (Markdown, without the heading).
    pub markdown: String,
    /// Everything else it wants in `metrics.json`.
    pub data: serde_json::Value,
}

impl CustomResult {
    /// Its summary rows, as given.
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        self.summary.clone()
    }

    /// Its report section: its name as the heading, then its Markdown.
    pub(crate) fn markdown(&self) -> String {
        format!("\n## {}\n\n{}\n", self.name, self.markdown.trim_end())
    }
}
