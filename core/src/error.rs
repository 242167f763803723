//! The one error type. Every variant names the credential that failed and carries what a user
//! needs to act: HTTP status, Entra error code and AADSTS numbers, correlation and request ids,
//! and whether retrying can help. Nothing here ever holds a secret or a token.

use std::fmt;
use std::time::Duration;

/// A boxed error from a lower layer (what callbacks return).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A shared error from a lower layer, kept as the `source()` of ours. Shared so that every
/// caller waiting on one request receives the same error.
pub type SharedError = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while acquiring a token.
///
/// `Display` gives one readable line; the structured fields (see [`Error::status`],
/// [`Error::aadsts_code`], [`Error::correlation_id`], [`Error::is_retryable`]) carry the rest.
///
/// ```
/// use entra_token::Error;
/// let err = Error::Configuration { credential: "ClientSecretCredential", message: "tenant id is empty".into() };
/// assert_eq!(err.kind_code(), "configuration");
/// assert!(!err.is_retryable());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token service or managed identity endpoint answered with an error.
    #[error("{0}")]
    Service(Box<ServiceError>),

    /// The endpoint could not be reached (DNS, connection refused or reset, TLS failure).
    #[error("{credential}: could not reach {endpoint} after {attempts} attempt(s) (request id {request_id}): {reason}")]
    Transport {
        /// The credential or managed identity source that made the request.
        credential: &'static str,
        /// The URL, without its query.
        endpoint: String,
        /// The `client-request-id` sent with the last attempt.
        request_id: String,
        /// How many attempts were made.
        attempts: u32,
        /// What failed, in words.
        reason: String,
        /// The underlying error.
        #[source]
        source: Option<SharedError>,
    },

    /// The endpoint did not answer within the configured time.
    #[error("{credential}: no answer from {endpoint} within {after:?} after {attempts} attempt(s) (request id {request_id})")]
    Timeout {
        /// The credential or managed identity source that made the request.
        credential: &'static str,
        /// The URL, without its query.
        endpoint: String,
        /// The `client-request-id` sent with the last attempt.
        request_id: String,
        /// How many attempts were made.
        attempts: u32,
        /// The time spent in all.
        after: Duration,
    },

    /// The endpoint answered, but the answer cannot be used (malformed JSON, no token,
    /// a non-positive lifetime, a body over the size limit, a mismatched identity).
    #[error("{credential}: unusable response from {endpoint} (HTTP {status}, request id {request_id}): {reason}")]
    InvalidResponse {
        /// The credential or managed identity source that made the request.
        credential: &'static str,
        /// The URL, without its query.
        endpoint: String,
        /// The HTTP status of the response.
        status: u16,
        /// The `client-request-id` sent with the request.
        request_id: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Options or configuration are invalid; detected before any request was sent.
    #[error("{credential}: invalid configuration: {message}")]
    Configuration {
        /// The credential being configured.
        credential: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A certificate or private key could not be loaded.
    #[error("{credential}: cannot load certificate from {origin}: {reason}")]
    Certificate {
        /// The credential that loads it.
        credential: &'static str,
        /// The file path, or `bytes` for in-memory data.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The caller's client-assertion callback failed.
    #[error("{credential}: the client assertion callback failed: {reason}")]
    AssertionCallback {
        /// The credential that called it.
        credential: &'static str,
        /// The callback's error, in words.
        reason: String,
        /// The callback's error.
        #[source]
        source: Option<SharedError>,
    },

    /// A downstream API (called through [`crate::downstream::DownstreamApis`]) answered with an
    /// error status after authentication.
    #[error("downstream API {api}: {method} {url} answered HTTP {status}: {excerpt}")]
    DownstreamApi {
        /// The API's section name.
        api: String,
        /// The method sent.
        method: String,
        /// The URL, without its query.
        url: String,
        /// The status.
        status: u16,
        /// The start of the response body.
        excerpt: String,
    },

    /// The credential cannot work in this environment (for example no managed identity endpoint).
    /// A credential chain moves on to its next link on this error.
    #[error("{credential} is unavailable: {message}")]
    CredentialUnavailable {
        /// The credential.
        credential: &'static str,
        /// Why, and what would make it available.
        message: String,
    },
}

impl Error {
    /// A stable, machine-readable name for the kind of error; the bindings use it as the error
    /// code (`authentication_failed`, `transport`, `timeout`, `invalid_response`, `configuration`,
    /// `certificate`, `assertion_callback`, `credential_unavailable`).
    pub fn kind_code(&self) -> &'static str {
        match self {
            Error::Service(_) => "authentication_failed",
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::InvalidResponse { .. } => "invalid_response",
            Error::Configuration { .. } => "configuration",
            Error::Certificate { .. } => "certificate",
            Error::AssertionCallback { .. } => "assertion_callback",
            Error::CredentialUnavailable { .. } => "credential_unavailable",
            Error::DownstreamApi { .. } => "downstream_api",
        }
    }

    /// The credential or managed identity source that failed.
    pub fn credential(&self) -> &'static str {
        match self {
            Error::Service(e) => e.credential,
            Error::Transport { credential, .. }
            | Error::Timeout { credential, .. }
            | Error::InvalidResponse { credential, .. }
            | Error::Configuration { credential, .. }
            | Error::Certificate { credential, .. }
            | Error::AssertionCallback { credential, .. }
            | Error::CredentialUnavailable { credential, .. } => credential,
            Error::DownstreamApi { .. } => "DownstreamApi",
        }
    }

    /// The HTTP status of the failing response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Service(e) => Some(e.status),
            Error::InvalidResponse { status, .. } | Error::DownstreamApi { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The first AADSTS error number Entra reported (for example 7000215 for a wrong secret).
    pub fn aadsts_code(&self) -> Option<u32> {
        match self {
            Error::Service(e) => e.aadsts_codes.first().copied(),
            _ => None,
        }
    }

    /// The OAuth error code (`invalid_client`, ...) the service returned.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            Error::Service(e) => e.error.as_deref(),
            _ => None,
        }
    }

    /// The correlation id the service reported, which Microsoft support asks for.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Error::Service(e) => e.correlation_id.as_deref(),
            _ => None,
        }
    }

    /// The `client-request-id` this library sent with the failing request.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Service(e) => Some(&e.request_id),
            Error::Transport { request_id, .. }
            | Error::Timeout { request_id, .. }
            | Error::InvalidResponse { request_id, .. } => Some(request_id),
            _ => None,
        }
    }

    /// Whether the same call may succeed later without any change (throttling, server errors,
    /// network faults). Configuration errors and rejected credentials are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Service(e) => matches!(e.status, 408 | 429) || e.status >= 500,
            Error::Transport { .. } | Error::Timeout { .. } => true,
            Error::DownstreamApi { status, .. } => matches!(status, 408 | 429) || *status >= 500,
            _ => false,
        }
    }

    /// The service error details, when the service answered with an error.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            _ => None,
        }
    }
}

/// An error answer from Entra ID or a managed identity endpoint, with every field it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceError {
    /// The credential or managed identity source that made the request.
    pub credential: &'static str,
    /// The URL, without its query.
    pub endpoint: String,
    /// The HTTP status.
    pub status: u16,
    /// The OAuth error code (`invalid_client`, `invalid_request`, ...) or the endpoint's own code.
    pub error: Option<String>,
    /// The error description as the service wrote it.
    pub description: Option<String>,
    /// AADSTS error numbers (`error_codes`, or found in the description).
    pub aadsts_codes: Vec<u32>,
    /// The correlation id reported by the service.
    pub correlation_id: Option<String>,
    /// The trace id reported by Entra.
    pub trace_id: Option<String>,
    /// The `client-request-id` this library sent.
    pub request_id: String,
    /// A claims challenge in the error (Continuous Access Evaluation).
    pub claims: Option<String>,
    /// The `suberror` field, when present.
    pub suberror: Option<String>,
    /// The `Retry-After` the service asked for.
    pub retry_after: Option<Duration>,
    /// How many attempts were made before giving up.
    pub attempts: u32,
}

impl ServiceError {
    /// Reads an error body in any of the shapes the endpoints use: Entra's flat
    /// `{"error","error_description","error_codes",...}`, App Service's
    /// `{"statusCode","message","correlationId"}`, and the nested `{"error":{"code","message"}}`
    /// of Service Fabric and Cloud Shell. A body that is not JSON is kept as the description.
    pub fn from_body(credential: &'static str, endpoint: &str, status: u16, request_id: &str, body: &[u8]) -> Self {
        let mut err = ServiceError {
            credential,
            endpoint: endpoint.to_owned(),
            status,
            error: None,
            description: None,
            aadsts_codes: Vec::new(),
            correlation_id: None,
            trace_id: None,
            request_id: request_id.to_owned(),
            claims: None,
            suberror: None,
            retry_after: None,
            attempts: 1,
        };
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(str::to_owned);
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(json @ serde_json::Value::Object(_)) => {
                match json.get("error") {
                    Some(serde_json::Value::Object(nested)) => {
                        err.error = text(nested.get("code"));
                        err.description = text(nested.get("message"));
                        err.correlation_id = text(nested.get("correlationId"));
                    }
                    other => err.error = text(other),
                }
                err.description = err
                    .description
                    .or_else(|| text(json.get("error_description")))
                    .or_else(|| text(json.get("message")));
                err.correlation_id = err
                    .correlation_id
                    .or_else(|| text(json.get("correlation_id")))
                    .or_else(|| text(json.get("correlationId")));
                err.trace_id = text(json.get("trace_id"));
                err.claims = text(json.get("claims"));
                err.suberror = text(json.get("suberror"));
                if let Some(codes) = json.get("error_codes").and_then(|c| c.as_array()) {
                    err.aadsts_codes = codes
                        .iter()
                        .filter_map(|c| c.as_u64().or_else(|| c.as_str().and_then(|s| s.parse().ok())))
                        .filter_map(|c| u32::try_from(c).ok())
                        .collect();
                }
            }
            _ => {
                let raw = String::from_utf8_lossy(body);
                let raw = raw.trim();
                if !raw.is_empty() {
                    err.description = Some(truncate(raw, 1024));
                }
            }
        }
        if err.aadsts_codes.is_empty() {
            err.aadsts_codes = err.description.as_deref().and_then(find_aadsts).into_iter().collect();
        }
        err
    }

    /// The description's first line (Entra appends trace and correlation ids on later lines).
    pub fn summary(&self) -> &str {
        self.description.as_deref().and_then(|d| d.lines().next()).unwrap_or("")
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} answered HTTP {}", self.credential, self.endpoint, self.status)?;
        if let Some(error) = &self.error {
            write!(f, " {error}")?;
        }
        let summary = self.summary();
        if !summary.is_empty() {
            write!(f, ": {summary}")?;
        } else if let Some(code) = self.aadsts_codes.first() {
            write!(f, ": AADSTS{code}")?;
        }
        write!(f, " (")?;
        if let Some(c) = &self.correlation_id {
            write!(f, "correlation id {c}, ")?;
        }
        if let Some(t) = &self.trace_id {
            write!(f, "trace id {t}, ")?;
        }
        write!(f, "request id {}", self.request_id)?;
        if self.attempts > 1 {
            write!(f, ", {} attempts", self.attempts)?;
        }
        write!(f, ")")?;
        if let Some(anchor) = self.aadsts_codes.first().and_then(|c| troubleshooting_anchor(*c)) {
            write!(f, "; see {TROUBLESHOOTING}#{anchor}")?;
        }
        Ok(())
    }
}

/// Where error messages send people (TROUBLESHOOTING.md in the repository).
pub const TROUBLESHOOTING: &str = "https://github.com/entra-token/entra-token/blob/main/TROUBLESHOOTING.md";

/// The TROUBLESHOOTING.md section for an AADSTS code, if it has one.
pub fn troubleshooting_anchor(aadsts: u32) -> Option<&'static str> {
    Some(match aadsts {
        7000215 | 7000222 => "aadsts7000215-invalid-client-secret",
        700016 => "aadsts700016-application-not-found",
        500011 => "aadsts500011-resource-not-found",
        90002 => "aadsts90002-tenant-not-found",
        700027 | 700024 | 7000214 | 1000502 => "certificate-and-assertion-errors",
        70021 | 700211 | 700212 | 700213 => "federated-credential-errors",
        1002012 | 70011 => "aadsts1002012-invalid-scope",
        _ => return None,
    })
}

fn find_aadsts(text: &str) -> Option<u32> {
    let start = text.find("AADSTS")? + "AADSTS".len();
    let digits: String = text[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entra_error_body() {
        let body = br#"{"error":"invalid_resource","error_description":"AADSTS500011: The resource principal named x was not found.\r\nTrace ID: t1\r\nCorrelation ID: c1\r\nTimestamp: 2022-11-10 23:12:37Z","error_codes":[500011],"timestamp":"2022-11-10 23:12:37Z","trace_id":"t1","correlation_id":"c1","error_uri":"https://login.microsoftonline.com/error?code=500011"}"#;
        let e = ServiceError::from_body("Cred", "https://h/t/oauth2/v2.0/token", 400, "r1", body);
        assert_eq!(e.error.as_deref(), Some("invalid_resource"));
        assert_eq!(e.aadsts_codes, vec![500011]);
        assert_eq!(e.correlation_id.as_deref(), Some("c1"));
        assert_eq!(e.trace_id.as_deref(), Some("t1"));
        let shown = e.to_string();
        assert!(shown.contains("AADSTS500011: The resource principal named x was not found."), "{shown}");
        assert!(shown.contains("correlation id c1") && shown.contains("request id r1"), "{shown}");
        assert!(!shown.contains("Trace ID: t1\r"), "only the first line of the description: {shown}");
    }

    #[test]
    fn parses_app_service_and_nested_shapes() {
        let e = ServiceError::from_body("MI", "u", 500, "r", br#"{"statusCode":500,"message":"An unexpected error occured","correlationId":"4ce2"}"#);
        assert_eq!(e.description.as_deref(), Some("An unexpected error occured"));
        assert_eq!(e.correlation_id.as_deref(), Some("4ce2"));
        let e = ServiceError::from_body("MI", "u", 404, "r", br#"{"error":{"correlationId":"foo","code":"SecretHeaderNotFound","message":"Secret is not found in the request headers."}}"#);
        assert_eq!(e.error.as_deref(), Some("SecretHeaderNotFound"));
        assert_eq!(e.correlation_id.as_deref(), Some("foo"));
        assert_eq!(e.description.as_deref(), Some("Secret is not found in the request headers."));
    }

    #[test]
    fn keeps_non_json_body_and_finds_aadsts_in_text() {
        let e = ServiceError::from_body("C", "u", 400, "r", b"AADSTS700016: unknown app");
        assert_eq!(e.aadsts_codes, vec![700016]);
        assert_eq!(e.description.as_deref(), Some("AADSTS700016: unknown app"));
        let e = ServiceError::from_body("C", "u", 502, "r", b"");
        assert_eq!(e.description, None);
        assert!(e.to_string().contains("HTTP 502"));
    }
}
