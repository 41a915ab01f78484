//! Files a subject or an authorized agent sends us (replies to a question, the agent's
//! signed permission): how many, how large, and which types, told by their content.

/// At most this many files with one reply or form.
pub const MAX_FILES: usize = 3;
/// At most this many bytes per file (10 MiB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// The types we take, recognised by their first bytes (never by the name or the
/// `Content-Type` the browser sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
    Text,
}

impl FileType {
    pub fn media_type(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Text => "text/plain; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Png => "png",
            FileType::Jpeg => "jpg",
            FileType::Text => "txt",
        }
    }

    /// The accepted types in words, for error messages.
    pub const ACCEPTED: &'static str = "PDF, PNG, JPEG or plain text";

    /// The type of `bytes` by content, or `None` for anything else (an executable, an
    /// archive, HTML, an empty file).
    pub fn sniff(bytes: &[u8]) -> Option<FileType> {
        if bytes.starts_with(b"%PDF-") {
            return Some(FileType::Pdf);
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(FileType::Png);
        }
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(FileType::Jpeg);
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let plain = !text.trim().is_empty()
            && !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
        // Markup is not plain text: a browser opening it would run it.
        let head = text.trim_start().get(..64).unwrap_or(text.trim_start());
        let markup = head.starts_with('<');
        (plain && !markup).then_some(FileType::Text)
    }
}

/// Why a file is refused, in words for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("send at most {MAX_FILES} files")]
    TooMany,
    #[error("“{0}” is larger than 10 MB")]
    TooLarge(String),
    #[error("“{name}” is not a {accepted} file", name = .0, accepted = FileType::ACCEPTED)]
    WrongType(String),
}

/// A file's name as shown back: the last path part, printable characters only, at most
/// 100 characters; `file` when nothing is left.
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

/// Check one file: its type by content and its size.
pub fn check(name: &str, bytes: &[u8]) -> Result<FileType, UploadError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(UploadError::TooLarge(clean_name(name)));
    }
    FileType::sniff(bytes).ok_or_else(|| UploadError::WrongType(clean_name(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_content_not_by_name() {
        assert_eq!(check("a.txt", b"%PDF-1.7\n..."), Ok(FileType::Pdf));
        assert_eq!(check("x.pdf", b"\x89PNG\r\n\x1a\n\0\0"), Ok(FileType::Png));
        assert_eq!(check("x", &[0xFF, 0xD8, 0xFF, 0xE0]), Ok(FileType::Jpeg));
        assert_eq!(
            check("note", "Mein Konto: 42\r\n".as_bytes()),
            Ok(FileType::Text)
        );
        assert!(matches!(
            check("scan.pdf", b"MZ\x90\0\x03"),
            Err(UploadError::WrongType(_))
        ));
        assert!(matches!(
            check("a.pdf", b"PK\x03\x04"),
            Err(UploadError::WrongType(_))
        ));
        assert!(matches!(
            check("a.txt", b"<html><script>"),
            Err(UploadError::WrongType(_))
        ));
        assert!(matches!(
            check("a.txt", b""),
            Err(UploadError::WrongType(_))
        ));
        let big = vec![b'a'; MAX_FILE_BYTES + 1];
        assert!(matches!(
            check("big.txt", &big),
            Err(UploadError::TooLarge(_))
        ));
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("C:\\Users\\x\\passport.pdf"), "passport.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("\"<evil>\".pdf"), "evil.pdf");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(".."), "file");
    }
}
