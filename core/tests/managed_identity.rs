//! Managed identity against the emulator's endpoints over loopback: every source with the
//! system-assigned identity and every id kind it supports, the requests checked against the
//! peers' captured vectors, retries, Arc's key-file checks, Service Fabric's pinning, and
//! claims challenges with `token_sha256_to_refresh`.

mod common;

use common::*;
use entra_token::{
    AppServiceApiVersion, ClientOptions, Env, ManagedIdentityCredential, ManagedIdentityOptions, ManagedIdentitySourceKind, RecordingSleeper, TokenCredential,
    TokenRequest, UserAssignedId,
};
use entra_token_emulator::directory::{DEFAULT_HOST, USER_ASSIGNED_CLIENT_ID, USER_ASSIGNED_OBJECT_ID, USER_ASSIGNED_RESOURCE_ID};
use entra_token_emulator::{Directory, Emulator, EmulatorOptions, Fault, FaultAction, LoggedRequest, TlsMaterial};
use std::sync::Arc;
use std::time::Duration;

const VAULT: &str = "https://vault.azure.net/.default";

fn mi_options(emulator: &Emulator, source: &str, id: Option<UserAssignedId>) -> (ManagedIdentityOptions, Arc<RecordingSleeper>) {
    let (client, sleeper) = options(emulator);
    let env = emulator.managed_identity_env(source).expect("a known source");
    let options = ManagedIdentityOptions {
        user_assigned_id: id,
        client: ClientOptions { env: Env::from_pairs(env), ..client },
        arc_key_directory: Some(emulator.arc_key_directory().to_owned()),
        arc_agent_file: Some("/nonexistent/himds".into()),
        ..ManagedIdentityOptions::default()
    };
    (options, sleeper)
}

fn mi_requests(emulator: &Emulator) -> Vec<LoggedRequest> {
    emulator.requests().into_iter().filter(|r| !r.path.contains("/_emulator/")).collect()
}

async fn tls_emulator() -> Emulator {
    let options = EmulatorOptions { tls: Some(TlsMaterial::generate().unwrap()), ..EmulatorOptions::default() };
    Emulator::start_with(Directory::default(), options).await.unwrap()
}

fn system_identity(directory: &Directory) -> (String, String) {
    let mi = directory.managed_identities.iter().find(|m| m.host == DEFAULT_HOST).unwrap();
    (mi.client_id.clone(), mi.object_id.clone())
}

/// Every source, with the system-assigned identity and each user-assigned id kind it takes: the
/// token belongs to the right identity, and the request uses that source's names and headers.
#[tokio::test]
async fn every_source_serves_system_and_user_assigned_identities() {
    let plain = emulator().await;
    let tls = tls_emulator().await;
    let (system_client, system_object) = system_identity(&Directory::default());
    let ids = |param_names: [&'static str; 3]| {
        vec![
            (Some(UserAssignedId::ClientId(USER_ASSIGNED_CLIENT_ID.into())), Some((param_names[0], USER_ASSIGNED_CLIENT_ID))),
            (Some(UserAssignedId::ObjectId(USER_ASSIGNED_OBJECT_ID.into())), Some((param_names[1], USER_ASSIGNED_OBJECT_ID))),
            (Some(UserAssignedId::ResourceId(USER_ASSIGNED_RESOURCE_ID.into())), Some((param_names[2], USER_ASSIGNED_RESOURCE_ID))),
        ]
    };
    type Case = (Option<UserAssignedId>, Option<(&'static str, &'static str)>);
    let system: Vec<Case> = vec![(None, None)];
    // (source, emulator, ids, path, api-version, secret header)
    type Source<'a> = (&'a str, &'a Emulator, Vec<Case>, &'a str, &'a str, &'a str);
    let cases: Vec<Source> = vec![
        // (source, emulator, ids, path, api-version, secret header)
        ("imds", &plain, [system.clone(), ids(["client_id", "object_id", "msi_res_id"])].concat(), "/metadata/identity/oauth2/token", "2018-02-01", "metadata"),
        ("app_service", &plain, [system.clone(), ids(["client_id", "object_id", "mi_res_id"])].concat(), "/msi/token", "2019-08-01", "x-identity-header"),
        ("azure_ml", &plain, [system.clone(), ids(["clientid", "", ""])[..1].to_vec()].concat(), "/ml/msi/token", "2017-09-01", "secret"),
        ("cloud_shell", &plain, system.clone(), "/cloudshell/oauth2/token", "", "metadata"),
        ("azure_arc", &plain, [system.clone(), ids(["client_id", "object_id", "msi_res_id"])].concat(), "/arc/metadata/identity/oauth2/token", "2020-06-01", "authorization"),
        ("service_fabric", &tls, system.clone(), "/servicefabric/metadata/identity/oauth2/token", "2019-07-01-preview", "secret"),
    ];
    for (source, emulator, ids, path, api_version, secret_header) in cases {
        for (id, param) in ids {
            emulator.clear_requests();
            let (options, _) = mi_options(emulator, source, id.clone());
            let credential = ManagedIdentityCredential::new(options).unwrap();
            assert_eq!(credential.source().kind.as_str(), source);
            let token = credential.get_token(&TokenRequest::new([VAULT])).await.unwrap_or_else(|e| panic!("{source} {id:?}: {e}"));
            let claims = claims(token.token().expose_secret());
            let (client_id, object_id) = if id.is_some() { (USER_ASSIGNED_CLIENT_ID, USER_ASSIGNED_OBJECT_ID) } else { (system_client.as_str(), system_object.as_str()) };
            assert_eq!((claims["appid"].as_str(), claims["oid"].as_str()), (Some(client_id), Some(object_id)), "{source} {id:?}");
            assert_eq!(claims["aud"], "https://vault.azure.net");

            let sent = mi_requests(emulator);
            let last = sent.last().unwrap();
            assert_eq!(last.path, path, "{source}");
            assert_eq!(last.status, 200);
            assert!(last.headers.contains_key(secret_header), "{source} sends {secret_header}");
            assert!(last.headers.contains_key("x-ms-client-request-id"), "{source}");
            assert!(last.headers["user-agent"].starts_with("entra-token/"));
            if source == "cloud_shell" {
                assert_eq!((last.method.as_str(), last.form_value("resource")), ("POST", Some("https://vault.azure.net")));
                continue;
            }
            assert_eq!(last.query_value("api-version"), Some(api_version), "{source}");
            assert_eq!(last.query_value("resource"), Some("https://vault.azure.net"), "{source}");
            let id_keys: Vec<&str> = last.query.iter().map(|(k, _)| k.as_str()).filter(|k| !matches!(*k, "api-version" | "resource")).collect();
            match param {
                Some((name, value)) => {
                    assert_eq!(id_keys, vec![name], "{source} names a {id:?} as {name}");
                    assert_eq!(last.query_value(name), Some(value));
                }
                None => assert!(id_keys.is_empty(), "{source} system-assigned sends no id: {id_keys:?}"),
            }
            if source == "azure_arc" {
                assert_eq!(sent.len(), 2, "challenge, then the request with the key");
                assert_eq!(sent[0].status, 401);
                assert_eq!(sent[0].query, last.query, "the second leg repeats the first");
            }
        }
    }
}

fn consensus(flow: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("vectors/{flow}/consensus.json"))).unwrap()).unwrap()
}

fn vector(flow: &str, peer: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("vectors/{flow}/{peer}.json"))).unwrap()).unwrap()
}

/// The captured peers' requests: our method and path are msal-python's (no trailing slash),
/// every query key and header all peers send is there, with the values protocol.md D decides.
#[tokio::test]
async fn requests_match_the_peers_vectors() {
    let emulator = emulator().await;
    for (flow, source, id) in [
        ("mi_imds_system", "imds", None),
        ("mi_imds_user_clientid", "imds", Some(UserAssignedId::ClientId(USER_ASSIGNED_CLIENT_ID.into()))),
        ("mi_appservice_system", "app_service", None),
        ("mi_appservice_user_clientid", "app_service", Some(UserAssignedId::ClientId(USER_ASSIGNED_CLIENT_ID.into()))),
    ] {
        emulator.clear_requests();
        let (options, _) = mi_options(&emulator, source, id);
        ManagedIdentityCredential::new(options).unwrap().get_token(&TokenRequest::new([VAULT])).await.unwrap();
        let sent = mi_requests(&emulator);
        assert_eq!(sent.len(), 1, "{flow}");
        let ours = &sent[0];
        let c = consensus(flow);
        let peer_path = c["paths"]["msal-python"][0].as_str().unwrap();
        assert_eq!(format!("{} {}", ours.method, ours.path), peer_path, "{flow}");
        for key in c["query_keys_all_peers"].as_array().unwrap() {
            assert!(ours.query_value(key.as_str().unwrap()).is_some(), "{flow}: every peer sends {key}");
        }
        for header in c["header_names_all_peers"].as_array().unwrap() {
            assert!(ours.headers.contains_key(header.as_str().unwrap()), "{flow}: every peer sends header {header}");
        }
        // Values: msal-python's request, placeholders filled in.
        let reference = vector(flow, "msal-python");
        for pair in reference["requests"][0]["query"].as_array().unwrap() {
            let (key, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            let expected = value.replace("${UA_CLIENT_ID}", USER_ASSIGNED_CLIENT_ID);
            assert_eq!(ours.query_value(key), Some(expected.as_str()), "{flow}: {key}");
        }
        if source == "imds" {
            assert_eq!(ours.headers["metadata"], "true");
        } else {
            assert_eq!(ours.headers["x-identity-header"], emulator.identity_header());
        }
        for msal_only in ["x-client-sku", "x-client-ver"] {
            assert!(!ours.headers.contains_key(msal_only), "{msal_only} is MSAL's own");
        }
    }
}

#[tokio::test]
async fn emulator_accepts_the_imds_path_with_a_trailing_slash_as_node_peers_send_it() {
    let emulator = emulator().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let url = format!("{}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https://vault.azure.net", emulator.url());
    assert_eq!(http.get(&url).header("metadata", "true").send().await.unwrap().status(), 200);
    let missing = http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 400, "IMDS refuses requests without Metadata: true");
    assert!(missing.text().await.unwrap().contains("Required metadata header not specified"));
}

fn fault(path: &str, status: u16, times: u32) -> Fault {
    Fault { path_contains: Some(path.into()), times, action: FaultAction::Status { status, retry_after: None, body: None, headers: vec![] } }
}

#[tokio::test]
async fn imds_retries_410_for_the_upgrade_window_and_500_with_backoff_but_not_400() {
    let emulator = emulator().await;
    let request = TokenRequest::new([VAULT]);

    emulator.add_fault(fault("/metadata/identity", 410, 1));
    let (options, sleeper) = mi_options(&emulator, "imds", None);
    ManagedIdentityCredential::new(options).unwrap().get_token(&request).await.unwrap();
    assert_eq!(sleeper.delays(), vec![Duration::from_secs(10)], "410 waits 10 s");

    emulator.clear_requests();
    emulator.add_fault(fault("/metadata/identity", 500, 3));
    let (options, sleeper) = mi_options(&emulator, "imds", None);
    ManagedIdentityCredential::new(options).unwrap().get_token(&request).await.unwrap();
    assert_eq!(sleeper.delays(), vec![Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)]);
    assert_eq!(mi_requests(&emulator).len(), 4);

    emulator.clear_requests();
    emulator.add_fault(fault("/metadata/identity", 400, 1));
    let (options, sleeper) = mi_options(&emulator, "imds", None);
    let err = ManagedIdentityCredential::new(options).unwrap().get_token(&request).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(sleeper.delays().is_empty() && mi_requests(&emulator).len() == 1, "400 is final");
    assert!(err.credential().contains("IMDS"), "the error names the source: {err}");
}

#[tokio::test]
async fn unknown_user_assigned_identity_gets_the_hosts_error() {
    let emulator = emulator().await;
    let (options, _) = mi_options(&emulator, "imds", Some(UserAssignedId::ClientId("99999999-9999-4999-8999-999999999999".into())));
    let err = ManagedIdentityCredential::new(options).unwrap().get_token(&TokenRequest::new([VAULT])).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("Identity not found"), "{err}");
}

/// Arc's challenge names a key file; anything but a small `.key` file directly in the agent's
/// directory is refused before it is read, and the secret never leaves.
#[tokio::test]
async fn arc_refuses_key_files_outside_the_directory_with_wrong_extension_or_too_large() {
    let emulator = emulator().await;
    let key_dir = emulator.arc_key_directory().to_owned();
    std::fs::create_dir_all(&key_dir).unwrap();
    let elsewhere = std::env::temp_dir().join(format!("entra-arc-elsewhere-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let cases = [
        (elsewhere.join("stolen.key"), "x".repeat(10), "is not in"),
        (key_dir.join("secret.txt"), "x".repeat(10), "does not end in .key"),
        (key_dir.join("huge.key"), "x".repeat(4097), "4097 bytes"),
        (key_dir.join("sub").join("..").join("..").join("escape.key"), "x".repeat(10), "is not in"),
    ];
    for (path, contents, why) in cases {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(&path, &contents);
        emulator.clear_requests();
        let challenge = format!("Basic realm={}", path.display());
        emulator.add_fault(Fault {
            path_contains: Some("/arc/".into()),
            times: 1,
            action: FaultAction::Status { status: 401, retry_after: None, body: Some(String::new()), headers: vec![("www-authenticate".into(), challenge)] },
        });
        let (options, _) = mi_options(&emulator, "azure_arc", None);
        let err = ManagedIdentityCredential::new(options).unwrap().get_token(&TokenRequest::new([VAULT])).await.unwrap_err();
        assert_eq!(err.kind_code(), "credential_unavailable", "{err}");
        assert!(err.to_string().contains(why), "{why}: {err}");
        assert_eq!(mi_requests(&emulator).len(), 1, "nothing is sent after a refused challenge");
    }
    std::fs::remove_dir_all(&elsewhere).ok();
}

#[tokio::test]
async fn arc_fails_closed_when_the_answer_is_for_another_identity() {
    let emulator = emulator().await;
    let key_dir = emulator.arc_key_directory().to_owned();
    std::fs::create_dir_all(&key_dir).unwrap();
    let key = key_dir.join("fixed.key");
    std::fs::write(&key, "fixed-secret").unwrap();
    emulator.add_fault(Fault {
        path_contains: Some("/arc/".into()),
        times: 1,
        action: FaultAction::Status { status: 401, retry_after: None, body: Some(String::new()), headers: vec![("www-authenticate".into(), format!("Basic realm={}", key.display()))] },
    });
    let body = r#"{"access_token":"a.b.c","expires_in":"3600","resource":"https://vault.azure.net","token_type":"Bearer","client_id":"someone-else"}"#;
    emulator.add_fault(Fault { path_contains: Some("/arc/".into()), times: 1, action: FaultAction::Status { status: 200, retry_after: None, body: Some(body.into()), headers: vec![] } });
    let (options, _) = mi_options(&emulator, "azure_arc", Some(UserAssignedId::ClientId(USER_ASSIGNED_CLIENT_ID.into())));
    let credential = ManagedIdentityCredential::new(options).unwrap();
    let err = credential.get_token(&TokenRequest::new([VAULT])).await.unwrap_err();
    assert_eq!(err.kind_code(), "invalid_response", "{err}");
    assert!(err.to_string().contains("does not confirm the user-assigned identity"), "{err}");
    let sent = mi_requests(&emulator);
    assert_eq!(sent[1].headers["authorization"], "Basic fixed-secret", "the key file's contents, verbatim");
    assert!(credential.get_token_cached(&TokenRequest::new([VAULT])).is_none(), "nothing cached");
}

#[tokio::test]
async fn service_fabric_with_a_wrong_thumbprint_fails_closed_and_sends_nothing() {
    let emulator = tls_emulator().await;
    let (mut options, _) = mi_options(&emulator, "service_fabric", None);
    let mut env = emulator.managed_identity_env("service_fabric").unwrap();
    env.retain(|(k, _)| k != "IDENTITY_SERVER_THUMBPRINT");
    env.push(("IDENTITY_SERVER_THUMBPRINT".into(), "00".repeat(20)));
    options.client.env = Env::from_pairs(env);
    let err = ManagedIdentityCredential::new(options).unwrap().get_token(&TokenRequest::new([VAULT])).await.unwrap_err();
    assert_eq!(err.kind_code(), "transport", "{err}");
    assert!(mi_requests(&emulator).is_empty(), "the secret never reached a server that failed the pin");

    // The right thumbprint, given in the colon-separated lower-case form, works.
    let (mut options, _) = mi_options(&emulator, "service_fabric", None);
    let mut env = emulator.managed_identity_env("service_fabric").unwrap();
    for (k, v) in env.iter_mut() {
        if k == "IDENTITY_SERVER_THUMBPRINT" {
            *v = v.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap().to_lowercase()).collect::<Vec<_>>().join(":");
        }
    }
    options.client.env = Env::from_pairs(env);
    ManagedIdentityCredential::new(options).unwrap().get_token(&TokenRequest::new([VAULT])).await.unwrap();
}

/// A downstream API rejected the token with a claims challenge: the request bypasses our cache,
/// and where the source supports it names the rejected token so the host mints a new one.
#[tokio::test]
async fn claims_challenge_bypasses_the_cache_and_names_the_rejected_token() {
    use sha2::{Digest, Sha256};
    let plain = emulator().await;
    let tls = tls_emulator().await;
    for (source, emulator, api_version, refreshes) in [
        ("service_fabric", &tls, AppServiceApiVersion::V2019_08_01, true),
        ("app_service", &plain, AppServiceApiVersion::V2025_03_30, true),
        ("app_service", &plain, AppServiceApiVersion::V2019_08_01, false),
    ] {
        emulator.clear_requests();
        let (mut options, _) = mi_options(emulator, source, None);
        options.app_service_api_version = api_version;
        options.client.client_capabilities = vec!["cp1".into()];
        let credential = ManagedIdentityCredential::new(options).unwrap();
        let request = TokenRequest::new(["https://storage.azure.com/.default"]);
        let first = credential.get_token(&request).await.unwrap();
        let rejected = first.token().expose_secret().to_owned();
        let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
        let second = credential.get_token(&request.clone().with_claims(challenge).with_rejected_token(rejected.clone())).await.unwrap();
        let sent = mi_requests(emulator);
        assert_eq!(sent.len(), 2, "{source}: the claims request bypassed the cache");
        let expected_hash: String = Sha256::digest(rejected.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        if refreshes {
            assert_eq!(sent[1].query_value("token_sha256_to_refresh"), Some(expected_hash.as_str()), "{source}");
            assert_eq!(sent[1].query_value("xms_cc"), Some("cp1"), "{source}");
            assert_ne!(second.token().expose_secret(), rejected, "{source}: the host minted a new token");
        } else {
            assert_eq!(sent[1].query_value("token_sha256_to_refresh"), None, "2019-08-01 has no revocation");
            assert_eq!(second.token().expose_secret(), rejected, "without revocation the host hands back its cached token");
        }
        let after = credential.get_token(&request).await.unwrap();
        assert_eq!(after.token().expose_secret(), second.token().expose_secret(), "{source}: the fresh token replaced the cached one");
        assert_eq!(mi_requests(emulator).len(), 2, "{source}: and is served from the cache");
    }
}

#[tokio::test]
async fn pinned_source_is_used_even_when_detection_would_pick_another() {
    let emulator = emulator().await;
    let (mut options, _) = mi_options(&emulator, "imds", None);
    let mut env = emulator.managed_identity_env("imds").unwrap();
    env.push(("MSI_ENDPOINT".into(), "http://127.0.0.1:9/unused".into()));
    options.client.env = Env::from_pairs(env);
    options.source = Some(ManagedIdentitySourceKind::Imds);
    let credential = ManagedIdentityCredential::new(options).unwrap();
    credential.get_token(&TokenRequest::new([VAULT])).await.unwrap();
    assert!(credential.source().reason.contains("detection would pick cloud_shell"), "{:?}", credential.source());
}
