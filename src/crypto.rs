//! The deployment key and what it protects: identity data encrypted with AES-256-GCM,
//! HMAC blind indexes for lookups, and SHA-256 hashes of tokens.

use std::path::Path;

use aes_gcm::aead::{Aead, Generate, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("RIGHTSDESK_SECRET_KEY must be 64 hex characters (32 bytes)")]
    BadFormat,
    #[error(
        "no RIGHTSDESK_SECRET_KEY is set and the database is not embedded SQLite; generate one with `openssl rand -hex 32`"
    )]
    Missing,
    #[error("cannot read or write the key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("stored data could not be decrypted with the deployment key")]
pub struct DecryptError;

/// Where an encrypted value is stored: its table, column and row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: &'a str,
}

impl<'a> Field<'a> {
    /// A column of `requests` (row id: the request's id).
    pub fn request(column: &'a str, id: &'a str) -> Self {
        Self {
            table: "requests",
            column,
            row: id,
        }
    }

    pub fn new(table: &'a str, column: &'a str, row: &'a str) -> Self {
        Self { table, column, row }
    }

    /// A column of `tasks` (row id: the task's id).
    pub fn task(column: &'a str, id: &'a str) -> Self {
        Self::new("tasks", column, id)
    }

    /// A user's TOTP secret, pending or enabled (`users.totp_secret_ct`).
    pub fn totp_secret(user_id: &'a str) -> Self {
        Self::new("users", "totp_secret_ct", user_id)
    }

    /// The identity kept in the erasure ledger. The row is named by its task id (unique
    /// per entry and known before the row is written; the serial id is not).
    pub fn ledger_identity(task_id: &'a str) -> Self {
        Self::new("erasure_ledger", "identity_ct", task_id)
    }

    /// The rows of one result part; `row` is [`result_part_row`] of its task and position.
    pub fn result_part(row: &'a str) -> Self {
        Self::new("task_result_parts", "rows_ct", row)
    }

    fn aad(&self) -> Vec<u8> {
        let mut aad =
            Vec::with_capacity(20 + self.table.len() + self.column.len() + self.row.len());
        aad.extend_from_slice(b"rightsdesk/v2");
        for part in [self.table, self.column, self.row] {
            aad.push(0);
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

/// The row id of a task result part (its primary key, `task_id:seq`).
pub fn result_part_row(task_id: &str, seq: i64) -> String {
    format!("{task_id}:{seq}")
}

/// Keys derived from the one deployment secret; each use has its own key.
#[derive(Clone)]
pub struct Keys {
    cipher: Aes256Gcm,
    /// Its own key for export files, so chunk ciphertexts never share a key with fields.
    export_cipher: Aes256Gcm,
    index_key: Secret<[u8; 32]>,
    signing_key: Secret<[u8; 32]>,
    audit_key: Secret<[u8; 32]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Keys {
    pub fn from_master(master: &[u8; 32]) -> Self {
        let enc = derive(master, "rightsdesk/v1/encryption");
        Self {
            cipher: Aes256Gcm::new_from_slice(&enc).expect("a 32-byte key fits AES-256"),
            export_cipher: Aes256Gcm::new_from_slice(&derive(master, "rightsdesk/v1/export"))
                .expect("a 32-byte key fits AES-256"),
            index_key: Secret::new(derive(master, "rightsdesk/v1/blind-index")),
            signing_key: Secret::new(derive(master, "rightsdesk/v1/signing")),
            audit_key: Secret::new(derive(master, "rightsdesk/v1/audit")),
        }
    }

    pub fn from_hex(hex_key: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| KeyError::BadFormat)?;
        let master: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadFormat)?;
        Ok(Self::from_master(&master))
    }

    /// `RIGHTSDESK_SECRET_KEY`, else the configured key file, else in embedded mode
    /// `data/secret.key`, generated with mode 0600 on first start.
    pub fn load(
        data_dir: &Path,
        embedded: bool,
        key_file: Option<&Path>,
    ) -> Result<Self, KeyError> {
        if let Ok(v) = std::env::var("RIGHTSDESK_SECRET_KEY") {
            return Self::from_hex(&v);
        }
        if let Some(path) = key_file {
            let s = std::fs::read_to_string(path).map_err(|source| KeyError::File {
                path: path.display().to_string(),
                source,
            })?;
            return Self::from_hex(&s);
        }
        if !embedded {
            return Err(KeyError::Missing);
        }
        let path = data_dir.join("secret.key");
        let file_err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(s) => Self::from_hex(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(file_err)?;
                let master: [u8; 32] = rand::random();
                write_private(&path, hex::encode(master).as_bytes()).map_err(file_err)?;
                Ok(Self::from_master(&master))
            }
            Err(e) => Err(file_err(e)),
        }
    }

    /// The key that seals the audit chain's current epoch (HMAC-SHA256).
    pub fn audit_key(&self) -> [u8; 32] {
        *self.audit_key.expose()
    }

    /// `v1.<base64(nonce || ciphertext)>`
    pub fn encrypt(&self, plaintext: &str) -> String {
        let nonce = Nonce::generate();
        let ct = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut buf = Vec::with_capacity(12 + ct.len());
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(&ct);
        format!("v1.{}", STANDARD_NO_PAD.encode(buf))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, DecryptError> {
        let b64 = stored.strip_prefix("v1.").ok_or(DecryptError)?;
        let buf = STANDARD_NO_PAD.decode(b64).map_err(|_| DecryptError)?;
        if buf.len() < 12 {
            return Err(DecryptError);
        }
        let (nonce, ct) = buf.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| DecryptError)?;
        let pt = self.cipher.decrypt(&nonce, ct).map_err(|_| DecryptError)?;
        String::from_utf8(pt).map_err(|_| DecryptError)
    }

    /// `v2.<base64(nonce || ciphertext)>`, bound to where the value is stored: the
    /// table, column and row id are the associated data, so the ciphertext does not open
    /// anywhere else (copied into another row or column, it is refused).
    pub fn seal_at(&self, at: Field<'_>, plaintext: &str) -> String {
        let nonce = Nonce::generate();
        let aad = at.aad();
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                aes_gcm::aead::Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut buf = Vec::with_capacity(12 + ct.len());
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(&ct);
        format!("v2.{}", STANDARD_NO_PAD.encode(buf))
    }

    /// Open a value stored at `at`: a `v2` value only with the same table, column and row;
    /// a `v1` value (written before values were bound, until `rightsdesk keys reseal`
    /// rewrites it) as it is.
    pub fn open_at(&self, at: Field<'_>, stored: &str) -> Result<String, DecryptError> {
        let Some(b64) = stored.strip_prefix("v2.") else {
            return self.decrypt(stored);
        };
        let buf = STANDARD_NO_PAD.decode(b64).map_err(|_| DecryptError)?;
        if buf.len() < 12 {
            return Err(DecryptError);
        }
        let (nonce, ct) = buf.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| DecryptError)?;
        let aad = at.aad();
        let pt = self
            .cipher
            .decrypt(&nonce, aes_gcm::aead::Payload { msg: ct, aad: &aad })
            .map_err(|_| DecryptError)?;
        String::from_utf8(pt).map_err(|_| DecryptError)
    }

    /// Seal one chunk of an export file with the export key: `nonce || ciphertext`. `aad`
    /// binds the chunk to its file, position and finality (no reordering or truncation).
    pub fn seal_chunk(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce = Nonce::generate();
        let ct = self
            .export_cipher
            .encrypt(
                &nonce,
                aes_gcm::aead::Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut buf = Vec::with_capacity(12 + ct.len());
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(&ct);
        buf
    }

    /// Open a chunk sealed by [`Keys::seal_chunk`] with the same `aad`.
    pub fn open_chunk(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < 12 {
            return Err(DecryptError);
        }
        let (nonce, ct) = sealed.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| DecryptError)?;
        self.export_cipher
            .decrypt(&nonce, aes_gcm::aead::Payload { msg: ct, aad })
            .map_err(|_| DecryptError)
    }

    /// HMAC blind index of a normalised value: equal inputs give equal indexes, and the
    /// index reveals nothing without the key.
    pub fn blind_index(&self, normalised: &str) -> String {
        hex::encode(self.mac(self.index_key.expose(), normalised.as_bytes()))
    }

    /// HMAC-SHA256 with the signing key (masks, ledger, signatures).
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        self.mac(self.signing_key.expose(), data)
    }

    fn mac(&self, key: &[u8; 32], data: &[u8]) -> [u8; 32] {
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// A fresh 256-bit token, URL-safe.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Compare two secrets (tokens, CSRF values, signatures) in time that depends on their
/// length only, never on where they first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Write a file readable by its owner only.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_master(&[7u8; 32])
    }

    #[test]
    fn round_trip_and_nonce_uniqueness() {
        let k = keys();
        let a = k.encrypt("ada@example.com");
        let b = k.encrypt("ada@example.com");
        assert_ne!(a, b);
        assert!(!a.contains("ada"));
        assert_eq!(k.decrypt(&a).unwrap(), "ada@example.com");
    }

    #[test]
    fn tampering_and_wrong_key_fail() {
        let k = keys();
        let mut c = k.encrypt("x").into_bytes();
        let last = c.len() - 1;
        c[last] = if c[last] == b'A' { b'B' } else { b'A' };
        assert!(k.decrypt(std::str::from_utf8(&c).unwrap()).is_err());
        let other = Keys::from_master(&[8u8; 32]);
        assert!(other.decrypt(&k.encrypt("x")).is_err());
        assert!(k.decrypt("garbage").is_err());
    }

    #[test]
    fn blind_index_is_stable_and_keyed() {
        let k = keys();
        assert_eq!(k.blind_index("a@b.c"), k.blind_index("a@b.c"));
        assert_ne!(
            k.blind_index("a@b.c"),
            Keys::from_master(&[9; 32]).blind_index("a@b.c")
        );
    }

    #[test]
    fn hex_key_format() {
        assert!(Keys::from_hex(&"ab".repeat(32)).is_ok());
        assert!(Keys::from_hex("abc").is_err());
        assert!(Keys::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn generated_key_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY of the test: RIGHTSDESK_SECRET_KEY is not set in unit tests.
        if std::env::var("RIGHTSDESK_SECRET_KEY").is_ok() {
            return;
        }
        let k1 = Keys::load(dir.path(), true, None).unwrap();
        let k2 = Keys::load(dir.path(), true, None).unwrap();
        assert_eq!(k1.blind_index("x"), k2.blind_index("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
