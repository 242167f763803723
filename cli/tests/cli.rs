//! The binary, run as a user would run it.

use std::process::Command;

fn entra_token() -> Command {
    Command::new(env!("CARGO_BIN_EXE_entra-token"))
}

#[test]
fn demo_exits_zero_and_prints_the_table() {
    let out = entra_token().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let header = stdout.lines().find(|l| l.starts_with("flow")).expect("a table header");
    for column in ["credential", "cache", "token", "API", "roles", "ms"] {
        assert!(header.contains(column), "{header}");
    }
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect())
        .collect();
    // flow, cache, token, API status, roles per row.
    let summary: Vec<(&str, &str, &str, &str, &str)> = rows.iter().map(|r| (r[0], r[2], r[3], r[4], r[5])).collect();
    assert_eq!(
        summary,
        vec![
            ("client credentials", "miss", "issued", "200", "Weather.Read"),
            ("client credentials", "hit", "issued", "200", "Weather.Read"),
            ("client credentials", "miss", "issued", "200", "Weather.Read"),
            ("client credentials", "miss", "issued", "403", "(none)"),
            ("managed identity", "miss", "issued", "200", "Weather.Read"),
            ("managed identity", "miss", "issued", "200", "Weather.Read"),
            ("federated (no secret)", "miss", "issued", "200", "Weather.Read"),
            // A credential built from the appsettings file hits the token the first row cached.
            ("configuration", "hit", "issued", "200", "Weather.Read"),
            ("configuration", "miss", "issued", "200", "Weather.Read"),
            ("local MI endpoint", "hit", "issued", "200", "Weather.Read"),
            ("client credentials", "miss", "authentication_failed AADSTS7000215", "-", "-"),
        ],
        "{stdout}"
    );
    assert!(!stdout.contains("emulator-weather-client-secret"), "the demo must not print secrets");
}

/// A running `entra-token emulate`, killed on drop.
struct Emulate {
    child: std::process::Child,
    env: std::collections::HashMap<String, String>,
}

impl Drop for Emulate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulate(args: &[&std::ffi::OsStr]) -> Emulate {
    use std::io::BufRead;
    let mut child = entra_token().arg("emulate").args(args).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut env = std::collections::HashMap::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line == "# ready" {
            return Emulate { child, env };
        }
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    panic!("emulate ended before it was ready: {:?}", child.wait());
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("entra-token-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn emulate_over_https_prints_the_environment_and_logs_json_lines() {
    let dir = temp_dir("https");
    let (tls_dir, log) = (dir.join("tls"), dir.join("requests.jsonl"));
    let ca = entra_token().args(["emulate", "--print-ca", "--tls-dir"]).arg(&tls_dir).output().unwrap();
    assert!(ca.status.success());
    let ca_pem = String::from_utf8(ca.stdout).unwrap();
    assert!(ca_pem.starts_with("-----BEGIN CERTIFICATE-----"), "{ca_pem}");

    let running = emulate(&["--https".as_ref(), "--tls-dir".as_ref(), tls_dir.as_os_str(), "--log".as_ref(), log.as_os_str()]);
    let host = &running.env["AZURE_AUTHORITY_HOST"];
    assert!(host.starts_with("https://127.0.0.1:"), "{host}");
    assert_eq!(running.env["AZURE_TENANT_ID"], "11111111-1111-4111-8111-111111111111");
    assert_eq!(std::fs::read_to_string(&running.env["NODE_EXTRA_CA_CERTS"]).unwrap(), ca_pem, "the printed CA is the one served");
    assert_eq!(running.env["REQUESTS_CA_BUNDLE"], running.env["NODE_EXTRA_CA_CERTS"]);
    assert_eq!(&running.env["AZURE_POD_IDENTITY_AUTHORITY_HOST"], host, "IMDS-style managed identity by default");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async {
        let http = reqwest::Client::builder().tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()]).build().unwrap();
        http.get(format!("{host}/{}/v2.0/.well-known/openid-configuration", running.env["AZURE_TENANT_ID"])).send().await.unwrap().status().as_u16()
    });
    assert_eq!(status, 200);
    let logged = std::fs::read_to_string(&log).unwrap();
    let line: serde_json::Value = serde_json::from_str(logged.lines().next().expect("one logged request")).unwrap();
    assert_eq!(line["path"], "/11111111-1111-4111-8111-111111111111/v2.0/.well-known/openid-configuration");
    assert_eq!(line["status"], 200);
}

#[test]
fn emulate_serves_a_toml_config() {
    let dir = temp_dir("toml");
    let path = dir.join("directory.toml");
    std::fs::write(&path, "tenant_id = \"aaaaaaaa-0000-4000-8000-000000000001\"\n").unwrap();
    let running = emulate(&["--config".as_ref(), path.as_os_str(), "--managed-identity".as_ref(), "app_service".as_ref(), "--identity-header".as_ref(), "h1".as_ref()]);
    assert_eq!(running.env["AZURE_TENANT_ID"], "aaaaaaaa-0000-4000-8000-000000000001");
    assert_eq!(running.env["IDENTITY_HEADER"], "h1");
    assert!(running.env["IDENTITY_ENDPOINT"].ends_with("/msi/token"));
    assert!(running.env["AZURE_AUTHORITY_HOST"].starts_with("http://127.0.0.1:"));
}

#[test]
fn emulate_with_a_bad_toml_config_names_the_place() {
    let dir = temp_dir("bad-toml");
    let path = dir.join("directory.toml");
    std::fs::write(
        &path,
        "tenant_id = \"aaaaaaaa-0000-4000-8000-000000000001\"\n[[apps]]\napp_id = \"aaaaaaaa-0000-4000-8000-000000000002\"\nidentifier_uri = \"api://a\"\nroles = [\"R\"]\n[[clients]]\nclient_id = \"aaaaaaaa-0000-4000-8000-000000000003\"\nsecrets = [\"s\"]\nroles = [{ api = \"api://a\", role = \"W\" }]\n",
    )
    .unwrap();
    let out = entra_token().args(["emulate", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("directory.toml: clients[0].roles[0]: role 'W' is not defined by app 'api://a'"), "{stderr}");
}

#[test]
fn unknown_command_exits_with_usage_error() {
    let out = entra_token().arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}

#[test]
fn emulate_with_a_bad_config_names_the_file() {
    let dir = temp_dir("bad-json");
    let path = dir.join("directory.json");
    std::fs::write(&path, r#"{"tenant_id": "t", "colour": "blue"}"#).unwrap();
    let out = entra_token().args(["emulate", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("directory.json") && stderr.contains("colour"), "{stderr}");
}

/// The seed's appsettings file, its placeholders filled for the running emulator.
fn seed_config(running: &Emulate, name: &str, dir: &std::path::Path, secret: &str) -> std::path::PathBuf {
    let host = &running.env["AZURE_AUTHORITY_HOST"];
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/appsettings").join(name))
        .unwrap()
        .replace("https://login.microsoftonline.com/", &format!("{host}/"))
        .replace("<tenant id guid>", &running.env["AZURE_TENANT_ID"])
        .replace("<app registration client id guid>", "33333333-3333-4333-8333-333333333333")
        .replace("<client secret>", secret)
        .replace("https://weather-api/", &format!("{host}/weather/"))
        .replace("WeatherForecast", "forecast")
        .replace("api://<downstream api name or app id>/.default", "api://weather/.default")
        .replace("<managed identity client id>", "66666666-6666-4666-8666-666666666666");
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = entra_token();
    command.args(args);
    for var in ["AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"] {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn token_and_call_work_on_the_seeds_own_file_with_script_friendly_exit_codes() {
    let running = emulate(&[]);
    let dir = temp_dir("token");
    let good = seed_config(&running, "appsettings.client-credentials.json", &dir, "emulator-weather-client-secret");

    let (code, stdout, stderr) = run(&[os("token"), os("--config"), good.as_os_str(), os("--api"), os("DownstreamApi"), os("--json")], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(json["accessToken"].as_str().unwrap().split('.').count() == 3);
    assert!(json["expires_on"].as_u64().unwrap() > 0 && json["expiresOn"].as_str().unwrap().ends_with('Z'));

    let (code, stdout, _) = run(&[os("call"), os("DownstreamApi"), os("--config"), good.as_os_str()], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["caller"], "33333333-3333-4333-8333-333333333333");

    let wrong = seed_config(&running, "appsettings.client-credentials.json", &temp_dir("token-wrong"), "not-the-secret");
    let (code, _, stderr) = run(&[os("token"), os("--config"), wrong.as_os_str(), os("--api"), os("DownstreamApi")], &[]);
    assert_eq!(code, Some(4), "a rejected credential exits 4: {stderr}");
    assert!(stderr.contains("AADSTS7000215") && !stderr.contains("not-the-secret"), "{stderr}");

    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"AzureAd": {"TenantId": "t", "ClientIdd": "c"}}"#).unwrap();
    let (code, _, stderr) = run(&[os("token"), os("--config"), bad.as_os_str(), os("--scope"), os("x/.default")], &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("AzureAd.ClientIdd: unknown key; did you mean ClientId?"), "{stderr}");

    let (code, _, stderr) = run(&[os("token")], &[]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn serve_identity_turns_a_client_secret_into_a_managed_identity_endpoint() {
    use std::io::BufRead;
    let running = emulate(&[]);
    let dir = temp_dir("serve");
    let config = seed_config(&running, "appsettings.client-credentials.json", &dir, "emulator-weather-client-secret");
    let mut child = entra_token()
        .args([os("serve-identity"), os("--as"), os("app-service"), os("--config"), config.as_os_str()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut env = std::collections::HashMap::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "# ready" {
            break;
        }
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    let vars = [("IDENTITY_ENDPOINT", env["IDENTITY_ENDPOINT"].as_str()), ("IDENTITY_HEADER", env["IDENTITY_HEADER"].as_str()), ("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential")];
    let (code, stdout, stderr) = run(&[os("token"), os("--scope"), os("api://weather/.default"), os("--json")], &vars);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code, Some(0), "{stderr}");
    let token = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["accessToken"].as_str().unwrap().to_owned();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["appid"], "33333333-3333-4333-8333-333333333333", "the managed identity token came from the client secret");

    let (code, _, stderr) = run(&[os("serve-identity"), os("--as"), os("imds"), os("--bind"), os("0.0.0.0")], &[]);
    assert_eq!(code, Some(2), "IMDS mode never serves beyond loopback: {stderr}");
}

#[test]
fn doctor_reports_the_source_and_whether_it_works() {
    let running = emulate(&[]);
    let pod = running.env["AZURE_POD_IDENTITY_AUTHORITY_HOST"].clone();
    let detect = ("AZURE_REGIONAL_AUTHORITY_NAME", "TryAutoDetect");
    let (code, stdout, stderr) = run(&[os("doctor"), os("--scope"), os("api://weather/.default")], &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", pod.as_str()), ("AZURE_TOKEN_CREDENTIALS", "prod"), detect]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("https://login.microsoftonline.com/, region detected through IMDS: westus2"), "{stdout}");
    assert!(stdout.contains("source if managed identity is used: imds"), "{stdout}");
    assert!(stdout.contains("OK from ManagedIdentityCredential"), "{stdout}");

    let (code, stdout, _) = run(&[os("doctor"), os("--scope"), os("api://weather/.default")], &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9"), ("AZURE_TOKEN_CREDENTIALS", "prod"), detect]);
    assert_eq!(code, Some(5), "{stdout}");
    assert!(stdout.contains("region detection asked for but IMDS did not say: the global endpoint is used"), "{stdout}");
    assert!(stdout.contains("FAILED") && stdout.contains("Most likely"), "{stdout}");
}
