//! Managed identity endpoints, one per Azure host type, each checking requests as the real one
//! does (headers, api-version, id parameter names) and answering in its own shape:
//!
//! | source | path | secret |
//! |---|---|---|
//! | IMDS | `GET /metadata/identity/oauth2/token` (trailing slash accepted) | `Metadata: true` |
//! | App Service | `GET /msi/token` | `X-IDENTITY-HEADER` |
//! | Azure ML | `GET /ml/msi/token` | `secret` |
//! | Cloud Shell | `POST /cloudshell/oauth2/token` | `Metadata: true` |
//! | Azure Arc | `GET /arc/metadata/identity/oauth2/token` | the key-file challenge |
//! | Service Fabric | `GET /servicefabric/metadata/identity/oauth2/token` (https) | `secret` |
//!
//! Like the real hosts, each keeps the tokens it issued and hands the same one back until it
//! nears expiry, unless the request names it in `token_sha256_to_refresh` (Service Fabric, and
//! App Service from api-version 2025-03-30).

use crate::AppState;
use crate::directory::{Directory, IdentityKind, ManagedIdentity};
use crate::entra::{self, Principal};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// Which host type a request came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Imds,
    AppService,
    MachineLearning,
    CloudShell,
    AzureArc,
    ServiceFabric,
}

/// An error in the shape the source uses.
fn error(source: Source, status: StatusCode, code: &str, message: &str) -> Response {
    let correlation = uuid::Uuid::new_v4().to_string();
    let body = match source {
        Source::AppService | Source::MachineLearning => serde_json::json!({"statusCode": status.as_u16(), "message": message, "correlationId": correlation}),
        Source::ServiceFabric | Source::CloudShell => serde_json::json!({"error": {"correlationId": correlation, "code": code, "message": message}}),
        Source::Imds | Source::AzureArc => serde_json::json!({"error": code, "error_description": message}),
    };
    (status, Json(body)).into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The identity a request names (by the parameter names this source uses), usable on this host.
fn find_identity<'d>(directory: &'d Directory, host: &str, id: Option<(&str, &str)>) -> Result<&'d ManagedIdentity, String> {
    let usable = directory.managed_identities.iter().filter(|m| m.usable_on(host));
    match id {
        None => usable
            .into_iter()
            .find(|m| m.kind == IdentityKind::SystemAssigned)
            .ok_or_else(|| format!("No system-assigned identity is enabled on host '{host}'")),
        Some((kind, value)) => usable
            .into_iter()
            .filter(|m| m.kind == IdentityKind::UserAssigned)
            .find(|m| match kind {
                "client_id" => m.client_id.eq_ignore_ascii_case(value),
                "object_id" => m.object_id.eq_ignore_ascii_case(value),
                _ => m.resource_id.eq_ignore_ascii_case(value),
            })
            .ok_or_else(|| format!("Identity not found: no user-assigned identity with {kind} '{value}' is attached to host '{host}'")),
    }
}

/// The one id parameter present, under the names `names` (client id, object id, resource id).
fn id_param<'q>(query: &'q HashMap<String, String>, names: &[(&'static str, &'static str)]) -> Result<Option<(&'static str, &'q str)>, String> {
    let present: Vec<(&'static str, &'q str)> = names.iter().filter_map(|(param, kind)| query.get(*param).map(|v| (*kind, v.as_str()))).collect();
    match present.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err("Only one of the user-assigned identity parameters may be given".into()),
    }
}

struct Issued {
    token: String,
    expires_on: u64,
    client_id: String,
    resource: String,
}

/// Issues (or hands back the host's cached) token of `identity` for `resource`.
fn issue(state: &AppState, directory: &Directory, identity: &ManagedIdentity, resource: &str, refresh_sha256: Option<&str>) -> Result<Issued, String> {
    let app = directory.app_for_resource(resource);
    if app.is_none() && !directory.permissive {
        return Err(format!(
            "AADSTS500011: The resource principal named {resource} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant.",
            directory.tenant_id
        ));
    }
    let now = crate::now();
    let key = (identity.object_id.clone(), resource.trim_end_matches('/').to_ascii_lowercase());
    let mut cache = state.mi_cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((token, expires_on)) = cache.get(&key) {
        let named = refresh_sha256.is_some_and(|h| h.eq_ignore_ascii_case(&sha256_hex(token)));
        // Real hosts renew a few minutes before expiry; until then everyone gets the same token.
        if !named && *expires_on > now + 300 {
            return Ok(Issued { token: token.clone(), expires_on: *expires_on, client_id: identity.client_id.clone(), resource: resource.to_owned() });
        }
    }
    let principal = Principal { app_id: &identity.client_id, object_id: identity.object_id.clone(), roles: &identity.roles, acr: "2" };
    let mut claims = entra::access_token_claims(state, directory, &principal, app, resource, None);
    let mirid = match identity.kind {
        IdentityKind::UserAssigned => identity.resource_id.clone(),
        IdentityKind::SystemAssigned => format!("/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/emulator/providers/Microsoft.Compute/virtualMachines/{}", identity.host),
    };
    claims["xms_mirid"] = mirid.into();
    let token = state.issuer.sign(&claims);
    let expires_on = now + directory.token_lifetime_secs;
    cache.insert(key, (token.clone(), expires_on));
    state.tokens_issued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Issued { token, expires_on, client_id: identity.client_id.clone(), resource: resource.to_owned() })
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Shared steps after the source's own checks: find the identity, issue, answer in shape.
fn answer(state: &AppState, source: Source, resource: Option<&str>, id: Option<(&str, &str)>, refresh_sha256: Option<&str>) -> Response {
    let Some(resource) = resource.filter(|r| !r.is_empty()) else {
        return error(source, StatusCode::BAD_REQUEST, "invalid_request", "Required query variable 'resource' is missing");
    };
    let directory = state.directory.read().unwrap_or_else(|e| e.into_inner()).clone();
    let identity = match find_identity(&directory, &state.host, id) {
        Ok(i) => i,
        Err(message) => return error(source, StatusCode::BAD_REQUEST, "invalid_request", &message),
    };
    let issued = match issue(state, &directory, identity, resource, refresh_sha256) {
        Ok(i) => i,
        Err(message) => return error(source, StatusCode::BAD_REQUEST, "invalid_resource", &message),
    };
    let now = crate::now();
    let expires_in = issued.expires_on.saturating_sub(now);
    let mut body = match source {
        // IMDS, Arc and Cloud Shell send numbers as strings.
        Source::Imds | Source::AzureArc | Source::CloudShell => serde_json::json!({
            "access_token": issued.token,
            "client_id": issued.client_id,
            "expires_in": expires_in.to_string(),
            "expires_on": issued.expires_on.to_string(),
            "ext_expires_in": expires_in.to_string(),
            "not_before": now.to_string(),
            "resource": issued.resource,
            "token_type": "Bearer",
        }),
        Source::AppService | Source::MachineLearning => serde_json::json!({
            "access_token": issued.token,
            "expires_on": issued.expires_on.to_string(),
            "resource": issued.resource,
            "token_type": "Bearer",
            "client_id": issued.client_id,
        }),
        Source::ServiceFabric => serde_json::json!({
            "access_token": issued.token,
            "expires_on": issued.expires_on,
            "resource": issued.resource,
            "token_type": "Bearer",
        }),
    };
    // Arc confirms the user-assigned identity it answered for, under the name it was asked by.
    if source == Source::AzureArc {
        match id {
            Some(("object_id", _)) => body["object_id"] = identity.object_id.clone().into(),
            Some(("resource_id", _)) => body["msi_res_id"] = identity.resource_id.clone().into(),
            _ => {}
        }
    }
    Json(body).into_response()
}

#[allow(clippy::result_large_err, reason = "the error is the HTTP answer itself, built once per refused request")]
fn check_api_version(source: Source, query: &HashMap<String, String>, allowed: &[&str]) -> Result<(), Response> {
    match query.get("api-version") {
        None => Err(error(source, StatusCode::BAD_REQUEST, "invalid_request", "Required query variable 'api-version' is missing")),
        Some(v) if allowed.contains(&v.as_str()) => Ok(()),
        Some(v) => Err(error(source, StatusCode::BAD_REQUEST, "invalid_request", &format!("Invalid api-version '{v}'; supported: {}", allowed.join(", ")))),
    }
}

fn metadata_true(headers: &HeaderMap) -> bool {
    header(headers, "metadata").is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

const IMDS_IDS: [(&str, &str); 3] = [("client_id", "client_id"), ("object_id", "object_id"), ("msi_res_id", "resource_id")];

/// IMDS.
pub(crate) async fn imds(State(state): State<Arc<AppState>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if !metadata_true(&headers) {
        return error(Source::Imds, StatusCode::BAD_REQUEST, "invalid_request", "Required metadata header not specified");
    }
    if let Err(r) = check_api_version(Source::Imds, &query, &["2018-02-01", "2018-04-02", "2018-10-01", "2019-08-01", "2020-06-01", "2021-02-01"]) {
        return r;
    }
    match id_param(&query, &IMDS_IDS) {
        Ok(id) => answer(&state, Source::Imds, query.get("resource").map(String::as_str), id, None),
        Err(m) => error(Source::Imds, StatusCode::BAD_REQUEST, "invalid_request", &m),
    }
}

/// IMDS instance metadata: the VM's region, which ESTS-R auto-detection asks for
/// (`/metadata/instance/compute/location?format=text`, as MSAL Python sends it).
pub(crate) async fn imds_location(State(state): State<Arc<AppState>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if !metadata_true(&headers) {
        return error(Source::Imds, StatusCode::BAD_REQUEST, "invalid_request", "Required metadata header not specified");
    }
    if !query.contains_key("api-version") {
        return error(Source::Imds, StatusCode::BAD_REQUEST, "invalid_request", "Required query variable 'api-version' is missing");
    }
    if query.get("format").map(String::as_str) != Some("text") {
        // IMDS answers a leaf without format=text with 400 too.
        return error(Source::Imds, StatusCode::BAD_REQUEST, "invalid_request", "Querying a leaf node requires format=text");
    }
    let region = state.directory.read().expect("directory lock").region.clone();
    ([("content-type", "text/plain; charset=utf-8")], region).into_response()
}

/// App Service, Functions, Container Apps.
pub(crate) async fn app_service(State(state): State<Arc<AppState>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if header(&headers, "x-identity-header") != Some(state.identity_header.as_str()) {
        return error(Source::AppService, StatusCode::UNAUTHORIZED, "unauthorized", "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER");
    }
    if let Err(r) = check_api_version(Source::AppService, &query, &["2019-08-01", "2025-03-30"]) {
        return r;
    }
    // Token revocation exists only from 2025-03-30 on; older versions ignore the parameter.
    let refresh = query.get("token_sha256_to_refresh").filter(|_| query.get("api-version").is_some_and(|v| v == "2025-03-30"));
    match id_param(&query, &[("client_id", "client_id"), ("object_id", "object_id"), ("mi_res_id", "resource_id")]) {
        Ok(id) => answer(&state, Source::AppService, query.get("resource").map(String::as_str), id, refresh.map(String::as_str)),
        Err(m) => error(Source::AppService, StatusCode::BAD_REQUEST, "invalid_request", &m),
    }
}

/// Azure Machine Learning (the 2017-09-01 protocol).
pub(crate) async fn machine_learning(State(state): State<Arc<AppState>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if header(&headers, "secret") != Some(state.identity_header.as_str()) {
        return error(Source::MachineLearning, StatusCode::UNAUTHORIZED, "unauthorized", "The secret header is missing or does not match MSI_SECRET");
    }
    if let Err(r) = check_api_version(Source::MachineLearning, &query, &["2017-09-01"]) {
        return r;
    }
    // `clientid` names the identity; the system-assigned one is sent as DEFAULT_IDENTITY_CLIENT_ID.
    let directory = state.directory.read().unwrap_or_else(|e| e.into_inner()).clone();
    let system_client_id = find_identity(&directory, &state.host, None).ok().map(|m| m.client_id.clone());
    let id = query.get("clientid").filter(|c| system_client_id.as_deref().is_none_or(|s| !s.eq_ignore_ascii_case(c))).map(|c| ("client_id", c.as_str()));
    answer(&state, Source::MachineLearning, query.get("resource").map(String::as_str), id, None)
}

/// Azure Cloud Shell: a POST form.
pub(crate) async fn cloud_shell(State(state): State<Arc<AppState>>, headers: HeaderMap, body: String) -> Response {
    if !metadata_true(&headers) {
        return error(Source::CloudShell, StatusCode::BAD_REQUEST, "BadRequest", "Required metadata header not specified");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    answer(&state, Source::CloudShell, form.get("resource").map(String::as_str), None, None)
}

/// Azure Arc: a 401 challenge naming a key file, then the token for whoever can read it.
pub(crate) async fn azure_arc(State(state): State<Arc<AppState>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if !metadata_true(&headers) {
        return error(Source::AzureArc, StatusCode::BAD_REQUEST, "invalid_request", "Required metadata header not specified");
    }
    if let Err(r) = check_api_version(Source::AzureArc, &query, &["2019-11-01", "2020-06-01", "2021-02-01"]) {
        return r;
    }
    let id = match id_param(&query, &IMDS_IDS) {
        Ok(id) => id,
        Err(m) => return error(Source::AzureArc, StatusCode::BAD_REQUEST, "invalid_request", &m),
    };
    let presented = header(&headers, "authorization").and_then(|a| a.strip_prefix("Basic ")).map(str::to_owned);
    let known = presented.as_ref().is_some_and(|p| state.arc_secrets.lock().unwrap_or_else(|e| e.into_inner()).contains(p));
    if !known {
        // A fresh secret per challenge, in a file only this machine's user can read (as the agent does).
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let path = state.arc_key_directory.join(format!("{}.key", uuid::Uuid::new_v4().simple()));
        if let Err(e) = std::fs::create_dir_all(&state.arc_key_directory).and_then(|_| std::fs::write(&path, &secret)) {
            return error(Source::AzureArc, StatusCode::INTERNAL_SERVER_ERROR, "server_error", &format!("cannot write the key file: {e}"));
        }
        state.arc_secrets.lock().unwrap_or_else(|e| e.into_inner()).insert(secret);
        let mut response = (StatusCode::UNAUTHORIZED, "").into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!("Basic realm={}", path.display())) {
            response.headers_mut().insert("www-authenticate", v);
        }
        return response;
    }
    answer(&state, Source::AzureArc, query.get("resource").map(String::as_str), id, None)
}

/// Service Fabric (served over https, where the client pins the server certificate).
pub(crate) async fn service_fabric(State(state): State<Arc<AppState>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if header(&headers, "secret") != Some(state.identity_header.as_str()) {
        return error(Source::ServiceFabric, StatusCode::UNAUTHORIZED, "SecretHeaderNotFound", "Secret is not found in the request headers.");
    }
    if let Err(r) = check_api_version(Source::ServiceFabric, &query, &["2019-07-01-preview", "2020-05-01"]) {
        return r;
    }
    answer(&state, Source::ServiceFabric, query.get("resource").map(String::as_str), None, query.get("token_sha256_to_refresh").map(String::as_str))
}
