//! Credential chains, named as azure-identity names them: `EnvironmentCredential`,
//! `ChainedTokenCredential` and `DefaultAzureCredential` (environment → workload identity →
//! managed identity → Azure CLI → Azure Developer CLI).
//!
//! Off Azure the chain must not stall: the IMDS link is probed once with a short bound (1 s)
//! before its first real request, a Docker Desktop style 403 counts as "no IMDS here", and a
//! failed probe is remembered for a minute only, so a transient failure never disables managed
//! identity for the life of the process.

use super::{
    AnyCredential, AzureCliCredential, AzureDeveloperCliCredential, CertificateInput, CertificateOptions, ClientCertificateCredential, ClientOptions,
    ClientSecretCredential, ManagedIdentityCredential, ManagedIdentityOptions, ManagedIdentitySourceKind, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityOptions,
};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::{AccessToken, CacheQuery, TokenCredential, TokenRequest};
use std::sync::Mutex;
use std::time::Duration;

const CHAIN: &str = "DefaultAzureCredential";
/// How long a failed IMDS probe is believed.
const PROBE_MEMORY_SECS: u64 = 60;

/// `EnvironmentCredential`: a client secret or certificate from `AZURE_TENANT_ID`,
/// `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH` (with
/// `AZURE_CLIENT_CERTIFICATE_PASSWORD`, `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`), as azure-identity reads them.
///
/// ```
/// use entra_token::{ClientOptions, Env, EnvironmentCredential};
/// let options = ClientOptions { env: Env::from_pairs([("AZURE_TENANT_ID", "t")]), ..Default::default() };
/// assert_eq!(EnvironmentCredential::new(options).unwrap_err().kind_code(), "credential_unavailable");
/// ```
pub struct EnvironmentCredential;

impl EnvironmentCredential {
    /// The credential the environment describes, or [`Error::CredentialUnavailable`] naming what is missing.
    #[allow(clippy::new_ret_no_self, reason = "azure-identity's name for a constructor of whichever credential the environment describes")]
    pub fn new(options: ClientOptions) -> Result<AnyCredential> {
        let env = options.env.clone();
        let unavailable = |message: String| Error::CredentialUnavailable { credential: "EnvironmentCredential", message };
        let (Some(tenant), Some(client)) = (env.get("AZURE_TENANT_ID"), env.get("AZURE_CLIENT_ID")) else {
            return Err(unavailable("AZURE_TENANT_ID and AZURE_CLIENT_ID are not both set".into()));
        };
        if let Some(secret) = env.get("AZURE_CLIENT_SECRET") {
            return Ok(ClientSecretCredential::with_options(&tenant, &client, Secret::new(secret), options)?.into());
        }
        if let Some(path) = env.get("AZURE_CLIENT_CERTIFICATE_PATH") {
            let input = CertificateInput::File { path: path.into(), password: env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD").map(Secret::new) };
            let chain = env.get("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
            return Ok(ClientCertificateCredential::new(&tenant, &client, input, CertificateOptions { client: options, send_certificate_chain: chain, ..Default::default() })?.into());
        }
        Err(unavailable("neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set".into()))
    }
}

struct Link {
    name: &'static str,
    credential: std::result::Result<AnyCredential, Error>,
}

#[derive(Clone, Copy)]
enum Probe {
    Unknown,
    Available,
    Unavailable { at: u64 },
}

/// Tries its credentials in order until one gives a token, moving on only when a link is
/// unavailable here (as azure-identity's chain does); remembers the link that worked.
///
/// ```no_run
/// use entra_token::{AzureCliCredential, ChainedTokenCredential, ClientOptions, ManagedIdentityCredential, ManagedIdentityOptions};
/// let chain = ChainedTokenCredential::new(vec![
///     ("ManagedIdentityCredential", ManagedIdentityCredential::new(ManagedIdentityOptions::default()).map(Into::into)),
///     ("AzureCliCredential", Ok(AzureCliCredential::new(None, ClientOptions::default()).into())),
/// ]);
/// ```
pub struct ChainedTokenCredential {
    name: &'static str,
    links: Vec<Link>,
    working: Mutex<Option<usize>>,
    probe: Mutex<Probe>,
    options: ClientOptions,
}

impl ChainedTokenCredential {
    /// A chain of the given links; a link that could not be built is reported when the chain fails.
    pub fn new(links: Vec<(&'static str, Result<AnyCredential>)>) -> Self {
        Self::named("ChainedTokenCredential", links, ClientOptions::default())
    }

    fn named(name: &'static str, links: Vec<(&'static str, Result<AnyCredential>)>, options: ClientOptions) -> Self {
        ChainedTokenCredential {
            name,
            links: links.into_iter().map(|(name, credential)| Link { name, credential }).collect(),
            working: Mutex::new(None),
            probe: Mutex::new(Probe::Unknown),
            options,
        }
    }

    /// The chain's name: `ChainedTokenCredential`, or `DefaultAzureCredential`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The links' names, in order.
    pub fn links(&self) -> Vec<&'static str> {
        self.links.iter().map(|l| l.name).collect()
    }

    /// The link that worked, once one has.
    pub fn working_link(&self) -> Option<&'static str> {
        self.working.lock().unwrap_or_else(|p| p.into_inner()).map(|i| self.links[i].name)
    }

    /// A cached token from the working link, if any; never does I/O.
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        let index = (*self.working.lock().unwrap_or_else(|p| p.into_inner()))?;
        self.links[index].credential.as_ref().ok()?.get_token_cached(request)
    }

    /// Whether IMDS answers here at all: one bounded request without the Metadata header,
    /// which a real IMDS refuses with 400.
    async fn imds_reachable(&self, credential: &AnyCredential) -> std::result::Result<(), String> {
        let Some(source) = credential.managed_identity_source().filter(|s| s.kind == ManagedIdentitySourceKind::Imds) else {
            return Ok(());
        };
        let now = self.options.clock.now();
        match *self.probe.lock().unwrap_or_else(|p| p.into_inner()) {
            Probe::Available => return Ok(()),
            Probe::Unavailable { at } if now < at + PROBE_MEMORY_SECS => return Err("IMDS did not answer a moment ago".into()),
            _ => {}
        }
        let outcome = probe_imds(&source.endpoint, &self.options).await;
        *self.probe.lock().unwrap_or_else(|p| p.into_inner()) = if outcome.is_ok() { Probe::Available } else { Probe::Unavailable { at: now } };
        outcome
    }
}

async fn probe_imds(endpoint: &str, options: &ClientOptions) -> std::result::Result<(), String> {
    let client = crate::http::shared_client(crate::http::ClientKind::NoProxy, &crate::http::HttpOptions { connect_timeout: Duration::from_secs(1), ..options.http.clone() })?;
    let url = format!("{endpoint}?api-version=2018-02-01&resource=https://management.azure.com");
    match tokio::time::timeout(Duration::from_secs(1), client.get(&url).send()).await {
        Err(_) => Err("no managed identity endpoint (IMDS did not answer within 1 s)".into()),
        Ok(Err(e)) => Err(format!("no managed identity endpoint (IMDS unreachable: {})", if e.is_connect() { "connection failed" } else { "request failed" })),
        // Docker Desktop answers for the IMDS address with a 403 of its own.
        Ok(Ok(response)) if response.status().as_u16() == 403 => Err("no managed identity endpoint (a 403 from something that is not IMDS, as Docker Desktop sends)".into()),
        Ok(Ok(_)) => Ok(()),
    }
}

impl TokenCredential for ChainedTokenCredential {
    // A boxed future: the links are AnyCredentials, which may be chains again, and a recursive
    // `async fn` would have an infinitely sized type.
    #[allow(refining_impl_trait)]
    fn get_token(&self, request: &TokenRequest) -> crate::token::BoxFuture<'_, Result<AccessToken>> {
        let request = request.clone();
        Box::pin(async move { self.get_token_unboxed(&request).await })
    }
}

impl ChainedTokenCredential {
    async fn get_token_unboxed(&self, request: &TokenRequest) -> Result<AccessToken> {
        let remembered = *self.working.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = remembered
            && let Ok(credential) = &self.links[index].credential
        {
            return credential.get_token(request).await;
        }
        let mut failures: Vec<(&'static str, String)> = Vec::new();
        for (index, link) in self.links.iter().enumerate() {
            let credential = match &link.credential {
                Ok(c) => c,
                Err(e) => {
                    failures.push((link.name, unavailable_reason(e)));
                    continue;
                }
            };
            if let Err(why) = self.imds_reachable(credential).await {
                failures.push((link.name, why));
                continue;
            }
            match credential.get_token(request).await {
                Ok(token) => {
                    *self.working.lock().unwrap_or_else(|p| p.into_inner()) = Some(index);
                    return Ok(token);
                }
                Err(e @ Error::CredentialUnavailable { .. }) => failures.push((link.name, unavailable_reason(&e))),
                // A link that is here but failed is the answer: going on would hide the cause.
                Err(e) => return Err(e),
            }
        }
        Err(Error::CredentialUnavailable { credential: self.name, message: all_failed(&failures) })
    }
}

fn unavailable_reason(e: &Error) -> String {
    match e {
        Error::CredentialUnavailable { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The report when every link failed: the most likely cause first, then every link and why.
fn all_failed(failures: &[(&'static str, String)]) -> String {
    // Links that are simply absent here say so; one that is present but failing is the likely cause.
    let absent = |why: &str| ["not set", "not both set", "not installed", "no managed identity endpoint", "did not answer a moment ago"].iter().any(|m| why.contains(m));
    let likely = failures
        .iter()
        .find(|(_, why)| !absent(why))
        .map(|(name, why)| format!("{name}: {why}"))
        .unwrap_or_else(|| {
            "nothing to authenticate with here: on a laptop run `az login` (or `azd auth login`), or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET; on Azure, assign a managed identity to this host".to_owned()
        });
    let list: Vec<String> = failures.iter().enumerate().map(|(i, (name, why))| format!("{}. {name}: {why}", i + 1)).collect();
    format!("no credential could get a token. Most likely: {likely}. Tried: {}. See {}#no-credential-available", list.join("; "), crate::error::TROUBLESHOOTING)
}

/// The links of [`DefaultAzureCredential`], in chain order.
const DEFAULT_LINKS: [&str; 5] = ["EnvironmentCredential", "WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureCliCredential", "AzureDeveloperCliCredential"];

/// What azure-identity's `DefaultAzureCredential(**kwargs)` and @azure/identity's
/// `DefaultAzureCredentialOptions` change in the chain.
///
/// An `exclude_*` flag that is set wins over `AZURE_TOKEN_CREDENTIALS` either way, as in
/// azure-identity: `Some(false)` puts a link back that the variable left out.
///
/// ```
/// use entra_token::{DefaultAzureCredential, DefaultAzureCredentialOptions};
/// let chain = DefaultAzureCredential::with_options(DefaultAzureCredentialOptions {
///     exclude_environment_credential: Some(true),
///     exclude_developer_cli_credential: Some(true),
///     ..Default::default()
/// })
/// .unwrap();
/// assert_eq!(chain.links(), ["WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureCliCredential"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct DefaultAzureCredentialOptions {
    /// Authority, HTTP, clock, environment and cache for every link.
    pub client: ClientOptions,
    /// Leave out (or put back) `EnvironmentCredential`.
    pub exclude_environment_credential: Option<bool>,
    /// Leave out (or put back) `WorkloadIdentityCredential`.
    pub exclude_workload_identity_credential: Option<bool>,
    /// Leave out (or put back) `ManagedIdentityCredential`.
    pub exclude_managed_identity_credential: Option<bool>,
    /// Leave out (or put back) `AzureCliCredential`.
    pub exclude_cli_credential: Option<bool>,
    /// Leave out (or put back) `AzureDeveloperCliCredential`.
    pub exclude_developer_cli_credential: Option<bool>,
    /// The user-assigned identity the managed identity link asks for; `None` reads
    /// `AZURE_CLIENT_ID` (azure-identity's `managed_identity_client_id`, @azure/identity's
    /// `managedIdentityClientId` / `managedIdentityResourceId`).
    pub managed_identity: Option<UserAssignedId>,
    /// The client id of the workload identity link; `None` takes the managed identity's client
    /// id if one was given, else `AZURE_CLIENT_ID`.
    pub workload_identity_client_id: Option<String>,
    /// The tenant of the workload identity link; `None` takes [`Self::tenant_id`], else `AZURE_TENANT_ID`.
    pub workload_identity_tenant_id: Option<String>,
    /// The tenant for the workload identity and developer tool links (@azure/identity's `tenantId`).
    pub tenant_id: Option<String>,
    /// How long `az` / `azd` may take (azure-identity's `process_timeout`, default 10 s there,
    /// 15 s here when `None`).
    pub process_timeout: Option<Duration>,
    /// Environment variables that must be set and non-empty, or building the chain fails
    /// (@azure/identity's `requiredEnvVars`; azure-identity's `require_envvar=True` is
    /// `["AZURE_TOKEN_CREDENTIALS"]`).
    pub required_env_vars: Vec<String>,
}

/// The usual chain: environment → workload identity → managed identity → Azure CLI → Azure
/// Developer CLI, narrowed by `AZURE_TOKEN_CREDENTIALS` (`dev`, `prod`, or one credential's name)
/// and by [`DefaultAzureCredentialOptions`].
///
/// ```no_run
/// use entra_token::{DefaultAzureCredential, TokenCredential, TokenRequest};
/// # async fn run() -> entra_token::Result<()> {
/// let credential = DefaultAzureCredential::new(Default::default())?;
/// let token = credential.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await?;
/// println!("from {:?}", credential.working_link());
/// # Ok(()) }
/// ```
pub struct DefaultAzureCredential;

impl DefaultAzureCredential {
    /// The chain for this environment (`options.env`), with no other options.
    #[allow(clippy::new_ret_no_self, reason = "azure-identity's name; the chain is a ChainedTokenCredential")]
    pub fn new(options: ClientOptions) -> Result<ChainedTokenCredential> {
        Self::with_options(DefaultAzureCredentialOptions { client: options, ..Default::default() })
    }

    /// The chain for this environment, shaped by `options` (exclusions, identities, tenant, timeout).
    pub fn with_options(options: DefaultAzureCredentialOptions) -> Result<ChainedTokenCredential> {
        let env = options.client.env.clone();
        let configuration = |message: String| Error::Configuration { credential: CHAIN, message };
        let missing: Vec<&str> = options.required_env_vars.iter().filter(|name| env.get(name).is_none_or(|v| v.trim().is_empty())).map(String::as_str).collect();
        if !missing.is_empty() {
            return Err(configuration(format!("required environment variables are not set: {}", missing.join(", "))));
        }
        if options.process_timeout.is_some_and(|t| t.is_zero()) {
            return Err(configuration("the developer tools' process timeout must be longer than zero".into()));
        }
        let mut selected: Vec<bool> = match env.get("AZURE_TOKEN_CREDENTIALS").as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => vec![true; DEFAULT_LINKS.len()],
            Some(v) if v.eq_ignore_ascii_case("dev") => DEFAULT_LINKS.map(|n| n.starts_with("Azure")).to_vec(),
            Some(v) if v.eq_ignore_ascii_case("prod") => DEFAULT_LINKS.map(|n| !n.starts_with("Azure")).to_vec(),
            Some(v) => {
                if !DEFAULT_LINKS.iter().any(|n| n.eq_ignore_ascii_case(v)) {
                    return Err(configuration(format!("AZURE_TOKEN_CREDENTIALS={v:?} is not dev, prod or one of {}", DEFAULT_LINKS.join(", "))));
                }
                DEFAULT_LINKS.map(|n| n.eq_ignore_ascii_case(v)).to_vec()
            }
        };
        let excludes = [
            options.exclude_environment_credential,
            options.exclude_workload_identity_credential,
            options.exclude_managed_identity_credential,
            options.exclude_cli_credential,
            options.exclude_developer_cli_credential,
        ];
        for (keep, exclude) in selected.iter_mut().zip(excludes) {
            if let Some(exclude) = exclude {
                *keep = !exclude;
            }
        }
        let client = &options.client;
        let managed_identity = options.managed_identity.clone().or_else(|| env.get("AZURE_CLIENT_ID").map(UserAssignedId::ClientId));
        let workload_client_id = options.workload_identity_client_id.clone().or_else(|| match &options.managed_identity {
            Some(UserAssignedId::ClientId(id)) => Some(id.clone()),
            _ => None,
        });
        let workload_tenant_id = options.workload_identity_tenant_id.clone().or_else(|| options.tenant_id.clone());
        let tool_tenant_id = options.tenant_id.clone().or_else(|| env.get("AZURE_TENANT_ID"));
        let links = DEFAULT_LINKS
            .into_iter()
            .zip(selected)
            .filter(|(_, keep)| *keep)
            .map(|(name, _)| {
                let built: Result<AnyCredential> = match name {
                    "EnvironmentCredential" => EnvironmentCredential::new(client.clone()),
                    "WorkloadIdentityCredential" => match env.get("AZURE_FEDERATED_TOKEN_FILE") {
                        None => Err(Error::CredentialUnavailable { credential: "WorkloadIdentityCredential", message: "AZURE_FEDERATED_TOKEN_FILE is not set".into() }),
                        Some(_) => WorkloadIdentityCredential::new(WorkloadIdentityOptions {
                            client_id: workload_client_id.clone(),
                            tenant_id: workload_tenant_id.clone(),
                            client: client.clone(),
                            ..Default::default()
                        })
                        .map(Into::into),
                    },
                    "ManagedIdentityCredential" => ManagedIdentityCredential::new(ManagedIdentityOptions {
                        user_assigned_id: managed_identity.clone(),
                        client: client.clone(),
                        ..ManagedIdentityOptions::default()
                    })
                    .map(Into::into),
                    "AzureCliCredential" => match options.process_timeout {
                        Some(timeout) => AzureCliCredential::with_process_timeout(tool_tenant_id.clone(), client.clone(), timeout).map(Into::into),
                        None => Ok(AzureCliCredential::new(tool_tenant_id.clone(), client.clone()).into()),
                    },
                    _ => match options.process_timeout {
                        Some(timeout) => AzureDeveloperCliCredential::with_process_timeout(tool_tenant_id.clone(), client.clone(), timeout).map(Into::into),
                        None => Ok(AzureDeveloperCliCredential::new(tool_tenant_id.clone(), client.clone()).into()),
                    },
                };
                (name, built)
            })
            .collect();
        Ok(ChainedTokenCredential::named(CHAIN, links, options.client))
    }
}

impl std::fmt::Debug for ChainedTokenCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(self.name).field("links", &self.links()).field("working", &self.working_link()).finish()
    }
}
