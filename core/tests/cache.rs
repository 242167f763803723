//! Cache behaviour over real HTTP against the emulator: single flight, expiry, the short-lived
//! rule, background refresh, identity separation and the process-wide default.

mod common;

use common::*;
use entra_token::{ClientOptions, ClientSecretCredential, ManualClock, TokenCache, TokenCredential, TokenRequest};
use entra_token_emulator::{Directory, Emulator, Fault, FaultAction};
use std::sync::Arc;
use std::time::Duration;

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

async fn emulator_with_lifetime(lifetime: u64) -> Emulator {
    Emulator::start(Directory { token_lifetime_secs: lifetime, ..Directory::default() }).await.unwrap()
}

fn credential(emu: &Emulator, clock: Option<Arc<ManualClock>>) -> (ClientSecretCredential, ClientOptions) {
    let (mut options, _) = options(emu);
    if let Some(clock) = clock {
        options.clock = clock;
    }
    (ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options.clone()).unwrap(), options)
}

fn weather() -> TokenRequest {
    TokenRequest::new([WEATHER_SCOPE])
}

/// Waits (bounded) until the emulator has seen `n` token requests.
async fn until_token_requests(emu: &Emulator, n: usize) {
    for _ in 0..500 {
        if token_requests(emu).len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} token requests, saw {}", token_requests(emu).len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_cause_one_request_and_other_scopes_are_not_held_up() {
    let emu = emulator().await;
    // Only the first request (the weather scope's) is slow.
    emu.add_fault(Fault::new(Some("/oauth2/v2.0/token"), 1, FaultAction::Delay { ms: 1500 }));
    let (cred, options) = credential(&emu, None);
    let cred = Arc::new(cred);
    let callers: Vec<_> = (0..1000).map(|_| {
        let cred = cred.clone();
        tokio::spawn(async move { cred.get_token(&weather()).await })
    }).collect();
    until_token_requests(&emu, 1).await;
    // Another scope while the slow fetch is in flight: it must finish first.
    let other = cred.get_token(&TokenRequest::new(["https://vault.azure.net/.default"])).await.unwrap();
    assert!(callers.iter().any(|c| !c.is_finished()), "the other scope waited for the slow flight");
    let mut tokens = Vec::new();
    for c in callers {
        tokens.push(c.await.unwrap().unwrap());
    }
    assert!(tokens.windows(2).all(|w| w[0].same_instance(&w[1])), "every caller got the one fetched token");
    assert!(!other.same_instance(&tokens[0]));
    let weather_requests = token_requests(&emu).iter().filter(|r| r.form_value("scope") == Some(WEATHER_SCOPE)).count();
    assert_eq!(weather_requests, 1);
    let stats = options.cache.unwrap().stats();
    assert_eq!(stats.fetches, 2, "{stats:?}");
    assert_eq!(stats.hits + stats.misses, 1001, "{stats:?}");
}

#[tokio::test]
async fn a_token_inside_the_expiry_skew_is_never_returned() {
    let emu = emulator_with_lifetime(3600).await;
    let clock = Arc::new(ManualClock::new(now()));
    let (cred, _) = credential(&emu, Some(clock.clone()));
    let first = cred.get_token(&weather()).await.unwrap();
    clock.advance(3600 - 301);
    assert!(cred.get_token(&weather()).await.unwrap().same_instance(&first), "still 301 s left: a hit");
    clock.advance(1);
    let second = cred.get_token(&weather()).await.unwrap();
    assert!(!second.same_instance(&first), "300 s left is treated as expired");
    assert!(cred.get_token_cached(&weather()).unwrap().same_instance(&second));
    assert_eq!(token_requests(&emu).len(), 2);
}

#[tokio::test]
async fn a_token_shorter_lived_than_the_skew_goes_to_its_caller_but_is_not_cached() {
    let emu = emulator_with_lifetime(200).await;
    let (cred, options) = credential(&emu, None);
    let a = cred.get_token(&weather()).await.unwrap();
    let b = cred.get_token(&weather()).await.unwrap();
    assert!(!a.same_instance(&b));
    assert!(a.expires_on() > now() + 100);
    assert_eq!(token_requests(&emu).len(), 2);
    let stats = options.cache.unwrap().stats();
    assert_eq!((stats.uncacheable, stats.entries), (2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_refresh_runs_once_and_callers_keep_the_valid_token() {
    let emu = emulator_with_lifetime(7200).await;
    let clock = Arc::new(ManualClock::new(now()));
    let (cred, options) = credential(&emu, Some(clock.clone()));
    let cred = Arc::new(cred);
    let first = cred.get_token(&weather()).await.unwrap();
    assert_eq!(first.refresh_on(), Some(first.expires_on() - 3600), "half life for tokens living 2 hours or more");
    emu.add_fault(Fault::new(None, 1, FaultAction::Delay { ms: 300 }));
    clock.advance(3601);
    // Many callers during the refresh all get the old, still valid token at once.
    for _ in 0..50 {
        assert!(cred.get_token(&weather()).await.unwrap().same_instance(&first));
    }
    until_token_requests(&emu, 2).await;
    for _ in 0..200 {
        if !cred.get_token(&weather()).await.unwrap().same_instance(&first) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let fresh = cred.get_token(&weather()).await.unwrap();
    assert!(!fresh.same_instance(&first), "the refreshed token replaced the old one");
    assert_eq!(token_requests(&emu).len(), 2, "exactly one background refresh");
    assert_eq!(options.cache.unwrap().stats().refreshes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_keeps_the_old_token() {
    let emu = emulator_with_lifetime(7200).await;
    let clock = Arc::new(ManualClock::new(now()));
    let (cred, options) = credential(&emu, Some(clock.clone()));
    let first = cred.get_token(&weather()).await.unwrap();
    emu.add_fault(Fault::status(1, 400, None)); // 400 is final: no retry
    clock.advance(3601);
    assert!(cred.get_token(&weather()).await.unwrap().same_instance(&first));
    let cache = options.cache.unwrap();
    for _ in 0..500 {
        if cache.stats().refresh_failures == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(cache.stats().refresh_failures, 1);
    // The old token is still served, and no new refresh starts before the retry delay.
    assert!(cred.get_token(&weather()).await.unwrap().same_instance(&first));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(token_requests(&emu).len(), 2);
    clock.advance(31);
    assert!(cred.get_token(&weather()).await.unwrap().same_instance(&first));
    until_token_requests(&emu, 3).await;
}

#[tokio::test]
async fn same_client_with_different_secrets_never_shares_a_token() {
    let emu = emulator().await;
    let (good, options) = credential(&emu, None);
    good.get_token(&weather()).await.unwrap();
    let bad = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, "wrong-secret", options).unwrap();
    assert!(bad.get_token_cached(&weather()).is_none());
    let err = bad.get_token(&weather()).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(7000215));
}

#[tokio::test]
async fn credentials_built_the_same_way_share_tokens() {
    let emu = emulator().await;
    let (a, options) = credential(&emu, None);
    let first = a.get_token(&weather()).await.unwrap();
    let b = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    assert!(b.get_token(&weather()).await.unwrap().same_instance(&first));
    assert_eq!(token_requests(&emu).len(), 1);
}

#[tokio::test]
async fn a_credential_built_per_request_hits_the_process_wide_cache() {
    let emu = emulator().await;
    for _ in 0..5 {
        let (mut options, _) = options(&emu);
        options.cache = None; // the default: TokenCache::global()
        let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
        cred.get_token(&weather()).await.unwrap();
    }
    assert_eq!(token_requests(&emu).len(), 1);
    assert!(TokenCache::global().entries().iter().any(|e| e.client_id == WEATHER_CLIENT_ID && e.scopes == WEATHER_SCOPE));
}

#[tokio::test]
async fn claims_and_force_refresh_bypass_the_cache_and_replace_the_token() {
    let emu = emulator().await;
    let (cred, _) = credential(&emu, None);
    let first = cred.get_token(&weather()).await.unwrap();
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let fresh = cred.get_token(&weather().with_claims(claims)).await.unwrap();
    assert!(!fresh.same_instance(&first));
    assert_eq!(token_requests(&emu)[1].form_value("claims"), Some(claims));
    assert!(cred.get_token(&weather()).await.unwrap().same_instance(&fresh), "the challenged token replaced the cached one");
    let forced = cred.get_token(&weather().with_force_refresh(true)).await.unwrap();
    assert!(!forced.same_instance(&fresh));
    assert_eq!(token_requests(&emu).len(), 3);
}

#[tokio::test]
async fn errors_are_shared_by_concurrent_waiters_and_not_cached() {
    let emu = emulator().await;
    emu.add_fault(Fault::new(None, 1, FaultAction::Status { status: 400, retry_after: None, body: None, headers: Vec::new() }));
    emu.add_fault(Fault::new(None, 0, FaultAction::Delay { ms: 0 }));
    let (cred, _) = credential(&emu, None);
    let request = weather();
    let (a, b) = tokio::join!(cred.get_token(&request), cred.get_token(&request));
    assert_eq!(a.unwrap_err().status(), Some(400));
    assert_eq!(b.unwrap_err().status(), Some(400));
    assert_eq!(token_requests(&emu).len(), 1);
    emu.clear_faults();
    cred.get_token(&weather()).await.unwrap();
}

/// What the bindings do: the synchronous lookup first, the async path on a miss. One logical
/// call must count once.
#[tokio::test]
async fn fast_path_then_async_path_counts_one_miss() {
    let emu = emulator().await;
    let (options, _) = options(&emu);
    let cache = options.cache.clone().unwrap();
    let cred = ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap();
    let request = TokenRequest::new([WEATHER_SCOPE]);
    assert!(cred.get_token_cached(&request).is_none());
    cred.get_token(&request).await.unwrap();
    assert!(cred.get_token_cached(&request).is_some());
    let stats = cache.stats();
    assert_eq!((stats.misses, stats.hits, stats.fetches), (1, 1, 1), "{stats:?}");
}

/// The bindings' hit path looks up borrowed scopes (`ScopeQuery`): it must find exactly what a
/// `TokenRequest` finds, count as a hit, normalise several scopes the same way, and keep CAE
/// tokens apart.
#[tokio::test]
async fn a_borrowed_scope_query_finds_what_a_token_request_finds() {
    use entra_token::ScopeQuery;
    let emu = emulator().await;
    let (credential, options) = credential(&emu, None);
    let cache = options.cache.clone().unwrap();
    assert!(credential.get_token_cached(&ScopeQuery::new(&[WEATHER_SCOPE])).is_none(), "nothing cached yet");
    let token = credential.get_token(&weather()).await.unwrap();
    let hits = cache.stats().hits;
    let found = credential.get_token_cached(&ScopeQuery::new(&[WEATHER_SCOPE])).expect("the token just fetched");
    assert_eq!(found.token().expose_secret(), token.token().expose_secret());
    assert_eq!(cache.stats().hits, hits + 1);
    assert!(credential.get_token_cached(&ScopeQuery::new(&[WEATHER_SCOPE]).with_cae(true)).is_none(), "a CAE token is another key");

    // Several scopes take the other branch of normalisation (sorted, de-duplicated, joined):
    // a repeated scope names the same key as the single one.
    let repeated = credential.get_token_cached(&ScopeQuery::new(&[WEATHER_SCOPE, WEATHER_SCOPE])).expect("the same key");
    assert_eq!(repeated.token().expose_secret(), token.token().expose_secret());
    assert_eq!(token_requests(&emu).len(), 1);
}
