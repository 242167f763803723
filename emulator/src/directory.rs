//! The emulated directory: tenant, app registrations (APIs with app roles), confidential
//! clients with their secrets and certificates, managed identities, and app-role assignments.
//!
//! A directory comes from [`Directory::default`] (the built-in model the demo uses) or from a
//! TOML or JSON file ([`Directory::from_file`]); `emulator/examples/directory.toml` is the
//! commented reference. Every loaded directory is checked by [`Directory::validate`], whose
//! errors name the place (`clients[1].roles[0]`).
//!
//! ```
//! use entra_token_emulator::Directory;
//! let directory = Directory::from_toml_str(r#"
//!     tenant_id = "aaaaaaaa-0000-4000-8000-000000000001"
//!     [[apps]]
//!     app_id = "aaaaaaaa-0000-4000-8000-000000000002"
//!     identifier_uri = "api://orders"
//!     roles = ["Orders.Read"]
//!     [[clients]]
//!     client_id = "aaaaaaaa-0000-4000-8000-000000000003"
//!     secrets = ["local-only-secret"]
//!     roles = [{ api = "api://orders", role = "Orders.Read" }]
//! "#, None).unwrap();
//! assert_eq!(directory.clients.len(), 1);
//! ```

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The built-in tenant id.
pub const DEFAULT_TENANT: &str = "11111111-1111-4111-8111-111111111111";
/// Client id of the built-in client that authenticates with a secret and holds `Weather.Read`.
pub const WEATHER_CLIENT_ID: &str = "33333333-3333-4333-8333-333333333333";
/// The built-in client's secret. It is a well-known test value, not a secret.
pub const WEATHER_CLIENT_SECRET: &str = "emulator-weather-client-secret";
/// Client id of the built-in client that authenticates with the test certificate `cert-a`.
pub const CERT_CLIENT_ID: &str = "44444444-4444-4444-8444-444444444444";
/// Client id of a built-in client without any app role.
pub const NO_ROLE_CLIENT_ID: &str = "55555555-5555-4555-8555-555555555555";
/// Secret of [`NO_ROLE_CLIENT_ID`].
pub const NO_ROLE_CLIENT_SECRET: &str = "emulator-no-role-secret";
/// App id URI of the built-in protected API.
pub const WEATHER_API: &str = "api://weather";
/// Client id of the built-in protected API's app registration.
pub const WEATHER_API_APP_ID: &str = "22222222-2222-4222-8222-222222222222";
/// The role the weather API requires for reading forecasts.
pub const WEATHER_READ_ROLE: &str = "Weather.Read";
/// The emulated host whose system-assigned identity the built-in model defines.
pub const DEFAULT_HOST: &str = "emulated-host";
/// Client id of the built-in user-assigned identity (holds `Weather.Read`).
pub const USER_ASSIGNED_CLIENT_ID: &str = "66666666-6666-4666-8666-666666666666";
/// Object id of the built-in user-assigned identity.
pub const USER_ASSIGNED_OBJECT_ID: &str = "77777777-7777-4777-8777-777777777777";
/// Resource id of the built-in user-assigned identity.
pub const USER_ASSIGNED_RESOURCE_ID: &str =
    "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/weather-reader";

/// The audience of tokens exchanged for app tokens (federated credentials).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The app id of Entra's token exchange app, the `aud` of managed identity tokens for it.
pub const TOKEN_EXCHANGE_APP_ID: &str = "fb60f99c-7a34-4190-8149-302f77469936";
/// The issuer of the workload tokens the emulator mints (`POST /_emulator/workload-token`),
/// standing in for a Kubernetes cluster's OIDC issuer.
pub const WORKLOAD_ISSUER: &str = "https://workload-issuer.emulator.local/";
/// The service account subject the built-in workload client trusts.
pub const WORKLOAD_SUBJECT: &str = "system:serviceaccount:default:weather";
/// Client id of the built-in client that authenticates with workload identity federation.
pub const WORKLOAD_CLIENT_ID: &str = "88888888-8888-4888-8888-888888888888";
/// Client id of the built-in client whose federated credential is the system-assigned managed
/// identity of [`DEFAULT_HOST`] (managed identity as federated credential).
pub const FIC_CLIENT_ID: &str = "12121212-1212-4121-8121-121212121212";

/// The test certificate registered for [`CERT_CLIENT_ID`] (public part only).
pub const CERT_A_PEM: &str = include_str!("../../tests/fixtures/cert-a.pem");

/// The whole directory.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// The tenant id (a GUID).
    pub tenant_id: String,
    /// Other names of the tenant (for example `contoso.onmicrosoft.com`).
    #[serde(default)]
    pub tenant_domains: Vec<String>,
    /// APIs that tokens can be issued for.
    #[serde(default)]
    pub apps: Vec<App>,
    /// Confidential clients.
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Managed identities, system-assigned (one per host) and user-assigned.
    #[serde(default)]
    pub managed_identities: Vec<ManagedIdentity>,
    /// Accept any resource, issuing tokens without roles (for benchmarks with many scopes).
    #[serde(default)]
    pub permissive: bool,
    /// Lifetime of issued tokens in seconds.
    #[serde(default = "default_lifetime")]
    pub token_lifetime_secs: u64,
    /// The Azure region IMDS reports for this "VM" (`/metadata/instance/compute/location`),
    /// which ESTS-R region auto-detection reads.
    #[serde(default = "default_region")]
    pub region: String,
}

fn default_lifetime() -> u64 {
    3599
}

/// The region the emulator's IMDS reports unless the directory names another.
pub const DEFAULT_REGION: &str = "westus2";

fn default_region() -> String {
    DEFAULT_REGION.to_owned()
}

/// An app registration exposing an API.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The application (client) id.
    pub app_id: String,
    /// The app id URI, such as `api://weather` or `https://vault.azure.net`.
    pub identifier_uri: String,
    /// App roles clients can be assigned.
    #[serde(default)]
    pub roles: Vec<String>,
    /// 1 (the default, as in Entra) or 2: the registration's `accessTokenAcceptedVersion`.
    #[serde(default = "one")]
    pub access_token_version: u8,
}

fn one() -> u8 {
    1
}

/// An app-role assignment: the principal holding it may call `api` with `role`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignment {
    /// The API's app id URI (or app id).
    pub api: String,
    /// A role the API's registration defines.
    pub role: String,
}

impl RoleAssignment {
    /// An assignment of `role` on `api`.
    pub fn new(api: &str, role: &str) -> Self {
        RoleAssignment { api: api.into(), role: role.into() }
    }
}

/// A confidential client (app registration with credentials).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// The application (client) id.
    pub client_id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Accepted client secrets.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Accepted certificates: PEM text, or in a file, a path relative to that file.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Federated identity credentials: external tokens accepted as this client's assertion
    /// (workload identity, a managed identity as federated credential).
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
    /// App roles granted.
    #[serde(default)]
    pub roles: Vec<RoleAssignment>,
}

/// A federated identity credential: a token with this issuer, subject and audience may stand
/// in for the client's secret. `{authority}` and `{tenant}` in `issuer` are replaced by the
/// emulator's base URL and tenant id, so a managed identity token of this emulator can match.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FederatedCredential {
    /// The token's `iss`, such as [`WORKLOAD_ISSUER`] or `{authority}/{tenant}/v2.0`.
    pub issuer: String,
    /// The token's `sub`: a Kubernetes service account, or a managed identity's object id.
    pub subject: String,
    /// Accepted `aud` values.
    #[serde(default = "default_fic_audiences")]
    pub audiences: Vec<String>,
}

fn default_fic_audiences() -> Vec<String> {
    vec![TOKEN_EXCHANGE_AUDIENCE.into()]
}

impl Client {
    /// The object id of the client's service principal (stable, derived from the client id).
    pub fn object_id(&self) -> String {
        derived_guid("sp", &self.client_id)
    }
}

/// Whether a managed identity belongs to one host or is a resource of its own.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// Created with a host (VM, app) and deleted with it; one per host.
    SystemAssigned,
    /// A standalone resource attached to hosts; named by client id, object id or resource id.
    UserAssigned,
}

/// A managed identity. Ids left empty are derived from the host or the name.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManagedIdentity {
    /// `system_assigned` or `user_assigned`.
    pub kind: IdentityKind,
    /// Display name (required for user-assigned identities; part of the resource id).
    #[serde(default)]
    pub name: String,
    /// System-assigned: the host it belongs to. User-assigned: empty.
    #[serde(default)]
    pub host: String,
    /// User-assigned: the hosts it is attached to (empty: every host).
    #[serde(default)]
    pub attached_to: Vec<String>,
    /// The identity's client (application) id.
    #[serde(default)]
    pub client_id: String,
    /// The service principal's object (principal) id.
    #[serde(default)]
    pub object_id: String,
    /// User-assigned: the ARM resource id.
    #[serde(default)]
    pub resource_id: String,
    /// App roles granted.
    #[serde(default)]
    pub roles: Vec<RoleAssignment>,
}

impl ManagedIdentity {
    /// Whether this identity can be used from `host`.
    pub fn usable_on(&self, host: &str) -> bool {
        match self.kind {
            IdentityKind::SystemAssigned => self.host.eq_ignore_ascii_case(host),
            IdentityKind::UserAssigned => self.attached_to.is_empty() || self.attached_to.iter().any(|h| h.eq_ignore_ascii_case(host)),
        }
    }
}

/// A directory file or model that cannot be used, with the place that is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{place}: {message}")]
pub struct ModelError {
    /// Where: a file and line, or a path into the model such as `clients[1].roles[0]`.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

impl ModelError {
    fn new(place: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError { place: place.into(), message: message.into() }
    }
}

/// A stable GUID-shaped id derived from a string.
pub fn derived_guid(kind: &str, from: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{kind}:{from}"));
    let x: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-4{}-8{}-{}", &x[0..8], &x[8..12], &x[13..16], &x[17..20], &x[20..32])
}

impl Default for Directory {
    fn default() -> Self {
        let app = |name: &str, id: &str, uri: &str, roles: &[&str]| App {
            name: name.into(),
            app_id: id.into(),
            identifier_uri: uri.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            access_token_version: 1,
        };
        let read = || vec![RoleAssignment::new(WEATHER_API, WEATHER_READ_ROLE)];
        let mut directory = Directory {
            tenant_id: DEFAULT_TENANT.into(),
            tenant_domains: vec!["emulator.onmicrosoft.com".into()],
            apps: vec![
                app("weather-api", WEATHER_API_APP_ID, WEATHER_API, &[WEATHER_READ_ROLE, "Weather.Write"]),
                app("Azure Key Vault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "https://vault.azure.net", &[]),
                app("Azure Resource Manager", "797f4846-ba00-4fd7-ba43-dac1f8f63013", "https://management.azure.com", &[]),
                app("Microsoft Graph", "00000003-0000-0000-c000-000000000000", "https://graph.microsoft.com", &[]),
                app("Azure Storage", "e406a681-f3d4-42a8-90b6-c2b029497af1", "https://storage.azure.com", &[]),
                App { access_token_version: 2, ..app("AAD Token Exchange", TOKEN_EXCHANGE_APP_ID, TOKEN_EXCHANGE_AUDIENCE, &[]) },
            ],
            clients: vec![
                Client {
                    client_id: WEATHER_CLIENT_ID.into(),
                    name: "weather-client".into(),
                    secrets: vec![WEATHER_CLIENT_SECRET.into()],
                    certificates: vec![],
                    federated_credentials: vec![],
                    roles: read(),
                },
                Client {
                    client_id: CERT_CLIENT_ID.into(),
                    name: "weather-cert-client".into(),
                    secrets: vec![],
                    certificates: vec![CERT_A_PEM.into()],
                    federated_credentials: vec![],
                    roles: read(),
                },
                Client {
                    client_id: NO_ROLE_CLIENT_ID.into(),
                    name: "no-role-client".into(),
                    secrets: vec![NO_ROLE_CLIENT_SECRET.into()],
                    certificates: vec![],
                    federated_credentials: vec![],
                    roles: vec![],
                },
                Client {
                    client_id: WORKLOAD_CLIENT_ID.into(),
                    name: "workload-client".into(),
                    secrets: vec![],
                    certificates: vec![],
                    federated_credentials: vec![FederatedCredential { issuer: WORKLOAD_ISSUER.into(), subject: WORKLOAD_SUBJECT.into(), audiences: default_fic_audiences() }],
                    roles: read(),
                },
                Client {
                    client_id: FIC_CLIENT_ID.into(),
                    name: "managed-identity-fic-client".into(),
                    secrets: vec![],
                    certificates: vec![],
                    // The subject is the system-assigned identity's object id, filled in below.
                    federated_credentials: vec![FederatedCredential { issuer: "{authority}/{tenant}/v2.0".into(), subject: String::new(), audiences: default_fic_audiences() }],
                    roles: read(),
                },
            ],
            managed_identities: vec![
                ManagedIdentity {
                    kind: IdentityKind::SystemAssigned,
                    name: String::new(),
                    host: DEFAULT_HOST.into(),
                    attached_to: vec![],
                    client_id: String::new(),
                    object_id: String::new(),
                    resource_id: String::new(),
                    roles: read(),
                },
                ManagedIdentity {
                    kind: IdentityKind::UserAssigned,
                    name: "weather-reader".into(),
                    host: String::new(),
                    attached_to: vec![],
                    client_id: USER_ASSIGNED_CLIENT_ID.into(),
                    object_id: USER_ASSIGNED_OBJECT_ID.into(),
                    resource_id: USER_ASSIGNED_RESOURCE_ID.into(),
                    roles: read(),
                },
            ],
            permissive: false,
            token_lifetime_secs: default_lifetime(),
            region: default_region(),
        };
        directory.fill_derived_ids();
        let system_object_id = directory.managed_identities[0].object_id.clone();
        if let Some(client) = directory.clients.iter_mut().find(|c| c.client_id == FIC_CLIENT_ID) {
            client.federated_credentials[0].subject = system_object_id;
        }
        directory
    }
}

impl Directory {
    /// Loads a directory file: TOML when the name ends in `.toml`, JSON otherwise. Certificate
    /// paths are read relative to the file. The result is validated.
    pub fn from_file(path: &Path) -> Result<Directory, ModelError> {
        let place = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::new(&place, format!("cannot read the directory file: {e}")))?;
        let base = path.parent();
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            Self::from_toml_str(&text, base).map_err(|e| ModelError::new(format!("{place}: {}", e.place), e.message))
        } else {
            Self::from_json_str(&text, base).map_err(|e| ModelError::new(format!("{place}: {}", e.place), e.message))
        }
    }

    /// Parses and validates a TOML directory; relative certificate paths resolve against `base`.
    pub fn from_toml_str(text: &str, base: Option<&Path>) -> Result<Directory, ModelError> {
        let mut directory: Directory = toml::from_str(text).map_err(|e| {
            let place = match e.span() {
                Some(span) => format!("line {}", text[..span.start.min(text.len())].matches('\n').count() + 1),
                None => "file".into(),
            };
            ModelError::new(place, e.message().trim().to_owned())
        })?;
        directory.finish(base)?;
        Ok(directory)
    }

    /// Parses and validates a JSON directory; relative certificate paths resolve against `base`.
    pub fn from_json_str(text: &str, base: Option<&Path>) -> Result<Directory, ModelError> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let mut directory: Directory = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let place = e.path().to_string();
            let inner = e.into_inner();
            let place = if place == "." { format!("line {}", inner.line()) } else { format!("{place} (line {})", inner.line()) };
            ModelError::new(place, inner.to_string().split(" at line ").next().unwrap_or_default().to_owned())
        })?;
        directory.finish(base)?;
        Ok(directory)
    }

    fn finish(&mut self, base: Option<&Path>) -> Result<(), ModelError> {
        for (i, client) in self.clients.iter_mut().enumerate() {
            for (j, cert) in client.certificates.iter_mut().enumerate() {
                if !cert.trim_start().starts_with("-----BEGIN") {
                    let path = base.map(|b| b.join(cert.as_str())).unwrap_or_else(|| std::path::PathBuf::from(cert.as_str()));
                    *cert = std::fs::read_to_string(&path)
                        .map_err(|e| ModelError::new(format!("clients[{i}].certificates[{j}]"), format!("cannot read certificate file {}: {e}", path.display())))?;
                }
            }
        }
        self.fill_derived_ids();
        self.validate()
    }

    /// Gives managed identities the ids their configuration left empty, derived stably.
    pub fn fill_derived_ids(&mut self) {
        for mi in &mut self.managed_identities {
            let seed = match mi.kind {
                IdentityKind::SystemAssigned => format!("system:{}", mi.host),
                IdentityKind::UserAssigned => format!("user:{}", mi.name),
            };
            if mi.client_id.is_empty() {
                mi.client_id = derived_guid("mi-client", &seed);
            }
            if mi.object_id.is_empty() {
                mi.object_id = derived_guid("mi-object", &seed);
            }
            if mi.kind == IdentityKind::UserAssigned && mi.resource_id.is_empty() {
                mi.resource_id = format!(
                    "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
                    mi.name
                );
            }
        }
    }

    /// Checks the model: GUID-shaped ids, no duplicate ids or app id URIs, every assignment
    /// naming an app of this directory and a role that app defines, certificates that parse.
    pub fn validate(&self) -> Result<(), ModelError> {
        if !is_guid(&self.tenant_id) {
            return Err(ModelError::new("tenant_id", format!("'{}' is not a GUID", self.tenant_id)));
        }
        if self.token_lifetime_secs == 0 {
            return Err(ModelError::new("token_lifetime_secs", "must be at least 1"));
        }
        let mut uris: HashMap<String, String> = HashMap::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut claim_id = |id: &str, place: String| -> Result<(), ModelError> {
            if !is_guid(id) {
                return Err(ModelError::new(&place, format!("'{id}' is not a GUID")));
            }
            match ids.insert(id.to_ascii_lowercase(), place.clone()) {
                Some(first) => Err(ModelError::new(place, format!("duplicate id '{id}' (already used at {first})"))),
                None => Ok(()),
            }
        };
        for (i, app) in self.apps.iter().enumerate() {
            claim_id(&app.app_id, format!("apps[{i}].app_id"))?;
            if app.access_token_version != 1 && app.access_token_version != 2 {
                return Err(ModelError::new(format!("apps[{i}].access_token_version"), format!("{} is not 1 or 2", app.access_token_version)));
            }
            if app.identifier_uri.is_empty() {
                return Err(ModelError::new(format!("apps[{i}].identifier_uri"), "must not be empty"));
            }
            let uri = app.identifier_uri.trim_end_matches('/').to_ascii_lowercase();
            if let Some(first) = uris.insert(uri, format!("apps[{i}]")) {
                return Err(ModelError::new(format!("apps[{i}].identifier_uri"), format!("duplicate app id URI '{}' (already used by {first})", app.identifier_uri)));
            }
        }
        for (i, client) in self.clients.iter().enumerate() {
            claim_id(&client.client_id, format!("clients[{i}].client_id"))?;
            if client.secrets.is_empty() && client.certificates.is_empty() && client.federated_credentials.is_empty() {
                return Err(ModelError::new(format!("clients[{i}]"), "has no secrets, certificates or federated credentials, so it could never authenticate"));
            }
            for (j, fic) in client.federated_credentials.iter().enumerate() {
                if fic.issuer.is_empty() || fic.subject.is_empty() || fic.audiences.is_empty() {
                    return Err(ModelError::new(format!("clients[{i}].federated_credentials[{j}]"), "issuer, subject and audiences must all be given"));
                }
            }
            for (j, pem) in client.certificates.iter().enumerate() {
                crate::assertion::RegisteredCert::from_pem(pem)
                    .map_err(|e| ModelError::new(format!("clients[{i}].certificates[{j}]"), format!("not a usable PEM certificate: {e}")))?;
            }
            self.check_roles(&client.roles, &format!("clients[{i}]"))?;
        }
        let mut hosts: HashMap<String, usize> = HashMap::new();
        for (i, mi) in self.managed_identities.iter().enumerate() {
            let place = format!("managed_identities[{i}]");
            claim_id(&mi.client_id, format!("{place}.client_id"))?;
            claim_id(&mi.object_id, format!("{place}.object_id"))?;
            match mi.kind {
                IdentityKind::SystemAssigned => {
                    if mi.host.is_empty() {
                        return Err(ModelError::new(format!("{place}.host"), "a system-assigned identity needs the host it belongs to"));
                    }
                    if !mi.resource_id.is_empty() || !mi.attached_to.is_empty() {
                        return Err(ModelError::new(&place, "resource_id and attached_to are for user-assigned identities"));
                    }
                    if let Some(first) = hosts.insert(mi.host.to_ascii_lowercase(), i) {
                        return Err(ModelError::new(format!("{place}.host"), format!("host '{}' already has a system-assigned identity (managed_identities[{first}])", mi.host)));
                    }
                }
                IdentityKind::UserAssigned => {
                    if mi.name.is_empty() {
                        return Err(ModelError::new(format!("{place}.name"), "a user-assigned identity needs a name"));
                    }
                    if !mi.host.is_empty() {
                        return Err(ModelError::new(format!("{place}.host"), "host is for system-assigned identities; use attached_to"));
                    }
                    if !mi.resource_id.to_ascii_lowercase().contains("/providers/microsoft.managedidentity/userassignedidentities/") {
                        return Err(ModelError::new(format!("{place}.resource_id"), format!("'{}' is not a user-assigned identity resource id", mi.resource_id)));
                    }
                }
            }
            self.check_roles(&mi.roles, &place)?;
        }
        Ok(())
    }

    fn check_roles(&self, roles: &[RoleAssignment], place: &str) -> Result<(), ModelError> {
        for (k, assignment) in roles.iter().enumerate() {
            let here = format!("{place}.roles[{k}]");
            let Some(app) = self.app_for_resource(&assignment.api) else {
                return Err(ModelError::new(here, format!("api '{}' is not an app of this directory", assignment.api)));
            };
            if !app.roles.contains(&assignment.role) {
                return Err(ModelError::new(
                    here,
                    format!("role '{}' is not defined by app '{}' (it defines: {})", assignment.role, app.identifier_uri, if app.roles.is_empty() { "no roles".into() } else { app.roles.join(", ") }),
                ));
            }
        }
        Ok(())
    }

    /// Whether `tenant` names this directory's tenant.
    pub fn is_tenant(&self, tenant: &str) -> bool {
        tenant.eq_ignore_ascii_case(&self.tenant_id) || self.tenant_domains.iter().any(|d| d.eq_ignore_ascii_case(tenant))
    }

    /// The client with this id.
    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The app a resource names (by identifier URI, with or without a trailing slash, or by app id).
    pub fn app_for_resource(&self, resource: &str) -> Option<&App> {
        let r = resource.trim_end_matches('/');
        self.apps.iter().find(|a| a.identifier_uri.trim_end_matches('/').eq_ignore_ascii_case(r) || a.app_id.eq_ignore_ascii_case(r))
    }

    /// The roles `assignments` grant on `app`, in assignment order.
    pub fn granted_roles(&self, assignments: &[RoleAssignment], app: &App) -> Vec<String> {
        assignments
            .iter()
            .filter(|a| self.app_for_resource(&a.api).is_some_and(|target| target.app_id == app.app_id) && app.roles.contains(&a.role))
            .map(|a| a.role.clone())
            .collect()
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_model_is_valid() {
        Directory::default().validate().unwrap();
    }

    #[test]
    fn the_commented_example_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/directory.toml");
        let directory = Directory::from_file(&path).unwrap();
        assert!(directory.app_for_resource("api://weather").is_some());
        assert!(directory.managed_identities.iter().any(|m| m.kind == IdentityKind::UserAssigned));
    }

    fn base() -> String {
        r#"
tenant_id = "aaaaaaaa-0000-4000-8000-000000000001"
[[apps]]
app_id = "aaaaaaaa-0000-4000-8000-000000000002"
identifier_uri = "api://orders"
roles = ["Orders.Read"]
"#
        .into()
    }

    #[test]
    fn unknown_field_names_the_line_and_field() {
        let text = format!("{}\n[[clients]]\nclient_id = \"aaaaaaaa-0000-4000-8000-000000000003\"\nsecret = [\"x\"]\n", base());
        let err = Directory::from_toml_str(&text, None).unwrap_err();
        assert_eq!(err.place, "line 10", "{err}");
        assert!(err.message.contains("unknown field `secret`"), "{err}");
        assert!(err.message.contains("secrets"), "lists the known fields: {err}");
    }

    #[test]
    fn unknown_field_in_json_names_the_path() {
        let text = r#"{"tenant_id": "aaaaaaaa-0000-4000-8000-000000000001", "clients": [{"client_id": "aaaaaaaa-0000-4000-8000-000000000003", "secretz": []}]}"#;
        let err = Directory::from_json_str(text, None).unwrap_err();
        assert!(err.place.starts_with("clients[0]"), "{err}");
        assert!(err.message.contains("unknown field `secretz`"), "{err}");
    }

    #[test]
    fn duplicate_client_id_names_both_places() {
        let client = "\n[[clients]]\nclient_id = \"aaaaaaaa-0000-4000-8000-000000000003\"\nsecrets = [\"x\"]\n";
        let err = Directory::from_toml_str(&format!("{}{client}{client}", base()), None).unwrap_err();
        assert_eq!(err.place, "clients[1].client_id");
        assert!(err.message.contains("already used at clients[0].client_id"), "{err}");
    }

    #[test]
    fn a_role_the_app_does_not_define_is_refused() {
        let text = format!(
            "{}\n[[clients]]\nclient_id = \"aaaaaaaa-0000-4000-8000-000000000003\"\nsecrets = [\"x\"]\nroles = [{{ api = \"api://orders\", role = \"Orders.Read\" }}, {{ api = \"api://orders\", role = \"Orders.Delete\" }}]\n",
            base()
        );
        let err = Directory::from_toml_str(&text, None).unwrap_err();
        assert_eq!(err.place, "clients[0].roles[1]");
        assert!(err.message.contains("'Orders.Delete' is not defined by app 'api://orders' (it defines: Orders.Read)"), "{err}");
    }

    #[test]
    fn an_assignment_to_an_unknown_api_is_refused() {
        let text = format!(
            "{}\n[[managed_identities]]\nkind = \"system_assigned\"\nhost = \"vm1\"\nroles = [{{ api = \"api://nowhere\", role = \"X\" }}]\n",
            base()
        );
        let err = Directory::from_toml_str(&text, None).unwrap_err();
        assert_eq!(err.place, "managed_identities[0].roles[0]");
        assert!(err.message.contains("'api://nowhere' is not an app"), "{err}");
    }

    #[test]
    fn managed_identity_ids_are_derived_and_stable() {
        let text = format!("{}\n[[managed_identities]]\nkind = \"user_assigned\"\nname = \"reader\"\n", base());
        let a = Directory::from_toml_str(&text, None).unwrap();
        let b = Directory::from_toml_str(&text, None).unwrap();
        let mi = &a.managed_identities[0];
        assert!(is_guid(&mi.client_id) && is_guid(&mi.object_id));
        assert!(mi.resource_id.ends_with("/userAssignedIdentities/reader"));
        assert_eq!(a, b);
    }

    #[test]
    fn a_second_system_identity_on_one_host_is_refused() {
        let mi = "\n[[managed_identities]]\nkind = \"system_assigned\"\nhost = \"vm1\"\n";
        let err = Directory::from_toml_str(&format!("{}{mi}{mi}", base()), None).unwrap_err();
        assert_eq!(err.place, "managed_identities[1].client_id", "ids derive from the host, so the duplicate id is found first: {err}");
    }

    #[test]
    fn bad_json_syntax_names_the_line() {
        let err = Directory::from_json_str("{\n\"tenant_id\": \"aaaaaaaa-0000-4000-8000-000000000001\",\n}", None).unwrap_err();
        assert!(err.place.contains("line 3"), "{err}");
    }

    #[test]
    fn certificate_paths_resolve_against_the_file() {
        let dir = std::env::temp_dir().join(format!("entra-emu-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("c.pem"), CERT_A_PEM).unwrap();
        let text = format!("{}\n[[clients]]\nclient_id = \"aaaaaaaa-0000-4000-8000-000000000003\"\ncertificates = [\"c.pem\"]\n", base());
        std::fs::write(dir.join("d.toml"), &text).unwrap();
        let directory = Directory::from_file(&dir.join("d.toml")).unwrap();
        assert_eq!(directory.clients[0].certificates[0], CERT_A_PEM);
        std::fs::write(dir.join("d.toml"), text.replace("c.pem", "missing.pem")).unwrap();
        let err = Directory::from_file(&dir.join("d.toml")).unwrap_err();
        assert!(err.to_string().contains("clients[0].certificates[0]") && err.to_string().contains("missing.pem"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
