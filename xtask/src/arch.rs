//! `cargo xtask arch`: the crate dependency rules of the workspace, checked
//! against cargo's resolved dependency graph (also the first step of
//! `cargo xtask test`).
//!
//! The graph is `resolve.nodes[].deps[]` of `cargo metadata --format-version 1`
//! (full resolve, not `--no-deps`, so that reaches through third-party crates
//! are seen). Only normal and build dependencies count: an edge whose
//! `dep_kinds` are all `dev` is ignored, so tests and benches may use
//! anything. Every rule is transitive: "A never reaches B" fails when any
//! path of normal/build edges leads from A to B, and the failure names the
//! shortest such path (`wearlang-store -> x -> tch`).
//!
//! Rules name packages. A rule whose source package is not a workspace
//! member is vacuous (crates may be added or removed while the rules stay),
//! and so, naturally, is a forbidden package that nothing depends on.
//! To add a rule, add one line to [`RULES`].
use crate::util::workspace_root;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;

/// Which workspace packages a rule constrains.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// These packages (those of them that are workspace members).
    Packages(&'static [&'static str]),
    /// Every workspace package with a library target.
    WorkspaceLibraries,
}

/// One dependency rule: no package in `from` may reach a package named in
/// `never` through normal or build dependencies.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The constrained packages.
    pub from: Scope,
    /// Package names they must never reach, directly or transitively.
    pub never: &'static [&'static str],
}

use Scope::{Packages, WorkspaceLibraries};

/// The workspace's dependency rules, one line each.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    Rule { from: WorkspaceLibraries, never: &["wearlang-cli", "xtask"] },
    Rule { from: Packages(&["wearlang-core", "wearlang-store", "wearlang-ingest", "wearlang-synth", "wearlang-captioning", "wearlang-metrics", "wearlang-plots"]), never: &["tch"] },
    Rule { from: Packages(&["wearlang-evaluation"]), never: &["wearlang-train"] },
    Rule { from: Packages(&["wearlang-train"]), never: &["wearlang-evaluation"] },
    Rule { from: Packages(&["wearlang-encoders", "wearlang-objectives"]), never: &["wearlang-train", "wearlang-models"] },
    Rule { from: Packages(&["wearlang-objectives"]), never: &["wearlang-encoders"] },
    Rule { from: Packages(&["wearlang-captioning"]), never: &["wearlang-store"] },
    Rule { from: Packages(&["wearlang-models"]), never: &["wearlang-train", "wearlang-evaluation", "wearlang-engine"] },
    Rule { from: Packages(&["wearlang-optim"]), never: &["wearlang-models", "wearlang-train", "wearlang-evaluation", "wearlang-encoders", "wearlang-engine"] },
    Rule { from: Packages(&["wearlang-engine"]), never: &["wearlang-train", "wearlang-evaluation", "wearlang-sensorllm", "wearlang-llm"] },
    Rule { from: Packages(&["wearlang-sensorllm", "wearlang-llm"]), never: &["wearlang-train", "wearlang-evaluation"] },
];

/// Run `cargo metadata` on the workspace and check [`RULES`]; fails with one
/// line per broken rule and offending dependency path.
pub fn run() -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo metadata --format-version 1");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(workspace_root())
        .output()
        .context("could not start cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata printed invalid JSON")?;
    let violations = check(&metadata, RULES)?;
    if !violations.is_empty() {
        bail!(
            "{} architecture rule violation(s):\n  {}",
            violations.len(),
            violations.join("\n  ")
        );
    }
    println!("architecture: all {} dependency rules hold", RULES.len());
    Ok(())
}

/// The dependency graph of `cargo metadata` output, by package name.
struct Graph {
    /// Workspace member names, each with whether it has a library target.
    members: BTreeMap<String, bool>,
    /// Normal and build dependency edges, by package name (all versions of a
    /// name merged).
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    /// Read the members and the normal/build edges of `cargo metadata` JSON.
    fn from_metadata(metadata: &Value) -> Result<Self> {
        let packages = metadata["packages"]
            .as_array()
            .context("cargo metadata: no `packages` array")?;
        let mut names = BTreeMap::new();
        let mut is_lib = BTreeMap::new();
        for p in packages {
            let id = p["id"].as_str().context("package without id")?;
            let name = p["name"].as_str().context("package without name")?;
            let lib = p["targets"].as_array().is_some_and(|ts| {
                ts.iter().any(|t| {
                    t["kind"].as_array().is_some_and(|ks| {
                        ks.iter().filter_map(Value::as_str).any(|k| {
                            matches!(
                                k,
                                "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro"
                            )
                        })
                    })
                })
            });
            names.insert(id, name);
            is_lib.insert(id, lib);
        }
        let name_of = |id: &str| {
            names
                .get(id)
                .map(|n| n.to_string())
                .with_context(|| format!("cargo metadata: unknown package id {id}"))
        };
        let mut members = BTreeMap::new();
        for id in metadata["workspace_members"]
            .as_array()
            .context("cargo metadata: no `workspace_members` array")?
        {
            let id = id.as_str().context("workspace member id is not a string")?;
            members.insert(name_of(id)?, is_lib.get(id).copied().unwrap_or(false));
        }
        let nodes = metadata["resolve"]["nodes"]
            .as_array()
            .context("cargo metadata: no `resolve.nodes` (was it run with --no-deps?)")?;
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for node in nodes {
            let from = name_of(node["id"].as_str().context("resolve node without id")?)?;
            let targets = edges.entry(from).or_default();
            for dep in node["deps"].as_array().into_iter().flatten() {
                let counts = dep["dep_kinds"].as_array().is_some_and(|kinds| {
                    kinds
                        .iter()
                        .any(|k| matches!(k["kind"].as_str(), None | Some("build")))
                });
                if counts {
                    targets.insert(name_of(
                        dep["pkg"].as_str().context("dependency without pkg")?,
                    )?);
                }
            }
        }
        Ok(Graph { members, edges })
    }

    /// The shortest path of normal/build edges from `from` to any package in
    /// `never`, as package names from `from` to the forbidden one.
    fn paths_to(&self, from: &str, never: &[&str]) -> Vec<Vec<String>> {
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut seen = BTreeSet::from([from]);
        let mut queue = VecDeque::from([from]);
        let mut found = Vec::new();
        while let Some(at) = queue.pop_front() {
            for next in self.edges.get(at).into_iter().flatten() {
                if !seen.insert(next.as_str()) {
                    continue;
                }
                parent.insert(next, at);
                if never.contains(&next.as_str()) {
                    let mut path = vec![next.clone()];
                    let mut cur = next.as_str();
                    while let Some(&p) = parent.get(cur) {
                        path.push(p.to_string());
                        cur = p;
                    }
                    path.reverse();
                    found.push(path);
                    // Do not look beyond a forbidden package: one path to it
                    // is the message; what it depends on is its own business.
                    continue;
                }
                queue.push_back(next);
            }
        }
        found
    }
}

/// Check `rules` against `cargo metadata` JSON; returns one message per
/// broken rule and offending dependency path (empty when all rules hold).
pub fn check(metadata: &Value, rules: &[Rule]) -> Result<Vec<String>> {
    let graph = Graph::from_metadata(metadata)?;
    let mut violations = Vec::new();
    for rule in rules {
        let sources: Vec<&str> = match rule.from {
            Packages(names) => names
                .iter()
                .copied()
                .filter(|n| graph.members.contains_key(*n))
                .collect(),
            WorkspaceLibraries => graph
                .members
                .iter()
                .filter(|(_, &lib)| lib)
                .map(|(n, _)| n.as_str())
                .collect(),
        };
        for source in sources {
            for path in graph.paths_to(source, rule.never) {
                violations.push(format!(
                    "{source} must not depend on {}: {}",
                    path.last().expect("a path has its target"),
                    path.join(" -> ")
                ));
            }
        }
    }
    Ok(violations)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo metadata`-shaped JSON: `packages` as (name, has lib), edges as
    /// (from, to, kinds), where a kind is `null`, `"dev"` or `"build"`.
    fn metadata(
        packages: &[(&str, bool)],
        members: &[&str],
        edges: &[(&str, &str, &[Option<&str>])],
    ) -> Value {
        let id = |n: &str| format!("path+file:///ws/{n}#0.1.0");
        let packages: Vec<Value> = packages
            .iter()
            .map(|(n, lib)| {
                let kind = if *lib { "lib" } else { "bin" };
                serde_json::json!({"id": id(n), "name": n, "targets": [{"kind": [kind], "name": n}]})
            })
            .collect();
        let nodes: Vec<Value> = packages
            .iter()
            .map(|p| {
                let name = p["name"].as_str().unwrap();
                let deps: Vec<Value> = edges
                    .iter()
                    .filter(|(from, _, _)| *from == name)
                    .map(|(_, to, kinds)| {
                        let kinds: Vec<Value> = kinds
                            .iter()
                            .map(|k| serde_json::json!({"kind": k, "target": null}))
                            .collect();
                        serde_json::json!({"name": to.replace('-', "_"), "pkg": id(to), "dep_kinds": kinds})
                    })
                    .collect();
                serde_json::json!({"id": p["id"], "deps": deps, "features": []})
            })
            .collect();
        let members: Vec<String> = members.iter().map(|n| id(n)).collect();
        serde_json::json!({
            "packages": packages,
            "workspace_members": members,
            "resolve": {"nodes": nodes, "root": null},
            "version": 1,
        })
    }

    const PACKAGES: &[(&str, bool)] = &[
        ("wearlang-core", true),
        ("wearlang-store", true),
        ("wearlang-train", true),
        ("wearlang-evaluation", true),
        ("wearlang-cli", false),
        ("xtask", false),
        ("parquet", true),
        ("torch-sys", true),
        ("tch", true),
    ];
    const MEMBERS: &[&str] = &[
        "wearlang-core",
        "wearlang-store",
        "wearlang-train",
        "wearlang-evaluation",
        "wearlang-cli",
        "xtask",
    ];

    #[test]
    fn clean_graph_passes() {
        let m = metadata(
            PACKAGES,
            MEMBERS,
            &[
                ("wearlang-store", "wearlang-core", &[None]),
                ("wearlang-store", "parquet", &[None]),
                ("wearlang-train", "wearlang-store", &[None]),
                ("wearlang-train", "tch", &[None]),
                ("tch", "torch-sys", &[None]),
                ("wearlang-evaluation", "tch", &[None]),
                // Dev-dependencies do not count.
                ("wearlang-evaluation", "wearlang-train", &[Some("dev")]),
                ("wearlang-core", "tch", &[Some("dev")]),
                ("wearlang-cli", "wearlang-train", &[None]),
                ("wearlang-cli", "wearlang-evaluation", &[None]),
                ("xtask", "parquet", &[None]),
            ],
        );
        assert_eq!(check(&m, RULES).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn violations_name_the_path() {
        let m = metadata(
            PACKAGES,
            MEMBERS,
            &[
                ("wearlang-store", "wearlang-core", &[None]),
                // A transitive reach of tch through a third-party crate.
                ("wearlang-store", "parquet", &[None]),
                ("parquet", "tch", &[None]),
                // A build dependency counts.
                ("wearlang-core", "tch", &[Some("build")]),
                // A dependency that is both dev and normal counts.
                (
                    "wearlang-evaluation",
                    "wearlang-train",
                    &[Some("dev"), None],
                ),
                ("wearlang-train", "wearlang-cli", &[None]),
            ],
        );
        assert_eq!(
            check(&m, RULES).unwrap(),
            [
                "wearlang-evaluation must not depend on wearlang-cli: \
                 wearlang-evaluation -> wearlang-train -> wearlang-cli",
                "wearlang-train must not depend on wearlang-cli: wearlang-train -> wearlang-cli",
                "wearlang-core must not depend on tch: wearlang-core -> tch",
                "wearlang-store must not depend on tch: wearlang-store -> parquet -> tch",
                "wearlang-evaluation must not depend on wearlang-train: \
                 wearlang-evaluation -> wearlang-train",
            ]
        );
    }

    #[test]
    fn rules_on_missing_packages_are_vacuous() {
        // No wearlang-models or wearlang-optim in this workspace.
        let m = metadata(PACKAGES, MEMBERS, &[]);
        assert!(check(&m, RULES).unwrap().is_empty());
    }

    #[test]
    fn metadata_without_resolve_is_an_error() {
        let mut m = metadata(PACKAGES, MEMBERS, &[]);
        m["resolve"] = Value::Null;
        assert!(check(&m, RULES).is_err());
    }
}
