//! Federated credentials against the emulator: workload identity (the projected token file,
//! its rotation, the re-read after AADSTS700024) and a managed identity as an app
//! registration's federated credential.

mod common;

use common::*;
use entra_token::{
    Authority, ClientAssertionCredential, ClientOptions, Env, ManagedIdentityCredential, ManagedIdentityOptions, ManualClock, TokenCredential, TokenRequest,
    WorkloadIdentityCredential, WorkloadIdentityOptions,
};
use entra_token_emulator::directory::{DEFAULT_HOST, FIC_CLIENT_ID, TOKEN_EXCHANGE_AUDIENCE, TOKEN_EXCHANGE_APP_ID, WORKLOAD_CLIENT_ID, WORKLOAD_SUBJECT};
use entra_token_emulator::{Directory, Emulator};
use std::path::PathBuf;
use std::sync::Arc;

fn token_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("entra-workload-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("token")
}

fn workload(emulator: &Emulator, path: &std::path::Path, clock: Option<Arc<ManualClock>>) -> WorkloadIdentityCredential {
    let (mut client, _) = options(emulator);
    // As the AKS webhook sets them; the authority host comes from AZURE_AUTHORITY_HOST.
    client.authority = None;
    client.env = Env::from_pairs([
        ("AZURE_AUTHORITY_HOST".to_owned(), emulator.url().to_owned()),
        ("AZURE_TENANT_ID".to_owned(), emulator.tenant_id()),
        ("AZURE_CLIENT_ID".to_owned(), WORKLOAD_CLIENT_ID.to_owned()),
        ("AZURE_FEDERATED_TOKEN_FILE".to_owned(), path.display().to_string()),
    ]);
    if let Some(clock) = clock {
        client.clock = clock;
    }
    WorkloadIdentityCredential::new(WorkloadIdentityOptions { client, ..WorkloadIdentityOptions::default() }).unwrap()
}

#[tokio::test]
async fn workload_identity_uses_the_projected_token_as_assertion() {
    let emulator = emulator().await;
    let path = token_file("basic");
    let projected = emulator.workload_token(WORKLOAD_SUBJECT, TOKEN_EXCHANGE_AUDIENCE, 3600);
    std::fs::write(&path, format!("{projected}\n")).unwrap();
    let token = workload(&emulator, &path, None).get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    let claims = claims(token.token().expose_secret());
    assert_eq!(claims["appid"], WORKLOAD_CLIENT_ID);
    assert_eq!(claims["roles"], serde_json::json!(["Weather.Read"]));
    let sent = token_requests(&emulator);
    assert_eq!(sent[0].form_value("client_assertion"), Some(projected.as_str()), "the file's token, trimmed");
    assert_eq!(sent[0].form_value("client_assertion_type"), Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
}

#[tokio::test]
async fn workload_identity_rereads_the_rotated_file_after_five_minutes() {
    let emulator = emulator().await;
    let path = token_file("rotate");
    let clock = Arc::new(ManualClock::new(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()));
    let first = emulator.workload_token(WORKLOAD_SUBJECT, TOKEN_EXCHANGE_AUDIENCE, 3600);
    std::fs::write(&path, &first).unwrap();
    let credential = workload(&emulator, &path, Some(clock.clone()));
    let second = emulator.workload_token(WORKLOAD_SUBJECT, TOKEN_EXCHANGE_AUDIENCE, 3601);
    std::fs::write(&path, &second).unwrap();

    let fresh = |scope: &str| TokenRequest::new([scope.to_owned()]).with_force_refresh(true);
    credential.get_token(&fresh(WEATHER_SCOPE)).await.unwrap();
    clock.advance(299);
    credential.get_token(&fresh(WEATHER_SCOPE)).await.unwrap();
    clock.advance(2);
    credential.get_token(&fresh(WEATHER_SCOPE)).await.unwrap();
    let assertions: Vec<String> = token_requests(&emulator).iter().map(|r| r.form_value("client_assertion").unwrap().to_owned()).collect();
    assert_eq!(assertions, vec![first.clone(), first, second], "the copy in memory is used for 5 minutes, then the rotated file");
}

#[tokio::test]
async fn workload_identity_rereads_at_once_after_aadsts700024_and_retries_once() {
    let emulator = emulator().await;
    let path = token_file("expired");
    std::fs::write(&path, emulator.workload_token(WORKLOAD_SUBJECT, TOKEN_EXCHANGE_AUDIENCE, -60)).unwrap();
    let credential = workload(&emulator, &path, None);
    let rotated = emulator.workload_token(WORKLOAD_SUBJECT, TOKEN_EXCHANGE_AUDIENCE, 3600);
    std::fs::write(&path, &rotated).unwrap();
    credential.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    let sent = token_requests(&emulator);
    assert_eq!(sent.iter().map(|r| r.status).collect::<Vec<_>>(), vec![400, 200]);
    assert_eq!(sent[1].form_value("client_assertion"), Some(rotated.as_str()));

    // A file that stays expired: one retry, then the error with its AADSTS code.
    emulator.clear_requests();
    std::fs::write(&path, emulator.workload_token(WORKLOAD_SUBJECT, TOKEN_EXCHANGE_AUDIENCE, -60)).unwrap();
    let credential = workload(&emulator, &path, None);
    let err = credential.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(700024), "{err}");
    assert_eq!(token_requests(&emulator).len(), 2);
}

#[tokio::test]
async fn workload_identity_for_another_subject_is_refused_with_aadsts70021() {
    let emulator = emulator().await;
    let path = token_file("subject");
    std::fs::write(&path, emulator.workload_token("system:serviceaccount:other:intruder", TOKEN_EXCHANGE_AUDIENCE, 3600)).unwrap();
    let err = workload(&emulator, &path, None).get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(70021), "{err}");
    assert!(err.to_string().contains("intruder"), "the error names the subject: {err}");
}

#[test]
fn workload_identity_names_what_is_missing() {
    let options = WorkloadIdentityOptions { client: ClientOptions { env: Env::from_pairs([("AZURE_TENANT_ID", "t")]), ..ClientOptions::default() }, ..Default::default() };
    let err = WorkloadIdentityCredential::new(options).unwrap_err();
    assert!(err.to_string().contains("AZURE_CLIENT_ID"), "{err}");
}

/// The app registration's only credential is the host's managed identity: the token request's
/// assertion is a managed identity token for api://AzureADTokenExchange.
#[tokio::test]
async fn managed_identity_as_federated_credential() {
    let emulator = Emulator::start(Directory::default()).await.unwrap();
    let (client, _) = options(&emulator);
    let mi_options = ManagedIdentityOptions {
        client: ClientOptions { env: Env::from_pairs(emulator.managed_identity_env("imds").unwrap()), ..client.clone() },
        ..ManagedIdentityOptions::default()
    };
    let identity = ManagedIdentityCredential::new(mi_options).unwrap();
    let app = ClientAssertionCredential::with_managed_identity(&emulator.tenant_id(), FIC_CLIENT_ID, identity, None, client).unwrap();

    let token = app.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    assert_eq!(claims(token.token().expose_secret())["appid"], FIC_CLIENT_ID);
    app.get_token(&TokenRequest::new(["https://storage.azure.com/.default"])).await.unwrap();

    let log = emulator.requests();
    let mi: Vec<_> = log.iter().filter(|r| r.path.starts_with("/metadata/identity")).collect();
    assert_eq!(mi.len(), 1, "the managed identity token is reused as the assertion");
    assert_eq!(mi[0].query_value("resource"), Some(TOKEN_EXCHANGE_AUDIENCE));
    let app_requests = token_requests(&emulator);
    assert_eq!(app_requests.len(), 2);
    let assertion = claims(app_requests[0].form_value("client_assertion").unwrap());
    assert_eq!(assertion["aud"], TOKEN_EXCHANGE_APP_ID);
    let system = Directory::default().managed_identities.into_iter().find(|m| m.host == DEFAULT_HOST).unwrap();
    assert_eq!(assertion["sub"], system.object_id);
    assert_eq!(app_requests[1].form_value("client_assertion"), app_requests[0].form_value("client_assertion"));
}

#[test]
fn token_exchange_audience_follows_the_cloud() {
    assert_eq!(entra_token::token_exchange_audience(&Authority::public()), "api://AzureADTokenExchange");
    assert_eq!(entra_token::token_exchange_audience(&Authority::entra("https://login.chinacloudapi.cn").unwrap()), "api://AzureADTokenExchangeChina");
}
