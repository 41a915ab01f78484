//! What an objection objects to: direct marketing (absolute under GDPR art. 21(3): never
//! refused or held), profiling, or a processing the subject names.

use super::identity::clean_line;

/// An objection's scope. Stored in the request's `scope` column as `marketing`,
/// `profiling`, or `processing` / `processing:<the processing named>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectionScope {
    Marketing,
    Profiling,
    /// A processing the subject names (the name may be missing on older requests).
    Processing(Option<String>),
}

/// Why a scope given by a subject or staff is refused, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("unknown scope; expected one of: marketing, profiling, processing")]
    Unknown,
    #[error("name the processing you object to")]
    ProcessingMissing,
    #[error("only an objection to a named processing (scope processing) names one")]
    ProcessingNotAllowed,
    #[error("must be at most 200 characters")]
    ProcessingTooLong,
}

impl ObjectionScope {
    /// Parse what a subject or staff sent: `scope`, and for `processing` the processing's
    /// name (required then, refused otherwise). Errors name the field: `scope` or
    /// `processing`.
    pub fn parse(
        scope: &str,
        processing: Option<&str>,
    ) -> Result<Self, (&'static str, ScopeError)> {
        let processing = processing.map(clean_line).filter(|p| !p.is_empty());
        match scope.trim() {
            "marketing" | "profiling" if processing.is_some() => {
                Err(("processing", ScopeError::ProcessingNotAllowed))
            }
            "marketing" => Ok(Self::Marketing),
            "profiling" => Ok(Self::Profiling),
            "processing" => match processing {
                None => Err(("processing", ScopeError::ProcessingMissing)),
                Some(p) if p.chars().count() > 200 => {
                    Err(("processing", ScopeError::ProcessingTooLong))
                }
                Some(p) => Ok(Self::Processing(Some(p))),
            },
            _ => Err(("scope", ScopeError::Unknown)),
        }
    }

    /// Read the stored text; a value stored before scopes were checked counts as a named
    /// processing.
    pub fn from_stored(stored: &str) -> Self {
        match stored {
            "marketing" => Self::Marketing,
            "profiling" => Self::Profiling,
            "processing" => Self::Processing(None),
            other => Self::Processing(Some(
                other
                    .strip_prefix("processing:")
                    .unwrap_or(other)
                    .to_string(),
            )),
        }
    }

    pub fn to_stored(&self) -> String {
        match self {
            Self::Processing(Some(p)) => format!("processing:{p}"),
            other => other.code().to_string(),
        }
    }

    /// `marketing`, `profiling` or `processing`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Marketing => "marketing",
            Self::Profiling => "profiling",
            Self::Processing(_) => "processing",
        }
    }

    /// The processing named, for `processing`.
    pub fn processing(&self) -> Option<&str> {
        match self {
            Self::Processing(p) => p.as_deref(),
            _ => None,
        }
    }

    /// Marketing objections are absolute: never refused, never held.
    pub fn is_absolute(&self) -> bool {
        matches!(self, Self::Marketing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_store_round_trip() {
        let m = ObjectionScope::parse("marketing", None).unwrap();
        assert!(m.is_absolute());
        assert_eq!(ObjectionScope::from_stored(&m.to_stored()), m);
        let p = ObjectionScope::parse("processing", Some(" lead scoring ")).unwrap();
        assert_eq!(p.to_stored(), "processing:lead scoring");
        assert_eq!(ObjectionScope::from_stored(&p.to_stored()), p);
        assert_eq!(p.processing(), Some("lead scoring"));
        assert!(!p.is_absolute());
    }

    #[test]
    fn refusals_name_the_field() {
        assert_eq!(ObjectionScope::parse("spam", None).unwrap_err().0, "scope");
        assert_eq!(
            ObjectionScope::parse("processing", Some("  ")).unwrap_err(),
            ("processing", ScopeError::ProcessingMissing)
        );
        assert_eq!(
            ObjectionScope::parse("marketing", Some("x")).unwrap_err(),
            ("processing", ScopeError::ProcessingNotAllowed)
        );
    }
}
