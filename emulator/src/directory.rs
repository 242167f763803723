//! The emulated directory: tenant, app registrations (APIs with app roles), confidential
//! clients with their secrets and certificates, and app-role assignments.

use serde::{Deserialize, Serialize};

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

/// The test certificate registered for [`CERT_CLIENT_ID`] (public part only).
pub const CERT_A_PEM: &str = include_str!("../../tests/fixtures/cert-a.pem");

/// The whole directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// Accept any resource, issuing tokens without roles (for benchmarks with many scopes).
    #[serde(default)]
    pub permissive: bool,
    /// Lifetime of issued tokens in seconds.
    #[serde(default = "default_lifetime")]
    pub token_lifetime_secs: u64,
}

fn default_lifetime() -> u64 {
    3599
}

/// An app registration exposing an API.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// The application (client) id.
    pub app_id: String,
    /// The app id URI, such as `api://weather` or `https://vault.azure.net`.
    pub identifier_uri: String,
    /// App roles clients can be assigned.
    #[serde(default)]
    pub roles: Vec<String>,
    /// 1 (the default, as in Entra) or 2: `accessTokenAcceptedVersion`.
    #[serde(default = "one")]
    pub access_token_version: u8,
}

fn one() -> u8 {
    1
}

/// A confidential client (app registration with credentials).
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// Accepted certificates, PEM.
    #[serde(default)]
    pub certificates_pem: Vec<String>,
    /// App roles granted: `(api identifier uri, role)`.
    #[serde(default)]
    pub roles: Vec<(String, String)>,
}

impl Client {
    /// The object id of the client's service principal (stable, derived from the client id).
    pub fn object_id(&self) -> String {
        derived_guid("sp", &self.client_id)
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
        let app = |id: &str, uri: &str, roles: &[&str]| App {
            app_id: id.into(),
            identifier_uri: uri.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            access_token_version: 1,
        };
        Directory {
            tenant_id: DEFAULT_TENANT.into(),
            tenant_domains: vec!["emulator.onmicrosoft.com".into()],
            apps: vec![
                app(WEATHER_API_APP_ID, WEATHER_API, &["Weather.Read", "Weather.Write"]),
                app("cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "https://vault.azure.net", &[]),
                app("797f4846-ba00-4fd7-ba43-dac1f8f63013", "https://management.azure.com", &[]),
                app("00000003-0000-0000-c000-000000000000", "https://graph.microsoft.com", &[]),
                app("e406a681-f3d4-42a8-90b6-c2b029497af1", "https://storage.azure.com", &[]),
            ],
            clients: vec![
                Client {
                    client_id: WEATHER_CLIENT_ID.into(),
                    name: "weather-client".into(),
                    secrets: vec![WEATHER_CLIENT_SECRET.into()],
                    certificates_pem: vec![],
                    roles: vec![(WEATHER_API.into(), "Weather.Read".into())],
                },
                Client {
                    client_id: CERT_CLIENT_ID.into(),
                    name: "weather-cert-client".into(),
                    secrets: vec![],
                    certificates_pem: vec![CERT_A_PEM.into()],
                    roles: vec![(WEATHER_API.into(), "Weather.Read".into())],
                },
                Client {
                    client_id: NO_ROLE_CLIENT_ID.into(),
                    name: "no-role-client".into(),
                    secrets: vec![NO_ROLE_CLIENT_SECRET.into()],
                    certificates_pem: vec![],
                    roles: vec![],
                },
            ],
            permissive: false,
            token_lifetime_secs: default_lifetime(),
        }
    }
}

impl Directory {
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
}
