//! Federated credentials: an external token stands in for the app registration's secret.
//!
//! - [`WorkloadIdentityCredential`]: the token Kubernetes (AKS workload identity) or another
//!   platform projects into a file, rotated under our feet.
//! - [`ClientAssertionCredential::with_managed_identity`]: a managed identity token for
//!   `api://AzureADTokenExchange`, so an app registration (even in another tenant) needs no secret.

use super::confidential::JWT_BEARER;
use super::{ClientAssertionCredential, ClientOptions, Confidential, ManagedIdentityCredential};
use crate::authority::Authority;
use crate::cache::{CachedSource, SourceIdentity, TokenSource};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::{AccessToken, CacheQuery, TokenCredential, TokenRequest};
use crate::token_response::TokenResponse;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NAME: &str = "WorkloadIdentityCredential";

/// Options of [`WorkloadIdentityCredential`]; `None` fields come from the environment
/// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`; the authority from
/// `AZURE_AUTHORITY_HOST`), as the AKS webhook sets them.
///
/// ```
/// use entra_token::WorkloadIdentityOptions;
/// let options = WorkloadIdentityOptions { client_id: Some("88888888-8888-4888-8888-888888888888".into()), ..Default::default() };
/// assert_eq!(options.reread_after.as_secs(), 300);
/// ```
#[derive(Clone, Debug)]
pub struct WorkloadIdentityOptions {
    /// The tenant of the app registration.
    pub tenant_id: Option<String>,
    /// The app registration (or user-assigned identity) the federated credential is on.
    pub client_id: Option<String>,
    /// The file holding the projected token.
    pub token_file_path: Option<PathBuf>,
    /// Re-read the file when the copy in memory is older than this (the kubelet rotates it).
    pub reread_after: Duration,
    /// Authority, HTTP, clock, environment, cache.
    pub client: ClientOptions,
}

impl Default for WorkloadIdentityOptions {
    fn default() -> Self {
        WorkloadIdentityOptions { tenant_id: None, client_id: None, token_file_path: None, reread_after: Duration::from_secs(300), client: ClientOptions::default() }
    }
}

/// Workload identity federation: the projected service account token is the client assertion.
///
/// ```no_run
/// use entra_token::{TokenCredential, TokenRequest, WorkloadIdentityCredential, WorkloadIdentityOptions};
/// # async fn run() -> entra_token::Result<()> {
/// // In an AKS pod with workload identity, the webhook set every variable this needs.
/// let credential = WorkloadIdentityCredential::new(WorkloadIdentityOptions::default())?;
/// let token = credential.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await?;
/// # Ok(()) }
/// ```
pub struct WorkloadIdentityCredential {
    inner: CachedSource<WorkloadSource>,
}

struct WorkloadSource {
    client: Confidential,
    path: PathBuf,
    reread_after: Duration,
    clock: Arc<dyn Clock>,
    /// The assertion and when it was read.
    current: Mutex<Option<(Secret, u64)>>,
    identity: Arc<SourceIdentity>,
}

impl WorkloadIdentityCredential {
    /// A credential from options, filling gaps from the environment; the token file is read
    /// once now so a wrong path fails early.
    pub fn new(options: WorkloadIdentityOptions) -> Result<Self> {
        let env = &options.client.env;
        let config = |message: String| Error::Configuration { credential: NAME, message };
        let missing = |what: &str, var: &str| config(format!("no {what}: set {var} or pass it in WorkloadIdentityOptions"));
        let tenant_id = options.tenant_id.clone().or_else(|| env.get("AZURE_TENANT_ID")).ok_or_else(|| missing("tenant id", "AZURE_TENANT_ID"))?;
        let client_id = options.client_id.clone().or_else(|| env.get("AZURE_CLIENT_ID")).ok_or_else(|| missing("client id", "AZURE_CLIENT_ID"))?;
        let path = options
            .token_file_path
            .clone()
            .or_else(|| env.get("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from))
            .ok_or_else(|| missing("token file", "AZURE_FEDERATED_TOKEN_FILE"))?;
        let clock = options.client.clock.clone();
        let client = Confidential::new(NAME, &tenant_id, &client_id, options.client)?;
        let identity = SourceIdentity::new(NAME, &client.authority, &client.tenant_id, &client.client_id, super::fingerprint(path.to_string_lossy().as_bytes()));
        let source = WorkloadSource { client, path, reread_after: options.reread_after, clock: clock.clone(), current: Mutex::new(None), identity };
        source.assertion(true)?;
        let cache = source.client.cache.clone();
        Ok(WorkloadIdentityCredential { inner: CachedSource::new(source, clock, cache) })
    }

    /// A cached token for the request, if one is valid now; never does I/O.
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        self.inner.lookup(request)
    }
}

impl WorkloadSource {
    /// The assertion, re-read from the file when `force` or when the copy is too old.
    fn assertion(&self, force: bool) -> Result<Secret> {
        let now = self.clock.now();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((assertion, read_at)) = current.as_ref()
            && !force
            && now.saturating_sub(*read_at) < self.reread_after.as_secs()
        {
            return Ok(assertion.clone());
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| Error::CredentialUnavailable {
            credential: NAME,
            message: format!("cannot read the federated token file {}: {e}", self.path.display()),
        })?;
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::CredentialUnavailable { credential: NAME, message: format!("the federated token file {} is empty", self.path.display()) });
        }
        let assertion = Secret::new(text);
        *current = Some((assertion.clone(), now));
        Ok(assertion)
    }

    async fn request_with(&self, request: &TokenRequest, assertion: Secret) -> Result<TokenResponse> {
        let tenant = self.client.resolve_tenant(request.tenant_id())?;
        let endpoint = self.client.token_endpoint(tenant).await?;
        let params = vec![("client_assertion_type", JWT_BEARER.to_owned()), ("client_assertion", assertion.expose_secret().to_owned())];
        self.client.request_token(request, &endpoint, params).await
    }
}

impl TokenSource for WorkloadSource {
    fn identity(&self) -> &Arc<SourceIdentity> {
        &self.identity
    }

    fn resolve_tenant<'a>(&'a self, tenant_id: Option<&'a str>) -> Result<&'a str> {
        self.client.resolve_tenant(tenant_id)
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<TokenResponse> {
        match self.request_with(request, self.assertion(false)?).await {
            // Entra found the token expired: the kubelet has likely rotated the file already.
            Err(e) if e.aadsts_code() == Some(700024) => {
                tracing::debug!(credential = NAME, "assertion expired; re-reading the token file and retrying once");
                self.request_with(request, self.assertion(true)?).await
            }
            other => other,
        }
    }
}

impl TokenCredential for WorkloadIdentityCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        self.inner.get_token(request).await
    }
}

impl fmt::Debug for WorkloadIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.source();
        f.debug_struct(NAME).field("tenant_id", &s.client.tenant_id).field("client_id", &s.client.client_id).field("token_file", &s.path).finish_non_exhaustive()
    }
}

/// The token exchange audience for an authority's cloud (protocol.md D.13).
pub fn token_exchange_audience(authority: &Authority) -> &'static str {
    match authority {
        Authority::Entra { host, .. } if host.host_str().is_some_and(|h| h.ends_with("chinacloudapi.cn")) => "api://AzureADTokenExchangeChina",
        _ => "api://AzureADTokenExchange",
    }
}

impl ClientAssertionCredential {
    /// An app registration whose federated credential is a managed identity: the managed
    /// identity's token for `audience` (by default `api://AzureADTokenExchange`, or the China
    /// cloud's) is the client assertion. The managed identity token is cached and reused until
    /// near its expiry; a claims challenge on the outer request is forwarded to it.
    ///
    /// ```no_run
    /// use entra_token::{ClientAssertionCredential, ClientOptions, ManagedIdentityCredential, ManagedIdentityOptions};
    /// # fn run() -> entra_token::Result<()> {
    /// let identity = ManagedIdentityCredential::new(ManagedIdentityOptions::default())?;
    /// let app = ClientAssertionCredential::with_managed_identity("other-tenant-id", "app-client-id", identity, None, ClientOptions::default())?;
    /// # Ok(()) }
    /// ```
    pub fn with_managed_identity(tenant_id: &str, client_id: &str, identity: ManagedIdentityCredential, audience: Option<String>, options: ClientOptions) -> Result<Self> {
        let authority = match &options.authority {
            Some(a) => a.clone(),
            None => Authority::from_env(&options.env).map_err(|message| Error::Configuration { credential: "ClientAssertionCredential", message })?,
        };
        let scope = crate::scope::from_resource(audience.as_deref().unwrap_or_else(|| token_exchange_audience(&authority)));
        let identity = Arc::new(identity);
        Self::new(
            tenant_id,
            client_id,
            move |context: super::AssertionContext| {
                let identity = identity.clone();
                let mut request = TokenRequest::new([scope.clone()]);
                if let Some(claims) = context.claims {
                    request = request.with_claims(claims);
                }
                async move { identity.get_token(&request).await.map(|t| t.token().expose_secret().to_owned()) }
            },
            ClientOptions { authority: Some(authority), ..options },
        )
    }
}
