//! Client assertion checks as Entra makes them: signature by a registered certificate found by
//! its thumbprint header, `aud`, `iss`/`sub`, and the validity window.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

/// Why an assertion was refused: (AADSTS code, description).
pub type Rejection = (u32, String);

/// Clock skew Entra tolerates on `nbf` and `exp`.
const SKEW: i64 = 300;

/// A registered certificate, pre-digested.
pub struct RegisteredCert {
    sha1: Vec<u8>,
    sha256: Vec<u8>,
    der: Vec<u8>,
    key: rsa::RsaPublicKey,
}

impl RegisteredCert {
    /// Reads a PEM certificate.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let cert = Certificate::load_pem_chain(pem.as_bytes()).map_err(|e| e.to_string())?.into_iter().next().ok_or("no certificate in PEM")?;
        let der = cert.to_der().map_err(|e| e.to_string())?;
        let spki = cert.tbs_certificate().subject_public_key_info().to_der().map_err(|e| e.to_string())?;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki).map_err(|e| format!("not an RSA certificate: {e}"))?;
        Ok(RegisteredCert { sha1: Sha1::digest(&der).to_vec(), sha256: Sha256::digest(&der).to_vec(), der, key })
    }
}

/// Verifies `jwt` as a client assertion of `client_id` for a token endpoint whose path is
/// `expected_path`, at time `now`. Returns the JWT's claims.
pub fn verify(jwt: &str, client_id: &str, certs: &[RegisteredCert], expected_path: &str, now: i64) -> Result<serde_json::Value, Rejection> {
    let malformed = |why: &str| (50027, format!("AADSTS50027: JWT token is invalid or malformed: {why}."));
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, s] = parts.as_slice() else { return Err(malformed("expected three parts")) };
    let decode_json = |p: &str| -> Option<serde_json::Value> { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok() };
    let header = decode_json(h).ok_or_else(|| malformed("header is not base64url JSON"))?;
    let claims = decode_json(c).ok_or_else(|| malformed("payload is not base64url JSON"))?;
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| malformed("signature is not base64url"))?;

    let alg = header.get("alg").and_then(|v| v.as_str()).unwrap_or("");
    // Entra accepts thumbprints in base64url or standard base64, padded or not: MSAL Python
    // (through PyJWT) sends standard padded base64.
    let thumb = |name: &str| {
        let t = header.get(name).and_then(|v| v.as_str())?.trim_end_matches('=');
        URL_SAFE_NO_PAD.decode(t).or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t)).ok()
    };
    let key_not_found = || (700027, format!("AADSTS700027: Client assertion failed signature validation. Key was not found for the thumbprint in the assertion header (client {client_id})."));
    let cert = if let Some(t) = thumb("x5t#S256") {
        certs.iter().find(|c| c.sha256 == t).ok_or_else(key_not_found)?
    } else if let Some(t) = thumb("x5t") {
        certs.iter().find(|c| c.sha1 == t).ok_or_else(key_not_found)?
    } else {
        return Err((700027, "AADSTS700027: Client assertion contains no x5t or x5t#S256 header.".into()));
    };
    if let Some(x5c) = header.get("x5c") {
        // MSAL Python keeps the PEM line breaks inside x5c entries; Entra ignores them.
        let leaf = x5c.as_array().and_then(|a| a.first()).and_then(|v| v.as_str()).and_then(|b| {
            let compact: String = b.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            STANDARD.decode(compact).ok()
        });
        if leaf.as_deref() != Some(cert.der.as_slice()) || Certificate::from_der(&cert.der).is_err() {
            return Err((700027, "AADSTS700027: The x5c leaf certificate does not match the thumbprint.".into()));
        }
    }
    let input = format!("{h}.{c}");
    let verified = match alg {
        "PS256" => rsa::pss::Signature::try_from(signature.as_slice())
            .ok()
            .is_some_and(|sig| rsa::pss::VerifyingKey::<Sha256>::new(cert.key.clone()).verify(input.as_bytes(), &sig).is_ok()),
        "RS256" => rsa::pkcs1v15::Signature::try_from(signature.as_slice())
            .ok()
            .is_some_and(|sig| rsa::pkcs1v15::VerifyingKey::<Sha256>::new(cert.key.clone()).verify(input.as_bytes(), &sig).is_ok()),
        other => return Err((700027, format!("AADSTS700027: Unsupported assertion algorithm {other:?}."))),
    };
    if !verified {
        return Err((700027, "AADSTS700027: Client assertion failed signature validation.".into()));
    }
    let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or("");
    if text("iss") != client_id || text("sub") != client_id {
        return Err((700023, format!("AADSTS700023: Client assertion iss and sub must both be the client id {client_id}.")));
    }
    let aud_path = url::Url::parse(text("aud")).map(|u| u.path().to_owned()).unwrap_or_default();
    if !aud_path.eq_ignore_ascii_case(expected_path) {
        return Err((700212, format!("AADSTS700212: Client assertion audience {:?} is not the token endpoint.", text("aud"))));
    }
    // NumericDate may have a fraction (MSAL Python sends `1795878784.37`).
    let number = |k: &str| claims.get(k).and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).map(|f| f as i64);
    let exp = number("exp").ok_or_else(|| malformed("no exp"))?;
    if exp + SKEW < now {
        return Err((700024, format!("AADSTS700024: Client assertion is not within its valid time range. Current time: {now}, assertion valid until: {exp}.")));
    }
    if number("nbf").is_some_and(|nbf| nbf > now + SKEW) {
        return Err((700024, "AADSTS700024: Client assertion is not within its valid time range (nbf is in the future).".into()));
    }
    if text("jti").is_empty() {
        return Err(malformed("no jti"));
    }
    Ok(claims)
}
