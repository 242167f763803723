//! Managed identity: tokens from the Azure host itself, no secret anywhere.
//!
//! The source is detected from the environment in MSAL's order (protocol.md D.7): Service
//! Fabric, App Service (also Functions and Container Apps), Azure Machine Learning, Cloud Shell,
//! Azure Arc, then IMDS. Each source has its own URL, api-version, secret header, name for a
//! user-assigned id, response shape and retry rules (protocol.md sections 2 and D).

use super::ClientOptions;
use crate::authority::Authority;
use crate::cache::{CachedSource, SourceIdentity, TokenSource};
use crate::clock::Clock;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::http::{ClientKind, Http, HttpRequest, HttpResponse, RequestIdHeader, RetryPolicy};
use crate::secret::Secret;
use crate::token::{AccessToken, CacheQuery, TokenCredential, TokenRequest};
use crate::token_response::{self, TokenResponse};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

const NAME: &str = "ManagedIdentityCredential";
/// Arc's key files are tiny; anything larger is refused before it is read (protocol.md D.3).
const ARC_KEY_MAX_BYTES: u64 = 4096;

/// A user-assigned identity, by one of its three ids.
///
/// ```
/// use entra_token::UserAssignedId;
/// let id = UserAssignedId::ClientId("66666666-6666-4666-8666-666666666666".into());
/// assert_eq!(id.kind(), "client id");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserAssignedId {
    /// The identity's client (application) id.
    ClientId(String),
    /// The identity's object (principal) id.
    ObjectId(String),
    /// The identity's ARM resource id.
    ResourceId(String),
}

impl UserAssignedId {
    /// `client id`, `object id` or `resource id`.
    pub fn kind(&self) -> &'static str {
        match self {
            UserAssignedId::ClientId(_) => "client id",
            UserAssignedId::ObjectId(_) => "object id",
            UserAssignedId::ResourceId(_) => "resource id",
        }
    }

    /// The id itself.
    pub fn value(&self) -> &str {
        match self {
            UserAssignedId::ClientId(v) | UserAssignedId::ObjectId(v) | UserAssignedId::ResourceId(v) => v,
        }
    }
}

/// Where managed identity tokens come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ManagedIdentitySourceKind {
    /// Service Fabric (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `IDENTITY_SERVER_THUMBPRINT`).
    ServiceFabric,
    /// App Service, Functions, Container Apps (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
    AppService,
    /// Azure Machine Learning (`MSI_ENDPOINT`, `MSI_SECRET`).
    MachineLearning,
    /// Azure Cloud Shell (`MSI_ENDPOINT` alone).
    CloudShell,
    /// Azure Arc (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`, or the Arc agent installed).
    AzureArc,
    /// The Azure Instance Metadata Service (VMs, scale sets, AKS pod identity).
    Imds,
}

impl ManagedIdentitySourceKind {
    /// A stable name: `service_fabric`, `app_service`, `azure_ml`, `cloud_shell`, `azure_arc`, `imds`.
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedIdentitySourceKind::ServiceFabric => "service_fabric",
            ManagedIdentitySourceKind::AppService => "app_service",
            ManagedIdentitySourceKind::MachineLearning => "azure_ml",
            ManagedIdentitySourceKind::CloudShell => "cloud_shell",
            ManagedIdentitySourceKind::AzureArc => "azure_arc",
            ManagedIdentitySourceKind::Imds => "imds",
        }
    }

    /// Parses [`ManagedIdentitySourceKind::as_str`] names.
    pub fn parse(name: &str) -> Option<Self> {
        use ManagedIdentitySourceKind::*;
        [ServiceFabric, AppService, MachineLearning, CloudShell, AzureArc, Imds].into_iter().find(|k| k.as_str().eq_ignore_ascii_case(name))
    }

    /// The credential name errors carry, so they say which source failed.
    fn error_name(self) -> &'static str {
        match self {
            ManagedIdentitySourceKind::ServiceFabric => "ManagedIdentityCredential (Service Fabric)",
            ManagedIdentitySourceKind::AppService => "ManagedIdentityCredential (App Service)",
            ManagedIdentitySourceKind::MachineLearning => "ManagedIdentityCredential (Azure ML)",
            ManagedIdentitySourceKind::CloudShell => "ManagedIdentityCredential (Cloud Shell)",
            ManagedIdentitySourceKind::AzureArc => "ManagedIdentityCredential (Azure Arc)",
            ManagedIdentitySourceKind::Imds => "ManagedIdentityCredential (IMDS)",
        }
    }
}

impl fmt::Display for ManagedIdentitySourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source a credential uses, and why it was picked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedIdentitySource {
    /// The source.
    pub kind: ManagedIdentitySourceKind,
    /// The token endpoint (without secrets).
    pub endpoint: String,
    /// Which environment variables or files decided it, or that it was pinned.
    pub reason: String,
}

/// App Service's identity endpoint version. 2025-03-30 accepts `token_sha256_to_refresh`, so a
/// claims challenge gets a fresh token instead of the host's cached one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AppServiceApiVersion {
    /// `2019-08-01`, what every Microsoft library sends.
    #[default]
    V2019_08_01,
    /// `2025-03-30`, with token revocation.
    V2025_03_30,
}

impl AppServiceApiVersion {
    /// The api-version as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            AppServiceApiVersion::V2019_08_01 => "2019-08-01",
            AppServiceApiVersion::V2025_03_30 => "2025-03-30",
        }
    }
}

/// Parses `2019-08-01` or `2025-03-30` (what the bindings take as a string).
///
/// ```
/// use entra_token::AppServiceApiVersion;
/// assert_eq!("2025-03-30".parse::<AppServiceApiVersion>().unwrap(), AppServiceApiVersion::V2025_03_30);
/// assert!("2024-01-01".parse::<AppServiceApiVersion>().unwrap_err().to_string().contains("2019-08-01 or 2025-03-30"));
/// ```
impl std::str::FromStr for AppServiceApiVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "2019-08-01" => Ok(AppServiceApiVersion::V2019_08_01),
            "2025-03-30" => Ok(AppServiceApiVersion::V2025_03_30),
            other => Err(Error::Configuration { credential: "ManagedIdentityCredential", message: format!("App Service api-version {other:?} is not 2019-08-01 or 2025-03-30") }),
        }
    }
}

/// Options of [`ManagedIdentityCredential`].
///
/// ```
/// use entra_token::{ManagedIdentityOptions, ManagedIdentitySourceKind, UserAssignedId};
/// let options = ManagedIdentityOptions {
///     user_assigned_id: Some(UserAssignedId::ClientId("66666666-6666-4666-8666-666666666666".into())),
///     source: Some(ManagedIdentitySourceKind::Imds),
///     ..ManagedIdentityOptions::default()
/// };
/// assert!(options.arc_key_directory.is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManagedIdentityOptions {
    /// A user-assigned identity; `None` for the host's system-assigned identity.
    pub user_assigned_id: Option<UserAssignedId>,
    /// Use this source instead of detecting one (its environment variables must still be set).
    pub source: Option<ManagedIdentitySourceKind>,
    /// HTTP options, clock, environment, cache and client capabilities (`authority` is unused).
    pub client: ClientOptions,
    /// App Service's api-version.
    pub app_service_api_version: AppServiceApiVersion,
    /// Where Azure Arc's agent writes its key files; the platform's directory by default.
    pub arc_key_directory: Option<PathBuf>,
    /// The Arc agent's executable, whose presence means Arc; the platform's path by default.
    pub arc_agent_file: Option<PathBuf>,
}

/// A managed identity of the Azure host this code runs on.
///
/// ```no_run
/// use entra_token::{ManagedIdentityCredential, ManagedIdentityOptions, TokenCredential, TokenRequest};
/// # async fn run() -> entra_token::Result<()> {
/// let credential = ManagedIdentityCredential::new(ManagedIdentityOptions::default())?;
/// println!("source: {:?}", credential.source());
/// let token = credential.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await?;
/// # Ok(()) }
/// ```
pub struct ManagedIdentityCredential {
    inner: CachedSource<MiSource>,
}

enum Endpoint {
    Imds(Url),
    AppService { url: Url, header: Secret, api_version: AppServiceApiVersion },
    MachineLearning { url: Url, secret: Secret, default_client_id: Option<String> },
    CloudShell(Url),
    AzureArc { url: Url, key_directory: PathBuf },
    ServiceFabric { url: Url, secret: Secret },
}

struct MiSource {
    selected: ManagedIdentitySource,
    endpoint: Endpoint,
    id: Option<UserAssignedId>,
    capabilities: Vec<String>,
    http: Http,
    clock: Arc<dyn Clock>,
    identity: Arc<SourceIdentity>,
}

impl ManagedIdentityCredential {
    /// Detects the source (or takes the pinned one) and checks that it can serve the identity
    /// asked for; nothing is sent until the first `get_token`.
    pub fn new(options: ManagedIdentityOptions) -> Result<Self> {
        let (selected, endpoint) = detect(&options)?;
        let name = selected.kind.error_name();
        let config = |message: String| Error::Configuration { credential: name, message };
        if let Some(id) = &options.user_assigned_id {
            if id.value().trim().is_empty() {
                return Err(config(format!("the user-assigned {} is empty", id.kind())));
            }
            let supported = match selected.kind {
                ManagedIdentitySourceKind::Imds | ManagedIdentitySourceKind::AppService | ManagedIdentitySourceKind::AzureArc => true,
                ManagedIdentitySourceKind::MachineLearning => matches!(id, UserAssignedId::ClientId(_)),
                ManagedIdentitySourceKind::CloudShell | ManagedIdentitySourceKind::ServiceFabric => false,
            };
            if !supported {
                let why = match selected.kind {
                    ManagedIdentitySourceKind::MachineLearning => "Azure ML takes a user-assigned identity only by client id",
                    ManagedIdentitySourceKind::CloudShell => "Cloud Shell offers only the signed-in user's identity",
                    _ => "Service Fabric identities are chosen in the application manifest, not at runtime",
                };
                return Err(config(format!("a user-assigned {} cannot be used with {}: {why}", id.kind(), selected.kind)));
            }
        }
        let kind = match selected.kind {
            ManagedIdentitySourceKind::ServiceFabric => {
                let thumbprint = parse_thumbprint(&options.client.env.get("IDENTITY_SERVER_THUMBPRINT").unwrap_or_default()).map_err(config)?;
                ClientKind::PinnedSha1(thumbprint)
            }
            // Identity endpoints are link-local or loopback: a proxy could only get in the way.
            _ => ClientKind::NoProxy,
        };
        let http = Http::new(kind, options.client.http.clone(), name)?;
        let mut material = format!("{}|{}", selected.kind, selected.endpoint);
        if let Some(id) = &options.user_assigned_id {
            material.push_str(&format!("|{}={}", id.kind(), id.value()));
        }
        let client_label = options.user_assigned_id.as_ref().map(|i| i.value().to_owned()).unwrap_or_else(|| "system-assigned".into());
        let identity = SourceIdentity::new(NAME, &Authority::public(), "", &client_label, super::fingerprint(material.as_bytes()));
        let clock = options.client.clock.clone();
        let cache = options.client.cache.clone().unwrap_or_else(crate::cache::TokenCache::global);
        let source = MiSource { selected, endpoint, id: options.user_assigned_id, capabilities: options.client.client_capabilities, http, clock: clock.clone(), identity };
        Ok(ManagedIdentityCredential { inner: CachedSource::new(source, clock, cache) })
    }

    /// The source in use and why it was picked.
    pub fn source(&self) -> &ManagedIdentitySource {
        &self.inner.source().selected
    }

    /// A cached token for the request, if one is valid now; never does I/O.
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        self.inner.lookup(request)
    }
}

impl TokenCredential for ManagedIdentityCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        self.inner.get_token(request).await
    }
}

impl fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.source();
        f.debug_struct(NAME).field("source", &s.selected).field("user_assigned_id", &s.id).finish_non_exhaustive()
    }
}

/// Reads the environment the way MSAL does (empty variables count as unset).
fn detect(options: &ManagedIdentityOptions) -> Result<(ManagedIdentitySource, Endpoint)> {
    use ManagedIdentitySourceKind::*;
    let env = &options.client.env;
    let var = |name: &str| env.get(name);
    let agent_file = options.arc_agent_file.clone().or_else(default_arc_agent_file);
    let arc_agent_present = agent_file.as_deref().is_some_and(Path::is_file);
    let detected = if var("IDENTITY_ENDPOINT").is_some() && var("IDENTITY_HEADER").is_some() && var("IDENTITY_SERVER_THUMBPRINT").is_some() {
        (ServiceFabric, "IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set".to_owned())
    } else if var("IDENTITY_ENDPOINT").is_some() && var("IDENTITY_HEADER").is_some() {
        (AppService, "IDENTITY_ENDPOINT and IDENTITY_HEADER are set".to_owned())
    } else if var("MSI_ENDPOINT").is_some() && var("MSI_SECRET").is_some() {
        (MachineLearning, "MSI_ENDPOINT and MSI_SECRET are set".to_owned())
    } else if var("MSI_ENDPOINT").is_some() {
        (CloudShell, "MSI_ENDPOINT is set without MSI_SECRET".to_owned())
    } else if var("IDENTITY_ENDPOINT").is_some() && var("IMDS_ENDPOINT").is_some() {
        (AzureArc, "IDENTITY_ENDPOINT and IMDS_ENDPOINT are set".to_owned())
    } else if arc_agent_present {
        (AzureArc, format!("the Azure Arc agent is installed ({})", agent_file.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default()))
    } else {
        (Imds, "no other source's environment variables are set".to_owned())
    };
    let (kind, reason) = match options.source {
        Some(pinned) => (pinned, format!("pinned by the caller (detection would pick {}: {})", detected.0, detected.1)),
        None => detected,
    };
    let name = kind.error_name();
    let config = |message: String| Error::Configuration { credential: name, message };
    let required = |n: &str| var(n).ok_or_else(|| config(format!("{kind} needs the environment variable {n}")));
    let url = |value: String, n: &str| Url::parse(&value).map_err(|e| config(format!("{n} is not a URL ({e})")));
    let endpoint = match kind {
        Imds => {
            let base = var("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or_else(|| "http://169.254.169.254".into());
            Endpoint::Imds(url(format!("{}/metadata/identity/oauth2/token", base.trim_end_matches('/')), "AZURE_POD_IDENTITY_AUTHORITY_HOST")?)
        }
        AppService => Endpoint::AppService {
            url: url(required("IDENTITY_ENDPOINT")?, "IDENTITY_ENDPOINT")?,
            header: Secret::new(required("IDENTITY_HEADER")?),
            api_version: options.app_service_api_version,
        },
        MachineLearning => Endpoint::MachineLearning {
            url: url(required("MSI_ENDPOINT")?, "MSI_ENDPOINT")?,
            secret: Secret::new(required("MSI_SECRET")?),
            default_client_id: var("DEFAULT_IDENTITY_CLIENT_ID"),
        },
        CloudShell => Endpoint::CloudShell(url(required("MSI_ENDPOINT")?, "MSI_ENDPOINT")?),
        AzureArc => {
            let endpoint = var("IDENTITY_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:40342/metadata/identity/oauth2/token".into());
            let key_directory = options
                .arc_key_directory
                .clone()
                .or_else(default_arc_key_directory)
                .ok_or_else(|| config(format!("Azure Arc is not supported on {}", std::env::consts::OS)))?;
            Endpoint::AzureArc { url: url(endpoint, "IDENTITY_ENDPOINT")?, key_directory }
        }
        ServiceFabric => {
            let url = url(required("IDENTITY_ENDPOINT")?, "IDENTITY_ENDPOINT")?;
            // The secret header must never travel in clear text (protocol.md D.4).
            if url.scheme() != "https" {
                return Err(config(format!("the Service Fabric endpoint must be https, not {}", url.scheme())));
            }
            parse_thumbprint(&required("IDENTITY_SERVER_THUMBPRINT")?).map_err(config)?;
            Endpoint::ServiceFabric { url, secret: Secret::new(required("IDENTITY_HEADER")?) }
        }
    };
    let shown = match &endpoint {
        Endpoint::Imds(u) | Endpoint::CloudShell(u) => u,
        Endpoint::AppService { url, .. } | Endpoint::MachineLearning { url, .. } | Endpoint::AzureArc { url, .. } | Endpoint::ServiceFabric { url, .. } => url,
    };
    Ok((ManagedIdentitySource { kind, endpoint: crate::authority::without_query(shown), reason }, endpoint))
}

fn default_arc_agent_file() -> Option<PathBuf> {
    match std::env::consts::OS {
        "linux" => Some(PathBuf::from("/opt/azcmagent/bin/himds")),
        "windows" => std::env::var_os("ProgramFiles").map(|p| PathBuf::from(p).join("AzureConnectedMachineAgent").join("himds.exe")),
        _ => None,
    }
}

fn default_arc_key_directory() -> Option<PathBuf> {
    match std::env::consts::OS {
        "linux" => Some(PathBuf::from("/var/opt/azcmagent/tokens")),
        "windows" => std::env::var_os("ProgramData").map(|p| PathBuf::from(p).join("AzureConnectedMachineAgent").join("Tokens")),
        _ => None,
    }
}

/// `IDENTITY_SERVER_THUMBPRINT`: 40 hex digits, any case, colons allowed.
fn parse_thumbprint(text: &str) -> std::result::Result<[u8; 20], String> {
    let hex: String = text.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect();
    let bad = || format!("IDENTITY_SERVER_THUMBPRINT {text:?} is not a SHA-1 thumbprint (40 hex digits)");
    if hex.len() != 40 {
        return Err(bad());
    }
    let mut out = [0u8; 20];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

impl TokenSource for MiSource {
    fn identity(&self) -> &Arc<SourceIdentity> {
        &self.identity
    }

    fn resolve_tenant<'a>(&'a self, _tenant_id: Option<&'a str>) -> Result<&'a str> {
        // A managed identity lives in its host's tenant; there is nothing to choose.
        Ok("")
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<TokenResponse> {
        let name = self.selected.kind.error_name();
        let config = |message: String| Error::Configuration { credential: name, message };
        let resource = crate::scope::single_resource(request.scopes()).map_err(config)?.to_owned();
        let id_param = |names: [&'static str; 3]| {
            self.id.as_ref().map(|id| match id {
                UserAssignedId::ClientId(v) => (names[0], v.clone()),
                UserAssignedId::ObjectId(v) => (names[1], v.clone()),
                UserAssignedId::ResourceId(v) => (names[2], v.clone()),
            })
        };
        let get = |url: &Url, query: Vec<(&str, String)>| {
            let mut url = url.clone();
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
            HttpRequest::get(url, RequestIdHeader::ManagedIdentity)
        };
        let (policy, http_request, echo) = match &self.endpoint {
            Endpoint::Imds(url) => {
                let mut query = vec![("api-version", "2018-02-01".to_owned()), ("resource", resource)];
                query.extend(id_param(["client_id", "object_id", "msi_res_id"]));
                (RetryPolicy::Imds, get(url, query).header("metadata", "true", false).map_err(config)?, None)
            }
            Endpoint::AppService { url, header, api_version } => {
                let mut query = vec![("api-version", api_version.as_str().to_owned()), ("resource", resource)];
                query.extend(id_param(["client_id", "object_id", "mi_res_id"]));
                if *api_version == AppServiceApiVersion::V2025_03_30 {
                    query.extend(self.revocation_params(request));
                }
                (RetryPolicy::ManagedIdentity, get(url, query).header("x-identity-header", header.expose_secret(), true).map_err(config)?, None)
            }
            Endpoint::MachineLearning { url, secret, default_client_id } => {
                let mut query = vec![("api-version", "2017-09-01".to_owned()), ("resource", resource)];
                match &self.id {
                    Some(id) => query.push(("clientid", id.value().to_owned())),
                    None => query.extend(default_client_id.clone().map(|c| ("clientid", c))),
                }
                let request = get(url, query).header("secret", secret.expose_secret(), true).and_then(|r| r.header("metadata", "true", false)).map_err(config)?;
                (RetryPolicy::ManagedIdentity, request, None)
            }
            Endpoint::CloudShell(url) => {
                let request = HttpRequest::post_form(url.clone(), vec![("resource", resource)], RequestIdHeader::ManagedIdentity).header("metadata", "true", false).map_err(config)?;
                (RetryPolicy::ManagedIdentity, request, None)
            }
            Endpoint::AzureArc { url, key_directory } => {
                let mut query = vec![("api-version", "2020-06-01".to_owned()), ("resource", resource)];
                let id = id_param(["client_id", "object_id", "msi_res_id"]);
                query.extend(id.clone());
                let challenge = get(url, query.clone()).header("metadata", "true", false).map_err(config)?;
                let first = self.http.send(name, RetryPolicy::ManagedIdentity, challenge).await?;
                let secret = arc_secret(&first, key_directory).map_err(|reason| match reason {
                    ArcFailure::NoChallenge => first.service_error(name),
                    ArcFailure::Refused(message) => Error::CredentialUnavailable { credential: name, message },
                })?;
                let request = get(url, query)
                    .header("metadata", "true", false)
                    .and_then(|r| r.header("authorization", &format!("Basic {}", secret.expose_secret()), true))
                    .map_err(config)?;
                (RetryPolicy::ManagedIdentity, request, id)
            }
            Endpoint::ServiceFabric { url, secret } => {
                let mut query = vec![("api-version", "2019-07-01-preview".to_owned()), ("resource", resource)];
                query.extend(self.revocation_params(request));
                (RetryPolicy::ManagedIdentity, get(url, query).header("secret", secret.expose_secret(), true).map_err(config)?, None)
            }
        };
        let response = self.http.send(name, policy, http_request).await?;
        if !response.is_success() {
            return Err(response.service_error(name));
        }
        let parsed = token_response::parse(&response.body, self.clock.now()).map_err(|reason| response.invalid(name, reason))?;
        if let Some((param, expected)) = echo {
            // Fail closed: a token for another identity must never be used or cached (D.3).
            let echoed = parsed.body.get(param).or_else(|| if param == "msi_res_id" { parsed.body.get("mi_res_id") } else { None }).and_then(|v| v.as_str());
            if !echoed.is_some_and(|e| e.eq_ignore_ascii_case(&expected)) {
                return Err(response.invalid(name, format!("the response does not confirm the user-assigned identity ({param} {expected:?} expected, {echoed:?} received)")));
            }
        }
        Ok(parsed)
    }
}

impl MiSource {
    /// `token_sha256_to_refresh` of the token a resource rejected (with a claims challenge), and
    /// the client capabilities, for sources that accept them (protocol.md D.10).
    fn revocation_params(&self, request: &TokenRequest) -> Vec<(&'static str, String)> {
        use sha2::{Digest, Sha256};
        let mut params = Vec::new();
        if request.claims().is_some()
            && let Some(rejected) = request.rejected_token()
        {
            let hash = Sha256::digest(rejected.expose_secret().as_bytes());
            params.push(("token_sha256_to_refresh", hash.iter().map(|b| format!("{b:02x}")).collect()));
        }
        let mut capabilities = self.capabilities.clone();
        if request.cae() && !capabilities.iter().any(|c| c == "cp1") {
            capabilities.push("cp1".into());
        }
        if !capabilities.is_empty() {
            params.push(("xms_cc", capabilities.join(",")));
        }
        params
    }
}

enum ArcFailure {
    /// Not the 401 challenge: the response is an ordinary error.
    NoChallenge,
    /// The challenge or its key file failed a check; nothing was sent.
    Refused(String),
}

/// Reads the secret Arc's challenge points at, after every check protocol.md D.3 lists: the
/// canonical path sits directly in the key directory, ends in `.key`, and is at most 4096 bytes
/// (checked before reading).
fn arc_secret(first: &HttpResponse, key_directory: &Path) -> std::result::Result<Secret, ArcFailure> {
    if first.status != 401 {
        return Err(ArcFailure::NoChallenge);
    }
    let refused = |m: String| ArcFailure::Refused(m);
    let header = first
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refused("Azure Arc answered 401 without a WWW-Authenticate challenge".into()))?;
    let (scheme, path) = header.split_once('=').ok_or_else(|| refused(format!("unrecognised Azure Arc challenge {header:?}")))?;
    if !scheme.trim().eq_ignore_ascii_case("basic realm") {
        return Err(refused(format!("unrecognised Azure Arc challenge {header:?}")));
    }
    let path = Path::new(path.trim());
    if path.extension().is_none_or(|e| e != "key") {
        return Err(refused(format!("the Azure Arc key file {} does not end in .key", path.display())));
    }
    let canonical = path.canonicalize().map_err(|e| refused(format!("cannot resolve the Azure Arc key file {}: {e}", path.display())))?;
    let directory = key_directory.canonicalize().map_err(|e| refused(format!("cannot resolve the Azure Arc key directory {}: {e}", key_directory.display())))?;
    if canonical.parent() != Some(directory.as_path()) {
        return Err(refused(format!("the Azure Arc key file {} is not in {}", path.display(), key_directory.display())));
    }
    let size = std::fs::metadata(&canonical).map_err(|e| refused(format!("cannot read the Azure Arc key file: {e}")))?.len();
    if size > ARC_KEY_MAX_BYTES {
        return Err(refused(format!("the Azure Arc key file is {size} bytes, more than the {ARC_KEY_MAX_BYTES} a key file can be")));
    }
    let text = std::fs::read_to_string(&canonical).map_err(|e| refused(format!("cannot read the Azure Arc key file: {e}")))?;
    Ok(Secret::new(text))
}

/// The environment variables a managed identity source reads (for `doctor`-style reports).
pub fn managed_identity_environment(env: &Env) -> Vec<(&'static str, bool)> {
    [
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "IDENTITY_SERVER_THUMBPRINT",
        "IMDS_ENDPOINT",
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "DEFAULT_IDENTITY_CLIENT_ID",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    ]
    .into_iter()
    .map(|n| (n, env.get(n).is_some()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> ManagedIdentityOptions {
        ManagedIdentityOptions {
            client: ClientOptions { env: Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))), ..ClientOptions::default() },
            arc_agent_file: Some(PathBuf::from("/nonexistent/himds")),
            arc_key_directory: Some(std::env::temp_dir()),
            ..ManagedIdentityOptions::default()
        }
    }

    fn kind(pairs: &[(&str, &str)]) -> ManagedIdentitySourceKind {
        ManagedIdentityCredential::new(options(pairs)).unwrap().source().kind
    }

    #[test]
    fn detection_follows_msal_order_with_conflicting_variables() {
        use ManagedIdentitySourceKind::*;
        let all = [
            ("IDENTITY_ENDPOINT", "https://localhost:2377/metadata/identity/oauth2/token"),
            ("IDENTITY_HEADER", "h"),
            ("IDENTITY_SERVER_THUMBPRINT", "ab:AB:abababababababababababababababababab"),
            ("MSI_ENDPOINT", "http://localhost:7071/msi/token"),
            ("MSI_SECRET", "s"),
            ("IMDS_ENDPOINT", "http://localhost:40342"),
        ];
        assert_eq!(kind(&all), ServiceFabric);
        assert_eq!(kind(&all[..2]), AppService);
        assert_eq!(kind(&[all[0], all[1], all[3], all[4], all[5]]), AppService, "App Service beats ML and Arc");
        assert_eq!(kind(&all[3..]), MachineLearning, "ML beats Arc");
        assert_eq!(kind(&[all[3], all[5]]), CloudShell);
        assert_eq!(kind(&[all[0], all[5]]), AzureArc);
        assert_eq!(kind(&[("IDENTITY_HEADER", "h"), ("MSI_SECRET", "s")]), Imds, "half a source is no source");
        assert_eq!(kind(&[("IDENTITY_ENDPOINT", ""), ("IDENTITY_HEADER", "h")]), Imds, "empty counts as unset");
    }

    #[test]
    fn the_arc_agent_file_means_arc() {
        let dir = std::env::temp_dir().join(format!("entra-mi-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let agent = dir.join("himds");
        std::fs::write(&agent, b"").unwrap();
        let credential = ManagedIdentityCredential::new(ManagedIdentityOptions { arc_agent_file: Some(agent.clone()), ..options(&[]) }).unwrap();
        assert_eq!(credential.source().kind, ManagedIdentitySourceKind::AzureArc);
        assert!(credential.source().reason.contains("agent is installed"), "{:?}", credential.source());
        assert_eq!(credential.source().endpoint, "http://127.0.0.1:40342/metadata/identity/oauth2/token");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn pinned_source_says_so_and_needs_its_variables() {
        let credential = ManagedIdentityCredential::new(ManagedIdentityOptions { source: Some(ManagedIdentitySourceKind::Imds), ..options(&[("MSI_ENDPOINT", "http://x")]) }).unwrap();
        assert!(credential.source().reason.starts_with("pinned by the caller (detection would pick cloud_shell"), "{:?}", credential.source());
        let err = ManagedIdentityCredential::new(ManagedIdentityOptions { source: Some(ManagedIdentitySourceKind::AppService), ..options(&[]) }).unwrap_err();
        assert!(err.to_string().contains("IDENTITY_ENDPOINT"), "{err}");
    }

    #[test]
    fn unsupported_id_kinds_fail_before_any_request() {
        let with = |id: UserAssignedId, env: &[(&str, &str)]| ManagedIdentityCredential::new(ManagedIdentityOptions { user_assigned_id: Some(id), ..options(env) });
        let ml = [("MSI_ENDPOINT", "http://localhost:7071/msi/token"), ("MSI_SECRET", "s")];
        assert!(with(UserAssignedId::ClientId("c".into()), &ml).is_ok());
        let err = with(UserAssignedId::ObjectId("o".into()), &ml).unwrap_err();
        assert!(err.to_string().contains("Azure ML takes a user-assigned identity only by client id"), "{err}");
        assert_eq!(err.kind_code(), "configuration");
        assert!(with(UserAssignedId::ClientId("c".into()), &[("MSI_ENDPOINT", "http://x")]).is_err(), "Cloud Shell");
        assert!(with(UserAssignedId::ResourceId("/r".into()), &[]).is_ok(), "IMDS takes every kind");
        assert!(with(UserAssignedId::ClientId(" ".into()), &[]).is_err(), "empty id");
    }

    #[test]
    fn service_fabric_needs_https_and_a_real_thumbprint() {
        let sf = |endpoint: &str, thumb: &str| ManagedIdentityCredential::new(options(&[("IDENTITY_ENDPOINT", endpoint), ("IDENTITY_HEADER", "h"), ("IDENTITY_SERVER_THUMBPRINT", thumb)]));
        let err = sf("http://localhost:2377/token", &"ab".repeat(20)).unwrap_err();
        assert!(err.to_string().contains("must be https"), "{err}");
        let err = sf("https://localhost:2377/token", "abc").unwrap_err();
        assert!(err.to_string().contains("not a SHA-1 thumbprint"), "{err}");
        assert!(parse_thumbprint("AB:cd:").is_err());
        assert_eq!(parse_thumbprint(&"Ab".repeat(20)).unwrap(), [0xab; 20]);
    }

    #[test]
    fn pod_identity_host_replaces_imds_base() {
        let credential = ManagedIdentityCredential::new(options(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://localhost:1234//")])).unwrap();
        assert_eq!(credential.source().endpoint, "http://localhost:1234/metadata/identity/oauth2/token");
    }

    #[test]
    fn debug_output_hides_the_identity_header() {
        let credential = ManagedIdentityCredential::new(options(&[("IDENTITY_ENDPOINT", "http://localhost/msi/token"), ("IDENTITY_HEADER", "very-secret-header")])).unwrap();
        let shown = format!("{credential:?}");
        assert!(shown.contains("AppService") && !shown.contains("very-secret-header"), "{shown}");
    }
}
