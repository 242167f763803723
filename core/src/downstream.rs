//! The downstream API helper (Microsoft.Identity.Web's `IDownstreamApi`): call an API named in
//! the configuration with an app token for its scopes, and answer one claims challenge.
//!
//! ```no_run
//! use entra_token::downstream::DownstreamApis;
//! # async fn run() -> entra_token::Result<()> {
//! let apis = DownstreamApis::from_file("appsettings.json".as_ref(), Default::default())?;
//! let forecast: serde_json::Value = apis.get_json("DownstreamApi", None).await?;
//! # Ok(()) }
//! ```

use crate::config::{AppSettings, ConfiguredCredential};
use crate::credential::ClientOptions;
use crate::error::{Error, Result};
use crate::http::ClientKind;
use crate::token::{TokenCredential, TokenRequest};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

const NAME: &str = "DownstreamApi";

/// A downstream API's answer.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> std::result::Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// The downstream APIs of one configuration, each with the credential its section implies.
pub struct DownstreamApis {
    settings: AppSettings,
    options: ClientOptions,
    credentials: Mutex<HashMap<String, Arc<ConfiguredCredential>>>,
}

impl DownstreamApis {
    /// From an appsettings file (environment overrides applied from `options.env`).
    pub fn from_file(path: &Path, options: ClientOptions) -> Result<Self> {
        let settings = AppSettings::from_file(path, &options.env)?;
        Ok(Self::new(settings, options))
    }

    /// From loaded settings.
    pub fn new(settings: AppSettings, options: ClientOptions) -> Self {
        DownstreamApis { settings, options, credentials: Mutex::new(HashMap::new()) }
    }

    /// The settings.
    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    /// The credential for `api` (built once, then shared).
    pub fn credential(&self, api: &str) -> Result<Arc<ConfiguredCredential>> {
        let mut credentials = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = credentials.get(api) {
            return Ok(c.clone());
        }
        let credential = Arc::new(self.settings.credential_for(Some(api), &self.options)?);
        credentials.insert(api.to_owned(), credential.clone());
        Ok(credential)
    }

    /// Sends `method` (the section's `HttpMethod`, else GET) to the section's `BaseUrl` joined
    /// with `relative_path` (else the section's `RelativePath`) with an app token for its
    /// `Scopes`; on a 401 claims challenge, retries once with a token that satisfies it.
    pub async fn call(&self, api: &str, method: Option<&str>, relative_path: Option<&str>, body: Option<(&str, Vec<u8>)>) -> Result<ApiResponse> {
        let section = self.settings.api(api)?;
        let config = |message: String| Error::Configuration { credential: NAME, message };
        let base = section.base_url.as_deref().ok_or_else(|| config(format!("{api}.BaseUrl: required to call the API")))?;
        let path = relative_path.or(section.relative_path.as_deref()).unwrap_or("");
        let url = if path.is_empty() { base.to_owned() } else { format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/')) };
        let url = url::Url::parse(&url).map_err(|e| config(format!("{api}: {url} is not a URL ({e})")))?;
        let method = method.or(section.http_method.as_deref()).unwrap_or("GET").to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| config(format!("{method} is not an HTTP method")))?;
        let credential = self.credential(api)?;
        let client = crate::http::shared_client(ClientKind::Default, &self.options.http).map_err(config)?;
        let request = TokenRequest::new(section.scopes.clone());
        let mut token = credential.get_token(&request).await?;
        let mut retried = false;
        loop {
            let mut builder = client.request(method.clone(), url.clone()).bearer_auth(token.token().expose_secret()).timeout(self.options.http.total_timeout);
            if let Some((content_type, bytes)) = &body {
                builder = builder.header(reqwest::header::CONTENT_TYPE, *content_type).body(bytes.clone());
            }
            let endpoint = crate::authority::without_query(&url);
            let response = builder.send().await.map_err(|e| {
                let reason = e.to_string();
                if e.is_timeout() {
                    Error::Timeout { credential: NAME, endpoint: endpoint.clone(), request_id: String::new(), attempts: 1, after: self.options.http.total_timeout }
                } else {
                    Error::Transport { credential: NAME, endpoint: endpoint.clone(), request_id: String::new(), attempts: 1, reason, source: Some(Arc::new(e)) }
                }
            })?;
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> =
                response.headers().iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
            let challenge = (status == 401)
                .then(|| headers.iter().filter(|(k, _)| k == "www-authenticate").find_map(|(_, v)| crate::challenge::claims_from_challenge(v)))
                .flatten();
            let bytes = response.bytes().await.map_err(|e| Error::Transport { credential: NAME, endpoint, request_id: String::new(), attempts: 1, reason: e.to_string(), source: Some(Arc::new(e)) })?;
            match challenge {
                Some(claims) if !retried => {
                    tracing::debug!(api, "claims challenge; retrying once with a fresh token");
                    retried = true;
                    let rejected = token.token().clone();
                    token = credential.get_token(&request.clone().with_claims(claims).with_rejected_token(rejected)).await?;
                }
                _ => return Ok(ApiResponse { status, headers, body: bytes.to_vec() }),
            }
        }
    }

    /// GET as JSON; a non-2xx answer is an [`Error::DownstreamApi`].
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, api: &str, relative_path: Option<&str>) -> Result<T> {
        self.call_json(api, "GET", relative_path, None).await
    }

    /// Sends JSON (if any) and reads JSON; a non-2xx answer is an [`Error::DownstreamApi`].
    pub async fn call_json<T: serde::de::DeserializeOwned>(&self, api: &str, method: &str, relative_path: Option<&str>, body: Option<&serde_json::Value>) -> Result<T> {
        let body = body.map(|b| ("application/json", serde_json::to_vec(b).unwrap_or_default()));
        let response = self.call(api, Some(method), relative_path, body).await?;
        let url = self.settings.api(api).ok().and_then(|s| s.base_url.clone()).unwrap_or_default();
        if !(200..300).contains(&response.status) {
            let excerpt: String = String::from_utf8_lossy(&response.body).chars().take(300).collect();
            return Err(Error::DownstreamApi { api: api.to_owned(), method: method.to_owned(), url, status: response.status, excerpt });
        }
        response.json().map_err(|e| Error::InvalidResponse {
            credential: NAME,
            endpoint: url,
            status: response.status,
            request_id: String::new(),
            reason: format!("the body is not the expected JSON ({e})"),
        })
    }
}

impl std::fmt::Debug for DownstreamApis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownstreamApis").field("apis", &self.settings.apis.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}
