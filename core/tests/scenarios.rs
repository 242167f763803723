//! Runs every scenario in tests/scenarios/*.json (shared with the Python and Node tests).

mod common;

use common::*;
use entra_token::{CertificateInput, CertificateOptions, ClientCertificateCredential, ClientSecretCredential, DynTokenCredential, Secret, TokenCache, TokenRequest};
use std::sync::Arc;
use entra_token_emulator::{Emulator, Fault};
use serde_json::Value;

fn substitute(text: &str, emu: &Emulator) -> String {
    text.replace("${WEATHER_CLIENT_ID}", WEATHER_CLIENT_ID)
        .replace("${WEATHER_CLIENT_SECRET}", WEATHER_CLIENT_SECRET)
        .replace("${CERT_CLIENT_ID}", CERT_CLIENT_ID)
        .replace("${NO_ROLE_CLIENT_ID}", NO_ROLE_CLIENT_ID)
        .replace("${NO_ROLE_CLIENT_SECRET}", NO_ROLE_CLIENT_SECRET)
        .replace("${TENANT}", &emu.tenant_id())
}

/// The credential, and the cache it alone uses (for `expect_cache`).
fn build(spec: &Value, emu: &Emulator) -> (Box<dyn DynTokenCredential>, Arc<TokenCache>) {
    let (options, _) = options(emu);
    let cache = options.cache.clone().expect("the test options give each credential its own cache");
    let s = |k: &str| spec[k].as_str().unwrap_or_else(|| panic!("credential.{k} missing")).to_owned();
    let credential: Box<dyn DynTokenCredential> = match spec["kind"].as_str().unwrap() {
        "client_secret" => Box::new(ClientSecretCredential::with_options(&emu.tenant_id(), &s("client_id"), s("secret"), options).unwrap()),
        "client_certificate" => {
            let input = CertificateInput::File { path: fixture(&s("path")), password: spec["password"].as_str().map(Secret::new) };
            Box::new(ClientCertificateCredential::new(&emu.tenant_id(), &s("client_id"), input, CertificateOptions { client: options, ..Default::default() }).unwrap())
        }
        other => panic!("unknown credential kind {other}"),
    };
    (credential, cache)
}

async fn run(path: &std::path::Path) {
    let emu = emulator().await;
    let text = std::fs::read_to_string(path).unwrap();
    let scenario: Value = serde_json::from_str(&substitute(&text, &emu)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = scenario["name"].as_str().unwrap();
    for fault in scenario["faults"].as_array().unwrap() {
        emu.add_fault(serde_json::from_value::<Fault>(fault.clone()).unwrap_or_else(|e| panic!("{name}: bad fault: {e}")));
    }
    let (credential, cache) = build(&scenario["credential"], &emu);
    for call in scenario["calls"].as_array().unwrap() {
        let scopes: Vec<String> = serde_json::from_value(call["scopes"].clone()).unwrap();
        let request = TokenRequest::new(scopes).with_force_refresh(call["force_refresh"].as_bool().unwrap_or(false));
        let result = credential.get_token_boxed(&request).await;
        let expect = &call["expect"];
        if let Some(wanted) = expect.get("token") {
            let token = result.unwrap_or_else(|e| panic!("{name}: expected a token, got {e}"));
            let claims = claims(token.token().expose_secret());
            for (k, v) in wanted["claims"].as_object().unwrap() {
                assert_eq!(&claims[k], v, "{name}: claim {k}");
            }
        } else {
            let e = &expect["error"];
            let err = match result {
                Ok(_) => panic!("{name}: expected an error"),
                Err(err) => err,
            };
            assert_eq!(err.kind_code(), e["kind"].as_str().unwrap(), "{name}: {err}");
            if let Some(status) = e.get("status") {
                assert_eq!(err.status().map(u64::from), status.as_u64(), "{name}: status");
            }
            if let Some(code) = e.get("aadsts") {
                assert_eq!(err.aadsts_code().map(u64::from), code.as_u64(), "{name}: aadsts");
            }
            if let Some(code) = e.get("oauth_error") {
                assert_eq!(err.oauth_error(), code.as_str(), "{name}: oauth error");
            }
            if let Some(r) = e.get("retryable") {
                assert_eq!(err.is_retryable(), r.as_bool().unwrap(), "{name}: retryable");
            }
        }
    }
    let requests = token_requests(&emu);
    assert_eq!(requests.len() as u64, scenario["expect_token_requests"].as_u64().unwrap(), "{name}: token requests");
    if let Some(statuses) = scenario.get("expect_statuses") {
        let got: Vec<u64> = requests.iter().map(|r| u64::from(r.status)).collect();
        assert_eq!(&serde_json::json!(got), statuses, "{name}: statuses");
    }
    if let Some(wanted) = scenario.get("expect_cache") {
        let stats = cache.stats();
        let got = serde_json::json!({"hits": stats.hits, "misses": stats.misses, "fetches": stats.fetches});
        assert_eq!(&got, wanted, "{name}: cache counters");
    }
}

#[tokio::test]
async fn every_shared_scenario_passes() {
    let dir = fixture("../scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    paths.sort();
    assert!(paths.len() >= 8, "scenarios are missing from {}", dir.display());
    for path in paths {
        run(&path).await;
    }
}
