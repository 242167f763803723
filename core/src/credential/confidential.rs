//! What every confidential-client credential shares: tenant rules, the token endpoint (with OIDC
//! discovery), and the client-credentials request itself.

use super::ClientOptions;
use crate::authority::{Authority, validate_tenant};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{ClientKind, Http, HttpRequest, RequestIdHeader, RetryPolicy};
use crate::token::TokenRequest;
use crate::token_response::{self, TokenResponse};
use std::sync::Arc;
use url::Url;

pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) struct Confidential {
    pub name: &'static str,
    pub tenant_id: String,
    pub client_id: String,
    pub authority: Authority,
    allowed_tenants: Vec<String>,
    capabilities: Vec<String>,
    http: Http,
    pub clock: Arc<dyn Clock>,
    pub cache: Arc<crate::cache::TokenCache>,
    discovered: tokio::sync::OnceCell<Url>,
    /// Environment and HTTP options for ESTS-R region detection, when the authority asks for it.
    region_detection: Option<(crate::env::Env, crate::http::HttpOptions)>,
}

impl Confidential {
    pub fn new(name: &'static str, tenant_id: &str, client_id: &str, options: ClientOptions) -> Result<Self> {
        let config = |message: String| Error::Configuration { credential: name, message };
        validate_tenant(tenant_id).map_err(config)?;
        if client_id.trim().is_empty() {
            return Err(config("client id is empty; use the application (client) id of the app registration".into()));
        }
        let authority = match options.authority {
            Some(a) => a,
            None => Authority::from_env(&options.env).map_err(config)?,
        };
        let region_detection = authority.detects_region().then(|| (options.env.clone(), options.http.clone()));
        Ok(Confidential {
            name,
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            authority,
            allowed_tenants: options.additionally_allowed_tenants,
            capabilities: options.client_capabilities,
            http: Http::new(ClientKind::Default, options.http, name)?,
            clock: options.clock,
            cache: options.cache.unwrap_or_else(crate::cache::TokenCache::global),
            discovered: tokio::sync::OnceCell::new(),
            region_detection,
        })
    }

    /// The tenant a request goes to: the credential's own, or one it explicitly allows.
    pub fn resolve_tenant<'a>(&'a self, tenant_id: Option<&'a str>) -> Result<&'a str> {
        match tenant_id {
            None => Ok(&self.tenant_id),
            Some(t) if t.eq_ignore_ascii_case(&self.tenant_id) => Ok(&self.tenant_id),
            Some(t) if matches!(self.authority, Authority::Oidc { .. }) => Err(Error::Configuration {
                credential: self.name,
                message: format!("tenant {t:?} requested, but an OIDC authority has no tenants"),
            }),
            Some(t) if self.allowed_tenants.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(t)) => {
                validate_tenant(t).map_err(|message| Error::Configuration { credential: self.name, message })?;
                Ok(t)
            }
            Some(t) => Err(Error::Configuration {
                credential: self.name,
                message: format!(
                    "tenant {t:?} is not allowed; add it to additionally_allowed_tenants (or \"*\" for any tenant) to acquire tokens for it"
                ),
            }),
        }
    }

    /// The token endpoint for `tenant`, discovering it first for OIDC authorities.
    pub async fn token_endpoint(&self, tenant: &str) -> Result<Url> {
        match &self.authority {
            Authority::Entra { .. } => {
                let endpoint = match &self.region_detection {
                    Some((env, http)) => self.authority.clone().with_detected_region(env, http).await.token_endpoint(tenant),
                    None => self.authority.token_endpoint(tenant),
                };
                endpoint.map_err(|message| Error::Configuration { credential: self.name, message })
            }
            Authority::Oidc { .. } => self.discovered.get_or_try_init(|| self.discover()).await.cloned(),
        }
    }

    async fn discover(&self) -> Result<Url> {
        let url = self.authority.discovery_url().expect("OIDC authorities have a discovery URL");
        let response = self.http.send(self.name, RetryPolicy::TokenEndpoint, HttpRequest::get(url, RequestIdHeader::Entra)).await?;
        if !response.is_success() {
            return Err(response.service_error(self.name));
        }
        let doc: serde_json::Value = serde_json::from_slice(&response.body).map_err(|e| response.invalid(self.name, format!("the OpenID configuration is not JSON ({e})")))?;
        let endpoint = doc
            .get("token_endpoint")
            .and_then(|v| v.as_str())
            .ok_or_else(|| response.invalid(self.name, "the OpenID configuration has no token_endpoint"))?;
        self.authority.check_discovered_endpoint(endpoint).map_err(|message| Error::Configuration { credential: self.name, message })
    }

    /// Sends the client-credentials request with the given credential parameters.
    pub async fn request_token(&self, request: &TokenRequest, endpoint: &Url, credential_params: Vec<(&'static str, String)>) -> Result<TokenResponse> {
        let config = |message: String| Error::Configuration { credential: self.name, message };
        let scope = crate::scope::join(request.scopes()).map_err(config)?;
        let mut form = vec![("client_id", self.client_id.clone()), ("grant_type", "client_credentials".to_owned()), ("scope", scope)];
        form.extend(credential_params);
        let mut capabilities = self.capabilities.clone();
        if request.cae() && !capabilities.iter().any(|c| c == "cp1") {
            capabilities.push("cp1".into());
        }
        if let Some(claims) = merge_claims(request.claims(), &capabilities).map_err(config)? {
            form.push(("claims", claims));
        }
        let http_request = HttpRequest::post_form(endpoint.clone(), form, RequestIdHeader::Entra)
            .header("x-ms-lib-capability", "retry-after, h429", false)
            .map_err(config)?;
        let response = self.http.send(self.name, RetryPolicy::TokenEndpoint, http_request).await?;
        if !response.is_success() {
            return Err(response.service_error(self.name));
        }
        token_response::parse(&response.body, self.clock.now()).map_err(|reason| response.invalid(self.name, reason))
    }
}

/// Merges client capabilities into a claims JSON as `{"access_token":{"xms_cc":{"values":[..]}}}`
/// (what MSAL sends).
pub(crate) fn merge_claims(claims: Option<&str>, capabilities: &[String]) -> Result<Option<String>, String> {
    if capabilities.is_empty() {
        return Ok(claims.map(str::to_owned));
    }
    let mut json: serde_json::Value = match claims {
        Some(c) => serde_json::from_str(c).map_err(|e| format!("the claims challenge is not JSON: {e}"))?,
        None => serde_json::json!({}),
    };
    let root = json.as_object_mut().ok_or("the claims challenge is not a JSON object")?;
    let access = root.entry("access_token").or_insert_with(|| serde_json::json!({}));
    let access = access.as_object_mut().ok_or("claims.access_token is not a JSON object")?;
    access.insert("xms_cc".into(), serde_json::json!({ "values": capabilities }));
    Ok(Some(json.to_string()))
}

#[cfg(test)]
mod tests {
    use super::merge_claims;

    #[test]
    fn capabilities_merge_into_claims() {
        assert_eq!(merge_claims(None, &[]).unwrap(), None);
        assert_eq!(merge_claims(Some("{}"), &[]).unwrap().as_deref(), Some("{}"));
        let merged = merge_claims(Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#), &["cp1".into()]).unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(v["access_token"]["xms_cc"]["values"][0], "cp1");
        assert_eq!(v["access_token"]["nbf"]["value"], "1");
        assert!(merge_claims(Some("not json"), &["cp1".into()]).is_err());
    }
}

/// ESTS-R region detection through the emulator's IMDS.
#[cfg(test)]
mod region_tests {
    use super::*;
    use crate::env::Env;
    use entra_token_emulator::{Directory, Emulator, Fault, FaultAction};
    use std::time::{Duration, Instant};

    const GLOBAL: &str = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";

    fn detecting(imds: &str) -> ClientOptions {
        ClientOptions { env: Env::from_pairs([("AZURE_REGIONAL_AUTHORITY_NAME", "tryautodetect"), ("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds)]), ..ClientOptions::default() }
    }

    async fn endpoint(options: ClientOptions) -> String {
        let client = Confidential::new("test", "contoso.onmicrosoft.com", "client", options).unwrap();
        client.token_endpoint("contoso.onmicrosoft.com").await.unwrap().to_string()
    }

    fn location_requests(emulator: &Emulator) -> Vec<entra_token_emulator::LoggedRequest> {
        emulator.requests().into_iter().filter(|r| r.path == "/metadata/instance/compute/location").collect()
    }

    #[tokio::test]
    async fn tryautodetect_asks_imds_once_per_process_and_uses_the_regional_endpoint() {
        let emulator = Emulator::start(Directory { region: "eastus2euap".into(), ..Directory::default() }).await.unwrap();
        for _ in 0..2 {
            assert_eq!(endpoint(detecting(emulator.url())).await, "https://eastus2euap.login.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        }
        let asked = location_requests(&emulator);
        assert_eq!(asked.len(), 1, "credentials built later reuse the answer");
        assert_eq!(asked[0].headers.get("metadata").map(String::as_str), Some("true"));
        assert_eq!(asked[0].query_value("format"), Some("text"));
        assert_eq!(asked[0].status, 200);
        // An authority given in code decides for itself, as a region named in the environment would.
        let explicit = ClientOptions { authority: Some(Authority::public()), ..detecting(emulator.url()) };
        assert_eq!(endpoint(explicit).await, GLOBAL);
        let explicit = ClientOptions { authority: Some(Authority::public().with_region("TryAutoDetect")), ..ClientOptions { env: Env::from_pairs([("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.url())]), ..ClientOptions::default() } };
        assert_eq!(endpoint(explicit).await, "https://eastus2euap.login.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
    }

    #[tokio::test]
    async fn without_imds_the_global_endpoint_is_used_at_once() {
        let started = Instant::now();
        assert_eq!(endpoint(detecting("http://127.0.0.1:9")).await, GLOBAL);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_silent_imds_is_given_up_after_two_seconds() {
        let emulator = Emulator::start(Directory::default()).await.unwrap();
        emulator.add_fault(Fault { path_contains: Some("/metadata/instance".into()), times: 1, action: FaultAction::Hang });
        let started = Instant::now();
        assert_eq!(endpoint(detecting(emulator.url())).await, GLOBAL);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4), "{waited:?}");
    }

    #[tokio::test]
    async fn an_answer_that_is_no_region_name_is_refused() {
        let emulator = Emulator::start(Directory::default()).await.unwrap();
        let body = Some("evil.example/path".to_owned());
        emulator.add_fault(Fault { path_contains: Some("/metadata/instance".into()), times: 1, action: FaultAction::Status { status: 200, retry_after: None, body, headers: vec![] } });
        assert_eq!(endpoint(detecting(emulator.url())).await, GLOBAL, "a host name is never built from it");
    }
}
