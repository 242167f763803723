//! One type for "some credential", chosen at run time: what configuration-driven setups and
//! the language bindings hold.

use super::{
    AzureCliCredential, AzureDeveloperCliCredential, ChainedTokenCredential, ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential,
    ManagedIdentityCredential, ManagedIdentitySource, WorkloadIdentityCredential,
};
use crate::config::ConfiguredCredential;
use crate::error::{Error, Result};
use crate::token::{AccessToken, CacheQuery, BoxFuture, TokenCredential, TokenRequest};
use std::fmt;
use std::sync::Arc;

/// Any credential of this crate.
///
/// ```
/// use entra_token::{AnyCredential, ClientSecretCredential, TokenRequest};
/// let credential: AnyCredential = ClientSecretCredential::new("contoso.onmicrosoft.com", "client-id", "secret").unwrap().into();
/// assert!(credential.get_token_cached(&TokenRequest::new(["api://weather/.default"])).is_none());
/// ```
pub enum AnyCredential {
    /// A client secret.
    ClientSecret(ClientSecretCredential),
    /// A client certificate.
    ClientCertificate(ClientCertificateCredential),
    /// A client assertion callback (also managed identity as federated credential).
    ClientAssertion(ClientAssertionCredential),
    /// A managed identity.
    ManagedIdentity(ManagedIdentityCredential),
    /// Workload identity federation.
    WorkloadIdentity(WorkloadIdentityCredential),
    /// The Azure CLI's signed-in account.
    AzureCli(AzureCliCredential),
    /// The Azure Developer CLI's signed-in account.
    AzureDeveloperCli(AzureDeveloperCliCredential),
    /// A chain, such as `DefaultAzureCredential`.
    Chained(Box<ChainedTokenCredential>),
    /// The credentials of an appsettings configuration.
    Configured(Box<ConfiguredCredential>),
    /// A credential that cannot work here; every request fails with this error (see
    /// [`AnyCredential::unavailable_until_used`]).
    Unavailable(Error),
    /// A credential also held elsewhere: what a binding's chain holds of the credential objects
    /// it was given.
    Shared(Arc<AnyCredential>),
}

impl AnyCredential {
    /// `result`, except that a credential unavailable here becomes one that fails each request
    /// with that error instead of failing now: azure-identity's and @azure/identity's
    /// `EnvironmentCredential` are built without error and report "unavailable" from
    /// `get_token`, which is what chains of them count on. Other errors are returned as they are.
    ///
    /// ```
    /// use entra_token::{AnyCredential, ClientOptions, Env, EnvironmentCredential};
    /// let options = ClientOptions { env: Env::from_pairs(Vec::<(String, String)>::new()), ..Default::default() };
    /// let credential = AnyCredential::unavailable_until_used(EnvironmentCredential::new(options)).unwrap();
    /// assert!(matches!(credential, AnyCredential::Unavailable(_)));
    /// ```
    pub fn unavailable_until_used(result: Result<AnyCredential>) -> Result<AnyCredential> {
        match result {
            Err(error @ Error::CredentialUnavailable { .. }) => Ok(AnyCredential::Unavailable(error)),
            other => other,
        }
    }

    /// A `ChainedTokenCredential` of credentials held elsewhere too, tried in the order given;
    /// each link is named by its kind in the chain's errors. An empty list is a configuration
    /// error, as in azure-identity.
    ///
    /// ```
    /// use entra_token::{AnyCredential, ClientSecretCredential};
    /// use std::sync::Arc;
    /// let secret: AnyCredential = ClientSecretCredential::new("contoso.onmicrosoft.com", "client-id", "secret").unwrap().into();
    /// let chain = AnyCredential::chain_of(vec![Arc::new(secret)]).unwrap();
    /// assert_eq!(chain.chain_links(), vec!["ClientSecretCredential"]);
    /// assert!(AnyCredential::chain_of(Vec::new()).is_err());
    /// ```
    pub fn chain_of(credentials: Vec<Arc<AnyCredential>>) -> Result<AnyCredential> {
        if credentials.is_empty() {
            return Err(Error::Configuration { credential: "ChainedTokenCredential", message: "at least one credential is required".into() });
        }
        let links = credentials.into_iter().map(|c| (c.kind_name(), Ok(AnyCredential::Shared(c)))).collect();
        Ok(ChainedTokenCredential::new(links).into())
    }

    /// The credential's type name (`ClientSecretCredential`, `ManagedIdentityCredential`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            AnyCredential::ClientSecret(_) => "ClientSecretCredential",
            AnyCredential::ClientCertificate(_) => "ClientCertificateCredential",
            AnyCredential::ClientAssertion(_) => "ClientAssertionCredential",
            AnyCredential::ManagedIdentity(_) => "ManagedIdentityCredential",
            AnyCredential::WorkloadIdentity(_) => "WorkloadIdentityCredential",
            AnyCredential::AzureCli(_) => "AzureCliCredential",
            AnyCredential::AzureDeveloperCli(_) => "AzureDeveloperCliCredential",
            AnyCredential::Chained(c) => c.name(),
            AnyCredential::Configured(_) => "ConfiguredCredential",
            AnyCredential::Unavailable(error) => error.credential(),
            AnyCredential::Shared(c) => c.kind_name(),
        }
    }

    /// A cached token for the request, if one is valid now; never does I/O.
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        match self {
            AnyCredential::ClientSecret(c) => c.get_token_cached(request),
            AnyCredential::ClientCertificate(c) => c.get_token_cached(request),
            AnyCredential::ClientAssertion(c) => c.get_token_cached(request),
            AnyCredential::ManagedIdentity(c) => c.get_token_cached(request),
            AnyCredential::WorkloadIdentity(c) => c.get_token_cached(request),
            AnyCredential::AzureCli(c) => c.get_token_cached(request),
            AnyCredential::AzureDeveloperCli(c) => c.get_token_cached(request),
            AnyCredential::Chained(c) => c.get_token_cached(request),
            AnyCredential::Configured(c) => c.get_token_cached(request),
            AnyCredential::Unavailable(_) => None,
            AnyCredential::Shared(c) => c.get_token_cached(request),
        }
    }

    /// The links of a chain such as `DefaultAzureCredential`, in order; empty for any other credential.
    pub fn chain_links(&self) -> Vec<&'static str> {
        match self {
            AnyCredential::Chained(c) => c.links(),
            AnyCredential::Shared(c) => c.chain_links(),
            _ => Vec::new(),
        }
    }

    /// The managed identity source, for a managed identity.
    pub fn managed_identity_source(&self) -> Option<&ManagedIdentitySource> {
        match self {
            AnyCredential::ManagedIdentity(c) => Some(c.source()),
            AnyCredential::Configured(c) => c.current().managed_identity_source(),
            AnyCredential::Shared(c) => c.managed_identity_source(),
            _ => None,
        }
    }
}

impl TokenCredential for AnyCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        match self {
            AnyCredential::ClientSecret(c) => c.get_token(request).await,
            AnyCredential::ClientCertificate(c) => c.get_token(request).await,
            AnyCredential::ClientAssertion(c) => c.get_token(request).await,
            AnyCredential::ManagedIdentity(c) => c.get_token(request).await,
            AnyCredential::WorkloadIdentity(c) => c.get_token(request).await,
            AnyCredential::AzureCli(c) => c.get_token(request).await,
            AnyCredential::AzureDeveloperCli(c) => c.get_token(request).await,
            // Chains hold AnyCredentials themselves; their futures are boxed (see their impls).
            AnyCredential::Chained(c) => c.get_token(request).await,
            AnyCredential::Configured(c) => c.get_token(request).await,
            AnyCredential::Unavailable(error) => Err(error.clone()),
            AnyCredential::Shared(c) => shared_get_token(c, request).await,
        }
    }
}

/// A shared credential's token, boxed: its future is the type `AnyCredential::get_token` is
/// defining, so it must be erased in a function of its own.
fn shared_get_token<'a>(credential: &'a AnyCredential, request: &'a TokenRequest) -> BoxFuture<'a, Result<AccessToken>> {
    Box::pin(credential.get_token(request))
}

impl fmt::Debug for AnyCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyCredential::ClientSecret(c) => c.fmt(f),
            AnyCredential::ClientCertificate(c) => c.fmt(f),
            AnyCredential::ClientAssertion(c) => c.fmt(f),
            AnyCredential::ManagedIdentity(c) => c.fmt(f),
            AnyCredential::WorkloadIdentity(c) => c.fmt(f),
            AnyCredential::AzureCli(c) => c.fmt(f),
            AnyCredential::AzureDeveloperCli(c) => c.fmt(f),
            AnyCredential::Chained(c) => c.fmt(f),
            AnyCredential::Configured(c) => c.fmt(f),
            AnyCredential::Unavailable(error) => write!(f, "Unavailable({error})"),
            AnyCredential::Shared(c) => c.fmt(f),
        }
    }
}

macro_rules! from_credential {
    ($($variant:ident($type:ty)),*) => {$(
        impl From<$type> for AnyCredential {
            fn from(c: $type) -> Self {
                AnyCredential::$variant(c)
            }
        }
    )*};
}

from_credential!(
    ClientSecret(ClientSecretCredential),
    ClientCertificate(ClientCertificateCredential),
    ClientAssertion(ClientAssertionCredential),
    ManagedIdentity(ManagedIdentityCredential),
    WorkloadIdentity(WorkloadIdentityCredential),
    AzureCli(AzureCliCredential),
    AzureDeveloperCli(AzureDeveloperCliCredential)
);

impl From<ChainedTokenCredential> for AnyCredential {
    fn from(c: ChainedTokenCredential) -> Self {
        AnyCredential::Chained(Box::new(c))
    }
}

impl From<ConfiguredCredential> for AnyCredential {
    fn from(c: ConfiguredCredential) -> Self {
        AnyCredential::Configured(Box::new(c))
    }
}
