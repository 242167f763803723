//! Retry, timeout and body-limit behaviour of the token endpoint policy against injected faults.

mod common;

use common::*;
use entra_token::{ClientSecretCredential, HttpOptions, TokenCredential, TokenRequest};
use entra_token_emulator::{Fault, FaultAction};
use std::time::{Duration, Instant};

fn credential(emu: &entra_token_emulator::Emulator, http: Option<HttpOptions>) -> (ClientSecretCredential, std::sync::Arc<entra_token::RecordingSleeper>) {
    let (mut options, sleeper) = options(emu);
    if let Some(mut h) = http {
        h.sleeper = sleeper.clone();
        options.http = h;
    }
    (ClientSecretCredential::with_options(&emu.tenant_id(), WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options).unwrap(), sleeper)
}

fn request() -> TokenRequest {
    TokenRequest::new([WEATHER_SCOPE])
}

#[tokio::test]
async fn throttled_429_waits_for_retry_after_then_succeeds() {
    let emu = emulator().await;
    emu.add_fault(Fault::status(1, 429, Some("3")));
    let (cred, sleeper) = credential(&emu, None);
    cred.get_token(&request()).await.unwrap();
    assert_eq!(token_requests(&emu).iter().map(|r| r.status).collect::<Vec<_>>(), vec![429, 200]);
    let delays = sleeper.delays();
    assert_eq!(delays.len(), 1);
    assert!(delays[0] >= Duration::from_secs(3), "Retry-After is honoured: {delays:?}");
}

#[tokio::test]
async fn two_server_errors_then_success() {
    let emu = emulator().await;
    emu.add_fault(Fault::status(2, 500, None));
    let (cred, sleeper) = credential(&emu, None);
    cred.get_token(&request()).await.unwrap();
    assert_eq!(token_requests(&emu).iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 500, 200]);
    let d = sleeper.delays();
    assert_eq!(d.len(), 2);
    assert!(d[0] >= Duration::from_millis(800) && d[0] <= Duration::from_millis(1200), "{d:?}");
    assert!(d[1] >= Duration::from_millis(1600) && d[1] <= Duration::from_millis(2400), "{d:?}");
    // Every attempt of one call carries the same request id.
    let ids: Vec<String> = token_requests(&emu).iter().map(|r| r.headers["client-request-id"].clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_three_retries() {
    let emu = emulator().await;
    emu.add_fault(Fault::status(0, 503, None));
    let (cred, sleeper) = credential(&emu, None);
    let err = cred.get_token(&request()).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    assert_eq!(err.service_error().unwrap().attempts, 4);
    assert_eq!(sleeper.delays().len(), 3);
    assert_eq!(token_requests(&emu).len(), 4);
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_is_not_waited_for() {
    let emu = emulator().await;
    emu.add_fault(Fault::status(1, 429, Some("3600")));
    let (cred, sleeper) = credential(&emu, None);
    let err = cred.get_token(&request()).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.service_error().unwrap().retry_after, Some(Duration::from_secs(3600)));
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_bound() {
    let emu = emulator().await;
    emu.add_fault(Fault::new(None, 0, FaultAction::Hang));
    let http = HttpOptions { attempt_timeout: Duration::from_millis(300), total_timeout: Duration::from_secs(3), ..HttpOptions::default() };
    let (cred, _) = credential(&emu, Some(http));
    let started = Instant::now();
    let err = cred.get_token(&request()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind_code(), "timeout", "{err}");
    assert!(err.is_retryable());
    assert!(elapsed < Duration::from_millis(3500), "returned after {elapsed:?}");
    // 300 ms attempts with (recorded, instant) 1 s and 2 s backoffs fit; a third 4 s backoff does not.
    assert_eq!(token_requests(&emu).len(), 3, "timeouts are retried within the deadline");
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let emu = emulator().await;
    emu.add_fault(Fault::new(Some("/oauth2/"), 1, FaultAction::Close));
    let (cred, sleeper) = credential(&emu, None);
    cred.get_token(&request()).await.unwrap();
    assert_eq!(token_requests(&emu).len(), 2);
    assert_eq!(sleeper.delays().len(), 1);
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let emu = emulator().await;
    emu.add_fault(Fault::new(None, 1, FaultAction::Malformed));
    let (cred, _) = credential(&emu, None);
    let err = cred.get_token(&request()).await.unwrap_err();
    assert_eq!(err.kind_code(), "invalid_response");
    assert_eq!(err.status(), Some(200));
    assert!(err.to_string().contains("not JSON"), "{err}");
    assert_eq!(token_requests(&emu).len(), 1);
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let emu = emulator().await;
    emu.add_fault(Fault::new(None, 1, FaultAction::Oversized { bytes: 2 << 20 }));
    let (cred, _) = credential(&emu, None);
    let err = cred.get_token(&request()).await.unwrap_err();
    assert_eq!(err.kind_code(), "invalid_response");
    assert!(err.to_string().contains("byte limit"), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    // Bind and drop a listener to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sleeper = std::sync::Arc::new(entra_token::RecordingSleeper::default());
    let options = entra_token::ClientOptions {
        authority: Some(entra_token::Authority::entra(&format!("http://127.0.0.1:{port}")).unwrap()),
        http: HttpOptions { sleeper: sleeper.clone(), ..HttpOptions::default() },
        ..entra_token::ClientOptions::default()
    };
    let cred = ClientSecretCredential::with_options("t", "c", "s", options).unwrap();
    let err = cred.get_token(&request()).await.unwrap_err();
    assert_eq!(err.kind_code(), "transport", "{err}");
    assert!(err.to_string().contains("connection failed"), "{err}");
    assert_eq!(sleeper.delays().len(), 3, "connection errors are retried by the token endpoint policy");
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let emu = emulator().await;
    let target = emulator().await;
    let location = format!("{}/{}/oauth2/v2.0/token", target.url(), target.tenant_id());
    let headers = vec![("location".to_owned(), location.clone())];
    emu.add_fault(Fault::new(None, 1, FaultAction::Status { status: 307, retry_after: None, body: Some("{}".into()), headers }));
    let (cred, _) = credential(&emu, None);
    let err = cred.get_token(&request()).await.unwrap_err();
    assert_eq!(err.status(), Some(307), "{err}");
    assert!(target.requests().is_empty(), "nothing reached {location}");
}
