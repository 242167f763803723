//! The token issuer: an RS256 signing key, its JWKS, and signing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

/// The emulator's signing key. A fixed, published test key: tokens it signs prove nothing outside tests.
const SIGNING_KEY_PEM: &str = include_str!("../assets/issuer-signing.key");

/// Signs access tokens.
pub struct Issuer {
    key: rsa::pkcs1v15::SigningKey<Sha256>,
    public: rsa::RsaPublicKey,
    /// The key id in token headers and the JWKS.
    pub kid: String,
}

impl Issuer {
    /// The built-in issuer.
    pub fn new() -> Self {
        let private = RsaPrivateKey::from_pkcs8_pem(SIGNING_KEY_PEM).expect("the embedded issuer key is valid PKCS#8");
        let public = private.to_public_key();
        let kid = {
            use sha2::Digest;
            URL_SAFE_NO_PAD.encode(&Sha256::digest(public.n().to_bytes_be())[..16])
        };
        Issuer { key: rsa::pkcs1v15::SigningKey::new(private), public, kid }
    }

    /// The JWKS document.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        }]})
    }

    /// The public key (for the protected API's validation).
    pub fn public_key(&self) -> &rsa::RsaPublicKey {
        &self.public
    }

    /// Signs claims as an RS256 JWT.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.key.sign(input.as_bytes()).to_vec();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

impl Default for Issuer {
    fn default() -> Self {
        Self::new()
    }
}
