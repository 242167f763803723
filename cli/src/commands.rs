//! `token`, `call` and `doctor`: what scripts and people run against real or emulated Entra.
//!
//! Exit codes (stable, for scripts): 0 success, 1 internal error, 2 usage error, 3 bad
//! configuration, 4 authentication rejected, 5 no credential available here, 6 network error
//! or timeout, 7 the downstream API answered with an error status.

use entra_token::config::AppSettings;
use entra_token::downstream::DownstreamApis;
use entra_token::{AnyCredential, Authority, ClientOptions, DefaultAzureCredential, Env, Error, HttpOptions, Region, TokenCredential, TokenRequest};
use std::path::PathBuf;
use std::process::ExitCode;

/// The exit code for a core error.
pub fn exit_code(error: &Error) -> u8 {
    match error.kind_code() {
        "configuration" | "certificate" => 3,
        "authentication_failed" | "assertion_callback" | "invalid_response" => 4,
        "credential_unavailable" => 5,
        "transport" | "timeout" => 6,
        "downstream_api" => 7,
        _ => 1,
    }
}

/// A failure with the exit code it deserves.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure { code: exit_code(&e), message: e.to_string() }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { code: 1, message }
    }
}

#[derive(clap::Args)]
pub struct TokenArgs {
    /// Scope to get a token for (repeatable); defaults to the API section's scopes with --api.
    #[arg(long)]
    scope: Vec<String>,
    /// appsettings.json (Microsoft.Identity.Web shape); without it, DefaultAzureCredential.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The downstream API section whose scopes and credential options to use.
    #[arg(long)]
    api: Option<String>,
    /// Print JSON like `az account get-access-token` (token, expiry, credential) instead of the bare token.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct CallArgs {
    /// The downstream API section to call.
    api: String,
    /// Path relative to the section's BaseUrl; its RelativePath when absent.
    path: Option<String>,
    /// appsettings.json with the API section.
    #[arg(long)]
    config: PathBuf,
    /// HTTP method (the section's HttpMethod, else GET).
    #[arg(long)]
    method: Option<String>,
    /// JSON body to send.
    #[arg(long)]
    data: Option<String>,
}

#[derive(clap::Args)]
pub struct DoctorArgs {
    /// appsettings.json to check; without it, DefaultAzureCredential is checked.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The downstream API section to check.
    #[arg(long)]
    api: Option<String>,
    /// The scope to try (the API's scopes, else Azure Resource Manager's).
    #[arg(long)]
    scope: Vec<String>,
}

/// The credential and scopes a command works with.
fn credential(config: Option<&PathBuf>, api: Option<&str>, scopes: &[String]) -> Result<(AnyCredential, Vec<String>), Failure> {
    let options = ClientOptions::default();
    match config {
        Some(path) => {
            let settings = AppSettings::from_file(path, &Env::process())?;
            let scopes = match (scopes.is_empty(), api) {
                (false, _) => scopes.to_vec(),
                (true, Some(name)) => settings.api(name)?.scopes.clone(),
                (true, None) => return Err(Failure { code: 2, message: "give --scope, or --api NAME to use that section's scopes".into() }),
            };
            Ok((settings.credential_for(api, &options)?.into(), scopes))
        }
        None => {
            if api.is_some() {
                return Err(Failure { code: 2, message: "--api needs --config".into() });
            }
            if scopes.is_empty() {
                return Err(Failure { code: 2, message: "give --scope (for example https://management.azure.com/.default)".into() });
            }
            Ok((DefaultAzureCredential::new(options)?.into(), scopes.to_vec()))
        }
    }
}

fn which(credential: &AnyCredential) -> String {
    match credential {
        AnyCredential::Chained(c) => c.working_link().unwrap_or("DefaultAzureCredential").to_owned(),
        AnyCredential::Configured(c) => c.links().first().map(|s| s.to_string()).unwrap_or_default(),
        other => format!("{other:?}").split([' ', '{', '(']).next().unwrap_or_default().to_owned(),
    }
}

pub async fn token(args: TokenArgs) -> Result<ExitCode, Failure> {
    let (credential, scopes) = credential(args.config.as_ref(), args.api.as_deref(), &args.scope)?;
    let token = credential.get_token(&TokenRequest::new(scopes)).await?;
    if args.json {
        let json = serde_json::json!({
            "accessToken": token.token().expose_secret(),
            "expires_on": token.expires_on(),
            "expiresOn": iso(token.expires_on()),
            "tokenType": token.token_type(),
            "credential": which(&credential),
        });
        println!("{json:#}");
    } else {
        println!("{}", token.token().expose_secret());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn call(args: CallArgs) -> Result<ExitCode, Failure> {
    let apis = DownstreamApis::from_file(&args.config, ClientOptions::default())?;
    let body = args.data.map(|d| ("application/json", d.into_bytes()));
    let response = apis.call(&args.api, args.method.as_deref(), args.path.as_deref(), body).await?;
    eprintln!("HTTP {}", response.status);
    use std::io::Write;
    let _ = std::io::stdout().write_all(&response.body);
    if !response.body.ends_with(b"\n") {
        println!();
    }
    Ok(if (200..300).contains(&response.status) { ExitCode::SUCCESS } else { ExitCode::from(7) })
}

pub async fn doctor(args: DoctorArgs) -> Result<ExitCode, Failure> {
    println!("entra-token doctor");
    println!("\nManaged identity environment:");
    for (name, set) in entra_token::managed_identity_environment(&Env::process()) {
        println!("  {name:<36} {}", if set { "set" } else { "-" });
    }
    match entra_token::ManagedIdentityCredential::new(Default::default()) {
        Ok(mi) => println!("  source if managed identity is used: {} at {} ({})", mi.source().kind, mi.source().endpoint, mi.source().reason),
        Err(e) => println!("  managed identity: {e}"),
    }
    println!("\nAuthority from the environment (AZURE_AUTHORITY_HOST, AZURE_REGIONAL_AUTHORITY_NAME):");
    println!("  {}", describe_authority(&Env::process()).await);
    let scopes = if args.scope.is_empty() && args.api.is_none() { vec!["https://management.azure.com/.default".to_owned()] } else { args.scope.clone() };
    let (credential, scopes) = match credential(args.config.as_ref(), args.api.as_deref(), &scopes) {
        Ok(c) => c,
        Err(f) => {
            println!("\nConfiguration: {}", f.message);
            return Ok(ExitCode::from(f.code));
        }
    };
    match &credential {
        AnyCredential::Configured(c) => println!("\nCredentials from {} (tried in order): {}", args.config.as_ref().map(|p| p.display().to_string()).unwrap_or_default(), c.links().join(", ")),
        AnyCredential::Chained(c) => println!("\nDefaultAzureCredential links (AZURE_TOKEN_CREDENTIALS narrows them): {}", c.links().join(", ")),
        _ => {}
    }
    println!("\nTrying a token for {} ...", scopes.join(" "));
    match credential.get_token(&TokenRequest::new(scopes)).await {
        Ok(token) => {
            println!("  OK from {}: expires {} (the token itself is not shown)", which(&credential), iso(token.expires_on()));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("  FAILED: {e}");
            if let (Some(code), Some(correlation)) = (e.aadsts_code(), e.correlation_id()) {
                println!("  AADSTS{code}, correlation id {correlation} (give both to support)");
            }
            Ok(ExitCode::from(exit_code(&e)))
        }
    }
}

/// The authority the environment describes, and which endpoint its region leads to.
async fn describe_authority(env: &Env) -> String {
    let authority = match Authority::from_env(env) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let detecting = authority.detects_region();
    let resolved = authority.with_detected_region(env, &HttpOptions::default()).await;
    match &resolved {
        Authority::Entra { host, region: Some(Region::Named(r)) } if detecting => format!("{host}, region detected through IMDS: {r}"),
        Authority::Entra { host, region: Some(Region::Named(r)) } => format!("{host}, regional endpoint {r}"),
        Authority::Entra { host, .. } if detecting => format!("{host}, region detection asked for but IMDS did not say: the global endpoint is used"),
        Authority::Entra { host, .. } => format!("{host}, global endpoint"),
        Authority::Oidc { issuer } => format!("{issuer} (OpenID Connect)"),
    }
}

/// `2026-11-28T12:00:00Z`.
fn iso(epoch: u64) -> String {
    entra_token_emulator::format_utc(epoch, 'T')
}
