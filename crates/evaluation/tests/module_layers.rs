//! The crate's modules form layers without an import circle (a plain text
//! scan of the `crate::…` paths in `src/`):
//!
//! 1. `results/` — the data each protocol returns and its rendering —
//!    imports no protocol module, nor `context`, `protocol` or anything
//!    above;
//! 2. `context.rs` — `EvalContext`, `Evaluator` — imports the results, no
//!    protocol module, nor `protocol`;
//! 3. the protocol modules import the context and the results, never
//!    `protocol.rs`, and no other protocol module but `zero_shot` (whose
//!    `zero_shot()` the unseen and few-shot protocols reuse), which itself
//!    imports none;
//! 4. `protocol.rs` (the registry) is imported only by the layers above it
//!    (`run.rs`, and `lib.rs`'s re-exports);
//!
//! and the whole graph (every module but `lib.rs`) is acyclic. Names used
//! through the crate root (`use crate::{EvalConfig, …}`) count as imports of
//! the module `lib.rs` re-exports them from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The protocol modules: one protocol's computation each.
const PROTOCOL_MODULES: [&str; 7] = [
    "zero_shot",
    "few_shot",
    "unseen",
    "retrieval",
    "captions",
    "baselines",
    "sensorllm",
];

/// The one protocol module others may import (its `zero_shot()`).
const SHARED_PROTOCOL: &str = "zero_shot";

/// Modules above the protocols.
const UPPER: [&str; 4] = ["protocol", "report", "run", "train_report"];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as (path relative to `src/`, text).
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p
                .strip_prefix(src_dir())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// The top-level module a file belongs to: `results/zero_shot.rs` →
/// `results`, `report.rs` → `report`.
fn module_of(rel: &str) -> String {
    rel.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string()
}

/// The code of `text` without `//` comments (doc comments included).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `use crate::…;` (and `pub use crate::…;`) statements of `code`,
/// whitespace removed, without `use crate::` and `;`.
fn crate_uses(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        // Only at the start of a statement.
        let before = rest[..i].trim_end();
        let at_start = before.is_empty()
            || before.ends_with(';')
            || before.ends_with('}')
            || before.ends_with('{')
            || before.ends_with(']')
            || before.ends_with("pub")
            || before.ends_with("pub(crate)");
        let after = &rest[i + prefix.len()..];
        let end = after.find(';').unwrap_or(after.len());
        if at_start {
            out.push(after[..end].split_whitespace().collect());
        }
        rest = &after[end..];
    }
    out
}

/// The top-level items of a use tree (`a::b`, `{a::b, C, d::{e, f}}`).
fn items(tree: &str) -> Vec<String> {
    let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
        return vec![tree.to_string()];
    };
    let (mut out, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for ch in inner.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// Crate-root name → the module `lib.rs` re-exports it from.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for stmt in crate_uses(&code(lib), "pub use ") {
        let Some((module, tree)) = stmt.split_once("::") else {
            continue;
        };
        for item in items(tree) {
            map.insert(item, module.to_string());
        }
    }
    map
}

/// The top-level modules `text` refers to through `crate::` paths.
fn deps(text: &str, reexports: &BTreeMap<String, String>) -> BTreeSet<String> {
    let code = code(text);
    let mut out = BTreeSet::new();
    let mut resolve = |item: &str| match item.split_once("::") {
        Some((module, _)) => {
            out.insert(module.to_string());
        }
        None => {
            let name = item.split(" as ").next().unwrap_or(item);
            if let Some(m) = reexports.get(name) {
                out.insert(m.clone());
            }
        }
    };
    for stmt in crate_uses(&code, "use crate::") {
        for item in items(&stmt) {
            resolve(&item);
        }
    }
    // Paths in code: `crate::a::b(…)`, `crate::Name`.
    for (i, _) in code.match_indices("crate::") {
        let path: String = code[i + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let path = path.trim_end_matches(':');
        if !path.is_empty() {
            resolve(path);
        }
    }
    out
}

/// Module → the modules it imports (itself and `lib.rs` left out).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(&src_dir(), &mut files);
    let lib = &files.iter().find(|(r, _)| r == "lib.rs").unwrap().1;
    let reexports = reexports(lib);
    assert!(
        reexports.contains_key("EvalConfig") && reexports.contains_key("Evaluator"),
        "lib.rs re-exports not parsed: {reexports:?}"
    );
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in &files {
        if rel == "lib.rs" {
            continue;
        }
        let m = module_of(rel);
        let mut d = deps(text, &reexports);
        d.remove(&m);
        g.entry(m).or_default().extend(d);
    }
    g
}

#[test]
fn the_parser_sees_grouped_paths_and_root_names() {
    let reexports = reexports(
        "pub use protocol::{evaluators, EvalConfig};\npub use context::{EvalContext, Evaluator};",
    );
    let d = deps(
        "//! `use crate::report::X;` in a comment\n\
         use std::path::Path;\n\
         use crate::{\n    results::{A, B},\n    EvalConfig,\n};\n\
         pub(crate) use crate::select::rows;\n\
         fn f() { crate::unseen::partition_classes(); let _ = crate::Evaluator; }\n",
        &reexports,
    );
    let want: BTreeSet<String> = ["results", "protocol", "select", "unseen", "context"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(d, want);
}

#[test]
fn results_and_context_import_no_protocol() {
    let g = graph();
    let mut forbidden: Vec<&str> = PROTOCOL_MODULES.to_vec();
    forbidden.extend(UPPER);
    for (module, extra) in [("results", Some("context")), ("context", None)] {
        let d = g
            .get(module)
            .unwrap_or_else(|| panic!("no module `{module}`"));
        for f in forbidden.iter().copied().chain(extra) {
            assert!(!d.contains(f), "`{module}` imports `{f}` (imports: {d:?})");
        }
    }
}

#[test]
fn protocols_import_neither_the_registry_nor_each_other() {
    let g = graph();
    for p in PROTOCOL_MODULES {
        let d = g.get(p).unwrap_or_else(|| panic!("no module `{p}`"));
        for f in UPPER {
            assert!(
                !d.contains(f),
                "protocol `{p}` imports `{f}` (imports: {d:?})"
            );
        }
        for q in PROTOCOL_MODULES {
            if q != p && (q != SHARED_PROTOCOL || p == SHARED_PROTOCOL) {
                assert!(!d.contains(q), "protocol `{p}` imports protocol `{q}`");
            }
        }
    }
}

#[test]
fn only_the_top_imports_the_registry() {
    let g = graph();
    let users: Vec<&String> = g
        .iter()
        .filter(|(_, d)| d.contains("protocol"))
        .map(|(m, _)| m)
        .collect();
    assert_eq!(users, ["run"], "modules importing `protocol`");
}

#[test]
fn the_module_graph_is_acyclic() {
    let g = graph();
    // Depth-first search; `path` is the current chain.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) {
        if let Some(i) = path.iter().position(|p| p == m) {
            panic!("import circle: {} → {m}", path[i..].join(" → "));
        }
        if done.contains(m) {
            return;
        }
        path.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            visit(d, g, done, path);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        visit(m, &g, &mut done, &mut Vec::new());
    }
}
