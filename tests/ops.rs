//! The operator kit in `ops/` stays in step with the code: the example configuration holds
//! every key with its default, deployment files probe the right endpoints and outlast the
//! shutdown grace, environment variables name real keys, and every alert has its rule and
//! its runbook section.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rightsdesk::config::Config;
use serde_json::Value;

const EXAMPLE: &str = "rightsdesk.example.toml";

const ALERTS: &[&str] = &[
    "RightsdeskRequestsOverdue",
    "RightsdeskRequestsDueSoonWithoutProgress",
    "RightsdeskDeadJobs",
    "RightsdeskJobQueueBacklog",
    "RightsdeskConnectorFailing",
    "RightsdeskEmailDeliveryFailures",
    "RightsdeskRetentionRunFailed",
    "RightsdeskAuditChainBroken",
    "RightsdeskDown",
];

fn ops_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ops").join(rel)
}

fn read(rel: &str) -> String {
    let path = ops_path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every leaf as a dotted key path (`deadlines.reminders_days`) with its value; arrays are
/// leaves.
fn leaf_values(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaf_values(v, &path, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// The leaf paths of the defaults, with whether the default is `null` (an unset `Option`,
/// which TOML cannot write and the example shows commented out).
fn default_paths() -> Vec<(String, bool)> {
    let defaults = serde_json::to_value(Config::default()).expect("defaults serialize");
    let mut out = Vec::new();
    leaf_values(&defaults, "", &mut out);
    out.into_iter().map(|(p, v)| (p, v.is_null())).collect()
}

/// `key` when the text is `key = …` with a bare TOML key.
fn bare_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    bare.then_some(key)
}

/// Dotted paths of the `# key = …` lines that sit in a real (uncommented) section: how the
/// example shows keys whose default is unset. Lines after a commented-out `# [section]`
/// belong to no real section.
fn commented_keys(text: &str) -> BTreeSet<String> {
    let mut section: Option<String> = Some(String::new());
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = Some(line.trim_matches(['[', ']']).trim().to_string());
        } else if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim();
            if rest.starts_with('[') {
                section = None;
            } else if let (Some(sec), Some(key)) = (&section, bare_key(rest)) {
                out.insert(if sec.is_empty() {
                    key.to_string()
                } else {
                    format!("{sec}.{key}")
                });
            }
        }
    }
    out
}

fn toml_has(table: &toml::Table, path: &str) -> bool {
    let mut parts = path.split('.').peekable();
    let mut current = table;
    while let Some(part) = parts.next() {
        match (current.get(part), parts.peek()) {
            (Some(_), None) => return true,
            (Some(toml::Value::Table(t)), Some(_)) => current = t,
            _ => return false,
        }
    }
    false
}

/// A duration in the deployment files as seconds: `30s`, `45s`, `1m`.
fn seconds(text: &str) -> u64 {
    let text = text.trim().trim_matches('"');
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a duration"));
    match unit {
        "" | "s" => n,
        "m" | "min" => n * 60,
        other => panic!("unit `{other}` in `{text}`"),
    }
}

/// The value after `key` on the first line that holds it (`key: v`, `key=v`).
fn setting<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(key))
        .map(|rest| rest.trim_start_matches([':', '=', ' ']).trim())
        .unwrap_or_else(|| panic!("no `{key}` setting"))
}

#[test]
fn example_config_parses_to_the_defaults() {
    let path = ops_path(EXAMPLE);
    let config = Config::load(Some(&path)).unwrap_or_else(|p| panic!("{}: {p}", path.display()));
    let defaults = Config::default();
    let overrides: Vec<String> = std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("RIGHTSDESK_") && !k.starts_with("RIGHTSDESK_TEST_"))
        .collect();
    let leaves = |v: &Value| {
        let mut out = Vec::new();
        leaf_values(v, "", &mut out);
        out
    };
    // The processing register is an example of what to write, not a default (empty).
    let not_register = |l: &Vec<(String, Value)>| -> Vec<(String, Value)> {
        l.iter()
            .filter(|(p, _)| !p.starts_with("processing."))
            .cloned()
            .collect()
    };
    assert!(
        !config.processing.purposes.is_empty() && config.processing.recipients.len() > 1,
        "ops/{EXAMPLE} shows a realistic processing register"
    );
    let loaded = not_register(&leaves(&serde_json::to_value(&config).unwrap()));
    let wanted = not_register(&leaves(&serde_json::to_value(&defaults).unwrap()));
    let differ: Vec<String> = wanted
        .iter()
        .filter(|w| !loaded.contains(w))
        .map(|(path, value)| {
            let got = loaded.iter().find(|(p, _)| p == path).map(|(_, v)| v);
            format!("{path}: default {value}, example {got:?}")
        })
        .collect();
    assert!(
        differ.is_empty() && loaded.len() == wanted.len(),
        "ops/{EXAMPLE} must hold the defaults (environment overrides present: {overrides:?}):\n  {}",
        differ.join("\n  ")
    );
    // Secrets serialize redacted; compare them directly.
    assert_eq!(config.database_url.expose(), defaults.database_url.expose());
    assert_eq!(
        config.email.smtp_url.expose(),
        defaults.email.smtp_url.expose()
    );
    let problems = config.problems();
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn example_config_documents_every_key() {
    let text = read(EXAMPLE);
    let table: toml::Table = toml::from_str(&text).expect("example is TOML");
    let commented = commented_keys(&text);
    let missing: Vec<String> = default_paths()
        .into_iter()
        .filter(|(path, unset)| {
            if *unset {
                !commented.contains(path)
            } else {
                !toml_has(&table, path)
            }
        })
        .map(|(path, unset)| {
            if unset {
                format!("{path} (unset by default: show it as `# {path} = …`)")
            } else {
                path
            }
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ops/{EXAMPLE} lacks these config keys:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn example_config_comments_every_key() {
    let text = read(EXAMPLE);
    let mut previous = "";
    let mut bare = Vec::new();
    // In a list of tables (`[[processing.purposes]]`) the first entry explains each key;
    // the entries after it repeat the same keys.
    let mut section = String::new();
    let mut explained = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
        }
        if let Some(key) = bare_key(line) {
            let path = format!("{section}.{key}");
            let repeated = section.starts_with("[[") && explained.contains(&path);
            if !previous.starts_with('#') && !repeated {
                bare.push(line.to_string());
            }
            explained.insert(path);
        }
        if !line.is_empty() {
            previous = line;
        }
    }
    assert!(
        bare.is_empty(),
        "keys without a comment line above them:\n  {}",
        bare.join("\n  ")
    );
}

#[test]
fn deployment_files_probe_health_and_outlast_the_shutdown_grace() {
    let grace = Config::default().jobs.shutdown_grace.0.as_secs();

    let k8s_dir = ops_path("k8s");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&k8s_dir).expect("ops/k8s") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read");
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                text.contains("apiVersion:") && text.contains("kind:"),
                "{name}"
            );
            names.insert(name);
        }
    }
    for needed in [
        "deployment.yaml",
        "service.yaml",
        "configmap.yaml",
        "secret.example.yaml",
        "pdb.yaml",
    ] {
        assert!(names.contains(needed), "ops/k8s/{needed} is missing");
    }

    let deployment = read("k8s/deployment.yaml");
    for probe in [
        "readinessProbe",
        "livenessProbe",
        "/readyz",
        "/healthz",
        "preStop",
    ] {
        assert!(deployment.contains(probe), "deployment.yaml lacks {probe}");
    }
    assert!(
        deployment.find("readinessProbe") < deployment.find("/readyz")
            && deployment.find("livenessProbe") < deployment.find("/healthz"),
        "readiness must probe /readyz, liveness /healthz"
    );
    assert_eq!(setting(&deployment, "replicas"), "2");
    assert!(seconds(setting(&deployment, "terminationGracePeriodSeconds")) > grace);
    assert!(deployment.contains("readOnlyRootFilesystem: true"));
    assert!(deployment.contains("runAsNonRoot: true"));
    assert_eq!(setting(&read("k8s/pdb.yaml"), "minAvailable"), "1");

    let compose = read("compose.yaml");
    for needle in [
        "/healthz",
        "/readyz",
        "postgres:15",
        "migrate",
        "rightsdesk.env",
    ] {
        assert!(compose.contains(needle), "compose.yaml lacks {needle}");
    }
    assert!(seconds(setting(&compose, "stop_grace_period")) > grace);

    let unit = read("systemd/rightsdesk.service");
    assert!(seconds(setting(&unit, "TimeoutStopSec")) > grace);

    let dockerfile = read("Dockerfile");
    for needle in ["HEALTHCHECK", "/healthz", "USER ", "VOLUME", "--locked"] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks {needle}");
    }
}

/// The configuration embedded in the ConfigMap loads and passes `Config::problems`.
#[test]
fn k8s_configmap_holds_a_valid_config() {
    let text = read("k8s/configmap.yaml");
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim().starts_with("rightsdesk.toml: |"));
    lines.next().expect("a `rightsdesk.toml: |` block");
    let body: Vec<&str> = lines
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rightsdesk.toml");
    std::fs::write(&path, body.join("\n")).expect("write");
    let config = Config::load(Some(&path)).unwrap_or_else(|p| panic!("configmap: {p}"));
    let problems = config.problems();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(config.log_format, "json");
}

/// Every `RIGHTSDESK_…` variable the kit sets names a config key (or the key/config file
/// variables), so a typo cannot be silently ignored.
#[test]
fn environment_variables_in_the_kit_name_real_keys() {
    let mut known: BTreeSet<String> = default_paths().into_iter().map(|(p, _)| p).collect();
    known.insert("secret_key".into());
    known.insert("config".into());
    // Read by `rightsdesk keys rotate` (the old key), not a config key.
    known.insert("old_secret_key".into());
    let files = [
        "Dockerfile",
        "compose.yaml",
        "rightsdesk.env.example",
        "systemd/rightsdesk.service",
        "k8s/deployment.yaml",
        "k8s/job-migrate.yaml",
        "k8s/secret.example.yaml",
        "RUNBOOK.md",
    ];
    let mut unknown = Vec::new();
    for file in files {
        let text = read(file);
        let mut rest = text.as_str();
        while let Some(at) = rest.find("RIGHTSDESK_") {
            let tail = &rest[at + "RIGHTSDESK_".len()..];
            let end = tail
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(tail.len());
            let name = tail[..end].trim_end_matches('_');
            rest = &tail[end..];
            // `RIGHTSDESK_DM_*` are the data map's `${VAR}`s, not config keys.
            if name.is_empty() || name.starts_with("TEST_") || name.starts_with("DM_") {
                continue;
            }
            let path = name.to_ascii_lowercase().replace("__", ".");
            if !known.contains(&path) {
                unknown.push(format!("{file}: RIGHTSDESK_{name}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "not config keys:\n  {}",
        unknown.join("\n  ")
    );
}

#[test]
fn secrets_are_not_baked_into_the_image() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    for secret in [
        "RIGHTSDESK_SECRET_KEY",
        "SMTP_URL",
        "postgres://",
        "secret.key",
    ] {
        assert!(
            !instructions.iter().any(|l| l.contains(secret)),
            "Dockerfile must not set {secret}"
        );
    }
}

#[test]
fn every_alert_has_a_rule_and_a_runbook_section() {
    let rules = read("prometheus/alerts.yml");
    let runbook = read("RUNBOOK.md");
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| {
            h.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect();
    let mut problems = Vec::new();
    for alert in ALERTS {
        if !rules.contains(&format!("- alert: {alert}\n")) {
            problems.push(format!("alerts.yml has no rule {alert}"));
        }
        let anchor = alert.to_lowercase();
        if !anchors.contains(&anchor) {
            problems.push(format!("RUNBOOK.md has no section `### {alert}`"));
        }
        if !rules.contains(&format!("RUNBOOK.md#{anchor}\"")) {
            problems.push(format!("{alert} does not link RUNBOOK.md#{anchor}"));
        }
    }
    // Every runbook link in the rules leads to a section.
    for link in rules.split("RUNBOOK.md#").skip(1) {
        let anchor: String = link.chars().take_while(|c| *c != '"').collect();
        if !anchors.contains(&anchor) {
            problems.push(format!("alerts.yml links a missing section #{anchor}"));
        }
    }
    let count = |needle: &str| rules.matches(needle).count();
    let alerts = count("- alert: ");
    for field in ["for: ", "severity: ", "summary: ", "runbook_url: "] {
        if count(field) < alerts {
            problems.push(format!("some alert lacks `{field}`"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `rightsdesk check` with a config file: (exit code, stdout + stderr).
fn check_with(config: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rightsdesk.toml");
    std::fs::write(&path, config).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
        .arg("check")
        .arg("--config")
        .arg(&path)
        .current_dir(dir.path())
        .env_remove("RIGHTSDESK_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rightsdesk");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// `[regimes.<name>]` overrides are validated, and `rightsdesk check` names the bad key.
#[test]
fn check_names_a_bad_regime_override_key() {
    let cases = [
        // A misspelt field.
        (
            "[regimes.vcdpa]\nrespons = \"30 days\"\n",
            "regimes.vcdpa.respons",
        ),
        // A period that is not one.
        (
            "[regimes.cpa]\nappeal = \"sixty days\"\n",
            "regimes.cpa.appeal",
        ),
        // A regime Rightsdesk does not know.
        (
            "[regimes.nevada]\nresponse = \"45 days\"\n",
            "regimes.nevada",
        ),
        // An authority URL that is not a web address.
        (
            "[regimes.ucpa]\nauthority_url = \"mailto:ag@example.org\"\n",
            "regimes.ucpa.authority_url",
        ),
        // A residence that is not an ISO 3166 code, and a regime that does not exist.
        (
            "[deadlines.jurisdictions]\n\"Virginia\" = \"vcdpa\"\n",
            "deadlines.jurisdictions.Virginia",
        ),
        (
            "[deadlines.jurisdictions]\n\"US-NV\" = \"nevada\"\n",
            "deadlines.jurisdictions.US-NV",
        ),
        // A `days:N` regime has no built-in authority: a name alone is not enough.
        (
            "[regimes.\"days:30\"]\nauthority_name = \"Our regulator\"\n",
            "regimes.days:30.authority_url",
        ),
    ];
    for (toml, key) in cases {
        let (code, text) = check_with(toml);
        assert_ne!(code, Some(0), "{toml}: {text}");
        assert!(text.contains(key), "{toml}: expected {key} in:\n{text}");
    }
    // A good override passes the configuration checks and changes the rules.
    let good = "[regimes.ccpa]\nhold_pauses = false\nopt_out = \"10 business days\"\n\
                [regimes.\"days:30\"]\nauthority_name = \"Our regulator\"\n\
                authority_url = \"https://regulator.example\"\n";
    let (code, text) = check_with(good);
    assert_eq!(code, Some(0), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rightsdesk.toml");
    std::fs::write(&path, good).unwrap();
    let config = Config::load(Some(&path)).expect("loads");
    let rules = config.regime_rules(rightsdesk::domain::deadline::Regime::Ccpa);
    assert!(!rules.hold_pauses);
    assert_eq!(
        rules.opt_out.map(|p| p.to_string()).as_deref(),
        Some("10 business days")
    );
    let days = config.regime_rules(rightsdesk::domain::deadline::Regime::Days(30));
    assert_eq!(
        days.authority.map(|a| a.url).as_deref(),
        Some("https://regulator.example")
    );
}
