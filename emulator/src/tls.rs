//! https for clients that insist on it (msal, azure-identity, msal-node and @azure/identity all
//! refuse an `http://` authority): a generated local CA and a server certificate for
//! `127.0.0.1` and `localhost`, signed by it. Clients trust the CA through
//! `REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS` or `SSL_CERT_FILE`.
//!
//! ```
//! let material = entra_token_emulator::TlsMaterial::generate().unwrap();
//! assert!(material.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
//! ```

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// A CA certificate and the server certificate and key it signed.
#[derive(Clone)]
pub struct TlsMaterial {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").field("server_key_pem", &"<redacted>").finish_non_exhaustive()
    }
}

const FILES: [&str; 3] = ["ca.pem", "server.pem", "server.key"];

impl TlsMaterial {
    /// A fresh CA and server certificate (valid for `127.0.0.1`, `::1` and `localhost`).
    pub fn generate() -> Result<Self, String> {
        let err = |e: rcgen::Error| format!("cannot generate the emulator's certificates: {e}");
        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "entra-token emulator local CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(err)?;
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "::1".to_owned(), "localhost".to_owned()]).map_err(err)?;
        params.distinguished_name.push(DnType::CommonName, "entra-token emulator");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let server_cert = params.signed_by(&server_key, &issuer).map_err(err)?;
        Ok(TlsMaterial { ca_pem: ca_cert.pem(), server_cert_pem: server_cert.pem(), server_key_pem: server_key.serialize_pem() })
    }

    /// Loads `ca.pem`, `server.pem` and `server.key` from `dir`, generating and writing them
    /// when any is missing, so that a CA trusted once (for example by `NODE_EXTRA_CA_CERTS`,
    /// read at process start) stays valid across emulator restarts.
    pub fn load_or_generate(dir: &Path) -> Result<Self, String> {
        let paths = FILES.map(|f| dir.join(f));
        if paths.iter().all(|p| p.is_file()) {
            let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
            let material = TlsMaterial { ca_pem: read(&paths[0])?, server_cert_pem: read(&paths[1])?, server_key_pem: read(&paths[2])? };
            material.server_config()?;
            return Ok(material);
        }
        let material = Self::generate()?;
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for (path, text) in paths.iter().zip([&material.ca_pem, &material.server_cert_pem, &material.server_key_pem]) {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(material)
    }

    /// SHA-1 thumbprint (hex, upper case) of the server certificate, as Service Fabric's
    /// `IDENTITY_SERVER_THUMBPRINT` gives it.
    pub fn server_thumbprint_sha1(&self) -> String {
        use sha1::Digest;
        let der = CertificateDer::from_pem_slice(self.server_cert_pem.as_bytes()).map(|c| c.to_vec()).unwrap_or_default();
        sha1::Sha1::digest(&der).iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The CA certificate clients must trust, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub(crate) fn server_config(&self) -> Result<rustls::ServerConfig, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("server certificate: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes()).map_err(|e| format!("server key: {e}"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("server certificate: {e}"))?;
        // The server speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A listener that hands axum finished TLS connections. Handshakes run in their own tasks
/// (bounded by a timeout) so one slow client cannot hold up the others.
pub(crate) struct TlsListener {
    incoming: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor_task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub(crate) fn new(listener: TcpListener, config: rustls::ServerConfig) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let (tx, incoming) = tokio::sync::mpsc::channel(64);
        let acceptor_task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(TlsListener { incoming, local, acceptor_task })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The acceptor task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
