//! Signed JWT client assertions (RFC 7523), built as protocol.md section D.11 states:
//! `PS256` with `x5t#S256` by default, `RS256` with `x5t` as an option (ADFS); `typ: JWT`;
//! `aud` = token endpoint; `iss` = `sub` = client id; fresh `jti`; numeric `nbf`/`exp`,
//! lifetime 600 s; `x5c` (opt-in) as an array of base64 DER certificates, leaf first.

use crate::certificate::ClientCertificate;
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use sha2::Sha256;

/// Lifetime of an assertion in seconds.
pub const ASSERTION_LIFETIME: u64 = 600;
/// An assertion is reused until this many seconds before it expires.
pub const ASSERTION_REUSE_MARGIN: u64 = 60;

/// The signature algorithm of client assertions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AssertionAlgorithm {
    /// RSASSA-PSS with SHA-256 and an `x5t#S256` header: what Entra ID prefers.
    #[default]
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and an `x5t` (SHA-1) header: for ADFS.
    Rs256,
}

/// Builds and signs a client assertion for `client_id` with `audience` (the token endpoint URL),
/// valid from `now` (seconds since the Unix epoch) for [`ASSERTION_LIFETIME`]. Returns it with
/// its `exp`. Useful inside a [`crate::ClientAssertionCredential`] callback.
///
/// ```
/// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/cert-a-combined.pem")).unwrap();
/// use entra_token::{assertion, AssertionAlgorithm, ClientCertificate};
/// let cert = ClientCertificate::from_pem(&pem).unwrap();
/// let (jwt, exp) = assertion::sign(&cert, "client-id", "https://login.microsoftonline.com/t/oauth2/v2.0/token",
///                                  1_700_000_000, AssertionAlgorithm::Ps256, false).unwrap();
/// assert_eq!(exp, 1_700_000_600);
/// assert_eq!(jwt.expose_secret().split('.').count(), 3);
/// ```
pub fn sign(cert: &ClientCertificate, client_id: &str, audience: &str, now: u64, algorithm: AssertionAlgorithm, send_x5c: bool) -> Result<(Secret, u64), String> {
    let mut header = serde_json::Map::new();
    match algorithm {
        AssertionAlgorithm::Ps256 => {
            header.insert("alg".into(), "PS256".into());
            header.insert("typ".into(), "JWT".into());
            header.insert("x5t#S256".into(), URL_SAFE_NO_PAD.encode(cert.thumbprint_sha256()).into());
        }
        AssertionAlgorithm::Rs256 => {
            header.insert("alg".into(), "RS256".into());
            header.insert("typ".into(), "JWT".into());
            header.insert("x5t".into(), URL_SAFE_NO_PAD.encode(cert.thumbprint_sha1()).into());
        }
    }
    if send_x5c {
        header.insert("x5c".into(), cert.chain_der().iter().map(|d| serde_json::Value::from(STANDARD.encode(d))).collect());
    }
    let exp = now + ASSERTION_LIFETIME;
    let claims = serde_json::json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now,
        "exp": exp,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::Value::Object(header).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = cert.private_key().clone();
    let signature = match algorithm {
        AssertionAlgorithm::Ps256 => rsa::pss::BlindedSigningKey::<Sha256>::new(key)
            .try_sign_with_rng(&mut rand::thread_rng(), signing_input.as_bytes())
            .map_err(|e| format!("signing the assertion failed: {e}"))?
            .to_vec(),
        AssertionAlgorithm::Rs256 => rsa::pkcs1v15::SigningKey::<Sha256>::new(key)
            .try_sign(signing_input.as_bytes())
            .map_err(|e| format!("signing the assertion failed: {e}"))?
            .to_vec(),
    };
    Ok((Secret::new(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))), exp))
}
