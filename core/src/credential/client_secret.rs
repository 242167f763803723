//! Client secret credential: `client_secret` in the token request body.

use super::{ClientOptions, Confidential, fingerprint};
use crate::cache::{CachedSource, SourceIdentity, TokenSource};
use crate::error::Result;
use crate::secret::Secret;
use crate::token::{AccessToken, CacheQuery, TokenCredential, TokenRequest};
use crate::token_response::TokenResponse;
use std::fmt;
use std::sync::Arc;

const NAME: &str = "ClientSecretCredential";

/// An app registration authenticating with a client secret.
///
/// ```no_run
/// use entra_token::{ClientSecretCredential, TokenCredential, TokenRequest};
/// # async fn run() -> entra_token::Result<()> {
/// let credential = ClientSecretCredential::new("contoso.onmicrosoft.com", "00000000-0000-0000-0000-000000000001", "secret-value")?;
/// let token = credential.get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"])).await?;
/// # Ok(()) }
/// ```
pub struct ClientSecretCredential {
    inner: CachedSource<SecretSource>,
}

struct SecretSource {
    client: Confidential,
    secret: Secret,
    identity: Arc<SourceIdentity>,
}

impl ClientSecretCredential {
    /// A credential with default options (authority from `AZURE_AUTHORITY_HOST`, else the public cloud).
    pub fn new(tenant_id: &str, client_id: &str, client_secret: impl Into<Secret>) -> Result<Self> {
        Self::with_options(tenant_id, client_id, client_secret, ClientOptions::default())
    }

    /// A credential with explicit options.
    pub fn with_options(tenant_id: &str, client_id: &str, client_secret: impl Into<Secret>, options: ClientOptions) -> Result<Self> {
        let secret = client_secret.into();
        if secret.is_empty() {
            return Err(crate::Error::Configuration { credential: NAME, message: "client secret is empty".into() });
        }
        let client = Confidential::new(NAME, tenant_id, client_id, options)?;
        let identity = SourceIdentity::new(NAME, &client.authority, &client.tenant_id, &client.client_id, fingerprint(secret.expose_secret().as_bytes()));
        let (clock, cache) = (client.clock.clone(), client.cache.clone());
        Ok(ClientSecretCredential { inner: CachedSource::new(SecretSource { client, secret, identity }, clock, cache) })
    }

    /// A cached token for the request, if one is valid now; never does I/O. Bindings use it to
    /// answer cache hits on the calling thread.
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        self.inner.lookup(request)
    }
}

impl TokenCredential for ClientSecretCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        self.inner.get_token(request).await
    }
}

impl TokenSource for SecretSource {
    fn identity(&self) -> &Arc<SourceIdentity> {
        &self.identity
    }

    fn resolve_tenant<'a>(&'a self, tenant_id: Option<&'a str>) -> Result<&'a str> {
        self.client.resolve_tenant(tenant_id)
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<TokenResponse> {
        let tenant = self.client.resolve_tenant(request.tenant_id())?;
        let endpoint = self.client.token_endpoint(tenant).await?;
        self.client.request_token(request, &endpoint, vec![("client_secret", self.secret.expose_secret().to_owned())]).await
    }
}

impl fmt::Debug for ClientSecretCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.source();
        f.debug_struct(NAME)
            .field("tenant_id", &s.client.tenant_id)
            .field("client_id", &s.client.client_id)
            .field("authority", &s.client.authority)
            .field("client_secret", &s.secret)
            .finish()
    }
}
