//! One type for "some credential", chosen at run time: what configuration-driven setups and
//! the language bindings hold.

use super::{
    AzureCliCredential, AzureDeveloperCliCredential, ChainedTokenCredential, ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential,
    ManagedIdentityCredential, ManagedIdentitySource, WorkloadIdentityCredential,
};
use crate::config::ConfiguredCredential;
use crate::error::{Error, Result};
use crate::token::{AccessToken, TokenCredential, TokenRequest};
use std::fmt;

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

    /// A cached token for the request, if one is valid now; never does I/O.
    pub fn get_token_cached(&self, request: &TokenRequest) -> Option<AccessToken> {
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
        }
    }

    /// The links of a chain such as `DefaultAzureCredential`, in order; empty for any other credential.
    pub fn chain_links(&self) -> Vec<&'static str> {
        match self {
            AnyCredential::Chained(c) => c.links(),
            _ => Vec::new(),
        }
    }

    /// The managed identity source, for a managed identity.
    pub fn managed_identity_source(&self) -> Option<&ManagedIdentitySource> {
        match self {
            AnyCredential::ManagedIdentity(c) => Some(c.source()),
            AnyCredential::Configured(c) => c.current().managed_identity_source(),
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
        }
    }
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
