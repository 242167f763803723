//! The token cache every credential goes through.
//!
//! (Foundation stage: this wraps each source and fetches on every call; the process-wide
//! single-flight cache replaces the body of [`CachedSource`] without changing its API.)

use crate::authority::Authority;
use crate::clock::Clock;
use crate::error::Result;
use crate::token::{AccessToken, TokenRequest};
use crate::token_response::TokenResponse;
use std::future::Future;
use std::sync::Arc;

/// Who a token belongs to: credential kind, authority, tenant, client or identity id, and a
/// fingerprint of the credential material (never the material itself).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SourceIdentity {
    kind: &'static str,
    authority: String,
    tenant: String,
    client_id: String,
    fingerprint: [u8; 32],
}

impl SourceIdentity {
    pub fn new(kind: &'static str, authority: &Authority, tenant: &str, client_id: &str, fingerprint: [u8; 32]) -> Self {
        let authority = match authority {
            Authority::Entra { host, region } => format!("{host}|{}", region.as_deref().unwrap_or("")),
            Authority::Oidc { issuer } => issuer.to_string(),
        };
        SourceIdentity { kind, authority, tenant: tenant.to_ascii_lowercase(), client_id: client_id.to_ascii_lowercase(), fingerprint }
    }
}

/// An uncached token fetcher.
#[allow(dead_code, reason = "identity and tenant form the cache key, which the cache (next) reads")]
pub(crate) trait TokenSource: Send + Sync + 'static {
    /// Who the tokens belong to.
    fn identity(&self) -> &SourceIdentity;
    /// The tenant the request goes to (part of the cache key).
    fn resolve_tenant<'a>(&'a self, request: &'a TokenRequest) -> Result<&'a str>;
    /// Fetches a new token.
    fn fetch(&self, request: &TokenRequest) -> impl Future<Output = Result<TokenResponse>> + Send;
}

/// A token source behind the cache.
pub(crate) struct CachedSource<S> {
    source: Arc<S>,
    #[allow(dead_code)]
    clock: Arc<dyn Clock>,
}

impl<S: TokenSource> CachedSource<S> {
    pub fn new(source: S, clock: Arc<dyn Clock>) -> Self {
        CachedSource { source: Arc::new(source), clock }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// A valid cached token, without I/O.
    pub fn lookup(&self, _request: &TokenRequest) -> Option<AccessToken> {
        None
    }

    /// A token from the cache, or fetched.
    pub async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        Ok(self.source.fetch(request).await?.into_access_token())
    }
}
