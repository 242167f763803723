//! DefaultAzureCredential and its links against the emulator and stand-in `az`/`azd` scripts
//! (the real tools cannot be installed here): order, the IMDS probe that keeps the chain from
//! stalling off Azure, AZURE_TOKEN_CREDENTIALS, the all-failed report, caching of CLI tokens.

mod common;

use common::*;
use entra_token::{
    AzureCliCredential, ChainedTokenCredential, ClientOptions, DefaultAzureCredential, DefaultAzureCredentialOptions, Env, ManualClock, TokenCredential, TokenRequest,
    UserAssignedId,
};
use entra_token_emulator::directory::USER_ASSIGNED_CLIENT_ID;
use entra_token_emulator::{Emulator, Fault, FaultAction};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// A directory with stand-in `az` (and optionally `azd`) that print a token and count their runs.
fn tools(name: &str, az: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("entra-chain-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(body) = az {
        let script = dir.join("az");
        std::fs::write(&script, format!("#!/bin/sh\necho run >> \"{}/az-runs\"\n{body}\n", dir.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn runs(dir: &std::path::Path) -> usize {
    std::fs::read_to_string(dir.join("az-runs")).map(|s| s.lines().count()).unwrap_or(0)
}

fn az_prints_token() -> String {
    let expires = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    // $6 is the value after --resource (az account get-access-token --output json --resource R).
    format!("printf '{{\"accessToken\": \"az-token-for-%s\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": {expires}, \"tokenType\": \"Bearer\"}}' \"$6\"")
}

fn chain_options(emulator: &Emulator, pairs: Vec<(String, String)>) -> ClientOptions {
    let (options, _) = options(emulator);
    ClientOptions { authority: None, env: Env::from_pairs(pairs), ..options }
}

#[tokio::test]
async fn off_azure_the_chain_reaches_the_cli_quickly_and_caches_its_token() {
    let emulator = emulator().await;
    let dir = tools("cli", Some(&az_prints_token()));
    // No environment credential, no workload identity, and an IMDS address where nothing listens.
    let env = vec![("PATH".to_owned(), dir.display().to_string()), ("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(), "http://127.0.0.1:9".to_owned())];
    let chain = DefaultAzureCredential::new(chain_options(&emulator, env)).unwrap();
    assert_eq!(chain.links(), vec!["EnvironmentCredential", "WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureCliCredential", "AzureDeveloperCliCredential"]);
    let started = Instant::now();
    let token = chain.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await.unwrap();
    assert!(started.elapsed().as_secs() < 3, "the chain stalled for {:?}", started.elapsed());
    assert_eq!(token.token().expose_secret(), "az-token-for-https://vault.azure.net", "az got the resource, not the scope");
    assert_eq!(chain.working_link(), Some("AzureCliCredential"));
    chain.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await.unwrap();
    assert_eq!(runs(&dir), 1, "CLI tokens are cached like any other");
}

#[tokio::test]
async fn a_docker_desktop_style_403_means_no_imds_and_the_chain_moves_on() {
    let emulator = emulator().await;
    emulator.add_fault(Fault {
        path_contains: Some("/metadata/identity".into()),
        times: 1,
        action: FaultAction::Status { status: 403, retry_after: None, body: Some(r#"{"error":"A socket operation was attempted to an unreachable network."}"#.into()), headers: vec![] },
    });
    let dir = tools("docker", Some(&az_prints_token()));
    let mut env = emulator.managed_identity_env("imds").unwrap();
    env.push(("PATH".into(), dir.display().to_string()));
    let chain = DefaultAzureCredential::new(chain_options(&emulator, env)).unwrap();
    chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    assert_eq!(chain.working_link(), Some("AzureCliCredential"));
    let imds: Vec<_> = emulator.requests().into_iter().filter(|r| r.path.starts_with("/metadata")).collect();
    assert_eq!(imds.len(), 1, "one probe, no token request behind it");
    assert!(!imds[0].headers.contains_key("metadata"), "the probe is the header-less request IMDS refuses");
}

#[tokio::test]
async fn on_a_host_with_imds_the_managed_identity_link_wins() {
    let emulator = emulator().await;
    let dir = tools("imds", Some(&az_prints_token()));
    let mut env = emulator.managed_identity_env("imds").unwrap();
    env.push(("PATH".into(), dir.display().to_string()));
    let chain = DefaultAzureCredential::new(chain_options(&emulator, env)).unwrap();
    let token = chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    assert_eq!(chain.working_link(), Some("ManagedIdentityCredential"));
    assert!(claims(token.token().expose_secret())["xms_mirid"].is_string());
    assert_eq!(runs(&dir), 0);
}

#[tokio::test]
async fn a_transient_probe_failure_does_not_disable_managed_identity_for_good() {
    let emulator = emulator().await;
    emulator.add_fault(Fault { path_contains: Some("/metadata/identity".into()), times: 1, action: FaultAction::Status { status: 403, retry_after: None, body: None, headers: vec![] } });
    let clock = Arc::new(ManualClock::new(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()));
    let mut env = emulator.managed_identity_env("imds").unwrap();
    env.push(("PATH".into(), tools("transient", None).display().to_string()));
    let options = ClientOptions { clock: clock.clone(), ..chain_options(&emulator, env) };
    let chain = DefaultAzureCredential::new(options).unwrap();
    let err = chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap_err();
    assert_eq!(err.kind_code(), "credential_unavailable");
    clock.advance(61);
    chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.expect("probed again after a minute, and IMDS is there now");
    assert_eq!(chain.working_link(), Some("ManagedIdentityCredential"));
}

#[tokio::test]
async fn when_every_link_fails_the_error_leads_with_the_likely_cause_and_lists_all() {
    let emulator = emulator().await;
    let dir = tools("none", None);
    let env = vec![("PATH".to_owned(), dir.display().to_string()), ("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(), "http://127.0.0.1:9".to_owned())];
    let chain = DefaultAzureCredential::new(chain_options(&emulator, env)).unwrap();
    let message = chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap_err().to_string();
    assert!(message.contains("Most likely: nothing to authenticate with here: on a laptop run `az login`"), "{message}");
    for (i, link) in ["EnvironmentCredential", "WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureCliCredential", "AzureDeveloperCliCredential"].iter().enumerate() {
        assert!(message.contains(&format!("{}. {link}:", i + 1)), "{message}");
    }
    assert!(message.contains("`az` is not installed"), "{message}");

    // A CLI that is installed but signed out is the likely cause, and says what to run.
    let dir = tools("signed-out", Some("echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1"));
    let env = vec![("PATH".to_owned(), dir.display().to_string()), ("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(), "http://127.0.0.1:9".to_owned())];
    let chain = DefaultAzureCredential::new(chain_options(&emulator, env)).unwrap();
    let message = chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap_err().to_string();
    assert!(message.contains("Most likely: AzureCliCredential: not signed in: run `az login`"), "{message}");
}

#[tokio::test]
async fn a_present_credential_that_is_rejected_stops_the_chain() {
    let emulator = emulator().await;
    let dir = tools("rejected", Some(&az_prints_token()));
    let env = vec![
        ("PATH".to_owned(), dir.display().to_string()),
        ("AZURE_AUTHORITY_HOST".to_owned(), emulator.url().to_owned()),
        ("AZURE_TENANT_ID".to_owned(), emulator.tenant_id()),
        ("AZURE_CLIENT_ID".to_owned(), WEATHER_CLIENT_ID.to_owned()),
        ("AZURE_CLIENT_SECRET".to_owned(), "wrong".to_owned()),
    ];
    let chain = DefaultAzureCredential::new(chain_options(&emulator, env)).unwrap();
    let err = chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(7000215), "the wrong secret is the answer, not a fall-through to az: {err}");
    assert_eq!(runs(&dir), 0);
}

#[test]
fn azure_token_credentials_narrows_the_chain() {
    let with = |v: &str| DefaultAzureCredential::new(ClientOptions { env: Env::from_pairs([("AZURE_TOKEN_CREDENTIALS", v)]), ..Default::default() });
    assert_eq!(with("dev").unwrap().links(), vec!["AzureCliCredential", "AzureDeveloperCliCredential"]);
    assert_eq!(with("prod").unwrap().links(), vec!["EnvironmentCredential", "WorkloadIdentityCredential", "ManagedIdentityCredential"]);
    assert_eq!(with("managedidentitycredential").unwrap().links(), vec!["ManagedIdentityCredential"]);
    assert!(with("everything").unwrap_err().to_string().contains("is not dev, prod or one of"));
    let _ = ChainedTokenCredential::new(vec![]);
}

#[tokio::test]
async fn the_developer_cli_link_reads_azd_output_and_passes_the_scope() {
    let emulator = emulator().await;
    let dir = tools("azd", None);
    let script = dir.join("azd");
    // azd auth token --output json --scope S: $6 is the scope.
    std::fs::write(&script, "#!/bin/sh\nprintf '{\"token\": \"azd-token-for-%s\", \"expiresOn\": \"2099-01-01T00:00:00Z\"}' \"$6\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = vec![("PATH".to_owned(), dir.display().to_string()), ("AZURE_TOKEN_CREDENTIALS".to_owned(), "AzureDeveloperCliCredential".to_owned())];
    let chain = DefaultAzureCredential::new(chain_options(&emulator, env)).unwrap();
    let token = chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    assert_eq!(token.token().expose_secret(), "azd-token-for-api://weather/.default");
    assert_eq!(token.expires_on(), 4_070_908_800);
}

fn default_with(pairs: &[(&str, &str)], options: DefaultAzureCredentialOptions) -> entra_token::Result<ChainedTokenCredential> {
    let env = Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>());
    DefaultAzureCredential::with_options(DefaultAzureCredentialOptions { client: ClientOptions { env, ..Default::default() }, ..options })
}

#[test]
fn exclude_flags_leave_links_out_and_win_over_azure_token_credentials() {
    let chain = default_with(&[], DefaultAzureCredentialOptions { exclude_environment_credential: Some(true), exclude_cli_credential: Some(true), ..Default::default() }).unwrap();
    assert_eq!(chain.links(), vec!["WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureDeveloperCliCredential"]);
    // `Some(false)` puts back a link the variable left out, as azure-identity does.
    let chain = default_with(&[("AZURE_TOKEN_CREDENTIALS", "prod")], DefaultAzureCredentialOptions { exclude_cli_credential: Some(false), exclude_environment_credential: Some(true), ..Default::default() }).unwrap();
    assert_eq!(chain.links(), vec!["WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureCliCredential"]);
    let every = DefaultAzureCredentialOptions {
        exclude_environment_credential: Some(true),
        exclude_workload_identity_credential: Some(true),
        exclude_managed_identity_credential: Some(true),
        exclude_cli_credential: Some(true),
        exclude_developer_cli_credential: Some(true),
        ..Default::default()
    };
    assert!(default_with(&[], every).unwrap().links().is_empty());
}

#[test]
fn required_environment_variables_are_checked_when_the_chain_is_built() {
    let required = || DefaultAzureCredentialOptions { required_env_vars: vec!["AZURE_TOKEN_CREDENTIALS".into(), "AZURE_CLIENT_ID".into()], ..Default::default() };
    let err = default_with(&[("AZURE_CLIENT_ID", " ")], required()).unwrap_err();
    assert_eq!(err.kind_code(), "configuration");
    assert!(err.to_string().contains("required environment variables are not set: AZURE_TOKEN_CREDENTIALS, AZURE_CLIENT_ID"), "{err}");
    assert!(default_with(&[("AZURE_TOKEN_CREDENTIALS", "dev"), ("AZURE_CLIENT_ID", "x")], required()).is_ok());
}

#[tokio::test]
async fn the_managed_identity_option_picks_the_user_assigned_identity_over_azure_client_id() {
    let emulator = emulator().await;
    let mut env = emulator.managed_identity_env("imds").unwrap();
    env.push(("AZURE_CLIENT_ID".into(), "99999999-9999-4999-8999-999999999999".into()));
    env.push(("PATH".into(), tools("user-assigned", None).display().to_string()));
    let options = DefaultAzureCredentialOptions {
        client: chain_options(&emulator, env),
        managed_identity: Some(UserAssignedId::ClientId(USER_ASSIGNED_CLIENT_ID.into())),
        ..Default::default()
    };
    let chain = DefaultAzureCredential::with_options(options).unwrap();
    chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    assert_eq!(chain.working_link(), Some("ManagedIdentityCredential"));
    let asked: Vec<_> = emulator.requests().into_iter().filter(|r| r.path == "/metadata/identity/oauth2/token" && r.status == 200).collect();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].query.contains(&("client_id".to_owned(), USER_ASSIGNED_CLIENT_ID.to_owned())), "{:?}", asked[0].query);
}

#[tokio::test]
async fn the_process_timeout_bounds_a_slow_developer_tool() {
    let dir = tools("slow", Some("exec /bin/sleep 5"));
    let options = DefaultAzureCredentialOptions {
        client: ClientOptions { env: Env::from_pairs([("PATH", dir.display().to_string()), ("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential".into())]), ..Default::default() },
        process_timeout: Some(std::time::Duration::from_millis(500)),
        ..Default::default()
    };
    let chain = DefaultAzureCredential::with_options(options).unwrap();
    let started = Instant::now();
    let err = chain.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "waited {:?}", started.elapsed());
    assert!(err.to_string().contains("did not answer within 500ms"), "{err}");
    assert_eq!(AzureCliCredential::new(None, ClientOptions::default()).process_timeout(), std::time::Duration::from_secs(15));
    let zero = DefaultAzureCredentialOptions { process_timeout: Some(std::time::Duration::ZERO), ..Default::default() };
    let err = DefaultAzureCredential::with_options(zero).unwrap_err();
    assert_eq!(err.kind_code(), "configuration");
    assert!(err.to_string().contains("process timeout must be longer than zero"), "{err}");
    // The tools' own constructor refuses it too (the bindings' AzureCliCredential(process_timeout=0)).
    let err = AzureCliCredential::with_process_timeout(None, ClientOptions::default(), std::time::Duration::ZERO).err().unwrap();
    assert_eq!((err.kind_code(), err.credential()), ("configuration", "AzureCliCredential"));
    let slow_cli = AzureCliCredential::with_process_timeout(None, ClientOptions { env: Env::from_pairs([("PATH", dir.display().to_string())]), ..Default::default() }, std::time::Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    let err = slow_cli.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(4) && err.to_string().contains("within 300ms"), "{err} after {:?}", started.elapsed());
}

/// What the bindings' `ChainedTokenCredential(a, b)` builds: links shared with the caller's own
/// credential objects. An unavailable link is passed over, the working one remembered (and its
/// token cached in the credential the caller also holds), an authentication failure stops.
#[tokio::test]
async fn a_chain_of_shared_credentials_moves_past_unavailable_links_and_stops_at_a_failure() {
    use entra_token::{AnyCredential, ClientSecretCredential, EnvironmentCredential, Secret};
    let emulator = emulator().await;
    let (options, _) = options(&emulator);
    let environment = AnyCredential::unavailable_until_used(EnvironmentCredential::new(ClientOptions { env: Env::from_pairs(Vec::<(String, String)>::new()), ..options.clone() })).unwrap();
    let secret: Arc<AnyCredential> =
        Arc::new(ClientSecretCredential::with_options(&emulator.tenant_id(), WEATHER_CLIENT_ID, Secret::new(WEATHER_CLIENT_SECRET), options.clone()).unwrap().into());
    let chain = AnyCredential::chain_of(vec![Arc::new(environment), secret.clone()]).unwrap();
    assert_eq!(chain.chain_links(), vec!["EnvironmentCredential", "ClientSecretCredential"]);

    let token = chain.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    assert_eq!(claims(token.token().expose_secret())["appid"], WEATHER_CLIENT_ID);
    let AnyCredential::Chained(inner) = &chain else { panic!("chain_of builds a chain") };
    assert_eq!(inner.working_link(), Some("ClientSecretCredential"));
    // The link is the caller's credential: its cache answers the caller directly too.
    assert_eq!(secret.get_token_cached(&TokenRequest::new([WEATHER_SCOPE])).unwrap().token().expose_secret(), token.token().expose_secret());
    assert_eq!(token_requests(&emulator).len(), 1);

    let wrong: Arc<AnyCredential> = Arc::new(ClientSecretCredential::with_options(&emulator.tenant_id(), WEATHER_CLIENT_ID, Secret::new("wrong"), options).unwrap().into());
    let stops = AnyCredential::chain_of(vec![wrong, secret]).unwrap();
    let error = stops.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap_err();
    assert_eq!((error.kind_code(), error.aadsts_code()), ("authentication_failed", Some(7000215)));
    assert_eq!(AnyCredential::chain_of(Vec::new()).unwrap_err().kind_code(), "configuration");
}
