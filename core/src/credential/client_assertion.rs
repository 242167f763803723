//! Client assertion credential: the caller supplies a signed assertion through a callback
//! (a federated token, an HSM-signed JWT, a token from another system).

use super::confidential::JWT_BEARER;
use super::{ClientOptions, Confidential};
use crate::cache::{CachedSource, SourceIdentity, TokenSource};
use crate::error::{BoxError, Error, Result};
use crate::token::{AccessToken, CacheQuery, BoxFuture, TokenCredential, TokenRequest};
use crate::token_response::TokenResponse;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const NAME: &str = "ClientAssertionCredential";

/// What the assertion callback is told about the request it signs for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AssertionContext {
    /// The app registration's client id.
    pub client_id: String,
    /// The tenant the token is requested from.
    pub tenant_id: String,
    /// The token endpoint, which is the assertion's audience.
    pub token_endpoint: String,
    /// The claims challenge of the request, if any.
    pub claims: Option<String>,
}

/// The callback type: returns a signed assertion (a JWT) or an error.
pub type AssertionCallback = Arc<dyn Fn(AssertionContext) -> BoxFuture<'static, std::result::Result<String, BoxError>> + Send + Sync>;

/// An app registration authenticating with an assertion the caller supplies.
///
/// ```no_run
/// use entra_token::{ClientAssertionCredential, ClientOptions};
/// let credential = ClientAssertionCredential::new("tenant", "client-id", |_ctx| async {
///     Ok::<_, std::io::Error>(std::fs::read_to_string("/var/run/secrets/token")?)
/// }, ClientOptions::default()).unwrap();
/// ```
pub struct ClientAssertionCredential {
    inner: CachedSource<AssertionSource>,
}

struct AssertionSource {
    client: Confidential,
    callback: AssertionCallback,
    identity: Arc<SourceIdentity>,
}

impl ClientAssertionCredential {
    /// A credential whose assertion comes from `callback`.
    pub fn new<F, Fut, E>(tenant_id: &str, client_id: &str, callback: F, options: ClientOptions) -> Result<Self>
    where
        F: Fn(AssertionContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let callback: AssertionCallback = Arc::new(move |ctx| {
            let fut = callback(ctx);
            Box::pin(async move { fut.await.map_err(Into::into) })
        });
        Self::from_callback(tenant_id, client_id, callback, options)
    }

    /// A credential from an already boxed callback (what the language bindings use).
    pub fn from_callback(tenant_id: &str, client_id: &str, callback: AssertionCallback, options: ClientOptions) -> Result<Self> {
        // Callbacks cannot be compared, so each credential instance is its own cache identity.
        static INSTANCE: AtomicU64 = AtomicU64::new(0);
        let instance = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let client = Confidential::new(NAME, tenant_id, client_id, options)?;
        let identity = SourceIdentity::new(NAME, &client.authority, &client.tenant_id, &client.client_id, super::fingerprint(&instance.to_le_bytes()));
        let (clock, cache) = (client.clock.clone(), client.cache.clone());
        Ok(ClientAssertionCredential { inner: CachedSource::new(AssertionSource { client, callback, identity }, clock, cache) })
    }

    /// A cached token for the request, if one is valid now; never does I/O.
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        self.inner.lookup(request)
    }
}

impl TokenCredential for ClientAssertionCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        self.inner.get_token(request).await
    }
}

impl TokenSource for AssertionSource {
    fn identity(&self) -> &Arc<SourceIdentity> {
        &self.identity
    }

    fn resolve_tenant<'a>(&'a self, tenant_id: Option<&'a str>) -> Result<&'a str> {
        self.client.resolve_tenant(tenant_id)
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<TokenResponse> {
        let tenant = self.client.resolve_tenant(request.tenant_id())?;
        let endpoint = self.client.token_endpoint(tenant).await?;
        let context = AssertionContext {
            client_id: self.client.client_id.clone(),
            tenant_id: tenant.to_owned(),
            token_endpoint: endpoint.to_string(),
            claims: request.claims().map(str::to_owned),
        };
        let assertion = (self.callback)(context).await.map_err(|e| Error::AssertionCallback { credential: NAME, reason: e.to_string(), source: Some(std::sync::Arc::from(e)) })?;
        if assertion.trim().is_empty() {
            return Err(Error::AssertionCallback { credential: NAME, reason: "the callback returned an empty assertion".into(), source: None });
        }
        let params = vec![("client_assertion_type", JWT_BEARER.to_owned()), ("client_assertion", assertion)];
        self.client.request_token(request, &endpoint, params).await
    }
}

impl fmt::Debug for ClientAssertionCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.source();
        f.debug_struct(NAME).field("tenant_id", &s.client.tenant_id).field("client_id", &s.client.client_id).field("authority", &s.client.authority).finish_non_exhaustive()
    }
}
