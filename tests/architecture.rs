//! The layers of `docs/ARCHITECTURE.md`, checked on the source: every `crate::…` path in
//! `src/**/*.rs` is read, and a module that reaches into a layer it must not use fails
//! this test with the file, the line and the rule.

use std::path::{Path, PathBuf};

/// The layer a file belongs to: its first folder (or file) under `src/`.
fn layer_of(path: &str) -> &str {
    let rest = path.strip_prefix("src/").unwrap_or(path);
    let first = rest.split('/').next().unwrap_or(rest);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// Layers a file of `layer` must not use, with the reason printed on a violation.
fn forbidden(layer: &str, path: &str) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    match layer {
        "domain" => {
            for l in [
                "app",
                "cli",
                "clock",
                "config",
                "connectors",
                "crypto",
                "email",
                "error",
                "http",
                "i18n",
                "jobs",
                "secret",
                "services",
                "store",
                "telemetry",
            ] {
                out.push((
                    l,
                    "the domain is pure: it uses nothing of ours but the domain",
                ));
            }
        }
        "store" => {
            for l in ["http", "services", "jobs", "connectors", "app"] {
                out.push((
                    l,
                    "the store is our database only: no web, use cases, jobs or connectors",
                ));
            }
        }
        "connectors" => {
            for l in ["store", "http", "services", "app", "jobs"] {
                out.push((
                    l,
                    "connectors touch product data only: no store, web, use cases or jobs",
                ));
            }
        }
        "services" => out.push(("http", "use cases know no web layer")),
        "jobs" => out.push(("http", "jobs call services, never the web layer")),
        _ => {}
    }
    if layer != "cli" && layer != "main" && layer != "bin" {
        out.push(("cli", "nothing but the binary uses the CLI"));
    }
    // The web layer is used by no one but itself and the composition root that serves it.
    if layer != "http" && path != "src/app/mod.rs" && layer != "main" && layer != "bin" {
        out.push((
            "http",
            "only the web layer and the composition root (src/app/mod.rs) use `crate::http`",
        ));
    }
    out.dedup_by_key(|(l, _)| *l);
    out
}

/// The top-level modules a line reaches through `crate::`.
fn crate_paths(line: &str) -> Vec<String> {
    let code = match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `mycrate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c}`: the first segment of every entry at depth 0.
            let mut depth = 0;
            let mut entry = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(first_segment(&entry));
                        entry.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    entry.push(c);
                }
            }
            out.push(first_segment(&entry));
        } else {
            out.push(first_segment(rest));
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn first_segment(s: &str) -> String {
    s.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every rule broken by `files` (`(path under the repository, text)`), as
/// `file:line: uses crate::X — rule`.
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        let layer = layer_of(path);
        let rules = forbidden(layer, path);
        // A multi-line `use crate::{…}` group is read as one line.
        let mut pending: Option<(usize, String)> = None;
        for (n, line) in text.lines().enumerate() {
            let (lineno, joined) = match pending.take() {
                Some((start, mut acc)) => {
                    acc.push(' ');
                    acc.push_str(line.trim());
                    (start, acc)
                }
                None => (n + 1, line.to_string()),
            };
            if joined.contains("crate::{") && !balanced(&joined) {
                pending = Some((lineno, joined));
                continue;
            }
            for target in crate_paths(&joined) {
                if let Some((_, why)) = rules.iter().find(|(l, _)| *l == target) {
                    out.push(format!("{path}:{lineno}: uses crate::{target} — {why}"));
                }
            }
        }
    }
    out
}

fn balanced(s: &str) -> bool {
    let start = s.find("crate::{").map(|i| i + "crate::".len()).unwrap_or(0);
    let mut depth = 0i32;
    for c in s[start..].chars() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn source_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    rust_files(&root.join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .expect("under the repository")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).expect("read source");
            (rel, text)
        })
        .collect()
}

#[test]
fn every_module_uses_only_the_layers_it_may() {
    let files = source_files();
    assert!(
        files.len() > 50,
        "the source tree was not found ({} files)",
        files.len()
    );
    let found = violations(&files);
    assert!(
        found.is_empty(),
        "layering rules broken (docs/ARCHITECTURE.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_folders_are_the_layers() {
    let files = source_files();
    let tops: std::collections::BTreeSet<&str> = files
        .iter()
        .map(|(p, _)| layer_of(p))
        .filter(|l| !["lib", "main"].contains(l))
        .collect();
    for layer in [
        "domain",
        "store",
        "connectors",
        "services",
        "jobs",
        "http",
        "cli",
        "app",
    ] {
        assert!(tops.contains(layer), "src/{layer}/ is missing");
    }
    // Use cases live in services/, not beside the layers.
    for gone in [
        "workflow",
        "fanout",
        "intake",
        "export",
        "retention",
        "notify",
    ] {
        assert!(
            !tops.contains(gone),
            "src/{gone} should be under src/services/"
        );
    }
}

/// The test of the test: planted violations of every rule are reported with file, line
/// and rule; allowed imports are not.
#[test]
fn a_planted_violation_is_reported() {
    let planted = |path: &str, text: &str| violations(&[(path.to_string(), text.to_string())]);

    let v = planted("src/domain/x.rs", "//! doc\nuse crate::store::Store;\n");
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].starts_with("src/domain/x.rs:2: uses crate::store"),
        "{v:?}"
    );

    let v = planted(
        "src/store/requests.rs",
        "fn f(s: &crate::http::AppState) {}\n",
    );
    assert!(v.iter().any(|x| x.contains("crate::http")), "{v:?}");

    let v = planted(
        "src/connectors/sql.rs",
        "use crate::{\n    domain::identity::Identity,\n    store::Task,\n};\n",
    );
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].starts_with("src/connectors/sql.rs:1: uses crate::store"),
        "{v:?}"
    );

    assert!(!planted("src/services/workflow.rs", "use crate::http::ClientAddr;\n").is_empty());
    assert!(!planted("src/jobs/mod.rs", "    crate::http::router(state);\n").is_empty());
    assert!(!planted("src/services/intake.rs", "use crate::cli::demo;\n").is_empty());
    assert!(!planted("src/store/sqlite.rs", "$crate::services::workflow::load\n").is_empty());

    // Allowed: the domain using itself, services using the store and connectors, the
    // composition root serving the web layer, comments.
    assert!(
        planted(
            "src/domain/regime.rs",
            "use crate::domain::deadline::Period;\n"
        )
        .is_empty()
    );
    assert!(
        planted(
            "src/services/fanout.rs",
            "use crate::{connectors::Identity, store::Task};\n"
        )
        .is_empty()
    );
    assert!(planted("src/app/mod.rs", "use crate::http;\n").is_empty());
    assert!(planted("src/domain/x.rs", "// see crate::store::Store\n").is_empty());
}
