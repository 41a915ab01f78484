//! The languages a subject is answered in, and how one is picked from what a browser
//! sends (`Accept-Language`, RFC 9110 §12.5.4). Pure: the texts are in `locales/`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A language of the public pages and subject emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Language {
    #[default]
    En,
    De,
    Fr,
    Es,
    PtBr,
}

impl Language {
    pub const ALL: &'static [Language] = &[
        Language::En,
        Language::De,
        Language::Fr,
        Language::Es,
        Language::PtBr,
    ];

    /// The BCP 47 tag (`<html lang>`, the `language` field of the API, `?lang=`).
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
            Language::Fr => "fr",
            Language::Es => "es",
            Language::PtBr => "pt-BR",
        }
    }

    /// The language's own name, for the language switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::De => "Deutsch",
            Language::Fr => "Français",
            Language::Es => "Español",
            Language::PtBr => "Português (Brasil)",
        }
    }

    /// One of the five tags exactly (case-insensitive, `_` for `-` accepted): what the
    /// intake API and a stored request accept.
    pub fn parse(tag: &str) -> Option<Language> {
        let t = tag.trim().replace('_', "-").to_ascii_lowercase();
        Language::ALL
            .iter()
            .copied()
            .find(|l| l.tag().to_ascii_lowercase() == t)
    }

    /// The language a browser's tag falls to: its primary subtag decides, so `de-AT`
    /// is German, and every Portuguese (`pt`, `pt-PT`, `pt-BR`) is Brazilian Portuguese.
    pub fn from_tag_loose(tag: &str) -> Option<Language> {
        let t = tag.trim().replace('_', "-").to_ascii_lowercase();
        match t.split('-').next().unwrap_or("") {
            "en" => Some(Language::En),
            "de" => Some(Language::De),
            "fr" => Some(Language::Fr),
            "es" => Some(Language::Es),
            "pt" => Some(Language::PtBr),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header: the highest q-value among
    /// the languages we have (earlier entries win ties; `q=0` means "not this one");
    /// `None` when the header names none of them.
    pub fn negotiate(accept_language: &str) -> Option<Language> {
        let mut best: Option<(Language, u16)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let mut q: u16 = 1000;
            for p in parts {
                let p = p.trim();
                if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                    q = parse_q(v).unwrap_or(0);
                }
            }
            if q == 0 || tag.is_empty() {
                continue;
            }
            let Some(lang) = Language::from_tag_loose(tag) else {
                continue;
            };
            if best.is_none_or(|(_, bq)| q > bq) {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }
}

/// A q-value in thousandths: `1`, `0.8`, `0.125`; anything else is not a q-value.
fn parse_q(v: &str) -> Option<u16> {
    let v = v.trim();
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let mut frac_num: u16 = 0;
    for b in frac.bytes().chain(std::iter::repeat(b'0')).take(3) {
        frac_num = frac_num * 10 + u16::from(b - b'0');
    }
    let q = int * 1000 + frac_num;
    (q <= 1000).then_some(q)
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}`: use one of en, de, fr, es, pt-BR")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::parse(s).ok_or_else(|| UnknownLanguage(s.to_owned()))
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.tag())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Language::parse(&s).ok_or_else(|| serde::de::Error::custom(UnknownLanguage(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_decide_and_unknown_languages_are_skipped() {
        assert_eq!(Language::negotiate("de-DE,de;q=0.9"), Some(Language::De));
        assert_eq!(
            Language::negotiate("ja, fr;q=0.5, de;q=0.8"),
            Some(Language::De)
        );
        assert_eq!(Language::negotiate("en;q=0.1, es"), Some(Language::Es));
        assert_eq!(Language::negotiate("de;q=0, fr;q=0.2"), Some(Language::Fr));
        assert_eq!(Language::negotiate("ja, zh-CN"), None);
        assert_eq!(Language::negotiate(""), None);
        assert_eq!(Language::negotiate("*"), None);
        assert_eq!(Language::negotiate("de;q=bogus, fr"), Some(Language::Fr));
    }

    #[test]
    fn every_portuguese_falls_to_brazilian() {
        for tag in ["pt", "pt-PT", "pt-BR", "PT_br"] {
            assert_eq!(Language::negotiate(tag), Some(Language::PtBr), "{tag}");
        }
    }

    #[test]
    fn only_the_five_tags_parse_exactly() {
        for l in Language::ALL {
            assert_eq!(Language::parse(l.tag()), Some(*l));
            assert_eq!(l.tag().parse::<Language>(), Ok(*l));
        }
        assert_eq!(Language::parse("pt-br"), Some(Language::PtBr));
        assert_eq!(Language::parse("pt"), None);
        assert_eq!(Language::parse("de-DE"), None);
        assert!("xx".parse::<Language>().is_err());
        assert_eq!(parse_q("0.125"), Some(125));
        assert_eq!(parse_q("1.0"), Some(1000));
        assert_eq!(parse_q("1.5"), None);
    }
}
