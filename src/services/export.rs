//! Access/portability export: the subject's rows from every access task, packed into a
//! ZIP (README, request, about-your-data, manifest, and per table JSON and CSV), written
//! entry by entry to a temporary file, then encrypted in 64 KiB chunks to
//! `data_dir/exports/<id>.bin` and served once per download through an expiring link.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::app::context::AppState;
use crate::crypto::Keys;
use crate::domain::request::Kind;
use crate::services::task_results;
use crate::store::{Export, Request, ResultPartInfo};

/// The `scope` of an access request whose package names the categories of personal
/// information found, per table, and holds no records (the right to know categories,
/// CCPA § 1798.110(a)(1); the Data Rights Protocol's `access:categories`).
pub const CATEGORIES_ONLY: &str = "categories";

/// Whether `req`'s package holds categories only.
pub fn categories_only(req: &Request) -> bool {
    req.kind == Kind::Access && req.scope.as_deref() == Some(CATEGORIES_ONLY)
}

/// Downloads allowed per link.
pub const DEFAULT_MAX_DOWNLOADS: i32 = 5;

/// Plaintext bytes per encrypted chunk.
const CHUNK: usize = 64 * 1024;
/// Start of every encrypted export file (format version 1).
const MAGIC: &[u8; 8] = b"RDEXP01\n";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("export file: {0}")]
    Io(#[from] std::io::Error),
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a task result could not be decrypted or read")]
    BadTaskResult,
    #[error("the export file is damaged or was not written with this deployment's key")]
    Damaged,
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("the export task stopped: {0}")]
    Join(String),
}

/// One file of the package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

/// Every file of the package except `manifest.json` itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub reference: String,
    pub created_at: DateTime<Utc>,
    pub files: Vec<ManifestFile>,
}

/// One access task's stored result, read part by part while the package is written.
pub struct Source {
    pub connector: String,
    pub task_id: String,
    pub parts: Vec<ResultPartInfo>,
    /// The parts with their rows, when the task has just written them (see
    /// `task_results::Written`): read from memory, not the store.
    pub kept: Vec<crate::store::ResultPart>,
}

impl Source {
    /// The tables of this result in stored order, each with its parts.
    fn tables(&self) -> Vec<(&str, Vec<&ResultPartInfo>)> {
        let mut out: Vec<(&str, Vec<&ResultPartInfo>)> = Vec::new();
        for p in &self.parts {
            match out.iter_mut().find(|(t, _)| *t == p.table_name) {
                Some((_, list)) => list.push(p),
                None => out.push((&p.table_name, vec![p])),
            }
        }
        out
    }
}

/// Counts and hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A path segment safe inside a ZIP (no separators, no `..`).
fn segment(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "_".into() } else { s }
}

/// `base`, or `base_2`, `base_3` … when an earlier table already took it: two names can
/// sanitise to the same entry (`order.items` and `order_items`), and case-insensitive file
/// systems would also merge `Orders` and `orders` when the package is unpacked.
fn unique_base(used: &mut std::collections::HashSet<String>, base: &str) -> String {
    let mut candidate = base.to_string();
    let mut n = 1;
    while !used.insert(candidate.to_lowercase()) {
        n += 1;
        candidate = format!("{base}_{n}");
    }
    candidate
}

/// A CSV cell: strings as they are (formula starters neutralised), null empty, numbers
/// and booleans as text, nested values as JSON.
pub fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => escape_formula(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => escape_formula(&other.to_string()),
    }
}

/// Cells beginning with `=`, `+`, `-`, `@`, tab or carriage return get a leading single
/// quote, so spreadsheets show them as text instead of running them as formulas.
pub fn escape_formula(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

const README: &str = "\
Your personal data
==================

This package holds a copy of the personal data we found about you, as you asked in
request {reference}. It was prepared on {created}.

What is in it
-------------

README.txt            this guide
request.json          your request: its reference, what you asked for, when we received
                      it and when we completed it
about-your-data.json  why we process your data and on which legal basis, who receives
                      it, how long we keep it, where it comes from, any automated
                      decisions and profiling (or that we were not given this
                      information), which tables we searched and, where we keep data we
                      are required to keep, why
manifest.json         a list of every file with its size, number of records and SHA-256
                      checksum, so you can check that nothing was changed or is missing
data/                 your data, one folder per system and one pair of files per table:
  <table>.json        the records exactly as stored (numbers, dates, true/false and empty
                      values keep their type); readable by any program that reads JSON
  <table>.csv         the same records as a spreadsheet table

Opening the CSV files
---------------------

The CSV files are plain text in UTF-8, one record per line, with the column names in the
first line, separated by commas (RFC 4180). Open them with a spreadsheet program (for
example LibreOffice Calc, Microsoft Excel: Data > From Text/CSV, choose UTF-8, or
Numbers). Empty cells mean the value is empty. Text that starts with = + - or @ is shown
with a leading ' so that a spreadsheet does not run it as a formula; the JSON files have
the value without it.

Keep this package safe: it contains personal data. If anything looks wrong or missing,
reply to the email that brought you the link and quote the reference above.
";

const CATEGORIES_README: &str = "\
This package tells you which categories of personal information we hold about you, as
you asked in request {reference}. It was prepared on {created}. As asked, it does not
contain the records themselves: ask for a copy of your data to receive them.

What is in it
-------------

README.txt            this guide
request.json          your request: its reference, what you asked for, when we received
                      it and when we completed it
categories.json       the categories of personal information we found, and per system
                      and table the categories it holds and how many records it has
about-your-data.json  why we process your data, who receives it, where it comes from,
                      and your rights
manifest.json         a list of every file with its size and SHA-256 checksum, so you
                      can check that nothing was changed or is missing

If anything looks wrong or missing, reply to the email that brought you the link and quote
the reference above.
";

/// Per table of the access results: the categories its columns are declared with in the
/// data map (a column with no declared category is named instead, under `other_fields`)
/// and its record count; and every category found, sorted. Reads no record: the column
/// names and counts come from the result parts' headers.
fn categories_found(state: &AppState, sources: &[Source]) -> (Vec<Value>, Vec<String>) {
    let mut all = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    for source in sources {
        let decl = state.connectors.decl(&source.connector);
        for (table, parts) in source.tables() {
            let fields = decl.and_then(|d| d.tables().iter().find(|t| t.name == table));
            let records: u64 = parts.iter().map(|p| p.row_count.max(0) as u64).sum();
            let mut categories = std::collections::BTreeSet::new();
            let mut other = std::collections::BTreeSet::new();
            for column in parts.iter().flat_map(|p| p.columns.iter()) {
                match fields
                    .and_then(|t| t.fields.get(column))
                    .and_then(|f| f.category.clone())
                {
                    Some(c) => {
                        all.insert(c.clone());
                        categories.insert(c);
                    }
                    None => {
                        other.insert(column.clone());
                    }
                }
            }
            found.push(json!({
                "connector": source.connector,
                "table": table,
                "records": records,
                "categories": categories,
                "other_fields": other,
            }));
        }
    }
    (found, all.into_iter().collect())
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644)
}

/// Write one entry through `f`, hashing it; returns its manifest line.
fn entry<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    path: &str,
    f: impl FnOnce(&mut Hashing<&mut ZipWriter<W>>) -> Result<(), ExportError>,
) -> Result<ManifestFile, ExportError> {
    zip.start_file(path, options())?;
    let mut w = Hashing::new(&mut *zip);
    f(&mut w)?;
    w.flush()?;
    let (sha256, bytes) = w.finish();
    Ok(ManifestFile {
        path: path.to_string(),
        sha256,
        bytes,
        rows: None,
        connector: None,
        table: None,
    })
}

/// Build the ZIP for `req` from its access results into `out`. Blocking: run it in
/// `spawn_blocking`; `rt` reads the result parts from the store through
/// `task_results::PartReader`, so only one part's rows (at most
/// `task_results::PART_ROWS`) and about `PART_BYTES` of encrypted parts are in memory.
pub fn build_package(
    state: &AppState,
    rt: &tokio::runtime::Handle,
    req: &Request,
    sources: &[Source],
    out: &Path,
) -> Result<Manifest, ExportError> {
    let created_at = state.clock.now();
    let file = create_private(out)?;
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let mut files = Vec::new();
    let mut searched = Vec::new();

    let mut used = std::collections::HashSet::new();
    if categories_only(req) {
        let (found, all) = categories_found(state, sources);
        for f in &found {
            searched.push(json!({ "connector": f["connector"], "table": f["table"], "records": f["records"] }));
        }
        let categories = json!({
            "reference": req.reference,
            "what_this_is": "The categories of personal information we hold about you, per system and table, and how many records each table holds. As asked, this package does not contain the records themselves; ask for a copy of your data to receive them.",
            "categories": all,
            "tables": found,
        });
        files.push(entry(&mut zip, "categories.json", |w| {
            serde_json::to_writer_pretty(&mut *w, &categories)?;
            Ok(())
        })?);
    }
    for source in sources.iter().filter(|_| !categories_only(req)) {
        let conn = segment(&source.connector);
        let mut reader = task_results::PartReader::new(state, &source.task_id, &source.parts)
            .with_kept(&source.kept);
        for (table, parts) in source.tables() {
            let base = unique_base(&mut used, &format!("data/{conn}/{}", segment(table)));
            let rows: u64 = parts.iter().map(|p| p.row_count.max(0) as u64).sum();
            let mut columns: Vec<&str> = Vec::new();
            for c in parts.iter().flat_map(|p| p.columns.iter()) {
                if !columns.contains(&c.as_str()) {
                    columns.push(c);
                }
            }
            // One pass over the parts writes the JSON entry and, beside it, the CSV (in
            // memory, or past `CSV_IN_MEMORY` in a scratch file next to the plaintext ZIP,
            // removed with it), which is then copied into its entry: each part is read
            // and parsed once.
            let scratch = out.with_extension("csv.tmp");
            let mut csv_out = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Spill::Memory(Vec::new(), scratch.clone()));
            if !columns.is_empty() {
                csv_out.write_record(columns.iter().map(|c| escape_formula(c)))?;
            }
            let json_entry = entry(&mut zip, &format!("{base}.json"), |w| {
                let mut first = true;
                w.write_all(b"[")?;
                for p in &parts {
                    let rows = rt
                        .block_on(reader.read(p.seq))
                        .map_err(|_| ExportError::BadTaskResult)?;
                    for row in rows {
                        w.write_all(if first { b"\n" } else { b",\n" })?;
                        first = false;
                        serde_json::to_writer_pretty(&mut *w, &row)?;
                        csv_out.write_record(
                            columns
                                .iter()
                                .map(|c| row.get(*c).map(csv_cell).unwrap_or_default()),
                        )?;
                    }
                }
                w.write_all(if first { b"]\n" } else { b"\n]\n" })?;
                Ok(())
            });
            let csv = csv_out
                .into_inner()
                .map_err(|e| ExportError::Io(e.into_error()));
            let csv_entry = json_entry.and_then(|j| {
                let csv = csv?;
                let c = entry(&mut zip, &format!("{base}.csv"), |w| {
                    csv.copy_into(w)?;
                    Ok(())
                })?;
                Ok((j, c))
            });
            let _ = std::fs::remove_file(&scratch);
            let (mut json_file, mut csv_file) = csv_entry?;
            for f in [&mut json_file, &mut csv_file] {
                f.rows = Some(rows);
                f.connector = Some(source.connector.clone());
                f.table = Some(table.to_string());
            }
            files.push(json_file);
            files.push(csv_file);
            searched
                .push(json!({ "connector": source.connector, "table": table, "records": rows }));
        }
    }

    let readme = if categories_only(req) {
        CATEGORIES_README
    } else {
        README
    };
    let readme = readme
        .replace("{reference}", &req.reference)
        .replace("{created}", &created_at.format("%-d %B %Y").to_string());
    files.push(entry(&mut zip, "README.txt", |w| {
        w.write_all(readme.as_bytes())?;
        Ok(())
    })?);
    let request = json!({
        "reference": req.reference,
        "kind": req.kind.as_str(),
        "received": req.received_at,
        "completed": req.completed_at.unwrap_or(created_at),
    });
    files.push(entry(&mut zip, "request.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &request)?;
        Ok(())
    })?);
    let about = about_your_data(&state.config, searched, state.connectors.retained());
    files.push(entry(&mut zip, "about-your-data.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &about)?;
        Ok(())
    })?);

    let manifest = Manifest {
        reference: req.reference.clone(),
        created_at,
        files,
    };
    entry(&mut zip, "manifest.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &manifest)?;
        Ok(())
    })?;
    let mut inner = zip.finish()?;
    // Flushed, not synced: `out` is the plaintext scratch file, read back at once to be
    // sealed and then removed; only the sealed file must reach the disk (`encrypt_file`).
    inner.flush()?;
    Ok(manifest)
}

/// GDPR art. 15(1) and (2): the register of processing from `[processing]`, the tables
/// searched, what is kept despite an erasure request and why (art. 17(3)), and the
/// subject's rights, in plain words.
pub fn about_your_data(
    config: &crate::config::Config,
    searched: Vec<Value>,
    retained: Vec<Value>,
) -> Value {
    let p = &config.processing;
    let or_ask = |s: &str| {
        if s.trim().is_empty() {
            Value::Null
        } else {
            Value::String(s.to_string())
        }
    };
    let purposes: Vec<Value> = p
        .purposes
        .iter()
        .map(|x| {
            json!({
                "name": x.name,
                "description": x.description,
                "legal_basis": x.legal_basis,
                "legal_basis_explained": x.legal_basis.plain_words(),
                "categories": x.categories,
                "retention": x.retention,
            })
        })
        .collect();
    let recipients: Vec<Value> = p
        .recipients
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "role": r.role,
                "purpose": r.purpose,
                "transfer_outside_eea": or_ask(&r.transfer),
            })
        })
        .collect();
    let sources: Vec<Value> = p
        .sources
        .iter()
        .map(|s| json!({ "name": s.name, "categories": s.categories }))
        .collect();
    let company = if p.controller.trim().is_empty() {
        config.organisation.as_str()
    } else {
        p.controller.as_str()
    };
    // GDPR art. 15(1)(h): said in words either way, so an empty list is never read as
    // "none" when the company simply did not say.
    let automated: Vec<Value> = p
        .automated_decisions
        .iter()
        .map(|d| {
            json!({
                "name": d.name,
                "profiling": d.profiling,
                "solely_automated_with_significant_effects": d.solely_automated,
                "logic_involved": or_ask(&d.logic),
                "significance": or_ask(&d.significance),
                "envisaged_consequences": or_ask(&d.consequences),
            })
        })
        .collect();
    let automated_statement = if !p.provided() {
        format!(
            "{company} did not provide this information to us. Ask {company} directly whether \
             they make decisions about you by automated means or profile you."
        )
    } else if automated.is_empty() {
        format!(
            "{company}'s register of processing lists no automated decision-making and no \
             profiling."
        )
    } else if p.automated_decisions.iter().any(|d| d.solely_automated) {
        "Some decisions about you are made by automated means alone. You may ask for a \
         person to review such a decision, give your point of view and contest it (GDPR \
         art. 22(3))."
            .to_string()
    } else {
        "Your data is used in the automated processing listed here; no decision with legal \
         or similarly significant effects is made about you by automated means alone."
            .to_string()
    };
    let register_notice = (!p.provided()).then(|| {
        format!(
            "{company} did not provide its register of processing, so this file cannot tell \
             you the purposes, legal bases, recipients, retention periods, sources, or any \
             automated decision-making and profiling (GDPR art. 15(1)). You are entitled to \
             this information: ask {company}, quoting your request's reference."
        )
    });
    let authority = if p.supervisory_authority.trim().is_empty() {
        "the data protection supervisory authority of the country where you live or work, or where you think your rights were infringed".to_string()
    } else {
        p.supervisory_authority.clone()
    };
    json!({
        "controller": or_ask(if p.controller.trim().is_empty() { &config.organisation } else { &p.controller }),
        "data_protection_contact": or_ask(&p.dpo),
        "register_provided": p.provided(),
        "register_not_provided": register_notice,
        "purposes": purposes,
        "recipients": recipients,
        "sources": sources,
        "automated_decision_making_and_profiling": {
            "article": "GDPR art. 15(1)(h)",
            "provided": p.provided(),
            "statement": automated_statement,
            "items": automated,
        },
        "tables_searched": searched,
        "kept_despite_erasure": retained,
        "your_rights": [
            {"right": "access", "text": "You may ask again for a copy of your data and this information (GDPR art. 15)."},
            {"right": "rectification", "text": "You may ask us to correct data that is wrong or complete data that is incomplete (GDPR art. 16)."},
            {"right": "erasure", "text": "You may ask us to erase your data; we keep only what the law requires us to keep, listed under kept_despite_erasure (GDPR art. 17)."},
            {"right": "restriction", "text": "You may ask us to stop using your data except to store it, for example while a correction is checked (GDPR art. 18)."},
            {"right": "portability", "text": "You may receive the data you gave us in a machine-readable form, as in this package, and have it sent to another company (GDPR art. 20)."},
            {"right": "objection", "text": "You may object to processing based on legitimate interests, and to direct marketing at any time (GDPR art. 21)."},
            {"right": "withdraw_consent", "text": "Where we rely on your consent you may withdraw it at any time; this does not affect processing before (GDPR art. 7(3))."},
            {"right": "complaint", "text": format!("You may complain to {authority} (GDPR art. 77).")},
        ],
    })
}

fn chunk_aad(id: &str, index: u64, last: bool) -> Vec<u8> {
    let mut aad = Vec::with_capacity(id.len() + 9);
    aad.extend_from_slice(id.as_bytes());
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

/// Encrypt `plain` to `out`: `MAGIC`, then frames `u32 length || nonce || ciphertext`
/// of at most 64 KiB of plaintext each, the last one flagged in its associated data
/// (so a truncated file does not decrypt). Returns the bytes written.
pub fn encrypt_file(keys: &Keys, id: &str, plain: &Path, out: &Path) -> Result<u64, ExportError> {
    let mut reader = BufReader::new(File::open(plain)?);
    let mut writer = BufWriter::new(create_private(out)?);
    writer.write_all(MAGIC)?;
    let mut written = MAGIC.len() as u64;
    let mut current = read_chunk(&mut reader)?;
    let mut index = 0u64;
    loop {
        let next = if current.len() == CHUNK {
            read_chunk(&mut reader)?
        } else {
            Vec::new()
        };
        let last = next.is_empty();
        let sealed = keys.seal_chunk(&chunk_aad(id, index, last), &current);
        let len = u32::try_from(sealed.len()).map_err(|_| ExportError::Damaged)?;
        writer.write_all(&len.to_be_bytes())?;
        writer.write_all(&sealed)?;
        written += 4 + sealed.len() as u64;
        if last {
            break;
        }
        current = next;
        index += 1;
    }
    writer.flush()?;
    writer.get_ref().sync_all()?;
    Ok(written)
}

/// Key rotation (issue 12): re-seal the export file `path` from `old` to `new` frame by
/// frame (same chunks, same associated data, bounded memory), replacing it atomically.
/// `Ok(false)` when `new` already opens it (a resumed rotation).
pub fn reseal_file(old: &Keys, new: &Keys, id: &str, path: &Path) -> Result<bool, ExportError> {
    if decrypt_file(new, id, path, |_| Ok(())).is_ok() {
        return Ok(false);
    }
    let tmp = path.with_extension("rotating");
    let mut writer = BufWriter::new(create_private(&tmp)?);
    writer.write_all(MAGIC)?;
    let mut index = 0u64;
    let mut pending: Option<Vec<u8>> = None;
    let write_frame = |w: &mut BufWriter<File>, plain: &[u8], index: u64, last: bool| {
        let sealed = new.seal_chunk(&chunk_aad(id, index, last), plain);
        let len = u32::try_from(sealed.len()).map_err(|_| ExportError::Damaged)?;
        w.write_all(&len.to_be_bytes())?;
        w.write_all(&sealed)?;
        Ok::<(), ExportError>(())
    };
    decrypt_file(old, id, path, |plain| {
        if let Some(prev) = pending.replace(plain) {
            write_frame(&mut writer, &prev, index, false)?;
            index += 1;
        }
        Ok(())
    })?;
    write_frame(&mut writer, &pending.unwrap_or_default(), index, true)?;
    writer.flush()?;
    writer.get_ref().sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(true)
}

fn read_chunk(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(CHUNK);
    r.take(CHUNK as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Decrypt an export file chunk by chunk, handing each plaintext chunk to `sink`.
pub fn decrypt_file(
    keys: &Keys,
    id: &str,
    path: &Path,
    mut sink: impl FnMut(Vec<u8>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut magic = [0u8; 8];
    reader
        .read_exact(&mut magic)
        .map_err(|_| ExportError::Damaged)?;
    if &magic != MAGIC {
        return Err(ExportError::Damaged);
    }
    let mut index = 0u64;
    loop {
        let mut len = [0u8; 4];
        reader
            .read_exact(&mut len)
            .map_err(|_| ExportError::Damaged)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > CHUNK + 12 + 16 {
            return Err(ExportError::Damaged);
        }
        let mut sealed = vec![0u8; len];
        reader
            .read_exact(&mut sealed)
            .map_err(|_| ExportError::Damaged)?;
        let last = reader.fill_buf()?.is_empty();
        let plain = keys
            .open_chunk(&chunk_aad(id, index, last), &sealed)
            .map_err(|_| ExportError::Damaged)?;
        sink(plain)?;
        if last {
            return Ok(());
        }
        index += 1;
    }
}

fn exports_dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("exports")
}

/// Where the encrypted package of export `id` lives.
pub fn file_path(state: &AppState, id: &str) -> PathBuf {
    exports_dir(state).join(format!("{}.bin", segment(id)))
}

/// Build, encrypt and record the package of `req` from its succeeded access tasks;
/// returns the download URL (only its token's hash is stored).
pub async fn create(state: &AppState, req: &Request) -> Result<String, ExportError> {
    let tasks = state.store.tasks_for_request(&req.id).await?;
    let built = build_from(state, req, &tasks, None).await?;
    state.store.insert_export(&built.export).await?;
    Ok(built.recorded())
}

/// A package built and sealed on disk, not recorded yet: its row (`export`) goes in the
/// store with the change that hands it out ([`crate::store::Changes::export`]). Then
/// [`Built::recorded`]; a package dropped without it (the change was not stored, an
/// error on the way) takes its file with it.
pub struct Built {
    pub export: Export,
    url: String,
    path: std::path::PathBuf,
    files: usize,
    reference: String,
    kept: bool,
    /// How long building and sealing it took.
    built_ms: f64,
}

impl Built {
    /// The download URL, for the change that records the package.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The row is stored: the file stays. Returns the download URL.
    pub fn recorded(mut self) -> String {
        self.kept = true;
        tracing::info!(reference = %self.reference, export = %self.export.id, files = self.files, bytes = self.export.size_bytes, built_ms = self.built_ms, "export package ready");
        std::mem::take(&mut self.url)
    }

    /// Remove the file of a package whose row was not stored.
    pub fn discard(self) {
        drop(self);
    }
}

impl Drop for Built {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Build and seal the package of `req` from `tasks` (see [`Built`]); the result parts
/// of `written`'s task are taken from it, the others read from the store.
pub async fn build_from(
    state: &AppState,
    req: &Request,
    tasks: &[crate::store::Task],
    mut written: Option<task_results::Written>,
) -> Result<Built, ExportError> {
    let began = std::time::Instant::now();
    let mut sources = Vec::new();
    for task in tasks
        .iter()
        .filter(|t| t.operation == "access" && t.status == "succeeded")
    {
        let (parts, kept) = match written.take_if(|w| w.task_id == task.id) {
            Some(w) => (w.index(), w.parts),
            None => (
                task_results::parts(state, task)
                    .await
                    .map_err(|_| ExportError::BadTaskResult)?,
                Vec::new(),
            ),
        };
        sources.push(Source {
            connector: task.connector.clone(),
            task_id: task.id.clone(),
            parts,
            kept,
        });
    }
    let id = uuid::Uuid::now_v7().to_string();
    let dir = exports_dir(state);
    let plain = dir.join(format!(".{id}.zip.tmp"));
    let sealed_tmp = dir.join(format!(".{id}.bin.tmp"));
    let target = file_path(state, &id);
    let (st, rq, idc) = (state.clone(), req.clone(), id.clone());
    let rt = tokio::runtime::Handle::current();
    let built = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let result = build_package(&st, &rt, &rq, &sources, &plain).and_then(|manifest| {
            let size = encrypt_file(&st.keys, &idc, &plain, &sealed_tmp)?;
            std::fs::rename(&sealed_tmp, &target)?;
            Ok((manifest, size))
        });
        // The plaintext never stays on disk, whatever happened.
        let _ = std::fs::remove_file(&plain);
        let _ = std::fs::remove_file(&sealed_tmp);
        result
    })
    .await
    .map_err(|e| ExportError::Join(e.to_string()))?;
    let (manifest, size) = built?;
    let token = crate::crypto::new_token();
    let now = state.clock.now();
    let expires = expiry(state);
    let export = Export {
        id: id.clone(),
        request_id: req.id.clone(),
        token_hash: crate::crypto::token_hash(&token),
        token_ct: Some(state.keys.seal_at(
            crate::crypto::Field::new("exports", "token_ct", &id),
            &token,
        )),
        file_name: format!("{}.zip", segment(&req.reference)),
        manifest: match serde_json::to_string(&manifest) {
            Ok(m) => m,
            Err(e) => {
                let _ = tokio::fs::remove_file(file_path(state, &id)).await;
                return Err(e.into());
            }
        },
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        downloads: 0,
        max_downloads: DEFAULT_MAX_DOWNLOADS,
        expires_at: now + expires,
        created_at: now,
        deleted_at: None,
    };
    Ok(Built {
        url: download_url(state, &token),
        path: file_path(state, &id),
        files: manifest.files.len(),
        reference: req.reference.clone(),
        export,
        kept: false,
        built_ms: began.elapsed().as_secs_f64() * 1000.0,
    })
}

/// The package for a staff completion, recorded: built from the request's succeeded
/// access tasks, or `None` when there are none (nothing was searched: the staff note
/// explains).
pub async fn for_completion(
    state: &AppState,
    req: &Request,
    tasks: &[crate::store::Task],
) -> Result<Option<String>, ExportError> {
    match build_for_completion(state, req, tasks).await? {
        Some(built) => {
            state.store.insert_export(&built.export).await?;
            Ok(Some(built.recorded()))
        }
        None => Ok(None),
    }
}

/// [`for_completion`], not recorded yet (see [`Built`]).
pub async fn build_for_completion(
    state: &AppState,
    req: &Request,
    tasks: &[crate::store::Task],
) -> Result<Option<Built>, ExportError> {
    if !tasks
        .iter()
        .any(|t| t.operation == "access" && t.status == "succeeded")
    {
        return Ok(None);
    }
    build_from(state, req, tasks, None).await.map(Some)
}

fn download_url(state: &AppState, token: &str) -> String {
    crate::services::notify::link(state, &format!("/download/{token}"))
}

fn expiry(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.config.retention_own.exports_expire.0)
        .unwrap_or_else(|_| chrono::Duration::days(7))
}

/// Where a package stands for its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    Live,
    Expired,
    UsedUp,
    Deleted,
}

pub fn state_of(export: &Export, now: DateTime<Utc>) -> ExportState {
    if export.deleted_at.is_some() {
        ExportState::Deleted
    } else if export.expires_at <= now {
        ExportState::Expired
    } else if export.downloads >= export.max_downloads {
        ExportState::UsedUp
    } else {
        ExportState::Live
    }
}

/// A new link for `export` (its file must still exist): the old link stops working,
/// the new one lives `exports_expire` from now with a fresh download count. `None` when
/// the file was deleted meanwhile.
pub async fn reissue(state: &AppState, export: &Export) -> Result<Option<String>, ExportError> {
    if export.deleted_at.is_some() || !file_path(state, &export.id).exists() {
        return Ok(None);
    }
    let token = crate::crypto::new_token();
    let done = state
        .store
        .reissue_export(
            &export.id,
            &crate::crypto::token_hash(&token),
            &state.keys.seal_at(
                crate::crypto::Field::new("exports", "token_ct", &export.id),
                &token,
            ),
            state.clock.now() + expiry(state),
        )
        .await?;
    Ok(done.then(|| download_url(state, &token)))
}

/// Where the newest package of a request stands and until when it lives (for the
/// subject's status page, which never shows the link itself).
pub async fn newest(
    state: &AppState,
    request_id: &str,
) -> Result<Option<(ExportState, DateTime<Utc>)>, ExportError> {
    let Some(export) = state.store.exports_for_request(request_id).await?.pop() else {
        return Ok(None);
    };
    Ok(Some((
        state_of(&export, state.clock.now()),
        export.expires_at,
    )))
}

/// The download link of the newest package while it can be downloaded (to email it to
/// the subject again); `None` otherwise.
pub async fn live_link(state: &AppState, request_id: &str) -> Result<Option<String>, ExportError> {
    let Some(export) = state.store.exports_for_request(request_id).await?.pop() else {
        return Ok(None);
    };
    Ok(
        match (state_of(&export, state.clock.now()), &export.token_ct) {
            (ExportState::Live, Some(ct)) => {
                let at = crate::crypto::Field::new("exports", "token_ct", &export.id);
                state
                    .keys
                    .open_at(at, ct)
                    .ok()
                    .map(|t| download_url(state, &t))
            }
            _ => None,
        },
    )
}

/// A table's CSV kept in memory up to this size; a larger one goes to a scratch file.
const CSV_IN_MEMORY: usize = 1024 * 1024;

/// A table's CSV while its JSON entry is written: in memory (most subjects have a few
/// rows per table, and a file per table cost a file creation and removal each), moved
/// to an owner-only scratch file once it passes [`CSV_IN_MEMORY`], so memory stays
/// bounded whatever the table's size.
enum Spill {
    Memory(Vec<u8>, PathBuf),
    File(BufWriter<File>, PathBuf),
}

impl Write for Spill {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Spill::Memory(buf, path) if buf.len() + b.len() > CSV_IN_MEMORY => {
                let path = path.clone();
                let mut f = BufWriter::new(create_private(&path)?);
                f.write_all(buf)?;
                f.write_all(b)?;
                *self = Spill::File(f, path);
                Ok(b.len())
            }
            Spill::Memory(buf, _) => {
                buf.extend_from_slice(b);
                Ok(b.len())
            }
            Spill::File(f, _) => f.write(b),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Spill::Memory(..) => Ok(()),
            Spill::File(f, _) => f.flush(),
        }
    }
}

impl Spill {
    /// Write everything into `w` (the caller removes the scratch file, if any).
    fn copy_into(self, w: &mut impl Write) -> std::io::Result<()> {
        match self {
            Spill::Memory(buf, _) => w.write_all(&buf),
            Spill::File(mut f, path) => {
                f.flush()?;
                drop(f);
                std::io::copy(&mut BufReader::new(File::open(&path)?), w)?;
                Ok(())
            }
        }
    }
}

/// Create (or truncate) a file readable by its owner only: plaintext packages, CSV
/// scratch files and sealed exports all hold a subject's data.
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let file = opts.open(path)?;
        // A file that existed before keeps its mode through `open`: narrow it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    opts.open(path)
}

/// The live export behind a download token, not counted (a `HEAD`, or a `GET` that has
/// not sent the whole body yet); `None` when the token is unknown, expired, deleted or
/// used up.
pub async fn live_download(state: &AppState, token: &str) -> Result<Option<Export>, ExportError> {
    if token.len() > 100 {
        return Ok(None);
    }
    let now = state.clock.now();
    let export = state
        .store
        .export_by_token(&crate::crypto::token_hash(token))
        .await?;
    Ok(export
        .filter(|e| e.deleted_at.is_none() && e.expires_at > now && e.downloads < e.max_downloads))
}

/// Count one complete download of `export`; `None` when the link was used up or expired
/// meanwhile (another download finished first).
pub async fn count_download(state: &AppState, export: &Export) -> Result<Option<i32>, ExportError> {
    let now = state.clock.now();
    if !state.store.count_export_download(&export.id, now).await? {
        return Ok(None);
    }
    let fresh = state.store.exports_for_request(&export.request_id).await?;
    Ok(fresh
        .iter()
        .find(|e| e.id == export.id)
        .map(|e| e.downloads))
}

/// A body stream that runs `on_complete` after its last chunk was taken and before it
/// ends, only when every chunk was taken without error: a client that goes away part
/// way, or a damaged file, runs nothing. The end of a chunked response is sent only
/// after `on_complete` finished, so a client that has the whole body sees its effect.
pub struct OnComplete<S> {
    inner: S,
    failed: bool,
    on_complete: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
    running: bool,
}

impl<S> OnComplete<S> {
    pub fn new(
        inner: S,
        on_complete: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        Self {
            inner,
            failed: false,
            on_complete: Some(Box::pin(on_complete)),
            running: false,
        }
    }
}

impl<S, T, E> tokio_stream::Stream for OnComplete<S>
where
    S: tokio_stream::Stream<Item = Result<T, E>> + Unpin,
{
    type Item = Result<T, E>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        if !this.running {
            match std::pin::Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if item.is_err() {
                        this.failed = true;
                        this.on_complete = None;
                    }
                    return Poll::Ready(Some(item));
                }
                Poll::Ready(None) => {
                    if this.failed {
                        return Poll::Ready(None);
                    }
                    this.running = true;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        match this.on_complete.as_mut() {
            Some(f) => match f.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.on_complete = None;
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            },
            None => Poll::Ready(None),
        }
    }
}

/// The decrypted ZIP of `export` as a response body, streamed: a blocking thread
/// decrypts chunk by chunk into a channel of four chunks, so a download holds at most
/// about 256 KiB whatever the package size. A file that is missing or does not open
/// under this deployment's key fails here, before the response starts; damage found
/// later ends the stream early (the client sees a broken download, never wrong bytes).
pub async fn stream_zip(
    state: &AppState,
    export: &Export,
) -> Result<axum::body::Body, ExportError> {
    Ok(axum::body::Body::from_stream(
        zip_chunks(state, export).await?,
    ))
}

/// The decrypted ZIP of `export` as a stream of chunks (see `stream_zip`).
pub async fn zip_chunks(
    state: &AppState,
    export: &Export,
) -> Result<tokio_stream::wrappers::ReceiverStream<Result<Vec<u8>, std::io::Error>>, ExportError> {
    let keys = state.keys.clone();
    let path = file_path(state, &export.id);
    let id = export.id.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<Result<(), ExportError>>();
    tokio::task::spawn_blocking(move || {
        let mut first = Some(first_tx);
        let result = decrypt_file(&keys, &id, &path, |chunk| {
            if let Some(f) = first.take() {
                let _ = f.send(Ok(()));
            }
            tx.blocking_send(Ok(chunk))
                .map_err(|_| ExportError::Join("the client went away".into()))
        });
        match (result, first.take()) {
            (Ok(()), Some(f)) => {
                let _ = f.send(Ok(()));
            }
            (Ok(()), None) => {}
            (Err(e), Some(f)) => {
                let _ = f.send(Err(e));
            }
            (Err(ExportError::Join(_)), None) => {}
            (Err(e), None) => {
                tracing::error!(export = %id, error = %e, "export download stopped part way");
                let _ = tx.blocking_send(Err(std::io::Error::other("export file damaged")));
            }
        }
    });
    first_rx
        .await
        .map_err(|e| ExportError::Join(e.to_string()))??;
    Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_register_the_package_says_the_company_did_not_provide_it() {
        let config = crate::config::Config::default();
        let about = about_your_data(&config, Vec::new(), Vec::new());
        assert_eq!(about["register_provided"], false);
        let notice = about["register_not_provided"].as_str().unwrap();
        assert!(
            notice.starts_with("Example Ltd did not provide its register of processing"),
            "{notice}"
        );
        let h = &about["automated_decision_making_and_profiling"];
        assert_eq!(h["article"], "GDPR art. 15(1)(h)");
        assert_eq!(h["provided"], false);
        assert!(
            h["statement"]
                .as_str()
                .unwrap()
                .contains("did not provide this information"),
            "{h}"
        );
        assert_eq!(h["items"], json!([]));
    }

    #[test]
    fn a_register_without_automated_decisions_says_it_lists_none() {
        let mut config = crate::config::Config::default();
        config.processing.purposes.push(Default::default());
        let about = about_your_data(&config, Vec::new(), Vec::new());
        assert_eq!(about["register_not_provided"], Value::Null);
        let h = &about["automated_decision_making_and_profiling"];
        assert_eq!(h["provided"], true);
        assert!(
            h["statement"]
                .as_str()
                .unwrap()
                .contains("lists no automated decision-making and no profiling"),
            "{h}"
        );
    }

    #[tokio::test]
    async fn on_complete_runs_only_after_the_whole_stream() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio_stream::StreamExt;
        let chunks = || tokio_stream::iter(vec![Ok::<_, std::io::Error>(1), Ok(2), Ok(3)]);
        let runs = Arc::new(AtomicUsize::new(0));
        let count = |runs: &Arc<AtomicUsize>| {
            let r = runs.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
            }
        };
        // Read whole: runs once, before the end.
        let mut whole = OnComplete::new(chunks(), count(&runs));
        let mut n = 0;
        while whole.next().await.is_some() {
            n += 1;
        }
        assert_eq!((n, runs.load(Ordering::SeqCst)), (3, 1));
        // Abandoned part way: never runs.
        let mut part = OnComplete::new(chunks(), count(&runs));
        let _ = part.next().await;
        let _ = part.next().await;
        drop(part);
        // An error on the way: never runs.
        let broken = tokio_stream::iter(vec![Ok(1), Err(std::io::Error::other("damaged"))]);
        let mut broken = OnComplete::new(broken, count(&runs));
        while broken.next().await.is_some() {}
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn entry_names_that_collide_get_a_suffix() {
        let mut used = std::collections::HashSet::new();
        let a = unique_base(&mut used, &format!("data/shop/{}", segment("order.items")));
        let b = unique_base(&mut used, &format!("data/shop/{}", segment("order_items")));
        let c = unique_base(&mut used, &format!("data/shop/{}", segment("Order_Items")));
        assert_eq!(a, "data/shop/order_items");
        assert_eq!(b, "data/shop/order_items_2");
        assert_eq!(c, "data/shop/Order_Items_3");
    }

    #[test]
    fn formula_cells_are_quoted() {
        assert_eq!(escape_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for s in ["+1", "-1", "@a", "\tx", "\rx"] {
            assert!(escape_formula(s).starts_with('\''), "{s}");
        }
        assert_eq!(escape_formula("Ada"), "Ada");
        assert_eq!(csv_cell(&Value::Null), "");
        assert_eq!(csv_cell(&json!(-5)), "-5");
    }

    #[test]
    fn chunked_encryption_round_trips_and_detects_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::from_master(&[3u8; 32]);
        for size in [0usize, 10, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let p = dir.path().join("p");
            let c = dir.path().join("c");
            std::fs::write(&p, &plain).unwrap();
            encrypt_file(&keys, "id1", &p, &c).unwrap();
            let mut back = Vec::new();
            decrypt_file(&keys, "id1", &c, |b| {
                back.extend(b);
                Ok(())
            })
            .unwrap();
            assert_eq!(back, plain, "size {size}");
            // Another id (file swapped) does not decrypt.
            assert!(decrypt_file(&keys, "id2", &c, |_| Ok(())).is_err());
            // Dropping the last frame does not decrypt.
            if size > CHUNK {
                let bytes = std::fs::read(&c).unwrap();
                let first = 8 + 4 + u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
                std::fs::write(&c, &bytes[..first]).unwrap();
                assert!(decrypt_file(&keys, "id1", &c, |_| Ok(())).is_err());
            }
        }
    }

    #[test]
    fn a_csv_stays_in_memory_until_it_is_large_then_moves_to_an_owner_only_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv.tmp");
        let mut small = Spill::Memory(Vec::new(), path.clone());
        small.write_all(b"a,b\r\n1,2\r\n").unwrap();
        assert!(matches!(small, Spill::Memory(..)) && !path.exists());
        let mut out = Vec::new();
        small.copy_into(&mut out).unwrap();
        assert_eq!(out, b"a,b\r\n1,2\r\n");

        let row = b"0123456789abcdef,0123456789abcdef\r\n";
        let mut large = Spill::Memory(Vec::new(), path.clone());
        let mut want = Vec::new();
        while want.len() <= CSV_IN_MEMORY + row.len() {
            large.write_all(row).unwrap();
            want.extend_from_slice(row);
        }
        assert!(matches!(large, Spill::File(..)) && path.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut out = Vec::new();
        large.copy_into(&mut out).unwrap();
        assert_eq!(out, want);
    }
}
