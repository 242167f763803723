//! # entra-token
//!
//! Acquire Microsoft Entra ID access tokens for applications: client credentials (secret,
//! certificate, assertion), and — as they land — managed identity and workload identity, all
//! through one fast shared cache. The same core backs the Python and Node packages.
//!
//! ```no_run
//! use entra_token::{ClientSecretCredential, TokenCredential, TokenRequest};
//! # async fn run() -> entra_token::Result<()> {
//! let credential = ClientSecretCredential::new("tenant-id", "client-id", "secret")?;
//! let token = credential.get_token(&TokenRequest::new(["api://weather/.default"])).await?;
//! let header = format!("Bearer {}", token.token().expose_secret());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod assertion;
pub mod authority;
pub mod cache;
pub mod config;
pub mod downstream;
pub mod challenge;
mod certificate;
mod clock;
mod credential;
mod env;
mod error;
pub mod http;
pub mod runtime;
mod region;
pub mod scope;
mod secret;
#[doc(hidden)]
pub mod testing;
mod token;
mod token_response;

pub use assertion::AssertionAlgorithm;
pub use authority::{Authority, Region};
pub use cache::{CacheOptions, CacheStats, CachedTokenInfo, TokenCache};
pub use certificate::ClientCertificate;
pub use clock::{Clock, ManualClock, RecordingSleeper, SleepFuture, Sleeper, SystemClock, TokioSleeper};
pub use credential::{
    AnyCredential, AzureCliCredential, AzureDeveloperCliCredential, ChainedTokenCredential, DefaultAzureCredential, DefaultAzureCredentialOptions, EnvironmentCredential,
    AssertionCallback, AssertionContext, CertificateInput, CertificateOptions, ClientAssertionCredential, ClientCertificateCredential, ClientOptions,
    ClientSecretCredential, AppServiceApiVersion, ManagedIdentityCredential, ManagedIdentityOptions, ManagedIdentitySource, ManagedIdentitySourceKind,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityOptions, managed_identity_environment, token_exchange_audience,
};
pub use env::Env;
pub use error::{BoxError, Error, Result, ServiceError, SharedError};
pub use http::{HttpOptions, RetryPolicy};
pub use secret::Secret;
pub use token::{AccessToken, BoxFuture, CacheQuery, DynTokenCredential, ScopeQuery, TokenCredential, TokenRequest};

/// The README's Rust snippets, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
