//! Subject identity: a parsed email address is proof that it is well formed.

use validator::ValidateEmail;

/// A syntactically valid, normalised email address (trimmed, lower case).
/// `Debug` and `Display` never print it: it is personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectEmail(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("an email address is required")]
    Empty,
    #[error("an email address is at most 254 characters")]
    TooLong,
    #[error("this is not a valid email address")]
    Invalid,
}

impl SubjectEmail {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        // Control characters (CR/LF above all) could smuggle mail headers.
        if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(EmailError::Invalid);
        }
        if !trimmed.validate_email() {
            return Err(EmailError::Invalid);
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// The address itself, for sending mail and for the blind index.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SubjectEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectEmail([redacted])")
    }
}

impl std::fmt::Display for SubjectEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Free text from a person (names, details) with control characters other than
/// newlines and tabs removed, so it is safe to store and to put in an email body.
pub fn clean_text(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .trim()
        .to_string()
}

/// A single-line text (a name): every control character, newlines included, becomes a space.
pub fn clean_line(input: &str) -> String {
    input
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let e = SubjectEmail::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.expose(), "ada.lovelace@example.com");
        assert_eq!(format!("{e:?}"), "SubjectEmail([redacted])");
        assert_eq!(format!("{e}"), "[redacted]");
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "a@",
            "@b.com",
            "a b@c.com",
            "a@b.com\r\nBcc: x@y.z",
        ] {
            assert!(SubjectEmail::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(SubjectEmail::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn cleaning_removes_header_breaks() {
        assert_eq!(clean_line("Ada\r\nBcc: evil@x.y"), "Ada  Bcc: evil@x.y");
        assert_eq!(clean_text("line1\nline2\u{0}\u{7}"), "line1\nline2");
    }
}
