//! Client-credential flows over real loopback HTTP against the in-process emulator.

mod common;

use common::*;
use entra_token::{
    AssertionAlgorithm, Authority, CertificateInput, CertificateOptions, ClientAssertionCredential, ClientCertificate, ClientCertificateCredential,
    ClientSecretCredential, Error, Secret, TokenCredential, TokenRequest,
};
use std::time::Duration;

fn weather() -> TokenRequest {
    TokenRequest::new([WEATHER_SCOPE])
}

#[tokio::test]
async fn client_secret_gets_a_token_with_the_assigned_role() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    let token = cred.get_token(&weather()).await.unwrap();
    let c = claims(token.token().expose_secret());
    assert_eq!(c["aud"], WEATHER_API);
    assert_eq!(c["appid"], WEATHER_CLIENT_ID);
    assert_eq!(c["appidacr"], "1");
    assert_eq!(c["tid"], emu.tenant_id());
    assert_eq!(c["roles"], serde_json::json!(["Weather.Read"]));
    assert_eq!(c["idtyp"], "app");
    assert!(token.expires_on() > c["iat"].as_u64().unwrap() + 3000);

    let requests = token_requests(&emu);
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.form_value("grant_type"), Some("client_credentials"));
    assert_eq!(r.form_value("scope"), Some(WEATHER_SCOPE));
    assert_eq!(r.form_value("client_secret"), Some(WEATHER_CLIENT_SECRET));
    assert!(r.headers["user-agent"].starts_with("entra-token/"), "{}", r.headers["user-agent"]);
    assert!(uuid::Uuid::parse_str(&r.headers["client-request-id"]).is_ok());
    assert!(!r.headers.contains_key("x-client-sku"), "we are not MSAL");
}

#[tokio::test]
async fn client_without_assignment_gets_a_token_without_roles() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), NO_ROLE_CLIENT_ID, NO_ROLE_CLIENT_SECRET, options).unwrap();
    let token = cred.get_token(&weather()).await.unwrap();
    assert!(claims(token.token().expose_secret()).get("roles").is_none());
}

async fn certificate_flow(input: CertificateInput, algorithm: AssertionAlgorithm, x5c: bool) -> (entra_token::AccessToken, serde_json::Value) {
    let emu = emulator().await;
    let (client, _) = options(&emu);
    let opts = CertificateOptions { client, algorithm, send_certificate_chain: x5c, ..CertificateOptions::default() };
    let cred = ClientCertificateCredential::new(&emu.tenant_id(), CERT_CLIENT_ID, input, opts).unwrap();
    let token = cred.get_token(&weather()).await.unwrap();
    let requests = token_requests(&emu);
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.form_value("client_assertion_type"), Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
    assert!(r.form_value("client_secret").is_none());
    let assertion = r.form_value("client_assertion").unwrap();
    let mut h = header(assertion);
    let c = claims(assertion);
    assert_eq!(c["aud"], emu.token_endpoint());
    assert_eq!(c["iss"], CERT_CLIENT_ID);
    assert_eq!(c["sub"], CERT_CLIENT_ID);
    assert_eq!(c["exp"].as_u64().unwrap() - c["nbf"].as_u64().unwrap(), 600);
    assert!(uuid::Uuid::parse_str(c["jti"].as_str().unwrap()).is_ok());
    h["typ_checked"] = (h["typ"] == "JWT").into();
    (token, h)
}

#[tokio::test]
async fn pem_certificate_signs_ps256_with_sha256_thumbprint() {
    let (token, h) = certificate_flow(CertificateInput::File { path: fixture("cert-a-combined.pem"), password: None }, AssertionAlgorithm::Ps256, false).await;
    assert_eq!(h["alg"], "PS256");
    assert!(h.get("x5t#S256").is_some() && h.get("x5t").is_none() && h.get("x5c").is_none());
    assert_eq!(h["typ_checked"], true);
    let c = claims(token.token().expose_secret());
    assert_eq!(c["appidacr"], "2");
    assert_eq!(c["roles"], serde_json::json!(["Weather.Read"]));
}

#[tokio::test]
async fn rs256_with_x5c_for_subject_name_issuer_auth() {
    let pem = std::fs::read(fixture("cert-a-combined.pem")).unwrap();
    let (_, h) = certificate_flow(CertificateInput::Loaded(ClientCertificate::from_pem(&pem).unwrap()), AssertionAlgorithm::Rs256, true).await;
    assert_eq!(h["alg"], "RS256");
    assert!(h.get("x5t").is_some() && h.get("x5t#S256").is_none());
    assert_eq!(h["x5c"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn modern_pfx_loads_and_authenticates() {
    let input = CertificateInput::File { path: fixture("cert-a-modern.pfx"), password: Some(Secret::new("fixture-pw")) };
    certificate_flow(input, AssertionAlgorithm::Ps256, false).await;
}

#[tokio::test]
async fn legacy_rc2_3des_pfx_loads_and_authenticates() {
    let data = std::fs::read(fixture("cert-a-legacy.pfx")).unwrap();
    let input = CertificateInput::Bytes { data, password: Some(Secret::new("fixture-pw")) };
    certificate_flow(input, AssertionAlgorithm::Ps256, false).await;
}

#[test]
fn wrong_pfx_password_and_garbage_are_clear_certificate_errors() {
    let data = std::fs::read(fixture("cert-a-modern.pfx")).unwrap();
    let err = ClientCertificateCredential::new(
        "t",
        "c",
        CertificateInput::Bytes { data, password: Some(Secret::new("wrong")) },
        CertificateOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind_code(), "certificate");
    assert!(err.to_string().contains("wrong password"), "{err}");
    let err = ClientCertificateCredential::new("t", "c", CertificateInput::File { path: "/nonexistent/cert.pem".into(), password: None }, CertificateOptions::default()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/cert.pem") && err.to_string().contains("cannot read"), "{err}");
    let err = ClientCertificate::from_pem(&std::fs::read(fixture("cert-a.pem")).unwrap()).unwrap_err();
    assert!(err.contains("no private key"), "{err}");
}

#[tokio::test]
async fn assertion_callback_is_called_with_the_request_context() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    let pem = std::fs::read(fixture("cert-a-combined.pem")).unwrap();
    let cert = std::sync::Arc::new(ClientCertificate::from_pem(&pem).unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let cred = ClientAssertionCredential::new(
        &emu.tenant_id(),
        CERT_CLIENT_ID,
        move |ctx| {
            seen2.lock().unwrap().push(ctx.clone());
            let cert = cert.clone();
            async move {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
                entra_token::assertion::sign(&cert, &ctx.client_id, &ctx.token_endpoint, now, AssertionAlgorithm::Ps256, false).map(|(jwt, _)| jwt.expose_secret().to_owned())
            }
        },
        options,
    )
    .unwrap();
    let token = cred.get_token(&weather()).await.unwrap();
    assert_eq!(claims(token.token().expose_secret())["appid"], CERT_CLIENT_ID);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].token_endpoint, emu.token_endpoint());
    assert_eq!(seen[0].tenant_id, emu.tenant_id());
}

#[tokio::test]
async fn assertion_callback_failure_is_reported_with_its_cause() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    let cred = ClientAssertionCredential::new(&emu.tenant_id(), CERT_CLIENT_ID, |_| async { Err::<String, _>(std::io::Error::other("vault unreachable")) }, options).unwrap();
    let err = cred.get_token(&weather()).await.unwrap_err();
    assert_eq!(err.kind_code(), "assertion_callback");
    assert!(err.to_string().contains("vault unreachable"), "{err}");
    assert!(token_requests(&emu).is_empty(), "nothing is sent without an assertion");
}

#[tokio::test]
async fn generic_oidc_authority_discovers_its_token_endpoint() {
    let emu = emulator().await;
    let (mut options, _) = options(&emu);
    options.authority = Some(Authority::oidc(&format!("{}/{}/v2.0", emu.url(), emu.tenant_id())).unwrap());
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    cred.get_token(&weather()).await.unwrap();
    let paths: Vec<String> = emu.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(paths, vec![
        format!("GET /{}/v2.0/.well-known/openid-configuration", emu.tenant_id()),
        format!("POST /{}/oauth2/v2.0/token", emu.tenant_id()),
    ]);
    // Discovery happens once per credential.
    cred.get_token(&weather().with_force_refresh(true)).await.unwrap();
    assert_eq!(emu.requests().len(), 3);
}

#[tokio::test]
async fn discovery_pointing_to_another_host_is_refused() {
    let emu = emulator().await;
    emu.set_discovery_token_endpoint(Some("http://127.0.0.2:9/steal".into()));
    let (mut options, _) = options(&emu);
    options.authority = Some(Authority::oidc(&format!("{}/{}/v2.0", emu.url(), emu.tenant_id())).unwrap());
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    let err = cred.get_token(&weather()).await.unwrap_err();
    assert_eq!(err.kind_code(), "configuration");
    assert!(err.to_string().contains("not on the authority's host"), "{err}");
    assert!(token_requests(&emu).is_empty());
}

#[tokio::test]
async fn wrong_secret_is_rejected_with_aadsts_7000215_and_ids() {
    let emu = emulator().await;
    let (options, sleeper) = options(&emu);
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, "not-the-secret", options).unwrap();
    let err = cred.get_token(&weather()).await.unwrap_err();
    assert_eq!(err.kind_code(), "authentication_failed");
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.aadsts_code(), Some(7000215));
    assert_eq!(err.oauth_error(), Some("invalid_client"));
    assert!(!err.is_retryable());
    // The emulator, like Entra, echoes our client-request-id as the correlation id.
    assert_eq!(err.correlation_id(), err.request_id());
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    assert!(sleeper.delays().is_empty(), "a 401 is never retried");
    assert_eq!(token_requests(&emu).len(), 1);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("not-the-secret"), "the secret must not leak: {shown}");
}

#[tokio::test]
async fn unknown_client_and_unknown_resource_are_typed_errors() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), "99999999-9999-4999-8999-999999999999", "x", options.clone()).unwrap();
    let err = cred.get_token(&weather()).await.unwrap_err();
    assert_eq!((err.status(), err.aadsts_code()), (Some(400), Some(700016)));
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    let err = cred.get_token(&TokenRequest::new(["api://nothing-here/.default"])).await.unwrap_err();
    assert_eq!((err.status(), err.aadsts_code(), err.oauth_error()), (Some(400), Some(500011), Some("invalid_resource")));
}

#[tokio::test]
async fn expired_assertion_is_rejected_with_aadsts_700024() {
    let emu = emulator().await;
    let (mut client, _) = options(&emu);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    client.clock = std::sync::Arc::new(entra_token::ManualClock::new(now - 7200));
    let opts = CertificateOptions { client, ..CertificateOptions::default() };
    let cred = ClientCertificateCredential::new(&emu.tenant_id(), CERT_CLIENT_ID, CertificateInput::File { path: fixture("cert-a-combined.pem"), password: None }, opts).unwrap();
    let err = cred.get_token(&weather()).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(700024), "{err}");
    // A rejected assertion triggers one reload-and-retry; the clock is still wrong, so it fails again.
    assert_eq!(token_requests(&emu).len(), 2);
}

#[tokio::test]
async fn rotated_certificate_file_is_picked_up_after_a_rejection() {
    let emu = emulator().await;
    let dir = tempdir();
    let path = dir.join("cert.pem");
    std::fs::copy(fixture("cert-b-combined.pem"), &path).unwrap(); // not registered for the client
    let (client, _) = options(&emu);
    let opts = CertificateOptions { client, file_check_interval: Duration::from_secs(3600), ..CertificateOptions::default() };
    let cred = ClientCertificateCredential::new(&emu.tenant_id(), CERT_CLIENT_ID, CertificateInput::File { path: path.clone(), password: None }, opts).unwrap();
    let old = cred.thumbprint();
    std::fs::copy(fixture("cert-a-combined.pem"), &path).unwrap(); // the rotation
    let token = cred.get_token(&weather()).await.unwrap();
    assert_eq!(claims(token.token().expose_secret())["appid"], CERT_CLIENT_ID);
    let statuses: Vec<u16> = token_requests(&emu).iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 200], "first the old certificate is rejected, then the new one is used");
    assert_ne!(cred.thumbprint(), old);
}

#[tokio::test]
async fn changed_certificate_file_is_used_without_a_rejection() {
    let emu = emulator().await;
    let dir = tempdir();
    let path = dir.join("cert.pem");
    std::fs::copy(fixture("cert-b-combined.pem"), &path).unwrap();
    let (client, _) = options(&emu);
    let opts = CertificateOptions { client, file_check_interval: Duration::ZERO, ..CertificateOptions::default() };
    let cred = ClientCertificateCredential::new(&emu.tenant_id(), CERT_CLIENT_ID, CertificateInput::File { path: path.clone(), password: None }, opts).unwrap();
    std::fs::copy(fixture("cert-a-combined.pem"), &path).unwrap();
    cred.get_token(&weather()).await.unwrap();
    let statuses: Vec<u16> = token_requests(&emu).iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200]);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("entra-token-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn tenant_override_needs_to_be_allowed() {
    let emu = emulator().await;
    let (mut options, _) = options(&emu);
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options.clone()).unwrap();
    let err = cred.get_token(&weather().with_tenant("other-tenant")).await.unwrap_err();
    assert_eq!(err.kind_code(), "configuration");
    assert!(err.to_string().contains("additionally_allowed_tenants"), "{err}");
    assert!(token_requests(&emu).is_empty());

    options.additionally_allowed_tenants = vec!["emulator.onmicrosoft.com".into()];
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    cred.get_token(&weather().with_tenant("emulator.onmicrosoft.com")).await.unwrap();
    assert_eq!(token_requests(&emu)[0].path, "/emulator.onmicrosoft.com/oauth2/v2.0/token");
}

#[tokio::test]
async fn secrets_and_tokens_never_appear_in_debug_or_errors() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options.clone()).unwrap();
    let token = cred.get_token(&weather()).await.unwrap();
    let jwt = token.token().expose_secret().to_owned();
    let printed = format!("{cred:?} {token:?} {:?} {:?}", weather().with_rejected_token(jwt.clone()), options);
    assert!(!printed.contains(WEATHER_CLIENT_SECRET), "{printed}");
    assert!(!printed.contains(&jwt[..40]), "{printed}");

    let cert_cred = ClientCertificateCredential::new(
        &emu.tenant_id(),
        CERT_CLIENT_ID,
        CertificateInput::File { path: fixture("cert-a-modern.pfx"), password: Some(Secret::new("fixture-pw")) },
        CertificateOptions { client: options, ..CertificateOptions::default() },
    )
    .unwrap();
    let printed = format!("{cert_cred:?}");
    assert!(!printed.contains("fixture-pw") && !printed.contains("PRIVATE"), "{printed}");
}

#[tokio::test]
async fn empty_and_invalid_inputs_fail_before_any_request() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    assert!(matches!(ClientSecretCredential::with_options("", WEATHER_CLIENT_ID, "s", options.clone()), Err(Error::Configuration { .. })));
    assert!(matches!(ClientSecretCredential::with_options("t", "", "s", options.clone()), Err(Error::Configuration { .. })));
    assert!(matches!(ClientSecretCredential::with_options("t", "c", "", options.clone()), Err(Error::Configuration { .. })));
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    for bad in [vec![], vec!["api://weather/.default extra"]] {
        let err = cred.get_token(&TokenRequest::new(bad)).await.unwrap_err();
        assert_eq!(err.kind_code(), "configuration", "{err}");
    }
    assert!(emu.requests().is_empty());
}

/// The weather API's claims challenge, answered the way an app would: read the challenge,
/// request a token with those claims (bypassing the cached one), retry. CAE is on, so the claims
/// the client sends merge the challenge with the `cp1` capability.
#[tokio::test]
async fn a_claims_challenge_from_the_api_is_satisfied_by_a_fresh_token() {
    use base64::Engine;
    let emulator = emulator().await;
    let (options, _) = options(&emulator);
    let credential = ClientSecretCredential::with_options(&emulator.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    let request = TokenRequest::new([WEATHER_SCOPE]).with_cae(true);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
    let call = |token: entra_token::AccessToken| {
        let request = http.get(emulator.weather_url()).bearer_auth(token.token().expose_secret());
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()))
        }
    };

    let first = credential.get_token(&request).await.unwrap();
    assert_eq!(call(first.clone()).await.0, 200);
    emulator.set_weather_claims_challenge(Some("c1"));
    let (status, challenge) = call(credential.get_token(&request).await.unwrap()).await;
    assert_eq!(status, 401, "the cached token lacks the authentication context");
    let encoded = challenge.unwrap().split("claims=\"").nth(1).unwrap().trim_end_matches('"').to_owned();
    let claims = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();

    let fresh = credential.get_token(&request.clone().with_claims(claims)).await.unwrap();
    assert!(!fresh.same_instance(&first), "a claims request never comes from the cache");
    let sent = token_requests(&emulator).last().unwrap().form_value("claims").unwrap().to_owned();
    let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
    assert_eq!(sent["access_token"]["acrs"]["value"], "c1", "{sent}");
    assert_eq!(sent["access_token"]["xms_cc"]["values"], serde_json::json!(["cp1"]), "{sent}");
    assert_eq!(call(fresh).await.0, 200);
}
