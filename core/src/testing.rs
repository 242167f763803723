//! Helpers for benchmarks of the cache itself. Not part of the supported API.

use crate::authority::Authority;
use crate::cache::{CachedSource, SourceIdentity, TokenCache, TokenSource};
use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::secret::Secret;
use crate::token::{AccessToken, CacheQuery, TokenCredential, TokenRequest};
use crate::token_response::TokenResponse;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A credential whose "fetch" mints a synthetic token in memory, behind the real cache, so a
/// benchmark can fill 100,000 entries in a second and measure the cache alone (no HTTP, no
/// signing). It never authenticates anything.
///
/// ```
/// use entra_token::{TokenCache, TokenRequest, testing::InMemoryCredential};
/// use std::sync::Arc;
/// let credential = InMemoryCredential::new(1_000, Arc::new(TokenCache::new(Default::default())));
/// let request = TokenRequest::new(["api://a/.default"]);
/// assert!(credential.get_token_cached(&request).is_none());
/// ```
pub struct InMemoryCredential {
    inner: CachedSource<InMemorySource>,
}

struct InMemorySource {
    identity: Arc<SourceIdentity>,
    clock: Arc<dyn Clock>,
    token_len: usize,
    minted: AtomicU64,
}

impl InMemoryCredential {
    /// Tokens of `token_len` bytes living an hour, cached in `cache`.
    pub fn new(token_len: usize, cache: Arc<TokenCache>) -> Self {
        let identity = SourceIdentity::new("InMemoryCredential", &Authority::public(), "tenant", "client", crate::credential::fingerprint(b"in-memory"));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let source = InMemorySource { identity, clock: clock.clone(), token_len, minted: AtomicU64::new(0) };
        InMemoryCredential { inner: CachedSource::new(source, clock, cache) }
    }

    /// A cached token, if one is valid now (the path bindings take on a hit).
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        self.inner.lookup(request)
    }

    /// How many tokens were minted (cache misses that reached the "source").
    pub fn minted(&self) -> u64 {
        self.inner.source().minted.load(Relaxed)
    }
}

impl TokenCredential for InMemoryCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        self.inner.get_token(request).await
    }
}

impl TokenSource for InMemorySource {
    fn identity(&self) -> &Arc<SourceIdentity> {
        &self.identity
    }

    fn resolve_tenant<'a>(&'a self, _: Option<&'a str>) -> Result<&'a str> {
        Ok("tenant")
    }

    async fn fetch(&self, _: &TokenRequest) -> Result<TokenResponse> {
        let n = self.minted.fetch_add(1, Relaxed);
        let mut token = format!("synthetic-{n}-");
        token.extend(std::iter::repeat_n('x', self.token_len.saturating_sub(token.len())));
        Ok(TokenResponse {
            token: Secret::new(token),
            expires_on: self.clock.now() + 3600,
            refresh_on: None,
            token_type: "Bearer".into(),
            body: serde_json::Value::Null,
        })
    }
}
