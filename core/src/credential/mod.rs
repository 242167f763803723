//! Credentials. Each is a *token source* (an uncached `fetch`) wrapped by the shared cache.

mod any;
mod chain;
mod developer;
mod client_assertion;
mod client_certificate;
mod client_secret;
mod confidential;
mod federated;
mod managed_identity;

pub use any::AnyCredential;
pub use chain::{ChainedTokenCredential, DefaultAzureCredential, DefaultAzureCredentialOptions, EnvironmentCredential};
pub use developer::{AzureCliCredential, AzureDeveloperCliCredential};
pub use client_assertion::{AssertionCallback, AssertionContext, ClientAssertionCredential};
pub use client_certificate::{CertificateInput, CertificateOptions, ClientCertificateCredential};
pub use client_secret::ClientSecretCredential;
pub use federated::{WorkloadIdentityCredential, WorkloadIdentityOptions, token_exchange_audience};
pub use managed_identity::{
    AppServiceApiVersion, ManagedIdentityCredential, ManagedIdentityOptions, ManagedIdentitySource, ManagedIdentitySourceKind, UserAssignedId,
    managed_identity_environment,
};
pub(crate) use confidential::Confidential;

use crate::authority::Authority;
use crate::cache::TokenCache;
use crate::clock::{Clock, SystemClock};
use crate::env::Env;
use crate::http::HttpOptions;
use std::fmt;
use std::sync::Arc;

/// Options every confidential-client credential takes.
///
/// ```
/// use entra_token::{Authority, ClientOptions};
/// let options = ClientOptions {
///     authority: Some(Authority::entra("https://login.microsoftonline.us").unwrap()),
///     additionally_allowed_tenants: vec!["*".into()],
///     ..ClientOptions::default()
/// };
/// assert!(options.client_capabilities.is_empty());
/// ```
#[derive(Clone)]
pub struct ClientOptions {
    /// The authority; `None` reads `AZURE_AUTHORITY_HOST` and `AZURE_REGIONAL_AUTHORITY_NAME`
    /// from [`ClientOptions::env`] and defaults to the public cloud.
    pub authority: Option<Authority>,
    /// Other tenants a [`crate::TokenRequest`] may name (`"*"` allows any), as in azure-identity.
    pub additionally_allowed_tenants: Vec<String>,
    /// Client capabilities (for example `cp1` for Continuous Access Evaluation), sent inside the
    /// `claims` parameter.
    pub client_capabilities: Vec<String>,
    /// Timeouts, limits and trusted roots.
    pub http: HttpOptions,
    /// The clock expiry decisions use.
    pub clock: Arc<dyn Clock>,
    /// Where environment variables are read from.
    pub env: Env,
    /// The token cache; `None` uses the process-wide [`TokenCache::global`], so credentials
    /// built per request still share tokens.
    pub cache: Option<Arc<TokenCache>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            authority: None,
            additionally_allowed_tenants: Vec::new(),
            client_capabilities: Vec::new(),
            http: HttpOptions::default(),
            clock: Arc::new(SystemClock),
            env: Env::process(),
            cache: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("authority", &self.authority)
            .field("additionally_allowed_tenants", &self.additionally_allowed_tenants)
            .field("client_capabilities", &self.client_capabilities)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// A salted hash of credential material: it tells credentials apart in the cache key without
/// keeping the secret there. The salt is random per process, so the hash means nothing outside it.
pub(crate) fn fingerprint(material: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    static SALT: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    let salt = SALT.get_or_init(rand::random);
    let mut h = Sha256::new();
    h.update(salt);
    h.update(material);
    h.finalize().into()
}
