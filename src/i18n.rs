//! The texts subjects read, in their language: Fluent translation files built into the
//! binary (`locales/<tag>/*.ftl`), any message replaceable by a company's file in
//! `[i18n] dir` (`<dir>/<tag>/*.ftl`), and the `t(..)` function and `date` filter the
//! page and email templates call. Staff texts stay English and do not come through here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, NaiveDate};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use minijinja::value::{Kwargs, Object, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State};

pub use crate::domain::language::Language;

/// The files every language has, in the order they are loaded.
pub const FILES: &[&str] = &["common.ftl", "pages.ftl", "emails.ftl"];

macro_rules! builtin {
    ($($tag:literal),+ $(,)?) => {
        &[$(
            ($tag, [
                include_str!(concat!("../locales/", $tag, "/common.ftl")),
                include_str!(concat!("../locales/", $tag, "/pages.ftl")),
                include_str!(concat!("../locales/", $tag, "/emails.ftl")),
            ]),
        )+]
    };
}

/// The built-in translation files, per language tag, in [`FILES`] order.
pub const BUILTIN: &[(&str, [&str; 3])] = builtin!("en", "de", "fr", "es", "pt-BR");

#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    #[error("translation directory {0} does not exist")]
    Dir(PathBuf),
    #[error("cannot read translation file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("translation file {file} does not parse: {detail}")]
    Syntax { file: String, detail: String },
    #[error("no message `{key}` in {lang}")]
    Missing { lang: Language, key: String },
    #[error("message `{key}` in {lang}: {detail}")]
    Format {
        lang: Language,
        key: String,
        detail: String,
    },
}

/// Every language's messages. Cheap to share (`Arc`).
pub struct Catalog {
    bundles: Vec<(Language, FluentBundle<FluentResource>)>,
    /// Missing messages and arguments are errors instead of falling back to English
    /// (tests, and translators checking their files).
    strict: bool,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// The built-in files, then every `*.ftl` in `override_dir/<tag>/`, whose messages
    /// replace the built-in ones of the same name. A broken file fails here (startup).
    pub fn new(override_dir: Option<&Path>, strict: bool) -> Result<Self, I18nError> {
        if let Some(dir) = override_dir
            && !dir.is_dir()
        {
            return Err(I18nError::Dir(dir.to_path_buf()));
        }
        let mut bundles = Vec::new();
        for lang in Language::ALL {
            let (tag, sources) = BUILTIN
                .iter()
                .find(|(t, _)| *t == lang.tag())
                .expect("every language has built-in files");
            let id: unic_langid::LanguageIdentifier = tag.parse().expect("built-in tags are valid");
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // No Unicode isolation marks around arguments: our texts are left to right
            // and the marks would show up in plain-text emails and subjects.
            bundle.set_use_isolating(false);
            for (file, source) in FILES.iter().zip(sources) {
                let res = parse(&format!("{tag}/{file}"), source.to_string())?;
                bundle.add_resource_overriding(res);
            }
            if let Some(dir) = override_dir {
                for path in override_files(&dir.join(tag))? {
                    let source = std::fs::read_to_string(&path).map_err(|e| I18nError::File {
                        path: path.clone(),
                        source: e,
                    })?;
                    let res = parse(&path.display().to_string(), source)?;
                    bundle.add_resource_overriding(res);
                }
            }
            bundles.push((*lang, bundle));
        }
        Ok(Self { bundles, strict })
    }

    /// The built-in files alone, shared (pages rendered without a service, English).
    pub fn builtin() -> Arc<Catalog> {
        static BUILTIN_CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
        BUILTIN_CATALOG
            .get_or_init(|| {
                Arc::new(Catalog::new(None, false).expect("built-in translations parse"))
            })
            .clone()
    }

    pub fn is_strict(&self) -> bool {
        self.strict
    }

    fn bundle(&self, lang: Language) -> &FluentBundle<FluentResource> {
        self.bundles
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, b)| b)
            .unwrap_or(&self.bundles[0].1)
    }

    /// Message `key` in `lang` with `args`. Outside strict mode a message missing in
    /// `lang` is taken from English and a missing argument shows its name, so a company's
    /// incomplete file never breaks a page; strict mode makes both errors.
    pub fn message(
        &self,
        lang: Language,
        key: &str,
        args: Option<&FluentArgs>,
    ) -> Result<String, I18nError> {
        match self.format(lang, key, args) {
            Ok(s) => Ok(s),
            Err(e) if self.strict => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "translation fell back to English");
                match self.format(Language::En, key, args) {
                    Ok(s) => Ok(s),
                    Err(I18nError::Missing { .. }) => Err(e),
                    Err(I18nError::Format { .. }) => self.format_lenient(Language::En, key, args),
                    Err(other) => Err(other),
                }
            }
        }
    }

    /// [`Catalog::message`] without arguments, the key itself when it is missing.
    pub fn text(&self, lang: Language, key: &str) -> String {
        self.message(lang, key, None)
            .unwrap_or_else(|_| key.to_owned())
    }

    /// [`Catalog::message`] with arguments, the key itself when it is missing.
    pub fn text_with(&self, lang: Language, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in args {
            a.set(*k, v.clone());
        }
        self.message(lang, key, Some(&a))
            .unwrap_or_else(|_| key.to_owned())
    }

    /// `key` in `lang`, its formatting errors (a missing or mistyped argument) returned
    /// beside the text; `Missing` when the language has no such message.
    fn format_with_errors(
        &self,
        lang: Language,
        key: &str,
        args: Option<&FluentArgs>,
    ) -> Result<(String, Vec<fluent_bundle::FluentError>), I18nError> {
        let bundle = self.bundle(lang);
        let pattern = bundle
            .get_message(key)
            .and_then(|m| m.value())
            .ok_or_else(|| I18nError::Missing {
                lang,
                key: key.to_owned(),
            })?;
        let mut errors = Vec::new();
        let out = bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned();
        Ok((out, errors))
    }

    fn format(
        &self,
        lang: Language,
        key: &str,
        args: Option<&FluentArgs>,
    ) -> Result<String, I18nError> {
        let (out, errors) = self.format_with_errors(lang, key, args)?;
        if let Some(e) = errors.first() {
            return Err(I18nError::Format {
                lang,
                key: key.to_owned(),
                detail: e.to_string(),
            });
        }
        Ok(out)
    }

    fn format_lenient(
        &self,
        lang: Language,
        key: &str,
        args: Option<&FluentArgs>,
    ) -> Result<String, I18nError> {
        Ok(self.format_with_errors(lang, key, args)?.0)
    }

    /// A date the way `lang` writes it ("6 December 2026", "6. Dezember 2026"): month
    /// names and the pattern are messages (`month-1` … `month-12`, `date-long`).
    pub fn date(&self, lang: Language, date: NaiveDate) -> String {
        let month = self.text(lang, &format!("month-{}", date.month()));
        self.text_with(
            lang,
            "date-long",
            &[
                ("day", FluentValue::from(date.day().to_string())),
                ("month", FluentValue::from(month)),
                ("year", FluentValue::from(date.year().to_string())),
            ],
        )
    }

    /// A date and time of day (the history of a request, in the service's time zone).
    pub fn date_time(&self, lang: Language, date: NaiveDate, time: &str) -> String {
        self.text_with(
            lang,
            "date-time",
            &[
                ("date", FluentValue::from(self.date(lang, date))),
                ("time", FluentValue::from(time.to_owned())),
            ],
        )
    }
}

fn parse(file: &str, source: String) -> Result<FluentResource, I18nError> {
    FluentResource::try_new(source).map_err(|(_, errors)| I18nError::Syntax {
        file: file.to_owned(),
        detail: errors
            .iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// The `*.ftl` files of one language's override folder, sorted (none if it is absent).
fn override_files(dir: &Path) -> Result<Vec<PathBuf>, I18nError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(I18nError::File {
                path: dir.to_path_buf(),
                source: e,
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
        .collect();
    files.sort();
    Ok(files)
}

/// The message names defined in Fluent source `src` (top-level `name =` lines; terms,
/// which start with `-`, are not messages).
pub fn message_names(src: &str) -> BTreeSet<String> {
    src.lines()
        .filter_map(|line| {
            let (name, _) = line.split_once('=')?;
            let name = name.trim_end();
            let first = name.chars().next()?;
            (first.is_ascii_alphabetic()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .then(|| name.to_owned())
        })
        .collect()
}

/// Every message name of the built-in files of `tag`.
pub fn builtin_names(tag: &str) -> BTreeSet<String> {
    BUILTIN
        .iter()
        .filter(|(t, _)| *t == tag)
        .flat_map(|(_, sources)| sources.iter().flat_map(|s| message_names(s)))
        .collect()
}

/// What a template renders with: the catalog and the language. Put into the context
/// under [`CONTEXT_KEY`]; `t(..)` and `|date` read it from there.
#[derive(Debug, Clone)]
pub struct Localiser {
    pub catalog: Arc<Catalog>,
    pub lang: Language,
}

impl Localiser {
    pub fn new(catalog: Arc<Catalog>, lang: Language) -> Self {
        Self { catalog, lang }
    }

    /// English from the built-in files.
    pub fn english() -> Self {
        Self::new(Catalog::builtin(), Language::En)
    }

    pub fn text(&self, key: &str) -> String {
        self.catalog.text(self.lang, key)
    }

    pub fn text_with(&self, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        self.catalog.text_with(self.lang, key, args)
    }

    pub fn date(&self, date: NaiveDate) -> String {
        self.catalog.date(self.lang, date)
    }

    /// A period written as the service writes it (`45 days`, `1 month`, `10 business
    /// days`) in the language; `None` for any other text.
    pub fn period(&self, text: &str) -> Option<String> {
        let (n, unit) = text.trim().split_once(' ')?;
        let n: i64 = n.parse().ok()?;
        let key = match unit.trim_end_matches('s') {
            "day" | "calendar day" => "period-day",
            "month" | "calendar month" => "period-month",
            "business day" => "period-business-day",
            _ => return None,
        };
        Some(self.text_with(key, &[("count", FluentValue::from(n))]))
    }

    /// The value to put into a template context under [`CONTEXT_KEY`].
    pub fn value(&self) -> Value {
        Value::from_object(self.clone())
    }
}

impl Object for Localiser {}

/// The context variable that carries the [`Localiser`].
pub const CONTEXT_KEY: &str = "i18n";

/// Add `t(key, name=value, ..)` and the `date` filter to `env`.
///
/// A message whose name ends in `-html` holds markup (a link, emphasis): in an HTML
/// template its arguments are escaped and the result is not escaped again; every other
/// message is text and is escaped like any value.
pub fn register(env: &mut Environment<'_>) {
    env.add_function("t", t);
    env.add_filter("date", date_filter);
    env.add_filter("period", period_filter);
}

fn localiser(state: &State) -> Result<Localiser, Error> {
    state
        .lookup(CONTEXT_KEY)
        .and_then(|v| v.downcast_object::<Localiser>())
        .map(|l| (*l).clone())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                "no language in the template context",
            )
        })
}

fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let loc = localiser(state)?;
    let html = key.ends_with("-html") && matches!(state.auto_escape(), AutoEscape::Html);
    let mut args = FluentArgs::new();
    for name in kwargs.args() {
        let v: Value = kwargs.get(name)?;
        if v.is_undefined()
            && state.env().undefined_behavior() == minijinja::UndefinedBehavior::Strict
        {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                format!("argument `{name}` of `{key}` is undefined"),
            ));
        }
        let fv = if let Some(n) = v.as_i64() {
            FluentValue::from(n)
        } else if v.is_undefined() || v.is_none() {
            FluentValue::from("")
        } else if html && !v.is_safe() {
            FluentValue::from(escape_html(&v.to_string()))
        } else {
            FluentValue::from(v.to_string())
        };
        args.set(name.to_owned(), fv);
    }
    kwargs.assert_all_used()?;
    let text = loc
        .catalog
        .message(loc.lang, key, Some(&args))
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    Ok(if html {
        Value::from_safe_string(text)
    } else {
        Value::from(text)
    })
}

/// `{{ due_date|date }}`: an ISO date (`2026-12-06`) or an English long date (`6 December
/// 2026`, as older queued emails carry) written the way the language writes it; anything
/// else unchanged.
fn date_filter(state: &State, value: Value) -> Result<String, Error> {
    let loc = localiser(state)?;
    if value.is_undefined() || value.is_none() {
        return Ok(String::new());
    }
    let s = value.to_string();
    let parsed = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s.trim(), "%d %B %Y"));
    Ok(match parsed {
        Ok(d) => loc.date(d),
        Err(_) => s,
    })
}

/// `{{ answer_within|period }}`: a period as the service writes it (`45 days`, `1 month`,
/// `10 business days`) in the language; anything else unchanged.
fn period_filter(state: &State, value: Value) -> Result<String, Error> {
    let loc = localiser(state)?;
    let s = value.to_string();
    Ok(loc.period(&s).unwrap_or(s))
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_english_message_and_no_other() {
        let en = builtin_names("en");
        assert!(en.len() > 100, "{}", en.len());
        for lang in Language::ALL {
            let names = builtin_names(lang.tag());
            let missing: Vec<_> = en.difference(&names).collect();
            let extra: Vec<_> = names.difference(&en).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
            assert!(
                extra.is_empty(),
                "{lang} has messages English lacks: {extra:?}"
            );
        }
    }

    #[test]
    fn dates_are_written_the_way_each_language_writes_them() {
        let c = Catalog::new(None, true).unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(c.date(Language::En, d), "6 December 2026");
        assert_eq!(c.date(Language::De, d), "6. Dezember 2026");
        assert_eq!(c.date(Language::Fr, d), "6 décembre 2026");
        assert_eq!(c.date(Language::Es, d), "6 de diciembre de 2026");
        assert_eq!(c.date(Language::PtBr, d), "6 de dezembro de 2026");
    }

    #[test]
    fn strict_mode_reports_a_missing_message_and_lenient_mode_falls_back() {
        let strict = Catalog::new(None, true).unwrap();
        assert!(matches!(
            strict.message(Language::De, "no-such-message", None),
            Err(I18nError::Missing { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("de")).unwrap();
        std::fs::write(dir.path().join("de/extra.ftl"), "only-here = nur hier\n").unwrap();
        let c = Catalog::new(Some(dir.path()), true).unwrap();
        assert_eq!(c.text(Language::De, "only-here"), "nur hier");
        assert!(c.message(Language::Fr, "only-here", None).is_err());
        let lenient = Catalog::new(Some(dir.path()), false).unwrap();
        assert_eq!(
            lenient.text(Language::Fr, "site-name"),
            lenient.text(Language::Fr, "site-name")
        );
        assert!(lenient.message(Language::Fr, "only-here", None).is_err());
    }

    #[test]
    fn a_broken_override_fails_at_startup() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fr")).unwrap();
        std::fs::write(dir.path().join("fr/broken.ftl"), "= nothing\n").unwrap();
        assert!(matches!(
            Catalog::new(Some(dir.path()), false),
            Err(I18nError::Syntax { .. })
        ));
        assert!(matches!(
            Catalog::new(Some(&dir.path().join("nope")), false),
            Err(I18nError::Dir(_))
        ));
    }
}
