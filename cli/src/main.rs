//! The `entra-token` command: the local emulator and the demo.

use clap::{Parser, Subcommand};
use entra_token::{
    Authority, CertificateInput, CertificateOptions, ClientOptions, ClientCertificate, ClientSecretCredential, ClientCertificateCredential, DynTokenCredential,
    Env, TokenRequest,
};
use entra_token_emulator::directory::{self, Directory};
use entra_token_emulator::Emulator;
use std::process::ExitCode;
use std::time::Instant;

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
    /// Serve the local Entra ID emulator on loopback until interrupted.
    Emulate {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Directory file (JSON); the built-in directory when absent.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo => demo().await,
            Command::Emulate { port, config } => emulate(port, config).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

async fn emulate(port: u16, config: Option<std::path::PathBuf>) -> Result<ExitCode, String> {
    let directory = match config {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str::<Directory>(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Directory::default(),
    };
    let emulator = Emulator::start_on(directory, std::net::SocketAddr::from(([127, 0, 0, 1], port))).await.map_err(|e| format!("cannot listen on port {port}: {e}"))?;
    println!("entra-token emulator listening on {}", emulator.url());
    println!("export AZURE_AUTHORITY_HOST={}", emulator.url());
    println!("export AZURE_TENANT_ID={}", emulator.tenant_id());
    println!("# request log: GET {}/_emulator/requests; faults: POST {}/_emulator/faults", emulator.url(), emulator.url());
    tokio::signal::ctrl_c().await.map_err(|e| format!("waiting for Ctrl-C failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

struct Row {
    flow: &'static str,
    credential: String,
    outcome: String,
    roles: String,
    millis: u128,
}

async fn demo() -> Result<ExitCode, String> {
    let emulator = Emulator::start(Directory::default()).await.map_err(|e| format!("cannot start the emulator: {e}"))?;
    let tenant = emulator.tenant_id();
    let options = ClientOptions {
        authority: Some(Authority::entra(emulator.url()).map_err(|e| e.to_string())?),
        env: Env::from_pairs(Vec::<(String, String)>::new()),
        ..ClientOptions::default()
    };
    println!("entra-token demo: a local Entra ID emulator at {} (tenant {tenant}); no Azure needed.\n", emulator.url());

    let cert_pem = format!("{}{}", directory::CERT_A_PEM, include_str!("../../tests/fixtures/cert-a.key"));
    let cert = ClientCertificate::from_pem(cert_pem.as_bytes()).map_err(|e| format!("demo certificate: {e}"))?;
    let credentials: Vec<(&'static str, String, Box<dyn DynTokenCredential>)> = vec![
        (
            "client credentials",
            "secret (weather-client)".into(),
            Box::new(ClientSecretCredential::with_options(&tenant, directory::WEATHER_CLIENT_ID, directory::WEATHER_CLIENT_SECRET, options.clone()).map_err(|e| e.to_string())?),
        ),
        (
            "client credentials",
            "certificate (weather-cert-client)".into(),
            Box::new(
                ClientCertificateCredential::new(&tenant, directory::CERT_CLIENT_ID, CertificateInput::Loaded(cert), CertificateOptions { client: options.clone(), ..Default::default() })
                    .map_err(|e| e.to_string())?,
            ),
        ),
        (
            "client credentials",
            "secret (no-role-client)".into(),
            Box::new(ClientSecretCredential::with_options(&tenant, directory::NO_ROLE_CLIENT_ID, directory::NO_ROLE_CLIENT_SECRET, options.clone()).map_err(|e| e.to_string())?),
        ),
        (
            "client credentials",
            "secret (wrong secret)".into(),
            Box::new(ClientSecretCredential::with_options(&tenant, directory::WEATHER_CLIENT_ID, "not-the-secret", options.clone()).map_err(|e| e.to_string())?),
        ),
    ];
    let request = TokenRequest::new([format!("{}/.default", directory::WEATHER_API)]);
    let mut rows = Vec::new();
    let mut all_expected = true;
    for (i, (flow, name, credential)) in credentials.iter().enumerate() {
        let started = Instant::now();
        let result = credential.get_token_boxed(&request).await;
        let millis = started.elapsed().as_millis();
        let (outcome, roles) = match result {
            Ok(token) => ("token issued".to_owned(), roles_of(token.token().expose_secret())),
            Err(e) => (format!("{} AADSTS{}", e.kind_code(), e.aadsts_code().unwrap_or(0)), "-".to_owned()),
        };
        // The last credential is meant to fail; the others must succeed.
        all_expected &= (i == credentials.len() - 1) != outcome.starts_with("token");
        rows.push(Row { flow, credential: name.clone(), outcome, roles, millis });
    }
    print_table(&rows);
    println!("\nThe weather API, managed identity and cache columns join this table as those issues land.");
    Ok(if all_expected { ExitCode::SUCCESS } else { ExitCode::from(1) })
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
    let headers = ["flow", "credential", "outcome", "roles", "ms"];
    let cells: Vec<[String; 5]> = rows.iter().map(|r| [r.flow.to_owned(), r.credential.clone(), r.outcome.clone(), r.roles.clone(), r.millis.to_string()]).collect();
    let widths: Vec<usize> = (0..5).map(|i| cells.iter().map(|c| c[i].len()).chain([headers[i].len()]).max().unwrap_or(0)).collect();
    let line = |c: [&str; 5]| c.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect::<Vec<_>>().join("  ");
    println!("{}", line(headers));
    println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    for c in &cells {
        println!("{}", line([&c[0], &c[1], &c[2], &c[3], &c[4]]));
    }
}
