//! # entra-token-emulator
//!
//! A local Microsoft Entra ID emulator on loopback, for tests and local development: the v2
//! token endpoint (client secret and certificate assertions, checked as Entra checks them),
//! OIDC discovery and JWKS, RS256 access tokens with app roles, Entra-shaped errors with AADSTS
//! codes, a request log and fault injection.
//!
//! It shares no protocol code with the `entra-token` crate on purpose: it is the independent
//! party that checks the client's wire behaviour.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use entra_token_emulator::{Directory, Emulator};
//! let emulator = Emulator::start(Directory::default()).await?;
//! println!("authority host: {}", emulator.url());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub(crate) mod assertion;
pub mod directory;
mod entra;
pub mod faults;
mod issuer;
mod managed_identity;
mod tls;
mod weather;

pub use directory::{Directory, ModelError};
pub use faults::{Fault, FaultAction};
pub use issuer::Issuer;
pub use tls::TlsMaterial;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

/// One request the emulator received.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query parameters in the order sent.
    pub query: Vec<(String, String)>,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// Form fields in the order sent (URL-encoded bodies only). Holds the test secrets as sent
    /// (the `--log` file holds [`LoggedRequest::redacted`]).
    pub form: Vec<(String, String)>,
    /// The status answered (0 when no answer was sent).
    pub status: u16,
}

/// Form fields and query parameters whose values are credentials.
const SECRET_FIELDS: [&str; 7] = ["client_secret", "client_assertion", "assertion", "refresh_token", "password", "code", "code_verifier"];
/// Headers whose values are credentials (bearer tokens, the identity endpoints' shared secrets,
/// Azure Arc's key file content).
const SECRET_HEADERS: [&str; 6] = ["authorization", "proxy-authorization", "cookie", "x-identity-header", "secret", "x-ms-identity-secret"];

impl LoggedRequest {
    /// The same request with every credential replaced by `<redacted, N bytes>`: what the
    /// `--log` file keeps, so a log shared in a bug report leaks nothing.
    ///
    /// ```
    /// use entra_token_emulator::LoggedRequest;
    /// let logged = LoggedRequest { method: "POST".into(), path: "/t/oauth2/v2.0/token".into(), query: vec![], headers: Default::default(),
    ///     form: vec![("client_id".into(), "app".into()), ("client_secret".into(), "s3cret".into())], status: 200 };
    /// assert_eq!(logged.redacted().form_value("client_secret"), Some("<redacted, 6 bytes>"));
    /// assert_eq!(logged.redacted().form_value("client_id"), Some("app"));
    /// ```
    pub fn redacted(&self) -> LoggedRequest {
        let hide = |value: &str| format!("<redacted, {} bytes>", value.len());
        let pairs = |pairs: &[(String, String)]| pairs.iter().map(|(k, v)| (k.clone(), if SECRET_FIELDS.contains(&k.as_str()) { hide(v) } else { v.clone() })).collect();
        LoggedRequest {
            query: pairs(&self.query),
            form: pairs(&self.form),
            headers: self.headers.iter().map(|(k, v)| (k.clone(), if SECRET_HEADERS.contains(&k.as_str()) { hide(v) } else { v.clone() })).collect(),
            ..self.clone()
        }
    }

    /// A form field's value.
    pub fn form_value(&self, key: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    /// A query parameter's value.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

pub(crate) struct AppState {
    pub directory: RwLock<Directory>,
    pub issuer: Issuer,
    pub base_url: String,
    pub log: Mutex<Vec<LoggedRequest>>,
    pub faults: Mutex<faults::Faults>,
    pub discovery_override: Mutex<Option<String>>,
    pub tokens_issued: AtomicU64,
    /// The authentication context (`acrs`) the weather API demands, if any.
    pub weather_challenge: Mutex<Option<String>>,
    /// The JSON-lines request log file, if asked for.
    pub log_file: Option<Mutex<std::fs::File>>,
    /// The emulated host whose identities the managed identity endpoints serve.
    pub host: String,
    /// `IDENTITY_HEADER` / `MSI_SECRET`: the secret the identity endpoints expect.
    pub identity_header: String,
    /// Where Arc's challenge writes its key files.
    pub arc_key_directory: std::path::PathBuf,
    /// Secrets handed out through Arc key files.
    pub arc_secrets: Mutex<std::collections::HashSet<String>>,
    /// The host-side token cache of the managed identity endpoints: (object id, resource) to (token, expiry).
    pub mi_cache: Mutex<std::collections::HashMap<(String, String), (String, u64)>>,
    /// SHA-1 thumbprint (hex) of the https server certificate, which Service Fabric clients pin.
    pub server_thumbprint_sha1: Option<String>,
}

/// How to serve.
///
/// ```
/// use entra_token_emulator::{EmulatorOptions, TlsMaterial};
/// let options = EmulatorOptions { tls: Some(TlsMaterial::generate().unwrap()), ..EmulatorOptions::default() };
/// assert_eq!(options.addr.ip().to_string(), "127.0.0.1");
/// ```
#[derive(Clone, Debug)]
pub struct EmulatorOptions {
    /// Where to listen: loopback and an ephemeral port by default.
    pub addr: SocketAddr,
    /// Serve https with this certificate (clients trust its CA); plain http when absent.
    pub tls: Option<TlsMaterial>,
    /// Append every request, as one JSON object per line, to this file.
    pub request_log_file: Option<std::path::PathBuf>,
    /// The emulated host: its system-assigned identity and the user-assigned ones attached to it
    /// are what the managed identity endpoints serve.
    pub host: String,
    /// The secret identity endpoints expect (`IDENTITY_HEADER`, `MSI_SECRET`); random when `None`.
    pub identity_header: Option<String>,
    /// Where Azure Arc's challenge writes key files; a fresh temporary directory when `None`.
    pub arc_key_directory: Option<std::path::PathBuf>,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
            request_log_file: None,
            host: directory::DEFAULT_HOST.into(),
            identity_header: None,
            arc_key_directory: None,
        }
    }
}

/// A running emulator. It stops when dropped.
pub struct Emulator {
    state: Arc<AppState>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The Arc key directory when the emulator made it (removed on drop).
    owned_arc_directory: Option<std::path::PathBuf>,
}

impl Emulator {
    /// Starts on an ephemeral loopback port.
    pub async fn start(directory: Directory) -> std::io::Result<Self> {
        Self::start_on(directory, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on the given address.
    pub async fn start_on(directory: Directory, addr: SocketAddr) -> std::io::Result<Self> {
        Self::start_with(directory, EmulatorOptions { addr, ..EmulatorOptions::default() }).await
    }

    /// Starts with the given options (address, https, request log file).
    pub async fn start_with(directory: Directory, options: EmulatorOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(options.addr).await?;
        let addr = listener.local_addr()?;
        let log_file = match &options.request_log_file {
            Some(path) => Some(Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(path)?)),
            None => None,
        };
        let scheme = if options.tls.is_some() { "https" } else { "http" };
        let arc_key_directory = options
            .arc_key_directory
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("entra-token-emulator-arc-{}-{}", std::process::id(), addr.port())));
        let state = Arc::new(AppState {
            directory: RwLock::new(directory),
            issuer: Issuer::new(),
            base_url: format!("{scheme}://{addr}"),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(faults::Faults::default()),
            discovery_override: Mutex::new(None),
            tokens_issued: AtomicU64::new(0),
            weather_challenge: Mutex::new(None),
            log_file,
            host: options.host.clone(),
            identity_header: options.identity_header.clone().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            arc_key_directory,
            arc_secrets: Mutex::new(Default::default()),
            mi_cache: Mutex::new(Default::default()),
            server_thumbprint_sha1: options.tls.as_ref().map(|t| t.server_thumbprint_sha1()),
        });
        let app = router(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        match &options.tls {
            None => {
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app).with_graceful_shutdown(async { let _ = rx.await; }).await;
                });
            }
            Some(material) => {
                let config = material.server_config().map_err(std::io::Error::other)?;
                let listener = tls::TlsListener::new(listener, config)?;
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app).with_graceful_shutdown(async { let _ = rx.await; }).await;
                });
            }
        }
        let owned_arc_directory = options.arc_key_directory.is_none().then(|| state.arc_key_directory.clone());
        Ok(Emulator { state, addr, shutdown: Some(tx), owned_arc_directory })
    }

    /// The base URL, such as `http://127.0.0.1:50123`; use it as the authority host.
    pub fn url(&self) -> &str {
        &self.state.base_url
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory's tenant id.
    pub fn tenant_id(&self) -> String {
        self.state.directory.read().expect("directory lock").tenant_id.clone()
    }

    /// The v2 token endpoint of the directory's tenant.
    pub fn token_endpoint(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.url(), self.tenant_id())
    }

    /// Every request received so far (admin requests excluded).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.log.lock().expect("log lock").clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.log.lock().expect("log lock").clear();
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, fault: Fault) {
        self.state.faults.lock().expect("faults lock").push(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state.faults.lock().expect("faults lock").clear();
    }

    /// Makes OIDC discovery name this token endpoint (to test that clients refuse foreign hosts).
    pub fn set_discovery_token_endpoint(&self, endpoint: Option<String>) {
        *self.state.discovery_override.lock().expect("override lock") = endpoint;
    }

    /// Changes the directory while running.
    pub fn update_directory(&self, change: impl FnOnce(&mut Directory)) {
        change(&mut self.state.directory.write().expect("directory lock"));
    }

    /// The protected weather API's forecast URL (`GET`, bearer token with `Weather.Read`).
    pub fn weather_url(&self) -> String {
        format!("{}/weather/forecast", self.url())
    }

    /// Makes the weather API demand the authentication context `acrs` (a claims challenge)
    /// until cleared with `None`.
    pub fn set_weather_claims_challenge(&self, acrs: Option<&str>) {
        *self.state.weather_challenge.lock().unwrap_or_else(|e| e.into_inner()) = acrs.map(str::to_owned);
    }

    /// The secret the identity endpoints expect (`IDENTITY_HEADER`, `MSI_SECRET`).
    pub fn identity_header(&self) -> &str {
        &self.state.identity_header
    }

    /// Where the Azure Arc endpoint writes its key files (a client's expected key directory).
    pub fn arc_key_directory(&self) -> &std::path::Path {
        &self.state.arc_key_directory
    }

    /// The environment variables an Azure host of this kind sets, pointing at this emulator:
    /// `source` is `imds`, `app_service`, `azure_ml`, `cloud_shell`, `azure_arc` or
    /// `service_fabric` (the last only when serving https). `None` for other names.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let emulator = entra_token_emulator::Emulator::start(Default::default()).await?;
    /// for (name, value) in emulator.managed_identity_env("app_service").unwrap() {
    ///     println!("export {name}={value}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn managed_identity_env(&self, source: &str) -> Option<Vec<(String, String)>> {
        let url = self.url();
        let header = self.identity_header().to_owned();
        let pairs: Vec<(&str, String)> = match source {
            "imds" => vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", url.to_owned())],
            "app_service" => vec![("IDENTITY_ENDPOINT", format!("{url}/msi/token")), ("IDENTITY_HEADER", header)],
            "azure_ml" => vec![("MSI_ENDPOINT", format!("{url}/ml/msi/token")), ("MSI_SECRET", header)],
            "cloud_shell" => vec![("MSI_ENDPOINT", format!("{url}/cloudshell/oauth2/token"))],
            "azure_arc" => vec![("IDENTITY_ENDPOINT", format!("{url}/arc/metadata/identity/oauth2/token")), ("IMDS_ENDPOINT", url.to_owned())],
            "service_fabric" => vec![
                ("IDENTITY_ENDPOINT", format!("{url}/servicefabric/metadata/identity/oauth2/token")),
                ("IDENTITY_HEADER", header),
                ("IDENTITY_SERVER_THUMBPRINT", self.state.server_thumbprint_sha1.clone()?),
            ],
            _ => return None,
        };
        Some(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// A workload token, as a Kubernetes cluster projects into a pod: issuer
    /// [`directory::WORKLOAD_ISSUER`], this subject and audience, living `lifetime_secs` from
    /// now (negative for an already expired one).
    pub fn workload_token(&self, subject: &str, audience: &str, lifetime_secs: i64) -> String {
        workload_token(&self.state, subject, audience, lifetime_secs)
    }

    /// The issuer (its JWKS and public key validate the tokens).
    pub fn jwks(&self) -> serde_json::Value {
        self.state.issuer.jwks()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(dir) = &self.owned_arc_directory {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn router(state: Arc<AppState>) -> Router {
    let admin = Router::new()
        .route("/_emulator/health", get(|| async { "ok" }))
        .route("/_emulator/requests", get(admin_requests).delete(admin_clear_requests))
        .route("/_emulator/faults", post(admin_add_fault).delete(admin_clear_faults))
        .route("/_emulator/workload-token", post(admin_workload_token))
        .route("/_emulator/weather/claims-challenge", post(weather::set_challenge).delete(weather::clear_challenge));
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(entra::openid_configuration))
        .route("/{tenant}/discovery/v2.0/keys", get(entra::jwks))
        .route("/common/discovery/instance", get(entra::instance_discovery))
        .route("/weather/forecast", get(weather::forecast))
        .route("/metadata/instance/compute/location", get(managed_identity::imds_location))
        .route("/metadata/identity/oauth2/token", get(managed_identity::imds))
        .route("/metadata/identity/oauth2/token/", get(managed_identity::imds))
        .route("/msi/token", get(managed_identity::app_service))
        .route("/ml/msi/token", get(managed_identity::machine_learning))
        .route("/cloudshell/oauth2/token", post(managed_identity::cloud_shell))
        .route("/arc/metadata/identity/oauth2/token", get(managed_identity::azure_arc))
        .route("/servicefabric/metadata/identity/oauth2/token", get(managed_identity::service_fabric))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .merge(admin)
        .with_state(state)
}

fn workload_token(state: &AppState, subject: &str, audience: &str, lifetime_secs: i64) -> String {
    let now = now() as i64;
    state.issuer.sign(&serde_json::json!({
        "iss": directory::WORKLOAD_ISSUER,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "nbf": now.min(now + lifetime_secs),
        "exp": now + lifetime_secs,
        "jti": uuid::Uuid::new_v4().to_string(),
    }))
}

#[derive(Deserialize)]
struct WorkloadTokenRequest {
    #[serde(default = "default_workload_subject")]
    subject: String,
    #[serde(default = "default_workload_audience")]
    audience: String,
    #[serde(default = "default_workload_lifetime")]
    lifetime_secs: i64,
}

fn default_workload_subject() -> String {
    directory::WORKLOAD_SUBJECT.into()
}
fn default_workload_audience() -> String {
    directory::TOKEN_EXCHANGE_AUDIENCE.into()
}
fn default_workload_lifetime() -> i64 {
    3600
}

/// `POST /_emulator/workload-token`: `{"subject", "audience", "lifetime_secs"}` (all optional).
async fn admin_workload_token(State(state): State<Arc<AppState>>, axum::Json(request): axum::Json<WorkloadTokenRequest>) -> Response {
    let token = workload_token(&state, &request.subject, &request.audience, request.lifetime_secs);
    axum::Json(serde_json::json!({"token": token})).into_response()
}

async fn admin_requests(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(state.log.lock().expect("log lock").clone()).into_response()
}

async fn admin_clear_requests(State(state): State<Arc<AppState>>) -> StatusCode {
    state.log.lock().expect("log lock").clear();
    StatusCode::NO_CONTENT
}

async fn admin_add_fault(State(state): State<Arc<AppState>>, axum::Json(fault): axum::Json<Fault>) -> StatusCode {
    state.faults.lock().expect("faults lock").push(fault);
    StatusCode::NO_CONTENT
}

async fn admin_clear_faults(State(state): State<Arc<AppState>>) -> StatusCode {
    state.faults.lock().expect("faults lock").clear();
    StatusCode::NO_CONTENT
}

/// Logs every request and applies fault rules before the real handler runs.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let is_form = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let entry = LoggedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default(),
        headers: parts.headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect(),
        form: if is_form { url::form_urlencoded::parse(&bytes).into_owned().collect() } else { Vec::new() },
        status: 0,
    };
    let index = {
        let mut log = state.log.lock().expect("log lock");
        log.push(entry);
        log.len() - 1
    };
    let fault = state.faults.lock().expect("faults lock").take(parts.uri.path());
    let response = match fault {
        None => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Some(FaultAction::Delay { ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
        Some(FaultAction::Hang) => std::future::pending().await,
        Some(FaultAction::Status { status, retry_after, body, headers }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = match body {
                Some(b) => (status, [("content-type", "application/json")], b).into_response(),
                None => entra::entra_error(status, "temporarily_unavailable", 50196, "AADSTS50196: The server is temporarily unavailable (injected fault).", &parts.headers),
            };
            let extra = retry_after.map(|r| ("retry-after".to_owned(), r)).into_iter().chain(headers);
            for (name, value) in extra {
                if let (Ok(n), Ok(v)) = (axum::http::HeaderName::from_bytes(name.as_bytes()), axum::http::HeaderValue::from_str(&value)) {
                    response.headers_mut().insert(n, v);
                }
            }
            response
        }
        Some(FaultAction::Malformed) => (StatusCode::OK, [("content-type", "application/json")], r#"{"token_type":"Bearer","expires_in":3599,"access_token":"#).into_response(),
        Some(FaultAction::Oversized { bytes }) => {
            let body = format!(r#"{{"token_type":"Bearer","expires_in":3599,"padding":"{}","access_token":"x"}}"#, "x".repeat(bytes));
            (StatusCode::OK, [("content-type", "application/json")], body).into_response()
        }
        Some(FaultAction::Close) => {
            // Headers go out, then the body fails: the client sees the connection drop mid-answer.
            let stream = futures_util::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected connection close"))
            });
            Response::builder().status(StatusCode::OK).header("content-type", "application/json").body(Body::from_stream(stream)).expect("response")
        }
    };
    let finished = state.log.lock().unwrap_or_else(|e| e.into_inner()).get_mut(index).map(|e| {
        e.status = response.status().as_u16();
        e.clone()
    });
    if let (Some(file), Some(entry)) = (&state.log_file, finished) {
        use std::io::Write;
        if let Ok(mut line) = serde_json::to_vec(&entry.redacted()) {
            line.push(b'\n');
            // One write per line keeps lines whole when several requests finish at once.
            let _ = file.lock().unwrap_or_else(|e| e.into_inner()).write_all(&line);
        }
    }
    response
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `2022-11-10 23:12:37Z`, the form Entra uses in error bodies.
pub(crate) fn timestamp(epoch: u64) -> String {
    format_utc(epoch, ' ')
}

/// A Unix time as UTC, `2022-11-10T23:12:37Z` with `'T'` between date and time (ISO 8601) or
/// `2022-11-10 23:12:37Z` with `' '` (Entra's error bodies). Shared with the CLI, which prints
/// expiry times the same way.
///
/// ```
/// assert_eq!(entra_token_emulator::format_utc(1_668_121_957, 'T'), "2022-11-10T23:12:37Z");
/// ```
pub fn format_utc(epoch: u64, date_time_separator: char) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}{date_time_separator}{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_format() {
        assert_eq!(super::timestamp(1_668_121_957), "2022-11-10 23:12:37Z");
    }
}
