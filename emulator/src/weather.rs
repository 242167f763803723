//! The protected weather API: `GET /weather/forecast?city=Oslo`. It checks bearer tokens as an
//! Entra-protected API does (RS256 signature by the tenant's JWKS key id, issuer in the v1 or
//! v2 form, audience, lifetime with five minutes of clock skew, the `Weather.Read` app role)
//! and answers 401 with a `WWW-Authenticate: Bearer` challenge, 403 when the role is missing,
//! and JSON forecasts otherwise.
//!
//! Claims-challenge mode (`POST /_emulator/weather/claims-challenge {"acrs": "c1"}`): every
//! token without that authentication context is answered with 401
//! `error="insufficient_claims", claims="<base64 JSON>"`, as Conditional Access does, until a
//! client asks the token endpoint for those claims and presents the fresh token.

use crate::AppState;
use crate::directory::{WEATHER_API, WEATHER_READ_ROLE};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::signature::Verifier;
use serde::Deserialize;
use std::sync::Arc;

/// Clock skew an API tolerates on `exp` and `nbf` (Microsoft.Identity.Web's default).
const SKEW_SECS: i64 = 300;

/// Why a token was refused.
enum Refusal {
    /// 401: no usable token; `None` for no token at all (a bare challenge, as RFC 6750 asks).
    Unauthorized(Option<String>),
    /// 401: valid, but lacking the authentication context the claims challenge asks for.
    InsufficientClaims(String),
    /// 403: valid, but without the required role.
    Forbidden { roles: Vec<String> },
}

#[derive(Deserialize)]
pub(crate) struct ForecastQuery {
    city: Option<String>,
}

/// `GET /weather/forecast`.
pub(crate) async fn forecast(State(state): State<Arc<AppState>>, Query(query): Query<ForecastQuery>, headers: HeaderMap) -> Response {
    let claims = match check(&state, &headers) {
        Ok(claims) => claims,
        Err(refusal) => return refuse(&state, refusal),
    };
    let city = query.city.unwrap_or_else(|| "Oslo".into());
    // Deterministic data: the same city always gets the same forecast.
    let seed: u32 = city.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let summaries = ["Sunny", "Cloudy", "Rain", "Snow", "Windy", "Fog"];
    let days: Vec<serde_json::Value> = (0..3u32)
        .map(|d| {
            let s = seed.wrapping_add(d.wrapping_mul(2_654_435_761));
            serde_json::json!({"day": d, "summary": summaries[(s % 6) as usize], "temperature_c": (s % 35) as i32 - 5})
        })
        .collect();
    let caller = claims.get("appid").or_else(|| claims.get("azp")).cloned().unwrap_or_default();
    Json(serde_json::json!({"city": city, "forecast": days, "caller": caller, "roles": claims.get("roles").cloned().unwrap_or_default()})).into_response()
}

fn check(state: &AppState, headers: &HeaderMap) -> Result<serde_json::Value, Refusal> {
    let invalid = |why: &str| Refusal::Unauthorized(Some(why.to_owned()));
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(Refusal::Unauthorized(None));
    };
    let Some(token) = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer ")) else {
        return Err(invalid("the Authorization header is not a Bearer token"));
    };
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("the token is not a JWS"));
    };
    let decode = |seg: &str| URL_SAFE_NO_PAD.decode(seg).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let (Some(header), Some(claims)) = (decode(h), decode(p)) else {
        return Err(invalid("the token's header or payload is not base64url JSON"));
    };
    if header.get("alg").and_then(|v| v.as_str()) != Some("RS256") {
        return Err(invalid("the token is not signed with RS256"));
    }
    if header.get("kid").and_then(|v| v.as_str()) != Some(state.issuer.kid.as_str()) {
        return Err(invalid("the signing key is not in the tenant's JWKS"));
    }
    let signature = URL_SAFE_NO_PAD.decode(s).ok().and_then(|b| rsa::pkcs1v15::Signature::try_from(b.as_slice()).ok());
    let key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(state.issuer.public_key().clone());
    if signature.is_none_or(|sig| key.verify(format!("{h}.{p}").as_bytes(), &sig).is_err()) {
        return Err(invalid("the token's signature is invalid"));
    }
    let directory = state.directory.read().unwrap_or_else(|e| e.into_inner());
    let Some(app) = directory.app_for_resource(WEATHER_API) else {
        return Err(invalid("the directory has no api://weather app"));
    };
    let tenant = &directory.tenant_id;
    let issuer = claims.get("iss").and_then(|v| v.as_str()).unwrap_or_default();
    let valid_issuers = [format!("https://sts.windows.net/{tenant}/"), format!("{}/{tenant}/v2.0", state.base_url)];
    if !valid_issuers.iter().any(|i| i == issuer) {
        return Err(invalid(&format!("the issuer '{issuer}' is not this tenant's")));
    }
    let audience = claims.get("aud").and_then(|v| v.as_str()).unwrap_or_default();
    if !audience.eq_ignore_ascii_case(&app.identifier_uri) && !audience.eq_ignore_ascii_case(&app.app_id) {
        return Err(invalid(&format!("the audience '{audience}' is not this API")));
    }
    let now = crate::now() as i64;
    let time = |k: &str| claims.get(k).and_then(|v| v.as_i64());
    match (time("exp"), time("nbf")) {
        (Some(exp), _) if exp + SKEW_SECS <= now => return Err(invalid("the token is expired")),
        (_, Some(nbf)) if nbf - SKEW_SECS > now => return Err(invalid("the token is not valid yet")),
        (None, _) => return Err(invalid("the token has no exp")),
        _ => {}
    }
    drop(directory);
    if let Some(required) = state.weather_challenge.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        let has = claims.get("acrs").and_then(|v| v.as_array()).is_some_and(|a| a.iter().any(|v| v.as_str() == Some(required.as_str())));
        if !has {
            return Err(Refusal::InsufficientClaims(required));
        }
    }
    let roles: Vec<String> = claims.get("roles").and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect()).unwrap_or_default();
    if !roles.iter().any(|r| r == WEATHER_READ_ROLE) {
        return Err(Refusal::Forbidden { roles });
    }
    Ok(claims)
}

fn refuse(state: &AppState, refusal: Refusal) -> Response {
    let tenant = state.directory.read().unwrap_or_else(|e| e.into_inner()).tenant_id.clone();
    let base = format!(r#"Bearer realm="", authorization_uri="{}/{tenant}/oauth2/v2.0/authorize", resource_id="{WEATHER_API}""#, state.base_url);
    let (status, challenge, body) = match refusal {
        Refusal::Unauthorized(None) => (StatusCode::UNAUTHORIZED, base, serde_json::json!({"error": "unauthorized", "error_description": "a bearer token is required"})),
        Refusal::Unauthorized(Some(why)) => (
            StatusCode::UNAUTHORIZED,
            format!(r#"{base}, error="invalid_token", error_description="{why}""#),
            serde_json::json!({"error": "invalid_token", "error_description": why}),
        ),
        Refusal::InsufficientClaims(acrs) => {
            let claims = serde_json::json!({"access_token": {"acrs": {"essential": true, "value": acrs}}}).to_string();
            (
                StatusCode::UNAUTHORIZED,
                format!(r#"{base}, error="insufficient_claims", claims="{}""#, STANDARD.encode(claims)),
                serde_json::json!({"error": "insufficient_claims", "error_description": format!("authentication context '{acrs}' is required")}),
            )
        }
        Refusal::Forbidden { roles } => (
            StatusCode::FORBIDDEN,
            format!(r#"Bearer error="insufficient_scope", error_description="the app role {WEATHER_READ_ROLE} is required""#),
            serde_json::json!({"error": "forbidden", "error_description": format!("the app role {WEATHER_READ_ROLE} is required"), "roles": roles}),
        ),
    };
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&challenge) {
        response.headers_mut().insert("www-authenticate", value);
    }
    response
}

#[derive(Deserialize)]
pub(crate) struct Challenge {
    acrs: String,
}

/// `POST /_emulator/weather/claims-challenge`: require an authentication context.
pub(crate) async fn set_challenge(State(state): State<Arc<AppState>>, Json(challenge): Json<Challenge>) -> StatusCode {
    *state.weather_challenge.lock().unwrap_or_else(|e| e.into_inner()) = Some(challenge.acrs);
    StatusCode::NO_CONTENT
}

/// `DELETE /_emulator/weather/claims-challenge`.
pub(crate) async fn clear_challenge(State(state): State<Arc<AppState>>) -> StatusCode {
    *state.weather_challenge.lock().unwrap_or_else(|e| e.into_inner()) = None;
    StatusCode::NO_CONTENT
}
