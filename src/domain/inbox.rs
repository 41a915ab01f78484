//! Reading the privacy inbox: which messages are machines talking (auto-replies, bounces,
//! mailing lists: never triage items) and which right a person's message most likely
//! asks for, from its words in English, German, French, Spanish or Portuguese.

use super::request::Kind;

/// The headers that tell a machine's message from a person's.
#[derive(Debug, Clone, Default)]
pub struct MailSignals<'a> {
    /// `Auto-Submitted` (RFC 3834): anything but `no` is automatic.
    pub auto_submitted: Option<&'a str>,
    /// `Precedence`: `bulk`, `junk`, `list`, `auto_reply`.
    pub precedence: Option<&'a str>,
    /// `List-Id` or `List-Unsubscribe` present.
    pub list: bool,
    /// The top-level content type, e.g. `multipart/report; report-type=delivery-status`.
    pub content_type: Option<&'a str>,
    /// `X-Autoreply`, `X-Autorespond` or `X-Auto-Reply` present (vendors' auto-replies).
    pub vendor_autoreply: bool,
    /// `Return-Path`, where `<>` marks a delivery notification.
    pub return_path: Option<&'a str>,
    /// The sender's address.
    pub from: Option<&'a str>,
}

/// Why a message is not a person writing (`None`: it is one, as far as headers tell).
pub fn automated(s: &MailSignals<'_>) -> Option<&'static str> {
    if s.auto_submitted
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"))
    {
        return Some("auto-submitted");
    }
    if let Some(p) = s.precedence {
        let p = p.trim().to_ascii_lowercase();
        if matches!(p.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some("bulk or list precedence");
        }
    }
    if s.list {
        return Some("mailing list");
    }
    if let Some(ct) = s.content_type {
        let ct = ct.to_ascii_lowercase();
        if ct.starts_with("multipart/report")
            || ct.starts_with("message/delivery-status")
            || ct.starts_with("message/disposition-notification")
        {
            return Some("delivery or read report");
        }
    }
    if s.vendor_autoreply {
        return Some("auto-reply");
    }
    if s.return_path
        .is_some_and(|r| r.trim() == "<>" || r.trim().is_empty())
    {
        return Some("delivery notification");
    }
    if let Some(from) = s.from {
        let local = from
            .split('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if matches!(local.as_str(), "mailer-daemon" | "postmaster") {
            return Some("delivery notification");
        }
    }
    None
}

/// Words (prefixes of words) and phrases per kind, in English, German, French, Spanish and
/// Portuguese. A phrase (with a space or an apostrophe) matches a run of whole words, its
/// last one as a prefix; a single word matches the start of a word.
const WORDS: &[(Kind, &[&str])] = &[
    (
        Kind::Erasure,
        &[
            "delet",
            "erase",
            "erasure",
            "remove my",
            "forget me",
            "right to be forgotten",
            "lösch",
            "vergessenwerden",
            "vergessen werden",
            "supprim",
            "effac",
            "droit à l'oubli",
            "droit a l'oubli",
            "suprim",
            "borra",
            "elimin",
            "olvido",
            "exclu",
            "apag",
            "esquecimento",
        ],
    ),
    (
        Kind::Access,
        &[
            "access",
            "copy of my",
            "what data",
            "what personal data",
            "subject access",
            "auskunft",
            "kopie meiner",
            "welche daten",
            "accès",
            "acces",
            "copie de mes",
            "acceso",
            "copia de mis",
            "qué datos",
            "acesso",
            "cópia dos meus",
            "copia dos meus",
            "quais dados",
        ],
    ),
    (
        Kind::Portability,
        &[
            "portab",
            "portable",
            "transfer my data",
            "machine-readable",
            "übertragbar",
            "datenübertragbarkeit",
            "portabilité",
            "portabilidad",
            "portabilidade",
        ],
    ),
    (
        Kind::Rectification,
        &[
            "rectif",
            "correct my",
            "is wrong",
            "are wrong",
            "incorrect",
            "update my",
            "berichtig",
            "korrigier",
            "falsch",
            "corrig",
            "rectific",
            "retific",
            "incorreto",
        ],
    ),
    (
        Kind::Restriction,
        &[
            "restrict",
            "einschränk",
            "limitation du traitement",
            "limitación",
            "limitação",
            "restrição",
            "restricción",
        ],
    ),
    (
        Kind::Objection,
        &[
            "object to",
            "objection",
            "unsubscribe",
            "stop sending",
            "no more emails",
            "widerspr",
            "werbung",
            "opposition",
            "m'oppose",
            "je m'oppose",
            "oposición",
            "me opongo",
            "oposição",
            "me oponho",
        ],
    ),
];

/// The kind a person's words most likely ask for (`None`: no word of any kind, or a tie
/// between kinds with nothing to tell them apart; staff choose).
pub fn guess_kind(subject: &str, body: &str) -> Option<Kind> {
    let text = format!("{subject}\n{body}").to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let joined = format!(" {} ", words.join(" "));
    let mut best: Option<(Kind, usize)> = None;
    let mut tie = false;
    for (kind, list) in WORDS {
        let score: usize = list
            .iter()
            .map(|k| {
                // An apostrophe separates words as in the text (l'accès: l, accès).
                let k = k.replace('\'', " ");
                if k.contains(' ') {
                    joined.matches(&format!(" {k}")).count()
                } else {
                    words.iter().filter(|w| w.starts_with(k.as_str())).count()
                }
            })
            .sum();
        if score == 0 {
            continue;
        }
        match best {
            Some((_, b)) if score < b => {}
            Some((_, b)) if score == b => tie = true,
            _ => {
                best = Some((*kind, score));
                tie = false;
            }
        }
    }
    match best {
        Some((k, _)) if !tie => Some(k),
        _ => None,
    }
}

/// The language of a message's words, when one of the five is clearly used (`en`, `de`,
/// `fr`, `es`, `pt`), from a few of each language's commonest words.
pub fn guess_language(text: &str) -> Option<&'static str> {
    const COMMON: &[(&str, &[&str])] = &[
        (
            "en",
            &["the", "and", "my", "please", "data", "you", "of", "to"],
        ),
        (
            "de",
            &["ich", "und", "meine", "bitte", "daten", "die", "der", "sie"],
        ),
        (
            "fr",
            &["je", "et", "mes", "les", "vous", "données", "des", "merci"],
        ),
        (
            "es",
            &["yo", "mis", "los", "por", "favor", "datos", "que", "usted"],
        ),
        (
            "pt",
            &["eu", "meus", "os", "por", "favor", "dados", "você", "não"],
        ),
    ];
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut scores: Vec<(&'static str, usize)> = COMMON
        .iter()
        .map(|(lang, list)| (*lang, words.iter().filter(|w| list.contains(w)).count()))
        .collect();
    scores.sort_by_key(|s| std::cmp::Reverse(s.1));
    match (scores.first(), scores.get(1)) {
        (Some(a), Some(b)) if a.1 >= 2 && a.1 > b.1 => Some(a.0),
        _ => None,
    }
}

/// Where the inbox lives: `imaps://host[:port]` (TLS, default port 993) or
/// `imap://host[:port]` (no TLS, default 143; only to a loopback address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

/// Read an `[inbox] url`.
pub fn parse_url(url: &str) -> Result<InboxUrl, String> {
    let url = url.trim();
    let (tls, rest) = if let Some(r) = url.strip_prefix("imaps://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("imap://") {
        (false, r)
    } else {
        return Err("must start with imaps:// (or imap:// to a loopback address)".into());
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('@') || rest.contains('/') || rest.is_empty() {
        return Err("must be imaps://host[:port], with the user and password set apart".into());
    }
    // `[::1]:993`, `host:993`, or a host alone.
    let (host, port) = match rest.strip_prefix('[') {
        Some(r) => {
            let (h, after) = r
                .split_once(']')
                .ok_or("an IPv6 host needs its closing ]")?;
            (h, after.strip_prefix(':'))
        }
        None => match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        },
    };
    let port = port
        .map(|p| p.parse::<u16>().map_err(|_| format!("bad port `{p}`")))
        .transpose()?;
    let host = host.to_string();
    if host.is_empty() {
        return Err("names no host".into());
    }
    if !tls && !matches!(host.as_str(), "127.0.0.1" | "::1" | "localhost") {
        return Err("imap:// (no TLS) is allowed only to a loopback address; use imaps://".into());
    }
    Ok(InboxUrl {
        tls,
        port: port.unwrap_or(if tls { 993 } else { 143 }),
        host,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn inbox_urls() {
        assert_eq!(
            parse_url("imaps://mail.example.com").unwrap(),
            InboxUrl {
                tls: true,
                host: "mail.example.com".into(),
                port: 993
            }
        );
        assert_eq!(parse_url("imaps://127.0.0.1:1993").unwrap().port, 1993);
        assert!(parse_url("imap://127.0.0.1:143").is_ok());
        assert!(parse_url("imap://mail.example.com").is_err());
        assert!(parse_url("imaps://user:pw@mail.example.com").is_err());
        assert!(parse_url("https://mail.example.com").is_err());
        assert!(parse_url("imaps://mail.example.com:99999").is_err());
    }

    use super::*;

    #[test]
    fn kinds_are_guessed_in_five_languages() {
        let cases = [
            (
                "Delete my account",
                "Please erase all my data.",
                Some(Kind::Erasure),
            ),
            (
                "Löschung",
                "Bitte löschen Sie meine Daten.",
                Some(Kind::Erasure),
            ),
            (
                "Demande",
                "Je veux supprimer mes données.",
                Some(Kind::Erasure),
            ),
            (
                "Solicitud",
                "Quiero borrar mis datos personales.",
                Some(Kind::Erasure),
            ),
            (
                "Pedido",
                "Quero excluir os meus dados.",
                Some(Kind::Erasure),
            ),
            (
                "Subject access request",
                "Send me a copy of my data.",
                Some(Kind::Access),
            ),
            (
                "Auskunft",
                "Ich bitte um Auskunft nach Art. 15.",
                Some(Kind::Access),
            ),
            (
                "Droit d'accès",
                "Je demande l'accès à mes données.",
                Some(Kind::Access),
            ),
            ("Acceso", "Solicito acceso a mis datos.", Some(Kind::Access)),
            (
                "Acesso",
                "Solicito acesso aos meus dados.",
                Some(Kind::Access),
            ),
            (
                "Portability",
                "Data portability please, machine-readable.",
                Some(Kind::Portability),
            ),
            (
                "Wrong address",
                "My address is wrong, please correct my record.",
                Some(Kind::Rectification),
            ),
            (
                "Marketing",
                "Unsubscribe me and stop sending offers.",
                Some(Kind::Objection),
            ),
            (
                "Werbung",
                "Ich widerspreche der Werbung.",
                Some(Kind::Objection),
            ),
            (
                "Restrict",
                "Please restrict processing of my data.",
                Some(Kind::Restriction),
            ),
            ("Hello", "When is my order arriving?", None),
        ];
        for (subject, body, want) in cases {
            assert_eq!(guess_kind(subject, body), want, "{subject}: {body}");
        }
    }

    #[test]
    fn a_word_inside_another_is_not_a_match() {
        // "necessary" holds no keyword; "access" must start a word.
        assert_eq!(guess_kind("", "It is necessary to inaccessible"), None);
    }

    #[test]
    fn machines_are_recognised() {
        let person = MailSignals {
            from: Some("ada@example.com"),
            return_path: Some("<ada@example.com>"),
            ..Default::default()
        };
        assert_eq!(automated(&person), None);
        let cases = [
            MailSignals {
                auto_submitted: Some("auto-replied"),
                ..Default::default()
            },
            MailSignals {
                precedence: Some("bulk"),
                ..Default::default()
            },
            MailSignals {
                list: true,
                ..Default::default()
            },
            MailSignals {
                content_type: Some("multipart/report; report-type=delivery-status"),
                ..Default::default()
            },
            MailSignals {
                vendor_autoreply: true,
                ..Default::default()
            },
            MailSignals {
                return_path: Some("<>"),
                ..Default::default()
            },
            MailSignals {
                from: Some("MAILER-DAEMON@example.org"),
                ..Default::default()
            },
        ];
        for c in cases {
            assert!(automated(&c).is_some(), "{c:?}");
        }
        let explicit_no = MailSignals {
            auto_submitted: Some("no"),
            ..Default::default()
        };
        assert_eq!(automated(&explicit_no), None);
    }

    #[test]
    fn languages_are_guessed() {
        assert_eq!(
            guess_language("Bitte löschen Sie meine Daten und die Kopie"),
            Some("de")
        );
        assert_eq!(
            guess_language("Please delete my data and the copy"),
            Some("en")
        );
        assert_eq!(
            guess_language("Je veux supprimer mes données et les copies"),
            Some("fr")
        );
        assert_eq!(guess_language("hi"), None);
    }
}
