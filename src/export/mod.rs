//! Access/portability export: the subject's rows from every access task, packed into a
//! ZIP (README, request, about-your-data, manifest, and per table JSON and CSV), written
//! entry by entry to a temporary file, then encrypted in 64 KiB chunks to
//! `data_dir/exports/<id>.bin` and served once per download through an expiring link.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::crypto::Keys;
use crate::http::AppState;
use crate::store::{Export, Request, Task};

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

/// A task's stored result: the JSON of `connectors::AccessResult`.
#[derive(Debug, Deserialize)]
struct AccessResult {
    #[serde(default)]
    tables: Vec<TableRows>,
}

#[derive(Debug, Deserialize)]
struct TableRows {
    table: String,
    #[serde(default)]
    rows: Vec<Map<String, Value>>,
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
about-your-data.json  which tables we searched and, where we keep data we are required
                      to keep, why
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

/// Build the ZIP for `req` from its access `tasks` into `out`. Blocking: run it in
/// `spawn_blocking`. Entries are written one by one; only one task's rows are in memory.
pub fn build_package(
    state: &AppState,
    req: &Request,
    tasks: &[Task],
    out: &Path,
) -> Result<Manifest, ExportError> {
    let created_at = state.clock.now();
    let file = File::create(out)?;
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let mut files = Vec::new();
    let mut searched = Vec::new();

    for task in tasks
        .iter()
        .filter(|t| t.operation == "access" && t.status == "succeeded")
    {
        let result: AccessResult = match &task.result_ct {
            Some(ct) => {
                let plain = state
                    .keys
                    .decrypt(ct)
                    .map_err(|_| ExportError::BadTaskResult)?;
                serde_json::from_str(&plain).map_err(|_| ExportError::BadTaskResult)?
            }
            None => AccessResult { tables: Vec::new() },
        };
        let conn = segment(&task.connector);
        for t in &result.tables {
            let base = format!("data/{conn}/{}", segment(&t.table));
            let rows = t.rows.len() as u64;
            let mut json_file = entry(&mut zip, &format!("{base}.json"), |w| {
                serde_json::to_writer_pretty(&mut *w, &t.rows)?;
                w.write_all(b"\n")?;
                Ok(())
            })?;
            let mut csv_file = entry(&mut zip, &format!("{base}.csv"), |w| write_csv(w, &t.rows))?;
            for f in [&mut json_file, &mut csv_file] {
                f.rows = Some(rows);
                f.connector = Some(task.connector.clone());
                f.table = Some(t.table.clone());
            }
            files.push(json_file);
            files.push(csv_file);
            searched
                .push(json!({ "connector": task.connector, "table": t.table, "records": rows }));
        }
    }

    let readme = README
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
    let about = json!({
        "tables": searched,
        "retained": state.connectors.retained(),
    });
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
    inner.flush()?;
    inner.get_ref().sync_all()?;
    Ok(manifest)
}

/// RFC 4180 CSV with a header row: the union of the rows' columns in first-seen order.
fn write_csv<W: Write>(w: &mut W, rows: &[Map<String, Value>]) -> Result<(), ExportError> {
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        for k in row.keys() {
            if !columns.contains(&k.as_str()) {
                columns.push(k);
            }
        }
    }
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w);
    if !columns.is_empty() {
        out.write_record(columns.iter().map(|c| escape_formula(c)))?;
    }
    for row in rows {
        out.write_record(
            columns
                .iter()
                .map(|c| row.get(*c).map(csv_cell).unwrap_or_default()),
        )?;
    }
    out.flush()?;
    Ok(())
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
    let mut writer = BufWriter::new(File::create(out)?);
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
    let id = uuid::Uuid::now_v7().to_string();
    let dir = exports_dir(state);
    let plain = dir.join(format!(".{id}.zip.tmp"));
    let sealed_tmp = dir.join(format!(".{id}.bin.tmp"));
    let target = file_path(state, &id);
    let (st, rq, idc) = (state.clone(), req.clone(), id.clone());
    let built = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let result = build_package(&st, &rq, &tasks, &plain).and_then(|manifest| {
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
    let expires = chrono::Duration::from_std(state.config.retention_own.exports_expire.0)
        .unwrap_or_else(|_| chrono::Duration::days(7));
    let export = Export {
        id: id.clone(),
        request_id: req.id.clone(),
        token_hash: crate::crypto::token_hash(&token),
        file_name: format!("{}.zip", segment(&req.reference)),
        manifest: serde_json::to_string(&manifest)?,
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        downloads: 0,
        max_downloads: DEFAULT_MAX_DOWNLOADS,
        expires_at: now + expires,
        created_at: now,
        deleted_at: None,
    };
    if let Err(e) = state.store.insert_export(&export).await {
        let _ = tokio::fs::remove_file(file_path(state, &id)).await;
        return Err(e.into());
    }
    tracing::info!(reference = %req.reference, export = %id, files = manifest.files.len(), bytes = size, "export package ready");
    Ok(format!(
        "{}/download/{token}",
        state.config.public_url.trim_end_matches('/')
    ))
}

/// The live export behind a download token, counted as one download; `None` when the
/// token is unknown, expired, deleted or used up.
pub async fn claim_download(state: &AppState, token: &str) -> Result<Option<Export>, ExportError> {
    if token.len() > 100 {
        return Ok(None);
    }
    let now = state.clock.now();
    let Some(mut export) = state
        .store
        .export_by_token(&crate::crypto::token_hash(token))
        .await?
    else {
        return Ok(None);
    };
    if !state.store.count_export_download(&export.id, now).await? {
        return Ok(None);
    }
    export.downloads += 1;
    Ok(Some(export))
}

/// The decrypted ZIP of `export`. Decrypted chunk by chunk; the response body is
/// assembled in memory (bounded by the package size).
pub async fn read_zip(state: &AppState, export: &Export) -> Result<Vec<u8>, ExportError> {
    let keys = state.keys.clone();
    let path = file_path(state, &export.id);
    let id = export.id.clone();
    let capacity = usize::try_from(export.size_bytes).unwrap_or(0);
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::with_capacity(capacity);
        decrypt_file(&keys, &id, &path, |chunk| {
            out.extend_from_slice(&chunk);
            Ok(())
        })?;
        Ok(out)
    })
    .await
    .map_err(|e| ExportError::Join(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
