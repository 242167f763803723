//! Replays the client-credential flows captured from Microsoft's libraries
//! (tests/fixtures/vectors) and checks that what we send covers what every peer sends.

mod common;

use common::*;
use entra_token::{CertificateInput, CertificateOptions, ClientCertificateCredential, ClientSecretCredential, TokenCredential, TokenRequest};
use entra_token_emulator::LoggedRequest;

const SCOPE: &str = "https://vault.azure.net/.default";

fn consensus(flow: &str) -> serde_json::Value {
    let path = fixture(&format!("vectors/{flow}/consensus.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn names(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

/// Checks one captured token request against the flow's consensus.
fn check_against_peers(flow: &str, r: &LoggedRequest) {
    let c = consensus(flow);
    let expected_path = c["paths"]["msal-python"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).find(|p| p.starts_with("POST")).unwrap().to_owned();
    assert_eq!(format!("{} {}", r.method, r.path), expected_path.replace("${TENANT}", r.path.split('/').nth(1).unwrap()));
    for key in names(&c, "form_keys_all_peers") {
        assert!(r.form_value(&key).is_some(), "{flow}: every peer sends form key {key}; we did not: {:?}", r.form.iter().map(|(k, _)| k).collect::<Vec<_>>());
    }
    for key in names(&c, "query_keys_all_peers") {
        assert!(r.query_value(&key).is_some(), "{flow}: every peer sends query key {key}");
    }
    for header in names(&c, "header_names_all_peers") {
        assert!(r.headers.contains_key(&header), "{flow}: every peer sends header {header}");
    }
    // Values that every peer agrees on.
    assert_eq!(r.form_value("grant_type"), Some("client_credentials"));
    assert_eq!(r.form_value("scope"), Some(SCOPE));
    assert_eq!(r.headers["content-type"], "application/x-www-form-urlencoded");
    // We identify as ourselves, never with MSAL's SKU headers or form fields.
    assert!(r.headers["user-agent"].starts_with("entra-token/"));
    for msal_only in ["x-client-sku", "x-client-ver", "x-client-os", "x-client-current-telemetry"] {
        assert!(!r.headers.contains_key(msal_only), "{msal_only} is MSAL's");
    }
    assert!(r.form.iter().all(|(k, _)| !k.starts_with("x-client")), "no MSAL telemetry in the body");
}

#[tokio::test]
async fn client_secret_request_matches_the_peers() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    cred.get_token(&TokenRequest::new([SCOPE])).await.unwrap();
    let requests = token_requests(&emu);
    assert_eq!(requests.len(), 1);
    check_against_peers("cc_secret", &requests[0]);
    assert_eq!(requests[0].form_value("client_id"), Some(WEATHER_CLIENT_ID));
}

#[tokio::test]
async fn client_certificate_request_matches_the_peers() {
    let emu = emulator().await;
    let (client, _) = options(&emu);
    let cred = ClientCertificateCredential::new(
        &emu.tenant_id(),
        CERT_CLIENT_ID,
        CertificateInput::File { path: fixture("cert-a-combined.pem"), password: None },
        CertificateOptions { client, ..CertificateOptions::default() },
    )
    .unwrap();
    cred.get_token(&TokenRequest::new([SCOPE])).await.unwrap();
    let requests = token_requests(&emu);
    check_against_peers("cc_certificate", &requests[0]);
    assert_eq!(requests[0].form_value("client_assertion_type"), Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
}
