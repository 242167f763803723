//! Client certificate credential: a JWT assertion signed with the certificate's key.
//!
//! A certificate loaded from a file is reloaded when the file changes (checked at most every
//! `file_check_interval`) and at once when Entra rejects the assertion as invalid or expired;
//! the rejected call is then retried once, so rotating the file needs no restart.

use super::confidential::JWT_BEARER;
use super::{ClientOptions, Confidential};
use crate::assertion::{self, ASSERTION_REUSE_MARGIN, AssertionAlgorithm};
use crate::cache::{CachedSource, SourceIdentity, TokenSource};
use crate::certificate::ClientCertificate;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::{AccessToken, CacheQuery, TokenCredential, TokenRequest};
use crate::token_response::TokenResponse;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const NAME: &str = "ClientCertificateCredential";

/// AADSTS codes that mean "this assertion or certificate is not (or no longer) accepted":
/// invalid signature, outside its validity window, unknown key, certificate not valid.
const ROTATION_CODES: [u32; 4] = [700027, 700024, 7000214, 1000502];

/// Where the certificate comes from.
#[allow(clippy::large_enum_variant, reason = "built once per credential; a Box would only make callers write Box::new")]
pub enum CertificateInput {
    /// An already loaded certificate; never reloaded.
    Loaded(ClientCertificate),
    /// PEM or PFX bytes in memory, with the PFX password if any.
    Bytes {
        /// The file contents.
        data: Vec<u8>,
        /// The PFX password.
        password: Option<Secret>,
    },
    /// A PEM or PFX file, reloaded when it changes.
    File {
        /// The file.
        path: PathBuf,
        /// The PFX password.
        password: Option<Secret>,
    },
}

impl fmt::Debug for CertificateInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateInput::Loaded(c) => f.debug_tuple("Loaded").field(c).finish(),
            CertificateInput::Bytes { data, .. } => f.debug_struct("Bytes").field("len", &data.len()).finish_non_exhaustive(),
            CertificateInput::File { path, .. } => f.debug_struct("File").field("path", path).finish_non_exhaustive(),
        }
    }
}

/// Options of [`ClientCertificateCredential`].
#[derive(Clone, Debug)]
pub struct CertificateOptions {
    /// Options every confidential client takes.
    pub client: ClientOptions,
    /// Sends the certificate chain (`x5c`) for subject name / issuer authentication.
    pub send_certificate_chain: bool,
    /// `PS256` (default, Entra ID) or `RS256` (ADFS).
    pub algorithm: AssertionAlgorithm,
    /// How often a certificate file is checked for changes.
    pub file_check_interval: Duration,
}

impl Default for CertificateOptions {
    fn default() -> Self {
        CertificateOptions { client: ClientOptions::default(), send_certificate_chain: false, algorithm: AssertionAlgorithm::Ps256, file_check_interval: Duration::from_secs(30) }
    }
}

/// An app registration authenticating with a certificate.
///
/// ```no_run
/// use entra_token::{CertificateInput, CertificateOptions, ClientCertificateCredential};
/// let credential = ClientCertificateCredential::new(
///     "tenant-id", "client-id",
///     CertificateInput::File { path: "/etc/app/cert.pfx".into(), password: Some("pw".into()) },
///     CertificateOptions::default(),
/// ).unwrap();
/// ```
pub struct ClientCertificateCredential {
    inner: CachedSource<CertificateSource>,
}

struct CertificateSource {
    client: Confidential,
    file: Option<(PathBuf, Option<Secret>)>,
    options: CertificateOptions,
    state: Mutex<CertState>,
    identity: Arc<SourceIdentity>,
}

struct CertState {
    cert: Arc<ClientCertificate>,
    file_stamp: Option<(SystemTime, u64)>,
    checked_at: u64,
    /// The last assertion: audience, value, expiry.
    assertion: Option<(String, Secret, u64)>,
}

impl ClientCertificateCredential {
    /// A credential from a certificate. Loading errors are reported here, not at the first call.
    pub fn new(tenant_id: &str, client_id: &str, certificate: CertificateInput, options: CertificateOptions) -> Result<Self> {
        let client = Confidential::new(NAME, tenant_id, client_id, options.client.clone())?;
        let (cert, file, stamp) = match certificate {
            CertificateInput::Loaded(cert) => (cert, None, None),
            CertificateInput::Bytes { data, password } => {
                let cert = ClientCertificate::from_bytes(&data, password.as_ref().map(Secret::expose_secret)).map_err(|reason| cert_error("bytes", reason))?;
                (cert, None, None)
            }
            CertificateInput::File { path, password } => {
                let (cert, stamp) = load_file(&path, password.as_ref())?;
                (cert, Some((path, password)), stamp)
            }
        };
        // Identify by file path when reloadable (rotation keeps the identity), else by thumbprint.
        let material = match &file {
            Some((path, _)) => format!("file:{}", path.display()).into_bytes(),
            None => cert.thumbprint_sha256().to_vec(),
        };
        let identity = SourceIdentity::new(NAME, &client.authority, &client.tenant_id, &client.client_id, super::fingerprint(&material));
        let now = client.clock.now();
        let (clock, cache) = (client.clock.clone(), client.cache.clone());
        let state = Mutex::new(CertState { cert: Arc::new(cert), file_stamp: stamp, checked_at: now, assertion: None });
        Ok(ClientCertificateCredential { inner: CachedSource::new(CertificateSource { client, file, options, state, identity }, clock, cache) })
    }

    /// A cached token for the request, if one is valid now; never does I/O.
    pub fn get_token_cached(&self, request: &impl CacheQuery) -> Option<AccessToken> {
        self.inner.lookup(request)
    }

    /// The SHA-1 thumbprint of the certificate in use.
    pub fn thumbprint(&self) -> String {
        self.inner.source().state.lock().map(|s| s.cert.thumbprint_sha1_hex()).unwrap_or_default()
    }
}

impl TokenCredential for ClientCertificateCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        self.inner.get_token(request).await
    }
}

fn cert_error(origin: &str, reason: String) -> Error {
    Error::Certificate { credential: NAME, origin: origin.to_owned(), reason }
}

fn file_stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn load_file(path: &std::path::Path, password: Option<&Secret>) -> Result<(ClientCertificate, Option<(SystemTime, u64)>)> {
    let origin = path.display().to_string();
    let stamp = file_stamp(path);
    let data = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| cert_error(&origin, format!("cannot read the file: {e}")))?);
    let cert = ClientCertificate::from_bytes(&data, password.map(Secret::expose_secret)).map_err(|reason| cert_error(&origin, reason))?;
    Ok((cert, stamp))
}

impl CertificateSource {
    /// Reloads the file if it changed (or unconditionally with `force`). Returns whether the
    /// certificate in use changed.
    fn refresh_file(&self, force: bool) -> Result<bool> {
        let Some((path, password)) = &self.file else { return Ok(false) };
        let now = self.client.clock.now();
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if !force {
                if now.saturating_sub(state.checked_at) < self.options.file_check_interval.as_secs() {
                    return Ok(false);
                }
                state.checked_at = now;
                if file_stamp(path) == state.file_stamp {
                    return Ok(false);
                }
            }
        }
        let (cert, stamp) = load_file(path, password.as_ref())?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let changed = cert.thumbprint_sha256() != state.cert.thumbprint_sha256();
        if changed {
            tracing::info!(credential = NAME, path = %path.display(), thumbprint = %cert.thumbprint_sha1_hex(), "certificate file changed; using the new certificate");
            state.cert = Arc::new(cert);
        }
        state.file_stamp = stamp;
        state.checked_at = now;
        state.assertion = None;
        Ok(changed)
    }

    /// A signed assertion for `audience`, reused until shortly before it expires.
    fn assertion(&self, audience: &str) -> Result<Secret> {
        let now = self.client.clock.now();
        let cert = {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((aud, value, exp)) = &state.assertion {
                if aud == audience && now + ASSERTION_REUSE_MARGIN < *exp {
                    return Ok(value.clone());
                }
            }
            state.cert.clone()
        };
        let (value, exp) = assertion::sign(&cert, &self.client.client_id, audience, now, self.options.algorithm, self.options.send_certificate_chain)
            .map_err(|reason| cert_error("signing", reason))?;
        self.state.lock().unwrap_or_else(|p| p.into_inner()).assertion = Some((audience.to_owned(), value.clone(), exp));
        Ok(value)
    }

    async fn request_once(&self, request: &TokenRequest, endpoint: &url::Url) -> Result<TokenResponse> {
        let assertion = self.assertion(endpoint.as_str())?;
        let params = vec![("client_assertion_type", JWT_BEARER.to_owned()), ("client_assertion", assertion.expose_secret().to_owned())];
        self.client.request_token(request, endpoint, params).await
    }
}

impl TokenSource for CertificateSource {
    fn identity(&self) -> &Arc<SourceIdentity> {
        &self.identity
    }

    fn resolve_tenant<'a>(&'a self, tenant_id: Option<&'a str>) -> Result<&'a str> {
        self.client.resolve_tenant(tenant_id)
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<TokenResponse> {
        let tenant = self.client.resolve_tenant(request.tenant_id())?;
        let endpoint = self.client.token_endpoint(tenant).await?;
        self.refresh_file(false)?;
        match self.request_once(request, &endpoint).await {
            Err(Error::Service(e)) if e.aadsts_codes.iter().any(|c| ROTATION_CODES.contains(c)) => {
                tracing::warn!(credential = NAME, aadsts = ?e.aadsts_codes, "the assertion was rejected; reloading the certificate and retrying once");
                self.refresh_file(true)?;
                self.state.lock().unwrap_or_else(|p| p.into_inner()).assertion = None;
                self.request_once(request, &endpoint).await
            }
            other => other,
        }
    }
}

impl fmt::Debug for ClientCertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.source();
        f.debug_struct(NAME)
            .field("tenant_id", &s.client.tenant_id)
            .field("client_id", &s.client.client_id)
            .field("authority", &s.client.authority)
            .field("thumbprint", &self.thumbprint())
            .field("path", &s.file.as_ref().map(|(p, _)| p))
            .finish()
    }
}
