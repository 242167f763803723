//! One type for "some credential", chosen at run time: what configuration-driven setups and
//! the language bindings hold.

use super::{ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential, ManagedIdentitySource, WorkloadIdentityCredential};
use crate::error::Result;
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
}

impl AnyCredential {
    /// A cached token for the request, if one is valid now; never does I/O.
    pub fn get_token_cached(&self, request: &TokenRequest) -> Option<AccessToken> {
        match self {
            AnyCredential::ClientSecret(c) => c.get_token_cached(request),
            AnyCredential::ClientCertificate(c) => c.get_token_cached(request),
            AnyCredential::ClientAssertion(c) => c.get_token_cached(request),
            AnyCredential::ManagedIdentity(c) => c.get_token_cached(request),
            AnyCredential::WorkloadIdentity(c) => c.get_token_cached(request),
        }
    }

    /// The managed identity source, for a managed identity.
    pub fn managed_identity_source(&self) -> Option<&ManagedIdentitySource> {
        match self {
            AnyCredential::ManagedIdentity(c) => Some(c.source()),
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
    WorkloadIdentity(WorkloadIdentityCredential)
);
