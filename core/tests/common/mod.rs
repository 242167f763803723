//! Shared helpers for the integration tests: an in-process emulator and client options aimed at it.
#![allow(dead_code)]

use base64::Engine;
use entra_token::{Authority, ClientOptions, Env, HttpOptions, RecordingSleeper};
use entra_token_emulator::{Directory, Emulator};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[allow(unused_imports)]
pub use entra_token_emulator::directory::{
    CERT_CLIENT_ID, NO_ROLE_CLIENT_ID, NO_ROLE_CLIENT_SECRET, WEATHER_API, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET,
};

pub const WEATHER_SCOPE: &str = "api://weather/.default";

pub async fn emulator() -> Emulator {
    Emulator::start(Directory::default()).await.expect("emulator starts")
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name)
}

/// Options pointing at the emulator, with short timeouts and a recording sleeper.
pub fn options(emulator: &Emulator) -> (ClientOptions, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let options = ClientOptions {
        authority: Some(Authority::entra(emulator.url()).unwrap()),
        http: HttpOptions {
            attempt_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(20),
            sleeper: sleeper.clone(),
            ..HttpOptions::default()
        },
        env: Env::from_pairs(Vec::<(String, String)>::new()),
        // Each test gets its own cache; the process-wide default is tested on purpose elsewhere.
        cache: Some(Arc::new(entra_token::TokenCache::new(entra_token::CacheOptions::default()))),
        ..ClientOptions::default()
    };
    (options, sleeper)
}

/// The claims of a JWT, without checking its signature (the emulator's own tests do that).
pub fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The header of a JWT.
pub fn header(jwt: &str) -> serde_json::Value {
    let h = jwt.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
}

pub fn token_requests(emulator: &Emulator) -> Vec<entra_token_emulator::LoggedRequest> {
    emulator.requests().into_iter().filter(|r| r.path.ends_with("/oauth2/v2.0/token")).collect()
}
