//! Entra ID endpoints: the v2 token endpoint (client credentials), OIDC discovery, JWKS and
//! instance discovery, with Entra-shaped error bodies.

use crate::AppState;
use crate::assertion::{self, RegisteredCert};
use crate::directory::{App, Directory, RoleAssignment};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An Entra-shaped error answer.
pub(crate) fn entra_error(status: StatusCode, error: &str, code: u32, description: &str, headers: &HeaderMap) -> Response {
    let correlation = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let trace = uuid::Uuid::new_v4().to_string();
    let timestamp = crate::timestamp(crate::now());
    let body = serde_json::json!({
        "error": error,
        "error_description": format!("{description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, [("client-request-id", correlation.clone())], Json(body)).into_response()
}

fn tenant_not_found(tenant: &str, headers: &HeaderMap) -> Response {
    entra_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!("AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        headers,
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(State(state): State<Arc<AppState>>, Path(tenant): Path<String>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let directory = state.directory.read().expect("directory lock").clone();
    if !directory.is_tenant(&tenant) {
        return tenant_not_found(&tenant, &headers);
    }
    let field = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(other) => return entra_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", 70003, &format!("AADSTS70003: The app requested an unsupported grant type '{other}'."), &headers),
        None => return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.", &headers),
    }
    let Some(client_id) = field("client_id") else {
        return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.", &headers);
    };
    let Some(scope) = field("scope") else {
        return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'scope'.", &headers);
    };
    let Some(client) = directory.client(client_id) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("AADSTS700016: Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant."),
            &headers,
        );
    };
    // The client must prove itself before anything about the resource is revealed.
    let acr = match (field("client_secret"), field("client_assertion")) {
        (Some(_), Some(_)) | (None, None) => {
            return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 7000218, "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", &headers);
        }
        (Some(secret), None) => {
            if !client.secrets.iter().any(|s| s == secret) {
                return entra_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    &format!("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
                    &headers,
                );
            }
            "1"
        }
        (None, Some(jwt)) => {
            if field("client_assertion_type") != Some(JWT_BEARER) {
                return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 50027, "AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.", &headers);
            }
            if is_federated(&state, jwt) {
                if let Err((code, description)) = verify_federated(&state, &directory, client, jwt) {
                    return entra_error(StatusCode::BAD_REQUEST, "invalid_client", code, &description, &headers);
                }
            } else {
                let certs: Vec<RegisteredCert> = client.certificates.iter().filter_map(|p| RegisteredCert::from_pem(p).ok()).collect();
                let expected_path = format!("/{tenant}/oauth2/v2.0/token");
                if let Err((code, description)) = assertion::verify(jwt, &client.client_id, &certs, &expected_path, crate::now() as i64) {
                    let status = if code == 700027 { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
                    return entra_error(status, "invalid_client", code, &description, &headers);
                }
            }
            "2"
        }
    };
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    let resource = match scopes.as_slice() {
        [one] if one.ends_with("/.default") => one.trim_end_matches("/.default"),
        _ => {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1002012,
                &format!("AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
                &headers,
            );
        }
    };
    let app = directory.app_for_resource(resource);
    if app.is_none() && !directory.permissive {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            &format!("AADSTS500011: The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."),
            &headers,
        );
    }
    let principal = Principal { app_id: &client.client_id, object_id: client.object_id(), roles: &client.roles, acr };
    let requested = field("claims").and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
    let claims = access_token_claims(&state, &directory, &principal, app, resource, requested.as_ref());
    state.tokens_issued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let lifetime = directory.token_lifetime_secs;
    Json(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": state.issuer.sign(&claims),
    }))
    .into_response()
}

fn jwt_part(jwt: &str, index: usize) -> Option<serde_json::Value> {
    use base64::Engine;
    let part = jwt.split('.').nth(index)?;
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// An assertion signed by the emulator's own key (a managed identity token or a minted
/// workload token) rather than by a client certificate: it is checked against the client's
/// federated credentials.
fn is_federated(state: &AppState, jwt: &str) -> bool {
    jwt_part(jwt, 0).is_some_and(|h| h.get("x5t").is_none() && h.get("x5t#S256").is_none() && h.get("kid").and_then(|k| k.as_str()) == Some(state.issuer.kid.as_str()))
}

fn verify_federated(state: &AppState, directory: &Directory, client: &crate::directory::Client, jwt: &str) -> Result<(), (u32, String)> {
    use base64::Engine;
    use rsa::signature::Verifier;
    let malformed = || (50027, "AADSTS50027: JWT token is invalid or malformed.".to_owned());
    let claims = jwt_part(jwt, 1).ok_or_else(malformed)?;
    let (input, signature) = jwt.rsplit_once('.').ok_or_else(malformed)?;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed())?;
    let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice()).map_err(|_| malformed())?;
    let key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(state.issuer.public_key().clone());
    if key.verify(input.as_bytes(), &signature).is_err() {
        return Err((700027, "AADSTS700027: Client assertion failed signature validation.".into()));
    }
    let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let (iss, sub, aud) = (text("iss"), text("sub"), text("aud"));
    let now = crate::now() as i64;
    if claims.get("exp").and_then(|v| v.as_f64()).is_none_or(|exp| (exp as i64) < now) {
        return Err((700024, "AADSTS700024: Client assertion is not within its valid time range.".into()));
    }
    let expand = |issuer: &str| issuer.replace("{authority}", &state.base_url).replace("{tenant}", &directory.tenant_id);
    let candidates: Vec<_> = client.federated_credentials.iter().filter(|f| expand(&f.issuer) == iss).collect();
    if candidates.is_empty() {
        return Err((700211, format!("AADSTS700211: No matching federated identity record found for presented assertion issuer '{iss}'.")));
    }
    // A managed identity token's aud is the token exchange app's id; it matches its URI.
    let audience_matches = |accepted: &str| accepted == aud || directory.app_for_resource(accepted).is_some_and(|a| a.app_id.eq_ignore_ascii_case(&aud));
    if !candidates.iter().any(|f| f.subject == sub && f.audiences.iter().any(|a| audience_matches(a))) {
        return Err((
            70021,
            format!("AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'."),
        ));
    }
    Ok(())
}

/// Who a token is issued to: a confidential client or a managed identity.
pub(crate) struct Principal<'a> {
    pub app_id: &'a str,
    pub object_id: String,
    pub roles: &'a [RoleAssignment],
    /// How it authenticated: "1" secret, "2" certificate or managed identity.
    pub acr: &'static str,
}

/// The claims of an app-only access token, v1 or v2 as the API's registration asks, with
/// exactly the roles assigned to the principal on that API, and the authentication context
/// (`acrs`) a claims request asks for, which is how a client satisfies a claims challenge.
pub(crate) fn access_token_claims(
    state: &AppState,
    directory: &Directory,
    principal: &Principal<'_>,
    app: Option<&App>,
    resource: &str,
    requested: Option<&serde_json::Value>,
) -> serde_json::Value {
    let now = crate::now();
    let tenant = &directory.tenant_id;
    let roles = app.map(|a| directory.granted_roles(principal.roles, a)).unwrap_or_default();
    let mut claims = serde_json::json!({
        "tid": tenant,
        "oid": principal.object_id,
        "sub": principal.object_id,
        "idtyp": "app",
        "iat": now,
        "nbf": now,
        "exp": now + directory.token_lifetime_secs,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let map = claims.as_object_mut().expect("claims object");
    if app.is_some_and(|a| a.access_token_version == 2) {
        map.insert("aud".into(), app.map(|a| a.app_id.clone()).into());
        map.insert("iss".into(), format!("{}/{tenant}/v2.0", state.base_url).into());
        map.insert("azp".into(), principal.app_id.into());
        map.insert("azpacr".into(), principal.acr.into());
        map.insert("ver".into(), "2.0".into());
    } else {
        map.insert("aud".into(), app.map(|a| a.identifier_uri.clone()).unwrap_or_else(|| resource.to_owned()).into());
        map.insert("iss".into(), format!("https://sts.windows.net/{tenant}/").into());
        map.insert("appid".into(), principal.app_id.into());
        map.insert("appidacr".into(), principal.acr.into());
        map.insert("ver".into(), "1.0".into());
    }
    if !roles.is_empty() {
        map.insert("roles".into(), roles.into());
    }
    let acrs = requested_acrs(requested);
    if !acrs.is_empty() {
        map.insert("acrs".into(), acrs.into());
    }
    claims
}

/// The authentication context values a claims request asks for:
/// `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}` (or `"values":[...]`).
fn requested_acrs(requested: Option<&serde_json::Value>) -> Vec<String> {
    let Some(acrs) = requested.and_then(|r| r.get("access_token")).and_then(|a| a.get("acrs")) else {
        return Vec::new();
    };
    let mut out: Vec<String> = acrs.get("value").and_then(|v| v.as_str()).map(str::to_owned).into_iter().collect();
    if let Some(values) = acrs.get("values").and_then(|v| v.as_array()) {
        out.extend(values.iter().filter_map(|v| v.as_str()).map(str::to_owned));
    }
    out
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(state): State<Arc<AppState>>, Path(tenant): Path<String>, headers: HeaderMap) -> Response {
    let directory = state.directory.read().expect("directory lock").clone();
    if !directory.is_tenant(&tenant) && tenant != "common" && tenant != "organizations" {
        return tenant_not_found(&tenant, &headers);
    }
    let base = &state.base_url;
    let token_endpoint = state.discovery_override.lock().expect("override lock").clone().unwrap_or_else(|| format!("{base}/{tenant}/oauth2/v2.0/token"));
    Json(serde_json::json!({
        "issuer": format!("{base}/{}/v2.0", directory.tenant_id),
        "token_endpoint": token_endpoint,
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub(crate) async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    Json(state.issuer.jwks()).into_response()
}

/// `GET /common/discovery/instance`: the answer MSAL expects for a known cloud.
pub(crate) async fn instance_discovery(State(state): State<Arc<AppState>>) -> Response {
    let host = state.base_url.trim_start_matches("http://").trim_start_matches("https://").to_owned();
    Json(serde_json::json!({
        "tenant_discovery_endpoint": format!("{}/common/v2.0/.well-known/openid-configuration", state.base_url),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }))
    .into_response()
}
