//! Client certificates: PEM (certificate plus key) and PKCS#12/PFX in both the legacy
//! (RC2/3DES, SHA-1 MAC) and the modern (AES-256/PBKDF2) encryption.

use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::fmt;
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

/// A certificate with its RSA private key, ready to sign client assertions.
///
/// `Debug` shows only the thumbprint.
///
/// ```no_run
/// use entra_token::ClientCertificate;
/// let pem = std::fs::read("cert-and-key.pem").unwrap();
/// let cert = ClientCertificate::from_pem(&pem).unwrap();
/// println!("{}", cert.thumbprint_sha1_hex());
/// ```
pub struct ClientCertificate {
    key: RsaPrivateKey,
    /// DER certificates, the leaf (matching the key) first.
    chain: Vec<Vec<u8>>,
    sha1: [u8; 20],
    sha256: [u8; 32],
}

impl ClientCertificate {
    /// Loads PEM text holding the certificate (optionally its chain) and an unencrypted private
    /// key (`PRIVATE KEY` or `RSA PRIVATE KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(pem).map_err(|_| "the PEM data is not text".to_owned())?;
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err("the private key is encrypted; use an unencrypted PEM key or a PFX file with its password".into());
        }
        // The chain loader rejects other blocks, and combined cert+key files are the norm.
        let cert_blocks = pem_blocks(text, "CERTIFICATE").join("\n");
        if cert_blocks.is_empty() {
            return Err("no CERTIFICATE block in the PEM data".into());
        }
        let certs = Certificate::load_pem_chain(cert_blocks.as_bytes()).map_err(|e| format!("a CERTIFICATE block is unreadable: {e}"))?;
        let key = pem_blocks(text, "PRIVATE KEY")
            .into_iter()
            .next()
            .map(|b| RsaPrivateKey::from_pkcs8_pem(&b).map_err(|e| format!("the PRIVATE KEY block is not an RSA key: {e}")))
            .or_else(|| pem_blocks(text, "RSA PRIVATE KEY").into_iter().next().map(|b| RsaPrivateKey::from_pkcs1_pem(&b).map_err(|e| format!("the RSA PRIVATE KEY block is unreadable: {e}"))))
            .ok_or_else(|| "no private key in the PEM data (expected a PRIVATE KEY or RSA PRIVATE KEY block)".to_owned())??;
        let ders = certs.iter().map(|c| c.to_der().map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()?;
        Self::assemble(key, ders)
    }

    /// Loads a PKCS#12 (PFX) file's bytes with its password.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, String> {
        let store = p12_keystore::KeyStore::from_pkcs12(der, password, p12_keystore::Pkcs12ImportPolicy::Relaxed)
            .map_err(|e| format!("cannot open the PFX (wrong password or unsupported encryption?): {e}"))?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| "the PFX holds no private key".to_owned())?;
        let key = RsaPrivateKey::from_pkcs8_der(chain.key().as_der()).map_err(|e| format!("the PFX key is not an RSA key: {e}"))?;
        let ders: Vec<Vec<u8>> = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
        if ders.is_empty() {
            return Err("the PFX holds a key but no certificate".into());
        }
        Self::assemble(key, ders)
    }

    /// Loads PEM or PFX bytes, telling them apart by content.
    pub fn from_bytes(data: &[u8], password: Option<&str>) -> Result<Self, String> {
        if data.trim_ascii_start().starts_with(b"-----BEGIN") {
            Self::from_pem(data)
        } else {
            Self::from_pkcs12(data, password.unwrap_or(""))
        }
    }

    fn assemble(key: RsaPrivateKey, mut ders: Vec<Vec<u8>>) -> Result<Self, String> {
        let public = key.to_public_key();
        let leaf = ders
            .iter()
            .position(|der| public_key_of(der).is_some_and(|k| k == public))
            .ok_or_else(|| "no certificate matches the private key".to_owned())?;
        let leaf_der = ders.remove(leaf);
        ders.insert(0, leaf_der);
        let sha1 = Sha1::digest(&ders[0]).into();
        let sha256 = Sha256::digest(&ders[0]).into();
        Ok(ClientCertificate { key, chain: ders, sha1, sha256 })
    }

    /// SHA-1 thumbprint in upper-case hex, as Azure shows it.
    pub fn thumbprint_sha1_hex(&self) -> String {
        self.sha1.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// SHA-256 thumbprint bytes (the `x5t#S256` header and the cache fingerprint).
    pub fn thumbprint_sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// SHA-1 thumbprint bytes (the `x5t` header).
    pub fn thumbprint_sha1(&self) -> &[u8; 20] {
        &self.sha1
    }

    /// The DER certificates, leaf first.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain
    }

    pub(crate) fn private_key(&self) -> &RsaPrivateKey {
        &self.key
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate").field("thumbprint_sha1", &self.thumbprint_sha1_hex()).field("chain_len", &self.chain.len()).finish_non_exhaustive()
    }
}

fn public_key_of(der: &[u8]) -> Option<rsa::RsaPublicKey> {
    let cert = Certificate::from_der(der).ok()?;
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().ok()?;
    rsa::RsaPublicKey::from_public_key_der(&spki).ok()
}

/// Every PEM block with exactly this label, including its armour lines.
fn pem_blocks(text: &str, label: &str) -> Vec<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let Some(stop) = rest[start..].find(&end).map(|i| i + start + end.len()) else { break };
        blocks.push(rest[start..stop].to_owned());
        rest = &rest[stop..];
    }
    blocks
}
