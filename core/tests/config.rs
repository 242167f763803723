//! appsettings.json configurations against the emulator: the seed's two files (client secret;
//! managed identity) work unchanged once their placeholders are filled, the downstream API
//! helper calls the protected API and answers a claims challenge, and `ClientCredentials` are
//! tried in order.

mod common;

use common::*;
use entra_token::config::AppSettings;
use entra_token::downstream::DownstreamApis;
use entra_token::{ClientOptions, Env, TokenCredential, TokenRequest};
use entra_token_emulator::Emulator;
use entra_token_emulator::directory::USER_ASSIGNED_CLIENT_ID;

/// The seed's file with its placeholders filled from the emulator's built-in directory.
fn seed_file(emulator: &Emulator, name: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture(&format!("appsettings/{name}")))
        .unwrap()
        .replace("https://login.microsoftonline.com/", &format!("{}/", emulator.url()))
        .replace("<tenant id guid>", &emulator.tenant_id())
        .replace("<app registration client id guid>", WEATHER_CLIENT_ID)
        .replace("<client secret>", WEATHER_CLIENT_SECRET)
        .replace("https://weather-api/", &format!("{}/weather/", emulator.url()))
        .replace("WeatherForecast", "forecast")
        .replace("api://<downstream api name or app id>/.default", WEATHER_SCOPE)
        .replace("<managed identity client id>", USER_ASSIGNED_CLIENT_ID);
    // A directory per call: tests run in parallel threads of one process.
    let dir = std::env::temp_dir().join(format!("entra-config-{}-{}", uuid::Uuid::new_v4().simple(), name));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("appsettings.json");
    std::fs::write(&path, text).unwrap();
    path
}

fn host_options(emulator: &Emulator, extra: &[(&str, String)]) -> ClientOptions {
    let (mut options, _) = options(emulator);
    options.authority = None;
    let mut env = emulator.managed_identity_env("imds").unwrap();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    options.env = Env::from_pairs(env);
    options
}

#[tokio::test]
async fn the_seed_switch_is_a_configuration_change_only() {
    let emulator = emulator().await;
    // The same code for both files: load, call the downstream API.
    async fn forecast(path: &std::path::Path, options: ClientOptions) -> (serde_json::Value, Vec<String>) {
        let apis = DownstreamApis::from_file(path, options).unwrap();
        let body: serde_json::Value = apis.get_json("DownstreamApi", None).await.unwrap();
        (body, apis.credential("DownstreamApi").unwrap().links().iter().map(|s| s.to_string()).collect())
    }
    let (body, links) = forecast(&seed_file(&emulator, "appsettings.client-credentials.json"), host_options(&emulator, &[])).await;
    assert_eq!(body["caller"], WEATHER_CLIENT_ID);
    assert_eq!(links, vec!["AzureAd.ClientCredentials[0] (ClientSecret)"]);

    let (body, links) = forecast(&seed_file(&emulator, "appsettings.managed-identity.json"), host_options(&emulator, &[])).await;
    assert_eq!(body["caller"], USER_ASSIGNED_CLIENT_ID, "the user-assigned identity of AcquireTokenOptions.ManagedIdentity");
    assert_eq!(links, vec!["DownstreamApi.AcquireTokenOptions.ManagedIdentity"]);
    let mi_requests = emulator.requests().into_iter().filter(|r| r.path.starts_with("/metadata/identity")).count();
    assert_eq!(mi_requests, 1);
}

#[tokio::test]
async fn the_secret_can_come_from_the_environment_instead_of_the_file() {
    let emulator = emulator().await;
    let path = seed_file(&emulator, "appsettings.client-credentials.json");
    let text = std::fs::read_to_string(&path).unwrap().replace(WEATHER_CLIENT_SECRET, "");
    std::fs::write(&path, text).unwrap();
    let options = host_options(&emulator, &[("AzureAd__ClientCredentials__0__ClientSecret", WEATHER_CLIENT_SECRET.to_owned())]);
    let apis = DownstreamApis::from_file(&path, options).unwrap();
    let response = apis.call("DownstreamApi", None, None, None).await.unwrap();
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn the_downstream_helper_answers_a_claims_challenge_once() {
    let emulator = emulator().await;
    let apis = DownstreamApis::from_file(&seed_file(&emulator, "appsettings.client-credentials.json"), host_options(&emulator, &[])).unwrap();
    assert_eq!(apis.call("DownstreamApi", None, None, None).await.unwrap().status, 200);
    emulator.set_weather_claims_challenge(Some("c1"));
    let response = apis.call("DownstreamApi", None, Some("forecast?city=Oslo"), None).await.unwrap();
    assert_eq!(response.status, 200);
    let sent = token_requests(&emulator);
    assert_eq!(sent.len(), 2);
    assert!(sent[1].form_value("claims").unwrap().contains("\"acrs\""));
    // A client without the role gets the API's 403 as a typed error from the JSON helper.
    let forbidden = format!(
        r#"{{"AzureAd": {{"Instance": "{}/", "TenantId": "{}", "ClientId": "{NO_ROLE_CLIENT_ID}", "ClientCredentials": [{{"SourceType": "ClientSecret", "ClientSecret": "{NO_ROLE_CLIENT_SECRET}"}}]}},
            "Weather": {{"BaseUrl": "{}/weather/forecast", "Scopes": ["{WEATHER_SCOPE}"]}}}}"#,
        emulator.url(),
        emulator.tenant_id(),
        emulator.url()
    );
    emulator.set_weather_claims_challenge(None);
    let settings = AppSettings::from_json_str(&forbidden, None, &Env::from_pairs(Vec::<(String, String)>::new())).unwrap();
    let err = DownstreamApis::new(settings, host_options(&emulator, &[])).get_json::<serde_json::Value>("Weather", None).await.unwrap_err();
    assert_eq!((err.kind_code(), err.status()), ("downstream_api", Some(403)), "{err}");
    assert!(err.to_string().contains("Weather.Read"), "{err}");
}

#[tokio::test]
async fn client_credentials_are_tried_in_order_and_the_working_one_is_remembered() {
    let emulator = emulator().await;
    let text = format!(
        r#"{{"AzureAd": {{"Instance": "{}/", "TenantId": "{}", "ClientId": "{WEATHER_CLIENT_ID}",
            "ClientCredentials": [
              {{"SourceType": "Path", "CertificateDiskPath": "/nonexistent/cert.pfx"}},
              {{"SourceType": "ClientSecret", "ClientSecret": "an-old-rotated-secret"}},
              {{"SourceType": "ClientSecret", "ClientSecret": "{WEATHER_CLIENT_SECRET}"}}
            ]}}}}"#,
        emulator.url(),
        emulator.tenant_id()
    );
    let settings = AppSettings::from_json_str(&text, None, &Env::from_pairs(Vec::<(String, String)>::new())).unwrap();
    let (options, _) = options(&emulator);
    let credential = settings.credential_for(None, &ClientOptions { authority: None, ..options }).unwrap();
    assert_eq!(credential.links().len(), 2, "the unreadable certificate is skipped, as Microsoft.Identity.Web skips it");
    credential.get_token(&TokenRequest::new([WEATHER_SCOPE])).await.unwrap();
    credential.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await.unwrap();
    let secrets: Vec<String> = token_requests(&emulator).iter().map(|r| r.form_value("client_secret").unwrap().to_owned()).collect();
    assert_eq!(secrets, vec!["an-old-rotated-secret", WEATHER_CLIENT_SECRET, WEATHER_CLIENT_SECRET], "the rejected one is tried once, then remembered as failed");
}

#[test]
fn an_unreadable_certificate_alone_names_its_path() {
    let text = r#"{"AzureAd": {"TenantId": "t", "ClientId": "c", "ClientCredentials": [{"SourceType": "Path", "CertificateDiskPath": "missing.pfx"}]}}"#;
    let settings = AppSettings::from_json_str(text, Some(std::path::Path::new("/etc/app")), &Env::from_pairs(Vec::<(String, String)>::new())).unwrap();
    let err = settings.credential_for(None, &ClientOptions::default()).unwrap_err().to_string();
    assert!(err.contains("AzureAd.ClientCredentials[0] (Path)") && err.contains("/etc/app/missing.pfx"), "{err}");
}

#[tokio::test]
async fn azure_region_try_auto_detect_asks_imds_like_microsoft_identity_web() {
    let emulator = emulator().await;
    // `AzureAd__AzureRegion` as an environment override of the seed's file; the emulator is an
    // IP host, where the regional name is not applied, so what shows is the IMDS question.
    let options = host_options(&emulator, &[("AzureAd__AzureRegion", "TryAutoDetect".into())]);
    let apis = DownstreamApis::from_file(&seed_file(&emulator, "appsettings.client-credentials.json"), options).unwrap();
    let body: serde_json::Value = apis.get_json("DownstreamApi", None).await.unwrap();
    assert_eq!(body["caller"], WEATHER_CLIENT_ID);
    let asked: Vec<_> = emulator.requests().into_iter().filter(|r| r.path == "/metadata/instance/compute/location").collect();
    assert_eq!(asked.len(), 1, "asked once before the first token request");
    assert_eq!(asked[0].headers.get("metadata").map(String::as_str), Some("true"));

    // A region name needs no question, and a misspelt key still gets its hint.
    let text = r#"{"AzureAd": {"TenantId": "t", "ClientId": "c", "AzureRegion": "westus2", "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": "s"}]}}"#;
    let settings = AppSettings::from_json_str(text, None, &Env::from_pairs(Vec::<(String, String)>::new())).unwrap();
    assert_eq!(settings.azure_ad.azure_region.as_deref(), Some("westus2"));
    let typo = r#"{"AzureAd": {"TenantId": "t", "ClientId": "c", "AzureRegoin": "westus2"}}"#;
    let err = AppSettings::from_json_str(typo, None, &Env::from_pairs(Vec::<(String, String)>::new())).unwrap_err();
    assert!(err.to_string().contains("did you mean AzureRegion?"), "{err}");
}
