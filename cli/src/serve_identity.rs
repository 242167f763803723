//! `entra-token serve-identity`: a local endpoint speaking the IMDS or App Service managed
//! identity protocol, backed by any other credential (a developer CLI login, a client secret
//! from appsettings, or the emulator). Point `AZURE_POD_IDENTITY_AUTHORITY_HOST` or
//! `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` at it, and unchanged code using managed identity, in
//! any language and with any library, gets tokens on a laptop or in a container.
//!
//! It protects itself as the real endpoints do: IMDS mode requires `Metadata: true` and serves
//! loopback only; App Service mode requires the secret header it generates and prints, and is
//! the only mode that may bind beyond loopback (`--bind`, for containers).

use crate::commands::Failure;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use entra_token::config::AppSettings;
use entra_token::{AnyCredential, ClientOptions, DefaultAzureCredential, Env, TokenCredential, TokenRequest};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// The Azure Instance Metadata Service (VMs): `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    Imds,
    /// App Service / Functions / Container Apps: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
    AppService,
}

#[derive(clap::Args)]
pub struct ServeIdentityArgs {
    /// Which managed identity protocol to speak.
    #[arg(long = "as", value_enum)]
    protocol: Protocol,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind; loopback by default. Beyond loopback only with --as app-service.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// appsettings.json whose AzureAd credentials back the endpoint; DefaultAzureCredential when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The secret header value (App Service mode); random when absent.
    #[arg(long)]
    identity_header: Option<String>,
}

struct Served {
    protocol: Protocol,
    secret: String,
    credential: AnyCredential,
}

pub async fn serve_identity(args: ServeIdentityArgs) -> Result<ExitCode, Failure> {
    if args.protocol == Protocol::Imds && !args.bind.is_loopback() {
        return Err(Failure {
            code: 2,
            message: "IMDS clients send no secret, so --as imds serves loopback only; use --as app-service with --bind (its secret header is then required)".into(),
        });
    }
    let credential: AnyCredential = match &args.config {
        Some(path) => AppSettings::from_file(path, &Env::process())?.credential_for(None, &ClientOptions::default())?.into(),
        None => DefaultAzureCredential::new(ClientOptions::default())?.into(),
    };
    let secret = args.identity_header.clone().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let served = Arc::new(Served { protocol: args.protocol, secret, credential });
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port)).await.map_err(|e| format!("cannot listen on {}:{}: {e}", args.bind, args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let router = router(served.clone());
    let shown = if args.bind.is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    println!("entra-token serve-identity: {} protocol on http://{addr}", if args.protocol == Protocol::Imds { "IMDS" } else { "App Service" });
    match args.protocol {
        Protocol::Imds => println!("export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://{shown}"),
        Protocol::AppService => {
            println!("export IDENTITY_ENDPOINT=http://{shown}/msi/token");
            println!("export IDENTITY_HEADER={}", served.secret);
        }
    }
    println!("# tokens come from: {:?}", served.credential);
    println!("# ready");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn router(served: Arc<Served>) -> axum::Router {
    match served.protocol {
        Protocol::Imds => axum::Router::new()
            .route("/metadata/identity/oauth2/token", axum::routing::get(token))
            .route("/metadata/identity/oauth2/token/", axum::routing::get(token)),
        Protocol::AppService => axum::Router::new().route("/msi/token", axum::routing::get(token)),
    }
    .with_state(served)
}

/// Serves the App Service protocol on an ephemeral loopback port in this process (the demo);
/// returns the variables a host would set. The server stops with the runtime.
pub async fn start_app_service(credential: AnyCredential) -> Result<Vec<(String, String)>, String> {
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let served = Arc::new(Served { protocol: Protocol::AppService, secret: secret.clone(), credential });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(served)).await;
    });
    Ok(vec![("IDENTITY_ENDPOINT".into(), format!("http://{addr}/msi/token")), ("IDENTITY_HEADER".into(), secret)])
}

fn error(protocol: Protocol, status: StatusCode, message: &str) -> Response {
    let body = match protocol {
        Protocol::Imds => serde_json::json!({"error": "invalid_request", "error_description": message}),
        Protocol::AppService => serde_json::json!({"statusCode": status.as_u16(), "message": message, "correlationId": uuid::Uuid::new_v4().to_string()}),
    };
    (status, axum::Json(body)).into_response()
}

async fn token(State(served): State<Arc<Served>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let protocol = served.protocol;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    match protocol {
        Protocol::Imds if !header("metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) => {
            return error(protocol, StatusCode::BAD_REQUEST, "Required metadata header not specified");
        }
        Protocol::AppService if header("x-identity-header") != Some(served.secret.as_str()) => {
            return error(protocol, StatusCode::UNAUTHORIZED, "X-IDENTITY-HEADER is missing or wrong");
        }
        _ => {}
    }
    let Some(resource) = query.get("resource").filter(|r| !r.is_empty()) else {
        return error(protocol, StatusCode::BAD_REQUEST, "Required query variable 'resource' is missing");
    };
    // One backing identity stands in for whichever managed identity is asked for (a user-assigned
    // id in the app's configuration must keep working locally).
    let request = TokenRequest::new([entra_token::scope::from_resource(resource)]);
    let token = match served.credential.get_token(&request).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("serve-identity: {e}");
            let status = if e.kind_code() == "authentication_failed" { StatusCode::BAD_REQUEST } else { StatusCode::SERVICE_UNAVAILABLE };
            return error(protocol, status, &e.to_string());
        }
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let expires_in = token.expires_on().saturating_sub(now);
    let body = match protocol {
        Protocol::Imds => serde_json::json!({
            "access_token": token.token().expose_secret(),
            "expires_in": expires_in.to_string(),
            "expires_on": token.expires_on().to_string(),
            "ext_expires_in": expires_in.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
        Protocol::AppService => serde_json::json!({
            "access_token": token.token().expose_secret(),
            "expires_on": token.expires_on().to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    };
    axum::Json(body).into_response()
}
