//! The `entra-token` command: tokens (`token`, `call`, `doctor`), the local emulator
//! (`emulate`), a local managed identity endpoint (`serve-identity`) and the demo.

mod commands;
mod serve_identity;

use clap::{Parser, Subcommand};
use entra_token::{
    Authority, CacheOptions, CertificateInput, CertificateOptions, ClientCertificate, ClientCertificateCredential, ClientOptions, ClientSecretCredential,
    ClientAssertionCredential, DynTokenCredential, Env, ManagedIdentityCredential, ManagedIdentityOptions, TokenCache, TokenRequest, UserAssignedId,
};
use entra_token_emulator::directory::{self, Directory};
use entra_token_emulator::{Emulator, EmulatorOptions, TlsMaterial};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "entra-token", version, about = "Microsoft Entra ID tokens for applications, and a local Entra emulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo on the embedded emulator (no Azure needed).
    Demo,
    /// Serve the local Entra ID emulator and the protected weather API on loopback until interrupted.
    Emulate(EmulateArgs),
    /// Print an access token (exit codes: 3 configuration, 4 rejected, 5 unavailable, 6 network).
    Token(commands::TokenArgs),
    /// Call a downstream API from appsettings.json with an app token (exit 7 on an error status).
    Call(commands::CallArgs),
    /// Show which environment and credential would be used, and whether they work.
    Doctor(commands::DoctorArgs),
    /// Serve a local managed identity endpoint (IMDS or App Service protocol) backed by another credential.
    ServeIdentity(serve_identity::ServeIdentityArgs),
}

#[derive(clap::Args)]
struct EmulateArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Directory file (TOML, or JSON when the name does not end in .toml); the built-in directory when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serve https with a generated local CA (msal, azure-identity and msal-node need https).
    #[arg(long)]
    https: bool,
    /// Where the CA and server certificate are kept, so a CA trusted once stays valid
    /// [default: <temp dir>/entra-token-emulator-tls].
    #[arg(long)]
    tls_dir: Option<PathBuf>,
    /// Print the CA certificate (PEM), generating it in --tls-dir if needed, and exit.
    #[arg(long)]
    print_ca: bool,
    /// Append every request to this file as one JSON object per line.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Which Azure host's managed identity variables to print: imds, app_service, azure_ml,
    /// cloud_shell, azure_arc or service_fabric (needs --https). All endpoints are served.
    #[arg(long, default_value = "imds")]
    managed_identity: String,
    /// The emulated host (its system-assigned identity is the one served).
    #[arg(long, default_value = directory::DEFAULT_HOST)]
    host: String,
    /// The identity endpoints' secret (IDENTITY_HEADER / MSI_SECRET); random when absent.
    #[arg(long)]
    identity_header: Option<String>,
    /// Accept any resource (tokens without roles), for tests and benchmarks with many scopes.
    #[arg(long)]
    permissive: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result: Result<ExitCode, commands::Failure> = runtime.block_on(async {
        match cli.command {
            Command::Demo => demo().await.map_err(Into::into),
            Command::Emulate(args) => emulate(args).await.map_err(Into::into),
            Command::Token(args) => commands::token(args).await,
            Command::Call(args) => commands::call(args).await,
            Command::Doctor(args) => commands::doctor(args).await,
            Command::ServeIdentity(args) => serve_identity::serve_identity(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

async fn emulate(args: EmulateArgs) -> Result<ExitCode, String> {
    let tls_dir = args.tls_dir.clone().unwrap_or_else(|| std::env::temp_dir().join("entra-token-emulator-tls"));
    if args.print_ca {
        let material = TlsMaterial::load_or_generate(&tls_dir)?;
        print!("{}", material.ca_pem());
        return Ok(ExitCode::SUCCESS);
    }
    let directory = match &args.config {
        Some(path) => Directory::from_file(path).map_err(|e| e.to_string())?,
        None => Directory::default(),
    };
    let directory = Directory { permissive: directory.permissive || args.permissive, ..directory };
    let tls = if args.https { Some(TlsMaterial::load_or_generate(&tls_dir)?) } else { None };
    const SOURCES: [&str; 6] = ["imds", "app_service", "azure_ml", "cloud_shell", "azure_arc", "service_fabric"];
    if !SOURCES.contains(&args.managed_identity.as_str()) {
        return Err(format!("--managed-identity {:?} is not one of {}", args.managed_identity, SOURCES.join(", ")));
    }
    if args.managed_identity == "service_fabric" && !args.https {
        return Err("--managed-identity service_fabric needs --https (Service Fabric clients pin the server certificate)".into());
    }
    let options = EmulatorOptions {
        addr: SocketAddr::from(([127, 0, 0, 1], args.port)),
        tls,
        request_log_file: args.log.clone(),
        host: args.host.clone(),
        identity_header: args.identity_header.clone(),
        arc_key_directory: None,
    };
    let emulator = Emulator::start_with(directory, options).await.map_err(|e| format!("cannot listen on port {}: {e}", args.port))?;
    let url = emulator.url();
    println!("entra-token emulator listening on {url} (tenant {})", emulator.tenant_id());
    println!("# Point clients at it (the authority host replaces https://login.microsoftonline.com):");
    println!("export AZURE_AUTHORITY_HOST={url}");
    println!("export AZURE_TENANT_ID={}", emulator.tenant_id());
    if args.https {
        let ca = tls_dir.join("ca.pem");
        println!("# Trust its CA (Python requests, Node, and Rust/OpenSSL clients):");
        println!("export REQUESTS_CA_BUNDLE={}", ca.display());
        println!("export NODE_EXTRA_CA_CERTS={}", ca.display());
        println!("export SSL_CERT_FILE={}", ca.display());
    }
    println!("# Managed identity ({}; --managed-identity picks another host type):", args.managed_identity);
    for (name, value) in emulator.managed_identity_env(&args.managed_identity).unwrap_or_default() {
        println!("export {name}={value}");
    }
    if args.managed_identity == "azure_arc" {
        println!("# Arc key files are written to {} (the client's Arc key directory)", emulator.arc_key_directory().display());
    }
    println!("# Protected API: GET {} (bearer token for api://weather/.default with Weather.Read)", emulator.weather_url());
    println!("# Admin: GET/DELETE {url}/_emulator/requests, POST/DELETE {url}/_emulator/faults, POST/DELETE {url}/_emulator/weather/claims-challenge");
    if let Some(log) = &args.log {
        println!("# Request log (JSON lines): {}", log.display());
    }
    println!("# ready");
    tokio::signal::ctrl_c().await.map_err(|e| format!("waiting for Ctrl-C failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

struct Row {
    flow: &'static str,
    credential: String,
    cache: &'static str,
    outcome: String,
    api: String,
    roles: String,
    millis: u128,
}

struct DemoStep {
    flow: &'static str,
    name: &'static str,
    credential: Arc<dyn DynTokenCredential>,
    /// The weather API status this step must end with (`None`: the token request must fail).
    expect_api: Option<u16>,
}

async fn demo() -> Result<ExitCode, String> {
    let emulator = Emulator::start(Directory::default()).await.map_err(|e| format!("cannot start the emulator: {e}"))?;
    let tenant = emulator.tenant_id();
    // A cache of the demo's own, so its hit/miss column counts only these calls.
    let cache = Arc::new(TokenCache::new(CacheOptions::default()));
    let options = ClientOptions {
        authority: Some(Authority::entra(emulator.url()).map_err(|e| e.to_string())?),
        env: Env::from_pairs(Vec::<(String, String)>::new()),
        cache: Some(cache.clone()),
        ..ClientOptions::default()
    };
    println!("entra-token demo: a local Entra ID emulator and the protected weather API at {} (tenant {tenant}); no Azure needed.\n", emulator.url());

    let cert_pem = format!("{}{}", directory::CERT_A_PEM, include_str!("../../tests/fixtures/cert-a.key"));
    let cert = ClientCertificate::from_pem(cert_pem.as_bytes()).map_err(|e| format!("demo certificate: {e}"))?;
    let secret_client: Arc<dyn DynTokenCredential> =
        Arc::new(ClientSecretCredential::with_options(&tenant, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET, options.clone()).map_err(|e| e.to_string())?);
    let steps = vec![
        DemoStep { flow: "client credentials", name: "secret (weather-client)", credential: secret_client.clone(), expect_api: Some(200) },
        DemoStep { flow: "client credentials", name: "secret (weather-client), again", credential: secret_client, expect_api: Some(200) },
        DemoStep {
            flow: "client credentials",
            name: "certificate (weather-cert-client)",
            credential: Arc::new(
                ClientCertificateCredential::new(&tenant, directory::CERT_CLIENT_ID, CertificateInput::Loaded(cert), CertificateOptions { client: options.clone(), ..Default::default() })
                    .map_err(|e| e.to_string())?,
            ),
            expect_api: Some(200),
        },
        DemoStep {
            flow: "client credentials",
            name: "secret (no-role-client)",
            credential: Arc::new(ClientSecretCredential::with_options(&tenant, directory::NO_ROLE_CLIENT_ID, directory::NO_ROLE_CLIENT_SECRET, options.clone()).map_err(|e| e.to_string())?),
            expect_api: Some(403),
        },
        // Managed identity: the same code on any Azure host; only the environment differs.
        DemoStep {
            flow: "managed identity",
            name: "system-assigned, IMDS (VM)",
            credential: Arc::new(managed_identity(&emulator, "imds", None, &options)?),
            expect_api: Some(200),
        },
        DemoStep {
            flow: "managed identity",
            name: "user-assigned, App Service",
            credential: Arc::new(managed_identity(&emulator, "app_service", Some(UserAssignedId::ClientId(directory::USER_ASSIGNED_CLIENT_ID.into())), &options)?),
            expect_api: Some(200),
        },
        DemoStep {
            flow: "federated (no secret)",
            name: "app registration via managed identity",
            credential: Arc::new(
                ClientAssertionCredential::with_managed_identity(&tenant, directory::FIC_CLIENT_ID, managed_identity(&emulator, "imds", None, &options)?, None, options.clone())
                    .map_err(|e| e.to_string())?,
            ),
            expect_api: Some(200),
        },
        // The seed's switch: the same code reads either appsettings file; only the file differs.
        DemoStep {
            flow: "configuration",
            name: "appsettings: ClientCredentials",
            credential: Arc::new(configured(&emulator, SEED_CLIENT_CREDENTIALS, &options)?),
            expect_api: Some(200),
        },
        DemoStep {
            flow: "configuration",
            name: "appsettings: ManagedIdentity",
            credential: Arc::new(configured(&emulator, SEED_MANAGED_IDENTITY, &options)?),
            expect_api: Some(200),
        },
        // A local managed identity endpoint backed by a client secret: managed identity code on a laptop.
        DemoStep {
            flow: "local MI endpoint",
            name: "serve-identity <- client secret",
            credential: {
                let backing = ClientSecretCredential::with_options(&tenant, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET, options.clone()).map_err(|e| e.to_string())?;
                let env = serve_identity::start_app_service(backing.into()).await?;
                let mi = ManagedIdentityOptions { client: ClientOptions { env: Env::from_pairs(env), ..options.clone() }, ..ManagedIdentityOptions::default() };
                Arc::new(ManagedIdentityCredential::new(mi).map_err(|e| e.to_string())?)
            },
            expect_api: Some(200),
        },
        DemoStep {
            flow: "client credentials",
            name: "secret (wrong secret)",
            credential: Arc::new(ClientSecretCredential::with_options(&tenant, directory::WEATHER_CLIENT_ID, "not-the-secret", options.clone()).map_err(|e| e.to_string())?),
            expect_api: None,
        },
    ];
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| format!("http client: {e}"))?;
    let request = TokenRequest::new([format!("{}/.default", directory::WEATHER_API)]);
    let mut rows = Vec::new();
    let mut all_expected = true;
    for step in &steps {
        let started = Instant::now();
        let hits_before = cache.stats().hits;
        let result = step.credential.get_token_boxed(&request).await;
        let cache_column = if cache.stats().hits > hits_before { "hit" } else { "miss" };
        let (outcome, api, roles, api_status) = match result {
            Ok(token) => {
                let status = call_weather(&http, &emulator.weather_url(), token.token().expose_secret()).await;
                let api = status.as_ref().map(|s| s.to_string()).unwrap_or_else(|e| e.clone());
                ("issued".to_owned(), api, roles_of(token.token().expose_secret()), status.ok())
            }
            Err(e) => (format!("{} AADSTS{}", e.kind_code(), e.aadsts_code().unwrap_or(0)), "-".to_owned(), "-".to_owned(), None),
        };
        all_expected &= api_status == step.expect_api;
        rows.push(Row { flow: step.flow, credential: step.name.into(), cache: cache_column, outcome, api, roles, millis: started.elapsed().as_millis() });
    }
    print_table(&rows);
    println!("\nThe second call is served from the cache; the client without the Weather.Read role gets 403 from the API;");
    println!("managed identity rows differ from each other only in the environment an Azure host would set; the two");
    println!("configuration rows run the same code on the seed's two appsettings.json files (ClientCredentials vs");
    println!("AcquireTokenOptions.ManagedIdentity); the last managed identity row gets its token from a local endpoint.");
    if !all_expected {
        println!("\nSome rows did not end as expected (the last must be refused, the no-role client gets 403, every other row 200).");
    }
    Ok(if all_expected { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

const SEED_CLIENT_CREDENTIALS: &str = include_str!("../../tests/fixtures/appsettings/appsettings.client-credentials.json");
const SEED_MANAGED_IDENTITY: &str = include_str!("../../tests/fixtures/appsettings/appsettings.managed-identity.json");

/// The credential one of the seed's appsettings files describes, its placeholders filled for
/// the emulator (the managed identity file finds the emulator's IMDS as a VM would).
fn configured(emulator: &Emulator, seed: &str, options: &ClientOptions) -> Result<entra_token::config::ConfiguredCredential, String> {
    let text = seed
        .replace("https://login.microsoftonline.com/", &format!("{}/", emulator.url()))
        .replace("<tenant id guid>", &emulator.tenant_id())
        .replace("<app registration client id guid>", directory::WEATHER_CLIENT_ID)
        .replace("<client secret>", directory::WEATHER_CLIENT_SECRET)
        .replace("https://weather-api/", &emulator.weather_url())
        .replace("api://<downstream api name or app id>/.default", "api://weather/.default")
        .replace("<managed identity client id>", directory::USER_ASSIGNED_CLIENT_ID);
    let env = Env::from_pairs(emulator.managed_identity_env("imds").unwrap_or_default());
    let settings = entra_token::config::AppSettings::from_json_str(&text, None, &env).map_err(|e| e.to_string())?;
    settings.credential_for(Some("DownstreamApi"), &ClientOptions { env, authority: None, ..options.clone() }).map_err(|e| e.to_string())
}

/// A managed identity credential configured only by the variables the host type sets.
fn managed_identity(emulator: &Emulator, host_type: &str, id: Option<UserAssignedId>, options: &ClientOptions) -> Result<ManagedIdentityCredential, String> {
    let env = emulator.managed_identity_env(host_type).ok_or_else(|| format!("unknown host type {host_type}"))?;
    let options = ManagedIdentityOptions { user_assigned_id: id, client: ClientOptions { env: Env::from_pairs(env), ..options.clone() }, ..ManagedIdentityOptions::default() };
    ManagedIdentityCredential::new(options).map_err(|e| e.to_string())
}

async fn call_weather(http: &reqwest::Client, url: &str, token: &str) -> Result<u16, String> {
    let response = http.get(url).bearer_auth(token).send().await.map_err(|e| format!("API unreachable: {e}"))?;
    Ok(response.status().as_u16())
}

fn roles_of(jwt: &str) -> String {
    use base64::Engine;
    let claims = jwt
        .split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    match claims.as_ref().and_then(|c| c.get("roles")).and_then(|r| r.as_array()) {
        Some(roles) => roles.iter().filter_map(|r| r.as_str()).collect::<Vec<_>>().join(","),
        None => "(none)".into(),
    }
}

fn print_table(rows: &[Row]) {
    const N: usize = 7;
    let headers = ["flow", "credential", "cache", "token", "API", "roles", "ms"];
    let cells: Vec<[String; N]> = rows
        .iter()
        .map(|r| [r.flow.to_owned(), r.credential.clone(), r.cache.to_owned(), r.outcome.clone(), r.api.clone(), r.roles.clone(), r.millis.to_string()])
        .collect();
    let widths: Vec<usize> = (0..N).map(|i| cells.iter().map(|c| c[i].len()).chain([headers[i].len()]).max().unwrap_or(0)).collect();
    let line = |c: Vec<&str>| c.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_owned();
    println!("{}", line(headers.to_vec()));
    println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    for c in &cells {
        println!("{}", line(c.iter().map(String::as_str).collect()));
    }
}
