//! The HTTP layer: a few shared reqwest clients, timeouts on every call, a response size limit,
//! request ids, and the retry policies of protocol.md section D.8.
//!
//! Redirects are never followed (a redirect could carry a secret elsewhere). Every attempt has a
//! timeout, and every call a total deadline, so nothing here can hang.

use crate::clock::{Sleeper, TokioSleeper};
use crate::error::{Error, Result, ServiceError};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use url::Url;

/// Timeouts, limits and trust settings for one credential's HTTP calls.
///
/// ```
/// use entra_token::HttpOptions;
/// use std::time::Duration;
/// let options = HttpOptions { attempt_timeout: Duration::from_secs(5), ..HttpOptions::default() };
/// assert_eq!(options.total_timeout, Duration::from_secs(30));
/// ```
#[derive(Clone)]
pub struct HttpOptions {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to the last byte of the answer.
    pub attempt_timeout: Duration,
    /// Time allowed for a whole call including retries and their delays. The IMDS upgrade
    /// window (410 answers) extends it to at least 80 s, as the peers wait 70 s.
    pub total_timeout: Duration,
    /// Largest accepted response body; token answers are a few kilobytes.
    pub max_response_bytes: usize,
    /// Extra trusted root certificates (PEM) for private endpoints, added to the system roots.
    pub extra_root_certificates_pem: Option<Arc<[u8]>>,
    /// Waits between retries; tests inject a recording sleeper.
    pub sleeper: Arc<dyn Sleeper>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_response_bytes: 1 << 20,
            extra_root_certificates_pem: None,
            sleeper: Arc::new(TokioSleeper),
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("extra_root_certificates_pem", &self.extra_root_certificates_pem.as_ref().map(|p| p.len()))
            .finish_non_exhaustive()
    }
}

/// Which retry rules apply: they differ per endpoint kind (protocol.md section D.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Entra's token endpoint and discovery: up to 3 retries on 429, 5xx, connection errors and
    /// timeouts; delay max(`Retry-After`, exponential backoff from 1 s with jitter).
    TokenEndpoint,
    /// IMDS: 404, 408, 410, 429, 5xx and timeouts; 410 up to 7 retries 10 s apart, otherwise
    /// 3 retries after 1, 2 and 4 s.
    Imds,
    /// Other managed identity endpoints: 404, 408, 429, 500, 503, 504 and timeouts, up to
    /// 3 retries after max(`Retry-After`, 1 s).
    ManagedIdentity,
    /// No retries (probes).
    None,
}

enum Failure {
    Status(u16, Option<Duration>),
    Timeout,
    Transport,
}

impl RetryPolicy {
    /// The delay before retry number `retries_done + 1`, or `None` when the failure is final.
    /// `first_status` is the status of the first failed attempt (IMDS decides its budget on it).
    fn delay(self, retries_done: u32, first_status: Option<u16>, failure: &Failure) -> Option<Duration> {
        let retry_after = match failure {
            Failure::Status(_, r) => *r,
            _ => None,
        };
        match self {
            RetryPolicy::None => None,
            RetryPolicy::TokenEndpoint => {
                let retryable = match failure {
                    Failure::Status(s, _) => *s == 429 || *s >= 500,
                    Failure::Timeout | Failure::Transport => true,
                };
                if !retryable || retries_done >= 3 {
                    return None;
                }
                let backoff = Duration::from_millis(1000 << retries_done).mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.8..1.2));
                Some(backoff.max(retry_after.unwrap_or_default()))
            }
            RetryPolicy::Imds => {
                let retryable = match failure {
                    Failure::Status(s, _) => matches!(s, 404 | 408 | 410 | 429) || *s >= 500,
                    Failure::Timeout => true,
                    Failure::Transport => false,
                };
                let upgrade_window = first_status == Some(410);
                let max = if upgrade_window { 7 } else { 3 };
                if !retryable || retries_done >= max {
                    return None;
                }
                Some(if upgrade_window { Duration::from_secs(10) } else { Duration::from_secs(1 << retries_done) })
            }
            RetryPolicy::ManagedIdentity => {
                let retryable = match failure {
                    Failure::Status(s, _) => matches!(s, 404 | 408 | 429 | 500 | 503 | 504),
                    Failure::Timeout => true,
                    Failure::Transport => false,
                };
                if !retryable || retries_done >= 3 {
                    return None;
                }
                Some(retry_after.unwrap_or_default().max(Duration::from_secs(1)))
            }
        }
    }
}

/// Which shared client to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ClientKind {
    /// Proxies from the standard environment variables.
    Default,
    /// Never through a proxy (IMDS and other link-local or loopback identity endpoints).
    NoProxy,
    /// Service Fabric: no proxy, and the server certificate is trusted only when its SHA-1
    /// thumbprint is this one (the cluster's certificate is self-signed).
    PinnedSha1([u8; 20]),
}

static RUNTIME: OnceLock<String> = OnceLock::new();
static USER_AGENT: OnceLock<HeaderValue> = OnceLock::new();

/// Names the runtime in the `User-Agent` (`python/3.11`, `node/20.20`); the bindings call it once
/// at load time. Later calls are ignored.
pub fn set_runtime(runtime: &str) {
    let _ = RUNTIME.set(runtime.to_owned());
}

fn user_agent() -> HeaderValue {
    USER_AGENT
        .get_or_init(|| {
            let runtime = RUNTIME.get().map(String::as_str).unwrap_or("rust");
            let ua = format!("entra-token/{} ({runtime}; {} {})", env!("CARGO_PKG_VERSION"), std::env::consts::OS, std::env::consts::ARCH);
            HeaderValue::from_str(&ua).unwrap_or_else(|_| HeaderValue::from_static("entra-token"))
        })
        .clone()
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    /// Clients (their connection pools) belong to one process: a forked child builds its own.
    pid: u32,
    kind: ClientKind,
    connect_timeout_ms: u128,
    roots: Option<Arc<[u8]>>,
}

pub(crate) fn shared_client(kind: ClientKind, options: &HttpOptions) -> Result<reqwest::Client, String> {
    static CLIENTS: OnceLock<Mutex<HashMap<ClientKey, reqwest::Client>>> = OnceLock::new();
    let pid = std::process::id();
    let key = ClientKey { pid, kind, connect_timeout_ms: options.connect_timeout.as_millis(), roots: options.extra_root_certificates_pem.clone() };
    let clients = CLIENTS.get_or_init(Default::default);
    {
        let mut clients = clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        // The parent's clients are tied to its runtime: leak them rather than drop them here.
        clients.retain(|k, c| {
            if k.pid != pid {
                std::mem::forget(c.clone());
            }
            k.pid == pid
        });
    }
    // reqwest is built without a default crypto provider so we choose ring (smaller, no cmake).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90));
    match kind {
        ClientKind::Default => {}
        ClientKind::NoProxy => builder = builder.no_proxy(),
        ClientKind::PinnedSha1(thumbprint) => {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = Arc::new(PinnedVerifier { thumbprint, provider: provider.clone() });
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS configuration: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth();
            builder = builder.no_proxy().tls_backend_preconfigured(config);
        }
    }
    if let Some(pem) = &options.extra_root_certificates_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("extra root certificates: {e}"))? {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder.build().map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    clients.lock().unwrap_or_else(|p| p.into_inner()).insert(key, client.clone());
    Ok(client)
}

/// Accepts exactly the server certificate whose SHA-1 thumbprint is pinned, as Service Fabric's
/// managed identity endpoint requires (its certificate chains to no public root). Handshake
/// signatures are still verified, so the server must hold the pinned certificate's key.
#[derive(Debug)]
struct PinnedVerifier {
    thumbprint: [u8; 20],
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use sha1::Digest;
        if sha1::Sha1::digest(end_entity.as_ref()).as_slice() == self.thumbprint {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("the server certificate's SHA-1 thumbprint is not IDENTITY_SERVER_THUMBPRINT".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Which header carries our request id: Entra's token endpoint reads `client-request-id`,
/// managed identity endpoints `x-ms-client-request-id` (what every peer sends them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestIdHeader {
    Entra,
    ManagedIdentity,
}

/// One HTTP request, built by a credential; sent (and re-sent) by [`Http::send`].
pub(crate) struct HttpRequest {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A form body (`application/x-www-form-urlencoded`). It may hold secrets.
    pub form: Option<Vec<(&'static str, String)>>,
    pub request_id_header: RequestIdHeader,
}

impl HttpRequest {
    pub fn get(url: Url, request_id_header: RequestIdHeader) -> Self {
        HttpRequest { method: reqwest::Method::GET, url, headers: Vec::new(), form: None, request_id_header }
    }

    pub fn post_form(url: Url, form: Vec<(&'static str, String)>, request_id_header: RequestIdHeader) -> Self {
        HttpRequest { method: reqwest::Method::POST, url, headers: Vec::new(), form: Some(form), request_id_header }
    }

    /// Adds a header; `sensitive` ones are marked so they never appear in reqwest's Debug output.
    pub fn header(mut self, name: &'static str, value: &str, sensitive: bool) -> Result<Self, String> {
        let mut v = HeaderValue::from_str(value).map_err(|_| format!("the value of header {name} has characters HTTP does not allow"))?;
        v.set_sensitive(sensitive);
        self.headers.push((HeaderName::from_static(name), v));
        Ok(self)
    }
}

/// A response of any status.
pub(crate) struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub request_id: String,
    pub endpoint: String,
    pub attempts: u32,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error this response stands for, with every field its body carried.
    pub fn service_error(&self, credential: &'static str) -> Error {
        let mut err = ServiceError::from_body(credential, &self.endpoint, self.status, &self.request_id, &self.body);
        err.retry_after = retry_after(&self.headers);
        err.attempts = self.attempts;
        Error::Service(Box::new(err))
    }

    /// An [`Error::InvalidResponse`] for this response.
    pub fn invalid(&self, credential: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidResponse {
            credential,
            endpoint: self.endpoint.clone(),
            status: self.status,
            request_id: self.request_id.clone(),
            reason: reason.into(),
        }
    }
}

/// Reads `Retry-After` as seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// The options a credential sends with; the shared client itself is looked up per request,
/// so a forked child never uses its parent's connections.
#[derive(Clone)]
pub(crate) struct Http {
    kind: ClientKind,
    options: HttpOptions,
}

impl Http {
    pub fn new(kind: ClientKind, options: HttpOptions, credential: &'static str) -> Result<Self> {
        shared_client(kind, &options).map_err(|message| Error::Configuration { credential, message })?;
        Ok(Http { kind, options })
    }

    /// Sends the request, retrying as `policy` says. Any HTTP status comes back as `Ok`; callers
    /// decide what a non-2xx status means. Transport failures and timeouts become errors once
    /// retries are used up.
    pub async fn send(&self, credential: &'static str, policy: RetryPolicy, request: HttpRequest) -> Result<HttpResponse> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let endpoint = crate::authority::without_query(&request.url);
        let client = shared_client(self.kind, &self.options).map_err(|message| Error::Configuration { credential, message })?;
        let mut builder = client.request(request.method.clone(), request.url.clone()).header(reqwest::header::USER_AGENT, user_agent());
        builder = match request.request_id_header {
            RequestIdHeader::Entra => builder.header("client-request-id", &request_id).header("return-client-request-id", "true"),
            RequestIdHeader::ManagedIdentity => builder.header("x-ms-client-request-id", &request_id),
        };
        for (name, value) in &request.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some(form) = &request.form {
            let body = zeroize::Zeroizing::new(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str()))).finish());
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body.as_bytes().to_vec());
        }
        let prepared = builder.build().map_err(|e| Error::Configuration { credential, message: format!("cannot build the request to {endpoint}: {e}") })?;

        let started = Instant::now();
        let mut total = self.options.total_timeout;
        let mut first_status = None;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let remaining = total.saturating_sub(started.elapsed());
            let budget = self.options.attempt_timeout.min(remaining);
            let attempt = prepared.try_clone().ok_or_else(|| Error::Configuration { credential, message: "request body cannot be re-sent".into() })?;
            let outcome = tokio::time::timeout(budget, self.attempt(&client, attempt)).await;
            let failure = match outcome {
                Ok(Ok((status, headers, body))) => {
                    let response = HttpResponse { status, headers, body, request_id: request_id.clone(), endpoint: endpoint.clone(), attempts };
                    if response.is_success() {
                        return Ok(response);
                    }
                    let failure = Failure::Status(status, retry_after(&response.headers));
                    first_status.get_or_insert(status);
                    if status == 410 && policy == RetryPolicy::Imds {
                        total = total.max(Duration::from_secs(80));
                    }
                    match self.next_delay(policy, attempts, first_status, &failure, started, total) {
                        Some(delay) => {
                            tracing::debug!(credential, %endpoint, status, ?delay, "retrying");
                            self.options.sleeper.sleep(delay).await;
                            continue;
                        }
                        None => return Ok(response),
                    }
                }
                Ok(Err(AttemptError::TooLarge(status))) => {
                    return Err(Error::InvalidResponse {
                        credential,
                        endpoint,
                        status,
                        request_id,
                        reason: format!("the response body is larger than the {} byte limit", self.options.max_response_bytes),
                    });
                }
                Ok(Err(AttemptError::Transport(e))) if e.is_timeout() => (Failure::Timeout, Some(e)),
                Ok(Err(AttemptError::Transport(e))) => (Failure::Transport, Some(e)),
                Err(_elapsed) => (Failure::Timeout, None),
            };
            let (failure, source) = failure;
            match self.next_delay(policy, attempts, first_status, &failure, started, total) {
                Some(delay) => {
                    tracing::debug!(credential, %endpoint, ?delay, "retrying after a transport failure");
                    self.options.sleeper.sleep(delay).await;
                }
                None => {
                    return Err(match failure {
                        Failure::Timeout => Error::Timeout { credential, endpoint, request_id, attempts, after: started.elapsed() },
                        _ => {
                            let reason = source.as_ref().map(describe_transport).unwrap_or_else(|| "transport failure".into());
                            Error::Transport { credential, endpoint, request_id, attempts, reason, source: source.map(|e| std::sync::Arc::new(e) as _) }
                        }
                    });
                }
            }
        }
    }

    fn next_delay(&self, policy: RetryPolicy, attempts: u32, first_status: Option<u16>, failure: &Failure, started: Instant, total: Duration) -> Option<Duration> {
        let delay = policy.delay(attempts - 1, first_status, failure)?;
        // A retry that could not finish before the deadline is not worth starting.
        (started.elapsed() + delay < total).then_some(delay)
    }

    async fn attempt(&self, client: &reqwest::Client, request: reqwest::Request) -> Result<(u16, HeaderMap, Vec<u8>), AttemptError> {
        let mut response = client.execute(request).await.map_err(AttemptError::Transport)?;
        let status = response.status().as_u16();
        let limit = self.options.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(AttemptError::TooLarge(status));
        }
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(AttemptError::Transport)? {
            if body.len() + chunk.len() > limit {
                return Err(AttemptError::TooLarge(status));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }
}

enum AttemptError {
    Transport(reqwest::Error),
    TooLarge(u16),
}

/// Words for a transport error, walking its sources (reqwest's own message is terse).
fn describe_transport(e: &reqwest::Error) -> String {
    let mut text = if e.is_connect() { "connection failed".to_owned() } else { "request failed".to_owned() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imds_budget_follows_first_failure() {
        let p = RetryPolicy::Imds;
        let s = |code| Failure::Status(code, None);
        let delays: Vec<_> = (0..4).map(|n| p.delay(n, Some(500), &s(500))).collect();
        assert_eq!(delays, vec![Some(Duration::from_secs(1)), Some(Duration::from_secs(2)), Some(Duration::from_secs(4)), None]);
        assert_eq!(p.delay(6, Some(410), &s(410)), Some(Duration::from_secs(10)));
        assert_eq!(p.delay(7, Some(410), &s(410)), None);
        assert_eq!(p.delay(0, Some(400), &s(400)), None);
    }

    #[test]
    fn managed_identity_honours_retry_after_with_floor() {
        let p = RetryPolicy::ManagedIdentity;
        assert_eq!(p.delay(0, Some(503), &Failure::Status(503, Some(Duration::from_secs(3)))), Some(Duration::from_secs(3)));
        assert_eq!(p.delay(0, Some(429), &Failure::Status(429, Some(Duration::from_millis(10)))), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(0, Some(502), &Failure::Status(502, None)), None);
        assert_eq!(p.delay(3, Some(500), &Failure::Status(500, None)), None);
    }

    #[test]
    fn token_endpoint_backs_off_and_never_retries_4xx() {
        let p = RetryPolicy::TokenEndpoint;
        let d0 = p.delay(0, Some(500), &Failure::Status(500, None)).unwrap();
        assert!(d0 >= Duration::from_millis(800) && d0 <= Duration::from_millis(1200), "{d0:?}");
        let d2 = p.delay(2, Some(500), &Failure::Transport).unwrap();
        assert!(d2 >= Duration::from_millis(3200) && d2 <= Duration::from_millis(4800), "{d2:?}");
        assert_eq!(p.delay(0, Some(429), &Failure::Status(429, Some(Duration::from_secs(7)))), Some(Duration::from_secs(7)));
        assert_eq!(p.delay(0, Some(400), &Failure::Status(400, None)), None);
        assert_eq!(p.delay(0, Some(401), &Failure::Status(401, None)), None);
        assert_eq!(p.delay(3, Some(500), &Failure::Timeout), None);
    }

    #[test]
    fn retry_after_as_seconds_or_date() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
