//! Shared set-up for the benchmarks: an emulator and credentials whose cache is filled.

use entra_token::{Authority, CacheOptions, ClientOptions, ClientSecretCredential, Env, TokenCache, TokenCredential, TokenRequest};
use entra_token_emulator::directory::{WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET};
use entra_token_emulator::{Directory, Emulator};
use std::sync::Arc;

/// A running emulator (permissive: any resource) and a secret credential aimed at it, with its own cache.
pub struct Setup {
    /// Keeps the emulator alive.
    pub emulator: Emulator,
    /// The credential under test.
    pub credential: Arc<ClientSecretCredential>,
    /// Its cache.
    pub cache: Arc<TokenCache>,
}

/// Starts the emulator on `runtime` and builds a credential.
pub fn setup(runtime: &tokio::runtime::Runtime) -> Setup {
    let emulator = runtime.block_on(Emulator::start(Directory { permissive: true, ..Directory::default() })).expect("emulator");
    let cache = Arc::new(TokenCache::new(CacheOptions { max_entries: 1_000_000, ..CacheOptions::default() }));
    let options = ClientOptions {
        authority: Some(Authority::entra(emulator.url()).expect("url")),
        env: Env::from_pairs(Vec::<(String, String)>::new()),
        cache: Some(cache.clone()),
        ..ClientOptions::default()
    };
    let credential = Arc::new(ClientSecretCredential::with_options(&emulator.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).expect("credential"));
    Setup { emulator, credential, cache }
}

/// The request for scope number `i`.
pub fn scope(i: usize) -> TokenRequest {
    TokenRequest::new([format!("api://bench-{i}/.default")])
}

/// Fills the cache with `n` distinct scopes, 32 requests at a time.
pub fn fill(runtime: &tokio::runtime::Runtime, setup: &Setup, n: usize) {
    runtime.block_on(async {
        let mut next = 0;
        while next < n {
            let batch: Vec<_> = (next..n.min(next + 32))
                .map(|i| {
                    let c = setup.credential.clone();
                    tokio::spawn(async move { c.get_token(&scope(i)).await.map(|_| ()) })
                })
                .collect();
            for task in batch {
                task.await.expect("task").expect("token");
            }
            next += 32;
        }
    });
}
