//! The emulator over real loopback HTTP(S): issued tokens checked against the published JWKS,
//! the weather API's 401/403/200 paths and claims challenge, https with the generated CA, and
//! the JSON-lines request log.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use entra_token_emulator::directory::{self, Directory};
use entra_token_emulator::{Emulator, EmulatorOptions, Issuer, LoggedRequest, TlsMaterial};
use rsa::signature::Verifier;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap()
}

async fn token(http: &reqwest::Client, emulator: &Emulator, client_id: &str, secret: &str, extra: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let scope = format!("{}/.default", directory::WEATHER_API);
    let mut form = vec![("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret), ("scope", scope.as_str())];
    form.extend_from_slice(extra);
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let response = http.post(emulator.token_endpoint()).header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

async fn access_token(http: &reqwest::Client, emulator: &Emulator, client_id: &str, secret: &str) -> String {
    let (status, body) = token(http, emulator, client_id, secret, &[]).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Verifies the signature with the key the JWKS endpoint publishes (fetched over HTTP, rebuilt
/// from `n` and `e`), then returns the claims.
async fn verify_with_published_jwks(http: &reqwest::Client, emulator: &Emulator, jwt: &str) -> serde_json::Value {
    let url = format!("{}/{}/discovery/v2.0/keys", emulator.url(), emulator.tenant_id());
    let jwks: serde_json::Value = serde_json::from_str(&http.get(url).send().await.unwrap().text().await.unwrap()).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]).expect("kid published in the JWKS");
    let n = rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap());
    let e = rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap());
    let key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(rsa::RsaPublicKey::new(n, e).unwrap());
    let signature = rsa::pkcs1v15::Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("signature verifies with the published key");
    assert_eq!(header["alg"], "RS256");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

#[tokio::test]
async fn v1_token_carries_the_claims_an_api_checks_and_exactly_the_assigned_roles() {
    let emulator = Emulator::start(Directory::default()).await.unwrap();
    let http = client();
    let jwt = access_token(&http, &emulator, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET).await;
    let claims = verify_with_published_jwks(&http, &emulator, &jwt).await;
    let tenant = directory::DEFAULT_TENANT;
    assert_eq!(claims["aud"], "api://weather");
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{tenant}/"));
    assert_eq!(claims["tid"], tenant);
    assert_eq!(claims["appid"], directory::WEATHER_CLIENT_ID);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["oid"], claims["sub"]);
    assert_eq!(claims["roles"], serde_json::json!(["Weather.Read"]), "Weather.Write exists but is not assigned");
    let (iat, nbf, exp) = (claims["iat"].as_u64().unwrap(), claims["nbf"].as_u64().unwrap(), claims["exp"].as_u64().unwrap());
    assert!(nbf <= iat + 1 && exp == iat + 3599, "iat {iat} nbf {nbf} exp {exp}");
    assert!(claims.get("azp").is_none(), "v1 tokens use appid, not azp");
}

#[tokio::test]
async fn v2_apps_get_v2_tokens_and_unassigned_clients_get_no_roles() {
    let emulator = Emulator::start(Directory::default()).await.unwrap();
    emulator.update_directory(|d| d.apps.iter_mut().find(|a| a.identifier_uri == directory::WEATHER_API).unwrap().access_token_version = 2);
    let http = client();
    let jwt = access_token(&http, &emulator, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET).await;
    let claims = verify_with_published_jwks(&http, &emulator, &jwt).await;
    assert_eq!(claims["aud"], directory::WEATHER_API_APP_ID, "v2 audience is the app id");
    assert_eq!(claims["iss"], format!("{}/{}/v2.0", emulator.url(), directory::DEFAULT_TENANT));
    assert_eq!(claims["azp"], directory::WEATHER_CLIENT_ID);
    assert_eq!(claims["ver"], "2.0");
    assert!(claims.get("appid").is_none());

    let jwt = access_token(&http, &emulator, directory::NO_ROLE_CLIENT_ID, directory::NO_ROLE_CLIENT_SECRET).await;
    let claims = verify_with_published_jwks(&http, &emulator, &jwt).await;
    assert!(claims.get("roles").is_none(), "a client without an assignment still gets a token, without roles: {claims}");
}

async fn call_weather(http: &reqwest::Client, emulator: &Emulator, bearer: Option<&str>) -> (u16, Option<String>, serde_json::Value) {
    let mut request = http.get(format!("{}?city=Bergen", emulator.weather_url()));
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

#[tokio::test]
async fn weather_api_answers_200_403_and_401_like_a_protected_api() {
    let emulator = Emulator::start(Directory::default()).await.unwrap();
    let http = client();

    let good = access_token(&http, &emulator, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET).await;
    let (status, _, body) = call_weather(&http, &emulator, Some(&good)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["city"], "Bergen");
    assert_eq!(body["forecast"].as_array().unwrap().len(), 3);
    assert_eq!(body["caller"], directory::WEATHER_CLIENT_ID);

    let no_role = access_token(&http, &emulator, directory::NO_ROLE_CLIENT_ID, directory::NO_ROLE_CLIENT_SECRET).await;
    let (status, _, body) = call_weather(&http, &emulator, Some(&no_role)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("Weather.Read"));

    let (status, challenge, _) = call_weather(&http, &emulator, None).await;
    assert_eq!(status, 401);
    let challenge = challenge.expect("401 carries WWW-Authenticate");
    assert!(challenge.starts_with("Bearer ") && challenge.contains("authorization_uri=") && !challenge.contains("error="), "{challenge}");

    let mut tampered: Vec<char> = good.chars().collect();
    let i = good.rfind('.').unwrap() + 5;
    tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let (status, challenge, _) = call_weather(&http, &emulator, Some(&tampered)).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains(r#"error="invalid_token", error_description="the token's signature is invalid""#));

    // Tokens the API must refuse although the signature is good: signed with the same key.
    let issuer = Issuer::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let base = serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(good.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let with = |key: &str, value: serde_json::Value| {
        let mut claims = base.clone();
        claims[key] = value;
        issuer.sign(&claims)
    };
    for (token, why) in [
        (with("exp", (now - 400).into()), "the token is expired"),
        (with("aud", "api://other".into()), "the audience 'api://other' is not this API"),
        (with("iss", "https://sts.windows.net/99999999-9999-4999-8999-999999999999/".into()), "is not this tenant's"),
        (with("nbf", (now + 3600).into()), "the token is not valid yet"),
    ] {
        let (status, challenge, _) = call_weather(&http, &emulator, Some(&token)).await;
        assert_eq!(status, 401, "{why}");
        assert!(challenge.unwrap().contains(why), "{why}");
    }
    // Within the five minutes of skew an expired token still passes, as in Microsoft.Identity.Web.
    let (status, _, _) = call_weather(&http, &emulator, Some(&with("exp", (now - 60).into()))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn claims_challenge_is_satisfied_by_a_token_requested_with_those_claims() {
    let emulator = Emulator::start(Directory::default()).await.unwrap();
    let http = client();
    let old = access_token(&http, &emulator, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET).await;
    emulator.set_weather_claims_challenge(Some("c1"));

    let (status, challenge, body) = call_weather(&http, &emulator, Some(&old)).await;
    assert_eq!(status, 401, "{body}");
    let challenge = challenge.unwrap();
    assert!(challenge.contains(r#"error="insufficient_claims""#), "{challenge}");
    let encoded = challenge.split("claims=\"").nth(1).unwrap().trim_end_matches('"');
    let claims = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&claims).unwrap(), serde_json::json!({"access_token": {"acrs": {"essential": true, "value": "c1"}}}));

    let (status, body) = token(&http, &emulator, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET, &[("claims", &claims)]).await;
    assert_eq!(status, 200);
    let fresh = body["access_token"].as_str().unwrap();
    assert_eq!(call_weather(&http, &emulator, Some(fresh)).await.0, 200);

    // Over the admin API, as the Python and Node tests drive it.
    let admin = format!("{}/_emulator/weather/claims-challenge", emulator.url());
    assert_eq!(http.post(&admin).header("content-type", "application/json").body(r#"{"acrs":"c2"}"#).send().await.unwrap().status(), 204);
    assert_eq!(call_weather(&http, &emulator, Some(fresh)).await.0, 401);
    assert_eq!(http.delete(&admin).send().await.unwrap().status(), 204);
    assert_eq!(call_weather(&http, &emulator, Some(&old)).await.0, 200);
}

#[tokio::test]
async fn https_with_the_generated_ca_and_only_with_it() {
    let material = TlsMaterial::generate().unwrap();
    let options = EmulatorOptions { tls: Some(material.clone()), ..EmulatorOptions::default() };
    let emulator = Emulator::start_with(Directory::default(), options).await.unwrap();
    assert!(emulator.url().starts_with("https://127.0.0.1:"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(material.ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let jwt = access_token(&trusting, &emulator, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET).await;
    assert_eq!(call_weather(&trusting, &emulator, Some(&jwt)).await.0, 200);

    let other_ca = TlsMaterial::generate().unwrap();
    let distrusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(other_ca.ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let err = distrusting.get(format!("{}/_emulator/health", emulator.url())).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[test]
fn tls_material_persists_in_its_directory() {
    let dir = std::env::temp_dir().join(format!("entra-emu-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = TlsMaterial::load_or_generate(&dir).unwrap();
    let second = TlsMaterial::load_or_generate(&dir).unwrap();
    assert_eq!(first.ca_pem(), second.ca_pem(), "a CA trusted once stays valid across restarts");
    assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).unwrap(), first.ca_pem());
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn request_log_file_has_one_json_object_per_request() {
    let path = std::env::temp_dir().join(format!("entra-emu-log-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let options = EmulatorOptions { request_log_file: Some(path.clone()), ..EmulatorOptions::default() };
    let emulator = Emulator::start_with(Directory::default(), options).await.unwrap();
    let http = client();
    let jwt = access_token(&http, &emulator, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET).await;
    call_weather(&http, &emulator, Some(&jwt)).await;
    token(&http, &emulator, directory::WEATHER_CLIENT_ID, "wrong", &[]).await;
    let lines: Vec<LoggedRequest> = std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary: Vec<(String, u16)> = lines.iter().map(|l| (l.path.clone(), l.status)).collect();
    let token_path = format!("/{}/oauth2/v2.0/token", directory::DEFAULT_TENANT);
    assert_eq!(summary, vec![(token_path.clone(), 200), ("/weather/forecast".into(), 200), (token_path, 401)]);
    // The file is a log: no secret, assertion or bearer token in it, only their lengths.
    let text = std::fs::read_to_string(&path).unwrap();
    for secret in [directory::WEATHER_CLIENT_SECRET, jwt.as_str()] {
        assert!(!text.contains(secret), "a credential leaked into the request log");
    }
    assert_eq!(lines[0].form_value("client_secret"), Some(format!("<redacted, {} bytes>", directory::WEATHER_CLIENT_SECRET.len()).as_str()));
    assert_eq!(lines[0].form_value("client_id"), Some(directory::WEATHER_CLIENT_ID), "the rest stays readable");
    assert_eq!(lines[1].headers["authorization"], format!("<redacted, {} bytes>", jwt.len() + "Bearer ".len()));
    // The in-memory log (the admin API, for tests) keeps what was sent.
    assert_eq!(emulator.requests()[0].form_value("client_secret"), Some(directory::WEATHER_CLIENT_SECRET));
    std::fs::remove_file(&path).ok();
}

/// The identity endpoints refuse what the real ones refuse, in each source's own error shape.
#[tokio::test]
async fn managed_identity_endpoints_check_headers_and_api_versions_like_the_real_ones() {
    let emulator = Emulator::start(Directory::default()).await.unwrap();
    let http = client();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut request = http.get(format!("{}{path}", emulator.url()));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), serde_json::from_str::<serde_json::Value>(&response.text().await.unwrap()).unwrap())
        }
    };
    let header = emulator.identity_header().to_owned();
    let (status, body) = get("/metadata/identity/oauth2/token?api-version=2017-01-01&resource=https://vault.azure.net", &[("metadata", "true")]).await;
    assert_eq!(status, 400);
    assert!(body["error_description"].as_str().unwrap().contains("Invalid api-version"), "IMDS: flat error: {body}");

    let (status, body) = get("/msi/token?api-version=2019-08-01&resource=https://vault.azure.net", &[("x-identity-header", "wrong")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["statusCode"], 401, "App Service: statusCode/message/correlationId: {body}");
    assert!(body["correlationId"].is_string());

    let (status, body) = get("/msi/token?api-version=2019-08-01&resource=https://vault.azure.net&client_id=99999999-9999-4999-8999-999999999999", &[("x-identity-header", &header)]).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("Identity not found"), "{body}");

    let (status, body) = get("/servicefabric/metadata/identity/oauth2/token?api-version=2019-07-01-preview&resource=https://vault.azure.net", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "SecretHeaderNotFound", "Service Fabric: nested error: {body}");

    let (status, body) = get("/msi/token?api-version=2019-08-01&resource=api://nowhere", &[("x-identity-header", &header)]).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("AADSTS500011"), "{body}");

    // The same token comes back until it nears expiry, as a real host's cache does.
    let path = "/msi/token?api-version=2019-08-01&resource=https://vault.azure.net";
    let (first, second) = (get(path, &[("x-identity-header", &header)]).await.1, get(path, &[("x-identity-header", &header)]).await.1);
    assert_eq!(first["access_token"], second["access_token"]);
    assert!(first["expires_on"].is_string(), "App Service sends expires_on as a string");
}
