//! Developer credentials: the signed-in user of the Azure CLI (`az`) or the Azure Developer CLI
//! (`azd`). Their tokens go through the same cache as every other source, so the CLI runs once
//! per token, not once per call (the peers run it every time, about 3 s each).

use super::ClientOptions;
use crate::authority::Authority;
use crate::cache::{CachedSource, SourceIdentity, TokenSource};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::{AccessToken, CacheQuery, TokenCredential, TokenRequest};
use crate::token_response::TokenResponse;
use std::sync::Arc;
use std::time::Duration;

/// Which developer tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    AzureCli,
    AzureDeveloperCli,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::AzureCli => "AzureCliCredential",
            Tool::AzureDeveloperCli => "AzureDeveloperCliCredential",
        }
    }
}

/// How long `az` / `azd` may take unless told otherwise (it signs in through a browser cache and
/// can be slow on a cold start).
const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(15);

struct CliSource {
    tool: Tool,
    /// `PATH` from the options' environment (tests put stand-in tools first).
    path: Option<String>,
    tenant_id: Option<String>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    identity: Arc<SourceIdentity>,
}

macro_rules! developer_credential {
    ($name:ident, $tool:expr, $doc:literal, $example:literal) => {
        #[doc = $doc]
        ///
        /// ```no_run
        #[doc = $example]
        /// ```
        pub struct $name {
            inner: CachedSource<CliSource>,
        }

        impl $name {
            /// Uses the tool's signed-in account; `tenant_id` picks a tenant other than its default.
            /// The tool may take 15 seconds.
            pub fn new(tenant_id: Option<String>, options: ClientOptions) -> Self {
                Self::build(tenant_id, options, DEFAULT_PROCESS_TIMEOUT)
            }

            /// As [`Self::new`], with another bound on how long the tool may take
            /// (azure-identity's `process_timeout`); zero is a configuration error (every call
            /// would time out at once).
            pub fn with_process_timeout(tenant_id: Option<String>, options: ClientOptions, timeout: Duration) -> Result<Self> {
                if timeout.is_zero() {
                    let message = "the process timeout must be longer than zero".to_owned();
                    return Err(Error::Configuration { credential: stringify!($name), message });
                }
                Ok(Self::build(tenant_id, options, timeout))
            }

            fn build(tenant_id: Option<String>, options: ClientOptions, timeout: Duration) -> Self {
                let tool = $tool;
                let identity = SourceIdentity::new(tool.name(), &Authority::public(), tenant_id.as_deref().unwrap_or(""), "developer", super::fingerprint(tool.name().as_bytes()));
                let clock = options.clock.clone();
                let cache = options.cache.clone().unwrap_or_else(crate::cache::TokenCache::global);
                let source = CliSource { tool, path: options.env.get("PATH"), tenant_id, timeout, clock: clock.clone(), identity };
                $name { inner: CachedSource::new(source, clock, cache) }
            }

            /// How long the tool may take.
            pub fn process_timeout(&self) -> Duration {
                self.inner.source().timeout
            }

            /// A cached token for the request, if one is valid now; never does I/O.
            pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
                self.inner.lookup(request)
            }
        }

        impl TokenCredential for $name {
            async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
                self.inner.get_token(request).await
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("tenant_id", &self.inner.source().tenant_id).finish()
            }
        }
    };
}

developer_credential!(
    AzureCliCredential,
    Tool::AzureCli,
    "The Azure CLI's signed-in account (`az account get-access-token`).",
    "let credential = entra_token::AzureCliCredential::new(None, Default::default());"
);
developer_credential!(
    AzureDeveloperCliCredential,
    Tool::AzureDeveloperCli,
    "The Azure Developer CLI's signed-in account (`azd auth token`).",
    "let credential = entra_token::AzureDeveloperCliCredential::new(None, Default::default());"
);

impl TokenSource for CliSource {
    fn identity(&self) -> &Arc<SourceIdentity> {
        &self.identity
    }

    fn resolve_tenant<'a>(&'a self, tenant_id: Option<&'a str>) -> Result<&'a str> {
        Ok(tenant_id.or(self.tenant_id.as_deref()).unwrap_or(""))
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<TokenResponse> {
        let name = self.tool.name();
        let config = |message: String| Error::Configuration { credential: name, message };
        let unavailable = |message: String| Error::CredentialUnavailable { credential: name, message };
        let scope = match request.scopes() {
            [one] => one.clone(),
            other => return Err(config(format!("{} scopes given; the developer CLIs take exactly one", other.len()))),
        };
        crate::scope::validate(&scope).map_err(config)?;
        let tenant = request.tenant_id().or(self.tenant_id.as_deref());
        if let Some(t) = tenant {
            crate::authority::validate_tenant(t).map_err(config)?;
        }
        let (program, args): (&str, Vec<String>) = match self.tool {
            Tool::AzureCli => {
                let mut args = vec!["account".into(), "get-access-token".into(), "--output".into(), "json".into(), "--resource".into(), crate::scope::to_resource(&scope).to_owned()];
                if let Some(t) = tenant {
                    args.extend(["--tenant".into(), t.to_owned()]);
                }
                ("az", args)
            }
            Tool::AzureDeveloperCli => {
                let mut args = vec!["auth".into(), "token".into(), "--output".into(), "json".into(), "--scope".into(), scope.clone()];
                if let Some(t) = tenant {
                    args.extend(["--tenant-id".into(), t.to_owned()]);
                }
                ("azd", args)
            }
        };
        let mut command = tokio::process::Command::new(program);
        command.args(&args).stdin(std::process::Stdio::null()).kill_on_drop(true);
        if let Some(path) = &self.path {
            // On Unix the program is looked up in the child's PATH when one is set.
            command.env("PATH", path);
        }
        let output = match tokio::time::timeout(self.timeout, command.output()).await {
            Err(_) => return Err(unavailable(format!("`{program}` did not answer within {:?}", self.timeout))),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return Err(unavailable(format!("`{program}` is not installed (not on PATH)"))),
            Ok(Err(e)) => return Err(unavailable(format!("cannot run `{program}`: {e}"))),
            Ok(Ok(output)) => output,
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let hint = if stderr.contains("az login") || stderr.contains("azd auth login") || stderr.to_lowercase().contains("not logged in") {
                format!("not signed in: run `{}`", if self.tool == Tool::AzureCli { "az login" } else { "azd auth login" })
            } else {
                format!("`{program}` failed: {}", stderr.trim().lines().next().unwrap_or("no message"))
            };
            return Err(unavailable(hint));
        }
        // Read only the fields we need: the output holds the token, which must not reach errors.
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|_| unavailable(format!("`{program}` printed something that is not JSON")))?;
        let (token, expires_on) = match self.tool {
            Tool::AzureCli => (
                json.get("accessToken").and_then(|v| v.as_str()),
                // `expires_on` (epoch, newer CLIs) is exact; `expiresOn` is local time without a zone.
                json.get("expires_on").and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))),
            ),
            Tool::AzureDeveloperCli => (
                json.get("token").and_then(|v| v.as_str()),
                json.get("expiresOn").and_then(|v| crate::token_response::timestamp(v, self.clock.now())),
            ),
        };
        let (Some(token), Some(expires_on)) = (token, expires_on) else {
            return Err(unavailable(format!("`{program}` printed JSON without a token and its expiry")));
        };
        let now = self.clock.now();
        if expires_on <= now {
            return Err(unavailable(format!("`{program}` returned an expired token; sign in again")));
        }
        Ok(TokenResponse { token: Secret::new(token), expires_on, refresh_on: None, token_type: "Bearer".into(), body: serde_json::Value::Null })
    }
}
