//! Extractors whose rejections are problem+json, never axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// JSON body: 415 for another content type, 413 over the limit, 400 for broken JSON,
/// 422 (with the field) for wrong types, unknown or missing fields.
pub struct ApiJson<T>(pub T);

fn is_json(ct: &str) -> bool {
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// serde_json appends " at line L column C"; the client gets the field instead.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn quoted_name(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(&msg[start..start + len])
}

pub fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    use serde_json::error::Category;
    let inner = e.inner();
    match inner.classify() {
        Category::Data => {
            let message = strip_position(&inner.to_string());
            let mut field = e.path().to_string();
            // The path of a missing field is its parent's; an unknown field's path is itself.
            let named = message.starts_with("missing field")
                || (message.starts_with("unknown field") && field == ".");
            if named && let Some(name) = quoted_name(&message) {
                field = if field == "." {
                    name.to_string()
                } else {
                    format!("{field}.{name}")
                };
            }
            if field == "." {
                field = "body".into();
            }
            AppError::Validation(vec![FieldError::new(field, message)])
        }
        _ => AppError::BadRequest(format!(
            "the body is not valid JSON: {}",
            strip_position(&inner.to_string())
        )),
    }
}

/// Parse a JSON body already in memory. Every body of this API is an object; serde
/// would otherwise accept a struct written as an array.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(AppError::field("body", "must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // serde_json reports some type mismatches (a number where an enum belongs) as
        // syntax errors; if the body is valid JSON, the field is what is wrong.
        let syntax = !matches!(e.inner().classify(), serde_json::error::Category::Data);
        if syntax && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
            let field = match e.path().to_string() {
                p if p == "." => "body".to_string(),
                p => p,
            };
            AppError::Validation(vec![FieldError::new(field, "has the wrong type or value")])
        } else {
            json_error(e)
        }
    })?;
    de.end().map_err(|e| {
        AppError::BadRequest(format!(
            "the body is not valid JSON: {}",
            strip_position(&e.to_string())
        ))
    })?;
    Ok(value)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(ct) {
            return Err(AppError::UnsupportedMediaType(
                "send the body as application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("the body could not be read".into())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// An optional JSON body: absent (empty) gives `None`; anything sent must be valid JSON.
impl<S: Send + Sync, T: DeserializeOwned> axum::extract::OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("the body could not be read".into())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if !is_json(&ct) {
            return Err(AppError::UnsupportedMediaType(
                "send the body as application/json".into(),
            ));
        }
        parse_json(&bytes).map(|v| Some(ApiJson(v)))
    }
}

/// Query string: 422 naming the parameter when it does not parse.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = e.inner().to_string();
                let field = match (field.as_str(), quoted_name(&message)) {
                    (".", Some(name)) => name.to_string(),
                    (".", None) => "query".to_string(),
                    (f, _) => f.to_string(),
                };
                AppError::Validation(vec![FieldError::new(field, message)])
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        kind: String,
        n: Option<u32>,
    }

    #[test]
    fn classifies_errors() {
        assert!(matches!(
            parse_json::<Body>(b"{"),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"{\"kind\":\"a\"} x"),
            Err(AppError::BadRequest(_))
        ));
        match parse_json::<Body>(b"{\"kind\":\"a\",\"zzz\":1}") {
            Err(AppError::Validation(e)) => assert_eq!(e[0].field, "zzz"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Body>(b"{\"n\":1}") {
            Err(AppError::Validation(e)) => assert_eq!(e[0].field, "kind"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Body>(b"{\"kind\":\"a\",\"n\":\"x\"}") {
            Err(AppError::Validation(e)) => assert_eq!(e[0].field, "n"),
            other => panic!("{other:?}"),
        }
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
    }
}
