//! Subject identity: a parsed email address is proof that it is well formed and in its
//! canonical form, the one every match, blind index and hold uses.
//!
//! **Canonical form.** Trimmed, Unicode NFC, lower-cased (full Unicode lower case). An
//! internationalised domain is kept in both spellings: Unicode (the canonical one) and
//! its IDNA A-label (`xn--…`), whichever the subject typed. A domain that IDNA would
//! *map* to something else (full-width letters, compatibility characters) is refused
//! rather than silently turned into another address, and so is a local part or domain
//! label that mixes writing systems (a Cyrillic `а` among Latin letters), the usual
//! look-alike trick.

use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;
use validator::ValidateEmail;

/// A syntactically valid email address in canonical form (see the module documentation).
/// `Debug` and `Display` never print it: it is personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectEmail {
    canonical: String,
    /// The same address with its domain as an IDNA A-label, when that differs.
    ascii: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("an email address is required")]
    Empty,
    #[error("an email address is at most 254 characters")]
    TooLong,
    #[error("this is not a valid email address")]
    Invalid,
    #[error(
        "this address mixes letters of different writing systems (for example Latin and Cyrillic); please type it again"
    )]
    MixedScript,
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
        let folded = fold(trimmed);
        let (local, domain) = folded.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if local.is_empty() || domain.is_empty() {
            return Err(EmailError::Invalid);
        }
        let (unicode_domain, ascii_domain) = if domain.is_ascii() && !has_a_label(domain) {
            (domain.to_string(), None)
        } else {
            let ascii = idna::domain_to_ascii(domain).map_err(|_| EmailError::Invalid)?;
            let (unicode, ok) = idna::domain_to_unicode(&ascii);
            ok.map_err(|_| EmailError::Invalid)?;
            let unicode = fold(&unicode);
            // IDNA maps some characters to others (full-width letters, compatibility
            // forms): that is another address, not a spelling of this one.
            if domain != unicode && domain != ascii {
                return Err(EmailError::Invalid);
            }
            if unicode == ascii {
                (unicode, None)
            } else {
                (unicode, Some(ascii))
            }
        };
        for part in std::iter::once(local).chain(unicode_domain.split('.')) {
            if !part.is_single_script() {
                return Err(EmailError::MixedScript);
            }
        }
        let canonical = format!("{local}@{unicode_domain}");
        let ascii = ascii_domain.map(|d| format!("{local}@{d}"));
        let checked = ascii.as_deref().unwrap_or(&canonical);
        if !checked.validate_email() {
            return Err(EmailError::Invalid);
        }
        Ok(Self { canonical, ascii })
    }

    /// The canonical address, for sending mail and for the blind index.
    pub fn expose(&self) -> &str {
        &self.canonical
    }

    /// Every spelling of the address a product may have stored: the canonical one
    /// first, then the IDNA A-label spelling of an internationalised domain.
    pub fn spellings(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.canonical.as_str()).chain(self.ascii.as_deref())
    }
}

/// NFC, lower case, NFC again (lower-casing can leave a string unnormalised).
fn fold(s: &str) -> String {
    s.nfc().collect::<String>().to_lowercase().nfc().collect()
}

fn has_a_label(domain: &str) -> bool {
    domain.split('.').any(|l| l.starts_with("xn--"))
}

/// The rule a product's stored value is matched by: lower-cased (full Unicode lower case,
/// nothing else: no normalisation, no accent or width folding), it must equal one of the
/// identity's spellings byte for byte.
pub fn matches_stored(stored: &str, spellings: &[String]) -> bool {
    let lowered = stored.to_lowercase();
    spellings.contains(&lowered)
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
    fn internationalised_domains_keep_both_spellings() {
        let u = SubjectEmail::parse("Alice@EXÄMPLE.com").unwrap();
        assert_eq!(u.expose(), "alice@exämple.com");
        let spellings: Vec<&str> = u.spellings().collect();
        assert_eq!(spellings, ["alice@exämple.com", "alice@xn--exmple-cua.com"]);
        // Typed as an A-label: the same identity.
        let a = SubjectEmail::parse("alice@XN--EXMPLE-CUA.COM").unwrap();
        assert_eq!(a, u);
        // Decomposed input (a + combining diaeresis) is the same address after NFC.
        let d = SubjectEmail::parse("alice@exa\u{308}mple.com").unwrap();
        assert_eq!(d, u);
        // Plain ASCII has one spelling.
        let p = SubjectEmail::parse("alice@example.com").unwrap();
        assert_eq!(p.spellings().count(), 1);
        assert_ne!(p, u);
    }

    #[test]
    fn look_alikes_and_mapped_domains_are_refused() {
        // Cyrillic "а" (U+0430) in a Latin domain label.
        assert_eq!(
            SubjectEmail::parse("alice@ex\u{430}mple.com"),
            Err(EmailError::MixedScript)
        );
        // Full-width letters would be mapped by IDNA to another domain.
        assert_eq!(
            SubjectEmail::parse("alice@\u{ff45}xample.com"),
            Err(EmailError::Invalid)
        );
        // A whole-Cyrillic domain is one script and fine.
        assert!(SubjectEmail::parse("ivan@пример.рф").is_ok());
    }

    #[test]
    fn stored_values_match_by_lower_case_only() {
        let e = SubjectEmail::parse("mixed.case@exämple.com").unwrap();
        let s: Vec<String> = e.spellings().map(str::to_string).collect();
        assert!(matches_stored("Mixed.Case@EXÄMPLE.com", &s));
        assert!(matches_stored("MIXED.CASE@xn--exmple-cua.com", &s));
        assert!(!matches_stored("mixed.case@example.com", &s));
        assert!(!matches_stored("mixed.case@exa\u{308}mple.com", &s));
        assert!(!matches_stored("mixed.case@\u{ff45}xämple.com", &s));
        assert!(!matches_stored(" mixed.case@exämple.com", &s));
    }

    #[test]
    fn cleaning_removes_header_breaks() {
        assert_eq!(clean_line("Ada\r\nBcc: evil@x.y"), "Ada  Bcc: evil@x.y");
        assert_eq!(clean_text("line1\nline2\u{0}\u{7}"), "line1\nline2");
    }
}
