//! Access tokens, token requests and the credential trait.

use crate::cache::EntryState;
use crate::error::Result;
use crate::secret::Secret;
use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU64;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

/// An access token with its expiry. Cloning is one reference-count increment.
///
/// `Debug` never shows the token itself.
///
/// ```
/// use entra_token::AccessToken;
/// let token = AccessToken::new("eyJ0eXAi...", 1_700_003_600, Some(1_700_001_800));
/// assert_eq!(token.expires_on(), 1_700_003_600);
/// assert!(!format!("{token:?}").contains("eyJ0"));
/// ```
#[derive(Clone)]
pub struct AccessToken(Arc<AccessTokenInner>);

// One allocation per token, which is also the cache's entry: the fields a cache hit reads (the
// key it compares, the expiry it checks, the CLOCK bit it sets) come first, so with the
// reference count they share the first cache line.
#[repr(C)]
struct AccessTokenInner {
    expires_on: u64,
    refresh_on: Option<NonZeroU64>,
    entry: EntryState,
    token: Secret,
    /// `None` for `Bearer`, the usual type, so that it costs no allocation.
    token_type: Option<Box<str>>,
    binding_slot: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl AccessToken {
    /// A bearer token expiring at `expires_on` (seconds since the Unix epoch), to be refreshed
    /// from `refresh_on` on.
    pub fn new(token: impl Into<Secret>, expires_on: u64, refresh_on: Option<u64>) -> Self {
        Self::with_type(token, expires_on, refresh_on, "Bearer")
    }

    /// A token of the given type (`Bearer`, `pop`).
    pub fn with_type(token: impl Into<Secret>, expires_on: u64, refresh_on: Option<u64>, token_type: &str) -> Self {
        Self::with_entry(token.into(), expires_on, refresh_on, token_type, EntryState::default())
    }

    /// A token that knows its cache key (made by the cache when it stores a fetched token).
    pub(crate) fn with_entry(token: Secret, expires_on: u64, refresh_on: Option<u64>, token_type: &str, entry: EntryState) -> Self {
        AccessToken(Arc::new(AccessTokenInner {
            expires_on,
            refresh_on: refresh_on.and_then(NonZeroU64::new),
            entry,
            token,
            token_type: (token_type != "Bearer").then(|| token_type.into()),
            binding_slot: OnceLock::new(),
        }))
    }

    /// The token. Send it only to the resource it was issued for.
    pub fn token(&self) -> &Secret {
        &self.0.token
    }

    /// When the token expires, in seconds since the Unix epoch.
    pub fn expires_on(&self) -> u64 {
        self.0.expires_on
    }

    /// When a fresh token should be fetched in the background, in seconds since the Unix epoch.
    pub fn refresh_on(&self) -> Option<u64> {
        self.0.refresh_on.map(NonZeroU64::get)
    }

    /// The token type, usually `Bearer`.
    pub fn token_type(&self) -> &str {
        self.0.token_type.as_deref().unwrap_or("Bearer")
    }

    /// One value a language binding may attach to this token once (for example a ready-made
    /// Python object), so that a cache hit hands out the same object without building a new one.
    pub fn binding_slot(&self) -> &OnceLock<Box<dyn Any + Send + Sync>> {
        &self.0.binding_slot
    }

    /// Whether two handles refer to the same token instance (cache identity, not string equality).
    pub fn same_instance(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The cache's bookkeeping for this token.
    pub(crate) fn entry(&self) -> &EntryState {
        &self.0.entry
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("expires_on", &self.0.expires_on)
            .field("refresh_on", &self.0.refresh_on)
            .field("token_type", &self.token_type())
            .finish()
    }
}

/// What to ask for: scopes plus the options azure-core's `get_token` takes.
///
/// ```
/// use entra_token::TokenRequest;
/// let request = TokenRequest::new(["https://vault.azure.net/.default"])
///     .with_claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#)
///     .with_cae(true);
/// assert_eq!(request.scopes(), ["https://vault.azure.net/.default"]);
/// assert!(request.claims().is_some());
/// ```
#[derive(Clone, Default)]
pub struct TokenRequest {
    scopes: Vec<String>,
    tenant_id: Option<String>,
    claims: Option<String>,
    enable_cae: bool,
    rejected_token: Option<Secret>,
    force_refresh: bool,
}

impl TokenRequest {
    /// A request for `scopes`, for example `["https://graph.microsoft.com/.default"]`.
    pub fn new<S: Into<String>>(scopes: impl IntoIterator<Item = S>) -> Self {
        TokenRequest { scopes: scopes.into_iter().map(Into::into).collect(), ..Default::default() }
    }

    /// Asks for a token from another tenant; the credential must allow it
    /// (`additionally_allowed_tenants`).
    pub fn with_tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// A claims challenge from a resource (JSON). It always bypasses the cache.
    pub fn with_claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into()).filter(|c: &String| !c.trim().is_empty());
        self
    }

    /// Asks for a Continuous Access Evaluation capable token (client capability `cp1`).
    pub fn with_cae(mut self, enable: bool) -> Self {
        self.enable_cae = enable;
        self
    }

    /// The token a resource just rejected, so sources that support revocation
    /// (`token_sha256_to_refresh`) can tell the host to drop its copy.
    pub fn with_rejected_token(mut self, token: impl Into<Secret>) -> Self {
        self.rejected_token = Some(token.into());
        self
    }

    /// Skips the cache and fetches a new token (the new token then replaces the cached one).
    pub fn with_force_refresh(mut self, force: bool) -> Self {
        self.force_refresh = force;
        self
    }

    /// The scopes asked for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// The tenant asked for, if not the credential's own.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }
    /// The claims challenge, if any.
    pub fn claims(&self) -> Option<&str> {
        self.claims.as_deref()
    }
    /// Whether a CAE token is wanted.
    pub fn cae(&self) -> bool {
        self.enable_cae
    }
    /// The token the resource rejected, if known.
    pub fn rejected_token(&self) -> Option<&Secret> {
        self.rejected_token.as_ref()
    }
    /// Whether the cache must be skipped.
    pub fn force_refresh(&self) -> bool {
        self.force_refresh
    }
}

/// What a cache lookup reads of a request. [`TokenRequest`] is one; [`ScopeQuery`] is
/// another that borrows its scopes, so a hit path (the bindings') builds it without allocating.
/// Sealed: the cache relies on what these return.
pub trait CacheQuery: sealed::Sealed {
    /// One scope as given; several sorted, de-duplicated and joined by spaces.
    fn normalised_scopes(&self) -> Cow<'_, str>;
    /// The tenant asked for, if not the credential's own.
    fn query_tenant(&self) -> Option<&str>;
    /// Whether a CAE token is wanted.
    fn query_cae(&self) -> bool;
    /// Whether the request must not be answered from the cache (claims, forced refresh).
    fn skips_cache(&self) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::TokenRequest {}
    impl Sealed for super::ScopeQuery<'_> {}
}

/// Normalised scopes: one scope as given (borrowed); several sorted, de-duplicated and joined.
pub(crate) fn normalise_scopes<S: AsRef<str>>(scopes: &[S]) -> Cow<'_, str> {
    match scopes {
        [one] => Cow::Borrowed(one.as_ref()),
        many => {
            let mut sorted: Vec<&str> = many.iter().map(AsRef::as_ref).collect();
            sorted.sort_unstable();
            sorted.dedup();
            Cow::Owned(sorted.join(" "))
        }
    }
}

impl CacheQuery for TokenRequest {
    fn normalised_scopes(&self) -> Cow<'_, str> {
        normalise_scopes(&self.scopes)
    }
    fn query_tenant(&self) -> Option<&str> {
        self.tenant_id()
    }
    fn query_cae(&self) -> bool {
        self.enable_cae
    }
    fn skips_cache(&self) -> bool {
        self.force_refresh || self.claims.is_some()
    }
}

/// A cache lookup for scopes of the credential's own tenant, borrowing the scope strings.
///
/// ```
/// use entra_token::{ClientSecretCredential, ScopeQuery, TokenRequest};
/// let credential = ClientSecretCredential::new("contoso.onmicrosoft.com", "client-id", "secret").unwrap();
/// // Nothing is cached yet; the same lookup as with TokenRequest::new(["api://weather/.default"]).
/// assert!(credential.get_token_cached(&ScopeQuery::new(&["api://weather/.default"])).is_none());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ScopeQuery<'a> {
    scopes: &'a [&'a str],
    enable_cae: bool,
}

impl<'a> ScopeQuery<'a> {
    /// A lookup for `scopes`.
    pub fn new(scopes: &'a [&'a str]) -> Self {
        ScopeQuery { scopes, enable_cae: false }
    }

    /// For a CAE token (or not).
    pub fn with_cae(mut self, enable_cae: bool) -> Self {
        self.enable_cae = enable_cae;
        self
    }
}

impl CacheQuery for ScopeQuery<'_> {
    fn normalised_scopes(&self) -> Cow<'_, str> {
        normalise_scopes(self.scopes)
    }
    fn query_tenant(&self) -> Option<&str> {
        None
    }
    fn query_cae(&self) -> bool {
        self.enable_cae
    }
    fn skips_cache(&self) -> bool {
        false
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("scopes", &self.scopes)
            .field("tenant_id", &self.tenant_id)
            .field("claims", &self.claims)
            .field("enable_cae", &self.enable_cae)
            .field("rejected_token", &self.rejected_token.as_ref().map(|_| "[redacted]"))
            .field("force_refresh", &self.force_refresh)
            .finish()
    }
}

/// Something that can produce access tokens.
///
/// Cancel a call by dropping its future.
///
/// ```no_run
/// use entra_token::{ClientSecretCredential, TokenCredential, TokenRequest};
/// # async fn run() -> entra_token::Result<()> {
/// let credential = ClientSecretCredential::new("tenant-id", "client-id", "secret")?;
/// let token = credential.get_token(&TokenRequest::new(["api://weather/.default"])).await?;
/// println!("expires at {}", token.expires_on());
/// # Ok(()) }
/// ```
pub trait TokenCredential: Send + Sync {
    /// Returns a token for the request, from the cache when a valid one is there.
    fn get_token(&self, request: &TokenRequest) -> impl Future<Output = Result<AccessToken>> + Send;
}

/// A boxed future, for credentials behind `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`TokenCredential`], implemented for every credential, so that
/// chains and bindings can hold `Arc<dyn DynTokenCredential>`.
pub trait DynTokenCredential: Send + Sync {
    /// Boxed [`TokenCredential::get_token`].
    fn get_token_boxed<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>>;
}

impl<T: TokenCredential> DynTokenCredential for T {
    fn get_token_boxed<'a>(&'a self, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(self.get_token(request))
    }
}
