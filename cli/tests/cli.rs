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
    for column in ["credential", "outcome", "roles", "ms"] {
        assert!(header.contains(column), "{header}");
    }
    assert_eq!(stdout.matches("token issued").count(), 3, "{stdout}");
    assert!(stdout.contains("Weather.Read"), "{stdout}");
    assert!(stdout.contains("AADSTS7000215"), "{stdout}");
    assert!(!stdout.contains("emulator-weather-client-secret"), "the demo must not print secrets");
}

#[test]
fn unknown_command_exits_with_usage_error() {
    let out = entra_token().arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}

#[test]
fn emulate_with_a_bad_config_names_the_file() {
    let dir = std::env::temp_dir().join(format!("entra-token-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("directory.json");
    std::fs::write(&path, r#"{"tenant_id": "t", "colour": "blue"}"#).unwrap();
    let out = entra_token().args(["emulate", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("directory.json") && stderr.contains("colour"), "{stderr}");
}
