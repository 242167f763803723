//! Configuration in the shape Microsoft.Identity.Web users already write in appsettings.json:
//! an `AzureAd` section (`Instance`, `TenantId`, `ClientId`, `ClientCredentials`) and downstream
//! API sections (one named section such as `DownstreamApi`, or a `DownstreamApis` map), with
//! `AzureAd__TenantId`-style environment variables overriding the file, so secrets need not sit
//! in it. Switching a downstream API from a client secret to a managed identity is a
//! configuration change: add `AcquireTokenOptions.ManagedIdentity` to its section.
//!
//! ```
//! use entra_token::config::AppSettings;
//! let settings = AppSettings::from_json_str(r#"{
//!   "AzureAd": { "Instance": "https://login.microsoftonline.com/", "TenantId": "contoso.onmicrosoft.com",
//!                "ClientId": "00000000-0000-0000-0000-000000000001",
//!                "ClientCredentials": [ { "SourceType": "ClientSecret", "ClientSecret": "s" } ] },
//!   "DownstreamApi": { "BaseUrl": "https://weather/", "Scopes": [ "api://weather/.default" ] }
//! }"#, None, &entra_token::Env::from_pairs(Vec::<(String, String)>::new())).unwrap();
//! assert_eq!(settings.api("DownstreamApi").unwrap().scopes, vec!["api://weather/.default"]);
//! ```

use crate::authority::Authority;
use crate::credential::{
    AnyCredential, CertificateInput, CertificateOptions, ClientAssertionCredential, ClientCertificateCredential, ClientOptions, ClientSecretCredential,
    ManagedIdentityCredential, ManagedIdentityOptions, UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityOptions,
};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::{AccessToken, CacheQuery, TokenCredential, TokenRequest};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

const NAME: &str = "configuration";

fn config_error(path: &str, message: impl std::fmt::Display) -> Error {
    Error::Configuration { credential: NAME, message: format!("{path}: {message}") }
}

/// How one credential of `AzureAd.ClientCredentials` is described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialDescription {
    /// `SourceType: ClientSecret` with `ClientSecret`.
    ClientSecret(Secret),
    /// `SourceType: Path` with `CertificateDiskPath` (and `CertificatePassword` for a PFX).
    CertificatePath {
        /// The PEM or PFX file.
        path: PathBuf,
        /// The PFX password.
        password: Option<Secret>,
    },
    /// `SourceType: Base64Encoded` with `Base64EncodedValue` (a PFX or PEM).
    CertificateBase64 {
        /// The base64 text.
        data: Secret,
        /// The PFX password.
        password: Option<Secret>,
    },
    /// `SourceType: SignedAssertionFilePath` with `SignedAssertionFileDiskPath` (workload
    /// identity; the path defaults to `AZURE_FEDERATED_TOKEN_FILE`).
    SignedAssertionFilePath(Option<PathBuf>),
    /// `SourceType: SignedAssertionFromManagedIdentity` (managed identity as federated
    /// credential), optionally `ManagedIdentityClientId` and `TokenExchangeUrl`.
    SignedAssertionFromManagedIdentity {
        /// A user-assigned identity's client id; the system-assigned identity when absent.
        managed_identity_client_id: Option<String>,
        /// The token exchange audience (`api://AzureADTokenExchange` by default).
        token_exchange_url: Option<String>,
    },
}

impl CredentialDescription {
    /// A short name for reports (`ClientSecret`, `Path`, ...): never the secret.
    pub fn kind(&self) -> &'static str {
        match self {
            CredentialDescription::ClientSecret(_) => "ClientSecret",
            CredentialDescription::CertificatePath { .. } => "Path",
            CredentialDescription::CertificateBase64 { .. } => "Base64Encoded",
            CredentialDescription::SignedAssertionFilePath(_) => "SignedAssertionFilePath",
            CredentialDescription::SignedAssertionFromManagedIdentity { .. } => "SignedAssertionFromManagedIdentity",
        }
    }
}

/// The `AzureAd` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AzureAdSettings {
    /// `Instance`: the authority host (`https://login.microsoftonline.com/` by default).
    pub instance: Option<String>,
    /// `TenantId`.
    pub tenant_id: Option<String>,
    /// `ClientId`.
    pub client_id: Option<String>,
    /// `ClientCredentials`, tried in order.
    pub client_credentials: Vec<CredentialDescription>,
    /// `AzureRegion`: an ESTS-R region name, or `TryAutoDetect` to ask IMDS (MSAL.NET's
    /// `ConfidentialClientApplicationOptions.AzureRegion`, which Microsoft.Identity.Web reads).
    pub azure_region: Option<String>,
}

/// A downstream API section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DownstreamApiSettings {
    /// `BaseUrl`.
    pub base_url: Option<String>,
    /// `RelativePath`.
    pub relative_path: Option<String>,
    /// `Scopes`.
    pub scopes: Vec<String>,
    /// `RequestAppToken` (app tokens are the only kind this library acquires).
    pub request_app_token: bool,
    /// `HttpMethod` (GET by default).
    pub http_method: Option<String>,
    /// `AcquireTokenOptions.ManagedIdentity`: `Some(None)` for system-assigned, `Some(Some(id))`
    /// for `UserAssignedClientId`.
    pub managed_identity: Option<Option<String>>,
}

/// A loaded appsettings file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSettings {
    /// The `AzureAd` section (empty when absent).
    pub azure_ad: AzureAdSettings,
    /// Downstream API sections by name (`DownstreamApis` entries and named top-level sections).
    pub apis: BTreeMap<String, DownstreamApiSettings>,
    /// The directory relative certificate paths resolve against.
    pub base_dir: Option<PathBuf>,
}

const AZURE_AD_KEYS: &[&str] = &[
    "Instance",
    "TenantId",
    "ClientId",
    "ClientCredentials",
    "Domain",
    "CallbackPath",
    "SignedOutCallbackPath",
    "Authority",
    "Audience",
    "Audiences",
    "ClientCapabilities",
    "AzureRegion",
];
const CREDENTIAL_KEYS: &[&str] = &[
    "SourceType",
    "ClientSecret",
    "CertificateDiskPath",
    "CertificatePassword",
    "Base64EncodedValue",
    "SignedAssertionFileDiskPath",
    "ManagedIdentityClientId",
    "TokenExchangeUrl",
];
const API_KEYS: &[&str] = &["BaseUrl", "RelativePath", "Scopes", "RequestAppToken", "HttpMethod", "AcquireTokenOptions"];
const ACQUIRE_KEYS: &[&str] = &["ManagedIdentity", "Tenant", "Claims", "ForceRefresh"];
const MI_KEYS: &[&str] = &["UserAssignedClientId"];
/// Top-level sections that are not ours (ASP.NET's), ignored without complaint.
const FOREIGN_SECTIONS: &[&str] = &["Logging", "AllowedHosts", "ConnectionStrings", "Kestrel"];

/// The known key closest to `key`, if it is close enough to be a typo.
fn closest(key: &str, known: &[&str]) -> Option<String> {
    fn distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.to_lowercase().chars().collect(), b.to_lowercase().chars().collect());
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let current = row[j + 1];
                row[j + 1] = (previous + usize::from(ca != cb)).min(row[j] + 1).min(current + 1);
                previous = current;
            }
        }
        row[b.len()]
    }
    known.iter().map(|k| (distance(key, k), *k)).filter(|(d, k)| *d <= 3.max(k.len() / 4)).min_by_key(|(d, _)| *d).map(|(_, k)| k.to_owned())
}

fn check_keys(object: &Map<String, Value>, known: &[&str], path: &str) -> Result<()> {
    for key in object.keys() {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            let hint = closest(key, known).map(|k| format!("; did you mean {k}?")).unwrap_or_else(|| format!("; known keys: {}", known.join(", ")));
            return Err(config_error(&format!("{path}.{key}"), format!("unknown key{hint}")));
        }
    }
    Ok(())
}

/// A key's value, matched without regard to case as .NET configuration does.
fn get<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn text(object: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>> {
    match get(object, key) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(config_error(&format!("{path}.{key}"), format!("expected text, found {other}"))),
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| config_error(path, "expected an object"))
}

/// Applies `Section__Key__0__Sub=value` environment variables to the JSON, as .NET's
/// configuration does (the `__` separator, array indices as keys, case-insensitive names).
fn apply_environment(root: &mut Value, env: &Env, sections: &[String]) {
    for (name, value) in env.pairs() {
        if !name.contains("__") {
            continue;
        }
        let parts: Vec<&str> = name.split("__").collect();
        if !sections.iter().any(|s| s.eq_ignore_ascii_case(parts[0])) {
            continue;
        }
        let mut node = &mut *root;
        for (i, part) in parts.iter().enumerate() {
            let last = i == parts.len() - 1;
            if let Ok(index) = part.parse::<usize>()
                && node.is_array()
            {
                let array = node.as_array_mut().expect("checked");
                while array.len() <= index {
                    array.push(Value::Object(Map::new()));
                }
                node = &mut array[index];
            } else {
                if !node.is_object() {
                    *node = Value::Object(Map::new());
                }
                let map = node.as_object_mut().expect("checked");
                let key = map.keys().find(|k| k.eq_ignore_ascii_case(part)).cloned().unwrap_or_else(|| (*part).to_owned());
                let next_is_index = parts.get(i + 1).is_some_and(|p| p.parse::<usize>().is_ok());
                let entry = map.entry(key).or_insert_with(|| if next_is_index { Value::Array(Vec::new()) } else { Value::Object(Map::new()) });
                node = entry;
            }
            if last {
                *node = Value::String(value.clone());
            }
        }
    }
}

impl AppSettings {
    /// Loads an appsettings file; relative certificate paths resolve against its directory, and
    /// `env` overrides it (`AzureAd__ClientCredentials__0__ClientSecret`, ...).
    pub fn from_file(path: &Path, env: &Env) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| config_error(&path.display().to_string(), format!("cannot read: {e}")))?;
        Self::from_json_str(&text, path.parent(), env).map_err(|e| match e {
            Error::Configuration { credential, message } => Error::Configuration { credential, message: format!("{}: {message}", path.display()) },
            other => other,
        })
    }

    /// Parses appsettings JSON (comments and trailing commas are not JSON; strip them first).
    pub fn from_json_str(text: &str, base_dir: Option<&Path>, env: &Env) -> Result<Self> {
        let mut root: Value = serde_json::from_str(text).map_err(|e| config_error(&format!("line {}", e.line()), format!("not JSON: {e}")))?;
        if !root.is_object() {
            return Err(config_error("(root)", "expected a JSON object"));
        }
        let mut sections: Vec<String> = root.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        sections.extend(["AzureAd".to_owned(), "DownstreamApis".to_owned()]);
        apply_environment(&mut root, env, &sections);
        let root = root.as_object().expect("checked above");
        let azure_ad = match get(root, "AzureAd") {
            Some(v) => parse_azure_ad(object(v, "AzureAd")?)?,
            None => AzureAdSettings::default(),
        };
        let mut apis = BTreeMap::new();
        if let Some(map) = get(root, "DownstreamApis") {
            for (name, section) in object(map, "DownstreamApis")? {
                apis.insert(name.clone(), parse_api(object(section, &format!("DownstreamApis.{name}"))?, &format!("DownstreamApis.{name}"))?);
            }
        }
        for (name, section) in root {
            let ours = ["AzureAd", "DownstreamApis"].iter().any(|k| k.eq_ignore_ascii_case(name));
            let foreign = FOREIGN_SECTIONS.iter().any(|k| k.eq_ignore_ascii_case(name));
            // A top-level object with API keys is a downstream API section named by the user.
            if !ours && !foreign && section.as_object().is_some_and(|o| o.keys().any(|k| ["BaseUrl", "Scopes"].iter().any(|a| a.eq_ignore_ascii_case(k)))) {
                apis.insert(name.clone(), parse_api(object(section, name)?, name)?);
            }
        }
        Ok(AppSettings { azure_ad, apis, base_dir: base_dir.map(Path::to_path_buf) })
    }

    /// The downstream API section `name` (a `DownstreamApis` entry or a top-level section).
    pub fn api(&self, name: &str) -> Result<&DownstreamApiSettings> {
        self.apis.get(name).or_else(|| self.apis.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)).ok_or_else(|| {
            let known: Vec<&str> = self.apis.keys().map(String::as_str).collect();
            let hint = closest(name, &known).map(|k| format!("; did you mean {k}?")).unwrap_or_else(|| format!("; sections with BaseUrl/Scopes: {}", known.join(", ")));
            config_error(name, format!("no such downstream API section{hint}"))
        })
    }

    /// The credential a downstream API's tokens come from: its managed identity when its
    /// section asks for one, else `AzureAd`'s client credentials, tried in order.
    pub fn credential_for(&self, api_name: Option<&str>, options: &ClientOptions) -> Result<ConfiguredCredential> {
        let api = api_name.map(|n| self.api(n)).transpose()?;
        if let Some(choice) = api.and_then(|a| a.managed_identity.clone()) {
            let path = format!("{}.AcquireTokenOptions.ManagedIdentity", api_name.unwrap_or_default());
            let credential = ManagedIdentityCredential::new(ManagedIdentityOptions {
                user_assigned_id: choice.map(UserAssignedId::ClientId),
                client: options.clone(),
                ..ManagedIdentityOptions::default()
            })?;
            return Ok(ConfiguredCredential::new(vec![(path, credential.into())]));
        }
        self.client_credentials(options)
    }

    fn client_credentials(&self, options: &ClientOptions) -> Result<ConfiguredCredential> {
        let ad = &self.azure_ad;
        let tenant = ad.tenant_id.as_deref().ok_or_else(|| config_error("AzureAd.TenantId", "required (the tenant id or domain of the app registration)"))?;
        let client_id = ad.client_id.as_deref().ok_or_else(|| config_error("AzureAd.ClientId", "required (the app registration's application id)"))?;
        if ad.client_credentials.is_empty() {
            return Err(config_error(
                "AzureAd.ClientCredentials",
                "required: add a credential (ClientSecret, a certificate, SignedAssertionFilePath or SignedAssertionFromManagedIdentity), or AcquireTokenOptions.ManagedIdentity to the downstream API section",
            ));
        }
        let mut options = options.clone();
        if let Some(instance) = &ad.instance {
            options.authority = Some(Authority::entra(instance).map_err(|m| config_error("AzureAd.Instance", m))?);
        }
        if let Some(region) = &ad.azure_region {
            let authority = match options.authority.take() {
                Some(a) => a,
                None => Authority::from_env(&options.env).map_err(|m| config_error("AzureAd.Instance", m))?,
            };
            options.authority = Some(authority.with_region(region));
        }
        let mut links = Vec::new();
        let mut failures = Vec::new();
        for (i, description) in ad.client_credentials.iter().enumerate() {
            let path = format!("AzureAd.ClientCredentials[{i}] ({})", description.kind());
            match self.build(description, tenant, client_id, &options) {
                Ok(credential) => links.push((path, credential)),
                // Like Microsoft.Identity.Web: a credential that cannot be loaded is skipped.
                Err(e) => failures.push(format!("{path}: {e}")),
            }
        }
        if links.is_empty() {
            return Err(config_error("AzureAd.ClientCredentials", format!("no credential could be loaded: {}", failures.join("; "))));
        }
        Ok(ConfiguredCredential::new(links))
    }

    fn build(&self, description: &CredentialDescription, tenant: &str, client_id: &str, options: &ClientOptions) -> Result<AnyCredential> {
        let resolve = |p: &Path| match &self.base_dir {
            Some(base) if p.is_relative() => base.join(p),
            _ => p.to_path_buf(),
        };
        Ok(match description {
            CredentialDescription::ClientSecret(secret) => ClientSecretCredential::with_options(tenant, client_id, secret.clone(), options.clone())?.into(),
            CredentialDescription::CertificatePath { path, password } => {
                let input = CertificateInput::File { path: resolve(path), password: password.clone() };
                ClientCertificateCredential::new(tenant, client_id, input, CertificateOptions { client: options.clone(), ..Default::default() })?.into()
            }
            CredentialDescription::CertificateBase64 { data, password } => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data.expose_secret().trim())
                    .map_err(|e| config_error("Base64EncodedValue", format!("not base64: {e}")))?;
                let input = CertificateInput::Bytes { data: bytes, password: password.clone() };
                ClientCertificateCredential::new(tenant, client_id, input, CertificateOptions { client: options.clone(), ..Default::default() })?.into()
            }
            CredentialDescription::SignedAssertionFilePath(path) => WorkloadIdentityCredential::new(WorkloadIdentityOptions {
                tenant_id: Some(tenant.to_owned()),
                client_id: Some(client_id.to_owned()),
                token_file_path: path.as_deref().map(resolve),
                client: options.clone(),
                ..Default::default()
            })?
            .into(),
            CredentialDescription::SignedAssertionFromManagedIdentity { managed_identity_client_id, token_exchange_url } => {
                let identity = ManagedIdentityCredential::new(ManagedIdentityOptions {
                    user_assigned_id: managed_identity_client_id.clone().map(UserAssignedId::ClientId),
                    client: options.clone(),
                    ..ManagedIdentityOptions::default()
                })?;
                ClientAssertionCredential::with_managed_identity(tenant, client_id, identity, token_exchange_url.clone(), options.clone())?.into()
            }
        })
    }
}

fn parse_azure_ad(section: &Map<String, Value>) -> Result<AzureAdSettings> {
    check_keys(section, AZURE_AD_KEYS, "AzureAd")?;
    let mut settings = AzureAdSettings {
        instance: text(section, "Instance", "AzureAd")?,
        tenant_id: text(section, "TenantId", "AzureAd")?,
        client_id: text(section, "ClientId", "AzureAd")?,
        client_credentials: Vec::new(),
        azure_region: text(section, "AzureRegion", "AzureAd")?,
    };
    if let Some(list) = get(section, "ClientCredentials") {
        let list = list.as_array().ok_or_else(|| config_error("AzureAd.ClientCredentials", "expected a list of credential descriptions"))?;
        for (i, item) in list.iter().enumerate() {
            let path = format!("AzureAd.ClientCredentials[{i}]");
            settings.client_credentials.push(parse_credential(object(item, &path)?, &path)?);
        }
    }
    Ok(settings)
}

fn parse_credential(item: &Map<String, Value>, path: &str) -> Result<CredentialDescription> {
    check_keys(item, CREDENTIAL_KEYS, path)?;
    let field = |k: &str| text(item, k, path);
    let source = field("SourceType")?.ok_or_else(|| config_error(&format!("{path}.SourceType"), "required (ClientSecret, Path, Base64Encoded, SignedAssertionFilePath, SignedAssertionFromManagedIdentity)"))?;
    // Each kind's own keys; a key of another kind means two conflicting descriptions in one.
    let own: &[&str] = match source.to_ascii_lowercase().as_str() {
        "clientsecret" => &["ClientSecret"],
        "path" => &["CertificateDiskPath", "CertificatePassword"],
        "base64encoded" => &["Base64EncodedValue", "CertificatePassword"],
        "signedassertionfilepath" => &["SignedAssertionFileDiskPath"],
        "signedassertionfrommanagedidentity" => &["ManagedIdentityClientId", "TokenExchangeUrl"],
        other => {
            let known = ["ClientSecret", "Path", "Base64Encoded", "SignedAssertionFilePath", "SignedAssertionFromManagedIdentity"];
            let hint = closest(other, &known).map(|k| format!("; did you mean {k}?")).unwrap_or_default();
            return Err(config_error(&format!("{path}.SourceType"), format!("'{source}' is not supported here{hint} (supported: {})", known.join(", "))));
        }
    };
    for key in item.keys() {
        if !key.eq_ignore_ascii_case("SourceType") && !own.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(config_error(&format!("{path}.{key}"), format!("conflicts with SourceType {source}: one description holds one credential kind; add another entry to ClientCredentials")));
        }
    }
    let required = |k: &str| -> Result<String> { field(k)?.ok_or_else(|| config_error(&format!("{path}.{k}"), format!("required for SourceType {source}"))) };
    let password = field("CertificatePassword")?.map(Secret::new);
    Ok(match source.to_ascii_lowercase().as_str() {
        "clientsecret" => CredentialDescription::ClientSecret(Secret::new(required("ClientSecret")?)),
        "path" => CredentialDescription::CertificatePath { path: required("CertificateDiskPath")?.into(), password },
        "base64encoded" => CredentialDescription::CertificateBase64 { data: Secret::new(required("Base64EncodedValue")?), password },
        "signedassertionfilepath" => CredentialDescription::SignedAssertionFilePath(field("SignedAssertionFileDiskPath")?.map(PathBuf::from)),
        _ => CredentialDescription::SignedAssertionFromManagedIdentity { managed_identity_client_id: field("ManagedIdentityClientId")?, token_exchange_url: field("TokenExchangeUrl")? },
    })
}

fn parse_api(section: &Map<String, Value>, path: &str) -> Result<DownstreamApiSettings> {
    check_keys(section, API_KEYS, path)?;
    let scopes = match get(section, "Scopes") {
        None => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| config_error(&format!("{path}.Scopes"), "expected a list of scope strings")))
            .collect::<Result<_>>()?,
        Some(other) => return Err(config_error(&format!("{path}.Scopes"), format!("expected a list of scopes, found {other}"))),
    };
    if scopes.is_empty() {
        return Err(config_error(&format!("{path}.Scopes"), "required (for example [\"api://<app id>/.default\"])"));
    }
    let request_app_token = match get(section, "RequestAppToken") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(other) => return Err(config_error(&format!("{path}.RequestAppToken"), format!("expected true or false, found {other}"))),
    };
    let mut managed_identity = None;
    if let Some(acquire) = get(section, "AcquireTokenOptions") {
        let acquire_path = format!("{path}.AcquireTokenOptions");
        let acquire = object(acquire, &acquire_path)?;
        check_keys(acquire, ACQUIRE_KEYS, &acquire_path)?;
        if let Some(mi) = get(acquire, "ManagedIdentity") {
            let mi_path = format!("{acquire_path}.ManagedIdentity");
            let mi = object(mi, &mi_path)?;
            check_keys(mi, MI_KEYS, &mi_path)?;
            managed_identity = Some(text(mi, "UserAssignedClientId", &mi_path)?);
        }
    }
    Ok(DownstreamApiSettings {
        base_url: text(section, "BaseUrl", path)?,
        relative_path: text(section, "RelativePath", path)?,
        scopes,
        request_app_token,
        http_method: text(section, "HttpMethod", path)?,
        managed_identity,
    })
}

/// The credentials a configuration describes, tried in order as Microsoft.Identity.Web tries
/// `ClientCredentials`: a credential the service rejects or that cannot work here makes way for
/// the next; the one that worked is remembered.
pub struct ConfiguredCredential {
    links: Vec<(String, AnyCredential)>,
    working: AtomicUsize,
}

impl ConfiguredCredential {
    fn new(links: Vec<(String, AnyCredential)>) -> Self {
        ConfiguredCredential { links, working: AtomicUsize::new(0) }
    }

    /// What each link is (`AzureAd.ClientCredentials[0] (ClientSecret)`, ...), in order.
    pub fn links(&self) -> Vec<&str> {
        self.links.iter().map(|(d, _)| d.as_str()).collect()
    }

    /// The link in use now.
    pub fn current(&self) -> &AnyCredential {
        &self.links[self.working.load(Ordering::Relaxed).min(self.links.len() - 1)].1
    }

    /// A cached token, if one is valid now; never does I/O.
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        self.current().get_token_cached(request)
    }
}

/// Whether another credential could do better: the service refused this one, or it cannot work.
fn worth_trying_next(error: &Error) -> bool {
    matches!(error.kind_code(), "authentication_failed" | "credential_unavailable" | "certificate" | "assertion_callback" | "configuration")
}

impl TokenCredential for ConfiguredCredential {
    // Boxed: the links are AnyCredentials, which may contain this type again.
    #[allow(refining_impl_trait)]
    fn get_token(&self, request: &TokenRequest) -> crate::token::BoxFuture<'_, Result<AccessToken>> {
        let request = request.clone();
        Box::pin(async move { self.get_token_unboxed(&request).await })
    }
}

impl ConfiguredCredential {
    async fn get_token_unboxed(&self, request: &TokenRequest) -> Result<AccessToken> {
        let start = self.working.load(Ordering::Relaxed);
        let mut last = None;
        for offset in 0..self.links.len() {
            let index = (start + offset) % self.links.len();
            match self.links[index].1.get_token(request).await {
                Ok(token) => {
                    self.working.store(index, Ordering::Relaxed);
                    return Ok(token);
                }
                Err(e) if worth_trying_next(&e) && offset + 1 < self.links.len() => {
                    tracing::info!(link = %self.links[index].0, error = %e, "credential failed; trying the next one");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| config_error("AzureAd.ClientCredentials", "no credential")))
    }
}

impl std::fmt::Debug for ConfiguredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfiguredCredential").field("links", &self.links()).field("current", self.current()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn load(text: &str) -> Result<AppSettings> {
        AppSettings::from_json_str(text, None, &env(&[]))
    }

    fn message(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn unknown_keys_name_the_path_and_the_closest_key() {
        let e = load(r#"{"AzureAd": {"TenantID": "t", "ClientIdd": "c"}}"#).unwrap_err();
        assert!(message(e).contains("AzureAd.ClientIdd: unknown key; did you mean ClientId?"));
        let e = load(r#"{"AzureAd": {"ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecert": "x"}]}}"#).unwrap_err();
        assert!(message(e).contains("AzureAd.ClientCredentials[0].ClientSecert: unknown key; did you mean ClientSecret?"));
        let e = load(r#"{"DownstreamApi": {"BaseUrl": "https://x/", "Scope": ["a"], "Scopes": ["a"]}}"#).unwrap_err();
        assert!(message(e).contains("DownstreamApi.Scope: unknown key; did you mean Scopes?"), "TenantID is fine: keys are case-insensitive");
        let e = load(r#"{"AzureAd": {"ClientCredentials": [{"SourceType": "KeyVault"}]}}"#).unwrap_err();
        assert!(message(e).contains("'KeyVault' is not supported here"));
    }

    #[test]
    fn two_conflicting_kinds_in_one_description_are_refused() {
        let e = load(r#"{"AzureAd": {"ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": "s", "CertificateDiskPath": "c.pfx"}]}}"#).unwrap_err();
        assert!(message(e).contains("AzureAd.ClientCredentials[0].CertificateDiskPath: conflicts with SourceType ClientSecret"));
    }

    #[test]
    fn missing_required_keys_name_the_path() {
        let settings = load(r#"{"AzureAd": {"ClientId": "c", "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": "s"}]}}"#).unwrap();
        let e = settings.credential_for(None, &ClientOptions::default()).unwrap_err();
        assert!(message(e).contains("AzureAd.TenantId: required"));
        let e = load(r#"{"AzureAd": {"ClientCredentials": [{"SourceType": "Path"}]}}"#).unwrap_err();
        assert!(message(e).contains("AzureAd.ClientCredentials[0].CertificateDiskPath: required for SourceType Path"));
        let e = load(r#"{"Api": {"BaseUrl": "https://x/"}}"#).unwrap_err();
        assert!(message(e).contains("Api.Scopes: required"));
    }

    #[test]
    fn environment_overrides_the_file_with_double_underscores() {
        let text = r#"{"AzureAd": {"TenantId": "from-file", "ClientId": "c", "ClientCredentials": [{"SourceType": "ClientSecret"}]},
                       "DownstreamApi": {"BaseUrl": "https://x/", "Scopes": ["a/.default"]}}"#;
        let e = env(&[("AzureAd__TenantId", "from-env"), ("AZUREAD__CLIENTCREDENTIALS__0__CLIENTSECRET", "secret-from-env"), ("DownstreamApi__Scopes__0", "b/.default"), ("Unrelated__X", "1")]);
        let settings = AppSettings::from_json_str(text, None, &e).unwrap();
        assert_eq!(settings.azure_ad.tenant_id.as_deref(), Some("from-env"));
        assert_eq!(settings.azure_ad.client_credentials, vec![CredentialDescription::ClientSecret(Secret::new("secret-from-env"))]);
        assert_eq!(settings.api("downstreamapi").unwrap().scopes, vec!["b/.default"]);
    }

    #[test]
    fn both_seed_examples_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/appsettings");
        let secret = AppSettings::from_file(&root.join("appsettings.client-credentials.json"), &env(&[])).unwrap();
        assert!(matches!(secret.azure_ad.client_credentials.as_slice(), [CredentialDescription::ClientSecret(_)]));
        assert_eq!(secret.api("DownstreamApi").unwrap().managed_identity, None);
        let mi = AppSettings::from_file(&root.join("appsettings.managed-identity.json"), &env(&[])).unwrap();
        assert!(mi.azure_ad.client_credentials.is_empty());
        assert_eq!(mi.api("DownstreamApi").unwrap().managed_identity, Some(Some("<managed identity client id>".into())));
        assert!(mi.api("DownstreamApi").unwrap().request_app_token);
    }

    #[test]
    fn unknown_api_suggests_the_closest_section() {
        let settings = load(r#"{"DownstreamApis": {"Weather": {"BaseUrl": "https://x/", "Scopes": ["a"]}}}"#).unwrap();
        assert!(message(settings.api("Waether").unwrap_err()).contains("did you mean Weather?"));
        assert!(settings.api("weather").is_ok());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let settings = load(r#"{"AzureAd": {"TenantId": "t", "ClientId": "c", "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": "hunter2"}]}}"#).unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
        let credential = settings.credential_for(None, &ClientOptions::default()).unwrap();
        assert!(!format!("{credential:?}").contains("hunter2"));
    }
}
