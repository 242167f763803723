//! ESTS-R region auto-detection (protocol.md section 6): for an authority whose region is
//! [`crate::Region::Detect`] (`AZURE_REGIONAL_AUTHORITY_NAME=tryautodetect` without
//! `REGION_NAME`, or `AzureRegion: TryAutoDetect` in appsettings), the region is what IMDS
//! reports for this VM, asked as MSAL Python asks:
//! `GET {imds}/metadata/instance/compute/location?format=text&api-version=2021-01-01` with
//! `Metadata: true`.
//!
//! The answer is kept for the life of the process per IMDS address, including "no region": a
//! host without IMDS must not pay the 2 s bound on every new credential, and the global endpoint
//! is always correct, only farther away.

use crate::env::Env;
use crate::http::{ClientKind, HttpOptions, shared_client};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How long IMDS may take to say where this VM runs (MSAL.NET's bound).
const DETECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A region name is short; anything longer is not one.
const MAX_ANSWER_BYTES: usize = 64;

/// The IMDS address to ask: the same override the managed identity IMDS source honours (tests
/// and the emulator use it), else the link-local address.
pub(crate) fn imds_address(env: &Env) -> String {
    env.get("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or_else(|| "http://169.254.169.254".into()).trim_end_matches('/').to_owned()
}

/// This VM's region according to the IMDS at `imds`, or `None` when it cannot say; asked once
/// per process and address.
pub(crate) async fn detect(imds: &str, http: &HttpOptions) -> Option<String> {
    /// The region (or none) per IMDS address; a cell, so concurrent first callers ask once.
    type Answer = Arc<tokio::sync::OnceCell<Option<String>>>;
    static ANSWERS: OnceLock<Mutex<HashMap<String, Answer>>> = OnceLock::new();
    let cell = ANSWERS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner()).entry(imds.to_owned()).or_default().clone();
    cell.get_or_init(|| async {
        let answer = ask(imds, http).await;
        match &answer {
            Ok(region) => tracing::info!(region = %region, "ESTS-R region detected through IMDS; tokens come from the regional endpoint"),
            Err(why) => tracing::warn!(reason = %why, "AZURE_REGIONAL_AUTHORITY_NAME asks for region detection, but {why}; using the global endpoint"),
        }
        answer.ok()
    })
    .await
    .clone()
}

async fn ask(imds: &str, http: &HttpOptions) -> Result<String, String> {
    let client = shared_client(ClientKind::NoProxy, &HttpOptions { connect_timeout: DETECT_TIMEOUT, ..http.clone() })?;
    let url = format!("{imds}/metadata/instance/compute/location?format=text&api-version=2021-01-01");
    let read = async {
        let mut response = client.get(&url).header("Metadata", "true").send().await.map_err(|e| format!("IMDS is unreachable ({})", if e.is_connect() { "connection failed" } else { "request failed" }))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| "the IMDS answer broke off".to_owned())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ANSWER_BYTES {
                return Err(format!("IMDS answered more than {MAX_ANSWER_BYTES} bytes, which is no region name"));
            }
        }
        if status != 200 {
            return Err(format!("IMDS answered HTTP {status}"));
        }
        Ok(body)
    };
    let body = tokio::time::timeout(DETECT_TIMEOUT, read).await.map_err(|_| format!("IMDS did not answer within {DETECT_TIMEOUT:?}"))??;
    region_name(&body)
}

/// The region from IMDS's text answer; it becomes part of a host name, so only letters and
/// digits pass (after dropping spaces and lower-casing, as MSAL does with `REGION_NAME`).
fn region_name(body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|_| "IMDS answered something that is not text".to_owned())?;
    let region: String = text.trim().chars().filter(|c| *c != ' ').collect::<String>().to_ascii_lowercase();
    if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("IMDS answered {:?}, which is not a region name", text.chars().take(MAX_ANSWER_BYTES).collect::<String>()));
    }
    Ok(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imds_is_the_link_local_address_unless_overridden() {
        assert_eq!(imds_address(&Env::from_pairs(Vec::<(String, String)>::new())), "http://169.254.169.254");
        assert_eq!(imds_address(&Env::from_pairs([("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:5//")])), "http://127.0.0.1:5");
    }

    #[test]
    fn detection_is_asked_for_only_without_a_region_name() {
        let authority = |pairs: &[(&str, &str)]| crate::Authority::from_env(&Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>())).unwrap();
        assert!(authority(&[("AZURE_REGIONAL_AUTHORITY_NAME", "TryAutoDetect")]).detects_region());
        assert!(authority(&[("AZURE_REGIONAL_AUTHORITY_NAME", "true")]).detects_region());
        assert!(!authority(&[("AZURE_REGIONAL_AUTHORITY_NAME", "tryautodetect"), ("REGION_NAME", "eastus")]).detects_region());
        assert!(!authority(&[("AZURE_REGIONAL_AUTHORITY_NAME", "westeurope")]).detects_region());
        assert!(!authority(&[]).detects_region());
    }

    #[test]
    fn only_letters_and_digits_make_a_region() {
        assert_eq!(region_name(b"West US 2\n").unwrap(), "westus2");
        assert!(region_name(b"evil.example/x").unwrap_err().contains("not a region name"));
        assert!(region_name(b"").is_err());
        assert!(region_name(&[0xff, 0xfe]).is_err());
    }
}
