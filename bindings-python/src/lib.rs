//! `entra_token._native`: the Python face of the entra-token core. It translates arguments,
//! tokens and errors, and nothing more; every behaviour (cache, retries, protocol) is core's.
//!
//! The cache-hit path never leaves the calling thread: `get_token` looks the token up while
//! holding the GIL and builds the Python `AccessToken` from the cached token (one string copy).
//! Only a miss releases the GIL and blocks on the shared runtime.

use entra_token::{
    AccessToken, AnyCredential, Authority, CertificateInput, DefaultAzureCredentialOptions, CertificateOptions, ClientAssertionCredential, ClientCertificateCredential, ClientOptions, ClientSecretCredential,
    Error, ManagedIdentityCredential, ManagedIdentityOptions, ScopeQuery, Secret, TokenCredential, TokenRequest, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityOptions,
};
use futures_util::FutureExt;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

mod logs;

type Fetch = Pin<Box<dyn Future<Output = entra_token::Result<AccessToken>> + Send>>;

/// The credentials this module offers, behind one interface.
/// The credential behind a binding object; the dispatch lives in core (`AnyCredential`).
struct Inner(Arc<AnyCredential>);

impl Inner {
    fn new(credential: impl Into<AnyCredential>) -> Self {
        Inner(Arc::new(credential.into()))
    }

    fn lookup(&self, request: &TokenRequest) -> Option<AccessToken> {
        self.0.get_token_cached(request)
    }

    /// The hit path for the usual call, one scope and no options: the scope is borrowed from
    /// the Python string (UTF-8 the interpreter caches), so a hit allocates nothing.
    /// Returns whether the call was of that kind (so a miss need not be looked up again), and
    /// the hit if any.
    fn lookup_one_scope(&self, scopes: &Bound<'_, PyTuple>, enable_cae: bool) -> PyResult<(bool, Option<AccessToken>)> {
        if scopes.len() != 1 {
            return Ok((false, None));
        }
        let item = scopes.get_borrowed_item(0)?;
        let text = item.cast::<PyString>().map_err(|_| PyTypeError::new_err("scopes must be strings"))?;
        let scope = [text.to_str()?];
        Ok((true, self.0.get_token_cached(&ScopeQuery::new(&scope).with_cae(enable_cae))))
    }

    fn fetch(&self, request: TokenRequest) -> Fetch {
        let credential = self.0.clone();
        Box::pin(async move { credential.get_token(&request).await })
    }

    fn describe(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// An access token. `token`, `expires_on` (Unix seconds), `refresh_on` and `token_type`, as
/// azure-core's `AccessToken` and `AccessTokenInfo` have them; unpacks as `(token, expires_on)`.
#[pyclass(module = "entra_token", name = "AccessToken", frozen)]
struct PyAccessToken {
    token: Py<PyString>,
    expires_on: u64,
    refresh_on: Option<u64>,
    token_type: Py<PyString>,
}

#[pymethods]
impl PyAccessToken {
    #[getter]
    fn token(&self, py: Python<'_>) -> Py<PyString> {
        self.token.clone_ref(py)
    }
    #[getter]
    fn expires_on(&self) -> u64 {
        self.expires_on
    }
    #[getter]
    fn refresh_on(&self) -> Option<u64> {
        self.refresh_on
    }
    #[getter]
    fn token_type(&self, py: Python<'_>) -> Py<PyString> {
        self.token_type.clone_ref(py)
    }
    fn __len__(&self) -> usize {
        2
    }
    fn __getitem__(&self, py: Python<'_>, index: isize) -> PyResult<Py<PyAny>> {
        match index {
            0 | -2 => Ok(self.token.clone_ref(py).into_any()),
            1 | -1 => Ok(self.expires_on.into_pyobject(py)?.into_any().unbind()),
            _ => Err(pyo3::exceptions::PyIndexError::new_err("AccessToken has two items: token, expires_on")),
        }
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
        PyTuple::new(py, [self.token.clone_ref(py).into_any(), self.expires_on.into_pyobject(py)?.into_any().unbind()])?.try_iter()
    }
    fn __repr__(&self) -> String {
        format!("AccessToken(token='[redacted]', expires_on={}, refresh_on={:?}, token_type='{}')", self.expires_on, self.refresh_on, self.token_type)
    }
}

/// The Python object for a core token, made on each call. Keeping one per cached token would
/// save ~110 ns a hit but hold a second copy of every token (~1.2 KB an entry) for as long as it
/// is cached; the core's own copy is all the cache keeps (bench/README.md).
fn python_token(py: Python<'_>, token: &AccessToken) -> PyResult<Py<PyAccessToken>> {
    let token_type = match token.token_type() {
        "Bearer" => pyo3::intern!(py, "Bearer").clone(),
        other => PyString::new(py, other),
    };
    Py::new(
        py,
        PyAccessToken {
            token: PyString::new(py, token.token().expose_secret()).unbind(),
            expires_on: token.expires_on(),
            refresh_on: token.refresh_on(),
            token_type: token_type.unbind(),
        },
    )
}

/// Raises the entra_token exception class for a core error, with every field it carries.
fn to_py_err(py: Python<'_>, error: &Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("entra_token._errors")?;
        let class = module.getattr("_class_for")?.call1((error.kind_code(),))?;
        let exception = class.call1((error.to_string(),))?;
        exception.setattr("kind", error.kind_code())?;
        exception.setattr("credential", error.credential())?;
        exception.setattr("status", error.status())?;
        // azure-core's name for it (and Node's `statusCode`), for code written against azure-identity.
        exception.setattr("status_code", error.status())?;
        exception.setattr("aadsts_code", error.aadsts_code())?;
        exception.setattr("oauth_error", error.oauth_error())?;
        exception.setattr("correlation_id", error.correlation_id())?;
        exception.setattr("request_id", error.request_id())?;
        exception.setattr("retryable", error.is_retryable())?;
        Ok(PyErr::from_value(exception))
    };
    build().unwrap_or_else(|e| e)
}

fn internal_error(py: Python<'_>, what: &str) -> PyErr {
    let message = format!("internal error in entra-token (please report it): {what}");
    match py.import("entra_token._errors").and_then(|m| m.getattr("EntraTokenError")).and_then(|c| c.call1((message.clone(),))) {
        Ok(e) => PyErr::from_value(e),
        Err(_) => pyo3::exceptions::PyRuntimeError::new_err(message),
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".into())
}

/// Runs a fetch on the shared runtime with the GIL released; a panic becomes an exception.
fn block_on(py: Python<'_>, fetch: Fetch) -> PyResult<AccessToken> {
    let outcome = py.detach(|| {
        let runtime = entra_token::runtime::shared();
        runtime.block_on(std::panic::AssertUnwindSafe(fetch).catch_unwind())
    });
    logs::forward(py);
    match outcome {
        Ok(Ok(token)) => Ok(token),
        Ok(Err(error)) => Err(to_py_err(py, &error)),
        Err(payload) => Err(internal_error(py, &panic_text(&*payload))),
    }
}

fn token_request(scopes: &Bound<'_, PyTuple>, claims: Option<String>, tenant_id: Option<String>, enable_cae: bool, rejected_token: Option<String>) -> PyResult<TokenRequest> {
    let mut list = Vec::with_capacity(scopes.len());
    for scope in scopes.iter() {
        list.push(scope.extract::<String>().map_err(|_| PyTypeError::new_err("scopes must be strings"))?);
    }
    let mut request = TokenRequest::new(list).with_cae(enable_cae);
    if let Some(claims) = claims {
        request = request.with_claims(claims);
    }
    if let Some(tenant) = tenant_id {
        request = request.with_tenant(tenant);
    }
    if let Some(rejected) = rejected_token {
        request = request.with_rejected_token(rejected);
    }
    Ok(request)
}

/// The base of every credential class: `get_token`, `get_token_info`, the fast lookup the async
/// classes use, and `close` / context management as azure-identity's credentials have them.
#[pyclass(module = "entra_token._native", subclass, frozen)]
struct Credential {
    inner: Inner,
}

#[pymethods]
impl Credential {
    /// azure-core's `TokenCredential.get_token`.
    /// `rejected_token`: with `claims`, the token the resource refused; managed identity sources
    /// that support revocation then mint a new one instead of returning their cached token.
    #[pyo3(signature = (*scopes, claims=None, tenant_id=None, enable_cae=false, rejected_token=None, **_kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn get_token(
        &self,
        py: Python<'_>,
        scopes: &Bound<'_, PyTuple>,
        claims: Option<String>,
        tenant_id: Option<String>,
        enable_cae: bool,
        rejected_token: Option<String>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAccessToken>> {
        let mut tried = false;
        if claims.is_none() && tenant_id.is_none() && rejected_token.is_none() {
            let (one_scope, hit) = self.inner.lookup_one_scope(scopes, enable_cae)?;
            if let Some(token) = hit {
                return python_token(py, &token);
            }
            tried = one_scope;
        }
        let request = token_request(scopes, claims, tenant_id, enable_cae, rejected_token)?;
        if !tried && let Some(token) = self.inner.lookup(&request) {
            return python_token(py, &token);
        }
        let token = block_on(py, self.inner.fetch(request))?;
        python_token(py, &token)
    }

    /// azure-core's `SupportsTokenInfo.get_token_info`: `options` may hold `claims`,
    /// `tenant_id` and `enable_cae`.
    #[pyo3(signature = (*scopes, options=None))]
    fn get_token_info(&self, py: Python<'_>, scopes: &Bound<'_, PyTuple>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Py<PyAccessToken>> {
        let (claims, tenant_id, enable_cae) = token_options(options)?;
        self.get_token(py, scopes, claims, tenant_id, enable_cae, None, None)
    }

    /// A cached token, or `None`; never does I/O (the async classes' fast path).
    #[pyo3(signature = (scopes, claims=None, tenant_id=None, enable_cae=false))]
    fn _lookup(&self, py: Python<'_>, scopes: &Bound<'_, PyTuple>, claims: Option<String>, tenant_id: Option<String>, enable_cae: bool) -> PyResult<Option<Py<PyAccessToken>>> {
        if claims.is_none() && tenant_id.is_none() {
            let (one_scope, hit) = self.inner.lookup_one_scope(scopes, enable_cae)?;
            if one_scope {
                return hit.map(|t| python_token(py, &t)).transpose();
            }
        }
        let request = token_request(scopes, claims, tenant_id, enable_cae, None)?;
        self.inner.lookup(&request).map(|t| python_token(py, &t)).transpose()
    }

    /// Blocking fetch that skips the lookup (the async classes run it in a worker thread after a miss).
    #[pyo3(signature = (scopes, claims=None, tenant_id=None, enable_cae=false, rejected_token=None))]
    fn _fetch(
        &self,
        py: Python<'_>,
        scopes: &Bound<'_, PyTuple>,
        claims: Option<String>,
        tenant_id: Option<String>,
        enable_cae: bool,
        rejected_token: Option<String>,
    ) -> PyResult<Py<PyAccessToken>> {
        let request = token_request(scopes, claims, tenant_id, enable_cae, rejected_token)?;
        let token = block_on(py, self.inner.fetch(request))?;
        python_token(py, &token)
    }

    /// Nothing to release: connections and the cache are shared by the process.
    fn close(&self) {}

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {}

    fn __repr__(&self) -> String {
        self.inner.describe()
    }
}

fn token_options(options: Option<&Bound<'_, PyDict>>) -> PyResult<(Option<String>, Option<String>, bool)> {
    let Some(options) = options else { return Ok((None, None, false)) };
    let text = |k: &str| -> PyResult<Option<String>> { options.get_item(k)?.filter(|v| !v.is_none()).map(|v| v.extract::<String>()).transpose() };
    let cae = options.get_item("enable_cae")?.map(|v| v.is_truthy()).transpose()?.unwrap_or(false);
    Ok((text("claims")?, text("tenant_id")?, cae))
}

fn client_options(py: Python<'_>, authority: Option<String>, additionally_allowed_tenants: Option<Vec<String>>) -> PyResult<ClientOptions> {
    let mut options = ClientOptions { additionally_allowed_tenants: additionally_allowed_tenants.unwrap_or_default(), ..ClientOptions::default() };
    if let Some(host) = authority {
        // azure-identity takes a bare host ("login.microsoftonline.us") or a URL.
        let url = if host.contains("://") { host } else { format!("https://{host}") };
        options.authority = Some(Authority::entra(&url).map_err(|message| to_py_err(py, &Error::Configuration { credential: "authority", message }))?);
    }
    Ok(options)
}

fn core_result<T>(py: Python<'_>, result: entra_token::Result<T>) -> PyResult<T> {
    result.map_err(|e| to_py_err(py, &e))
}

/// `ClientSecretCredential(tenant_id, client_id, client_secret, *, authority=None, additionally_allowed_tenants=None)`.
#[pyclass(module = "entra_token", name = "ClientSecretCredential", extends = Credential, subclass, frozen)]
struct ClientSecretCredentialPy;

#[pymethods]
impl ClientSecretCredentialPy {
    #[new]
    #[pyo3(signature = (tenant_id, client_id, client_secret, *, authority=None, additionally_allowed_tenants=None, **kwargs))]
    fn new(
        py: Python<'_>,
        tenant_id: String,
        client_id: String,
        client_secret: String,
        authority: Option<String>,
        additionally_allowed_tenants: Option<Vec<String>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        warn_ignored(py, "ClientSecretCredential", kwargs, Vec::new())?;
        let options = client_options(py, authority, additionally_allowed_tenants)?;
        let credential = core_result(py, ClientSecretCredential::with_options(&tenant_id, &client_id, Secret::new(client_secret), options))?;
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(ClientSecretCredentialPy))
    }
}

/// `CertificateCredential(tenant_id, client_id, certificate_path=None, *, certificate_data=None, password=None, send_certificate_chain=False, authority=None, additionally_allowed_tenants=None)`.
#[pyclass(module = "entra_token", name = "CertificateCredential", extends = Credential, subclass, frozen)]
struct CertificateCredentialPy;

#[pymethods]
impl CertificateCredentialPy {
    #[new]
    #[pyo3(signature = (tenant_id, client_id, certificate_path=None, *, certificate_data=None, password=None, send_certificate_chain=false, authority=None, additionally_allowed_tenants=None, **kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        tenant_id: String,
        client_id: String,
        certificate_path: Option<std::path::PathBuf>,
        certificate_data: Option<&Bound<'_, PyAny>>,
        password: Option<&Bound<'_, PyAny>>,
        send_certificate_chain: bool,
        authority: Option<String>,
        additionally_allowed_tenants: Option<Vec<String>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        warn_ignored(py, "CertificateCredential", kwargs, Vec::new())?;
        let password = match password {
            None => None,
            Some(p) if p.is_none() => None,
            Some(p) => Some(Secret::new(match p.cast::<PyBytes>() {
                Ok(b) => String::from_utf8(b.as_bytes().to_vec()).map_err(|_| PyTypeError::new_err("password bytes must be UTF-8"))?,
                Err(_) => p.extract::<String>().map_err(|_| PyTypeError::new_err("password must be str or bytes"))?,
            })),
        };
        let input = match (certificate_path, certificate_data) {
            (Some(path), None) => CertificateInput::File { path, password },
            (None, Some(data)) => {
                let bytes = match data.cast::<PyBytes>() {
                    Ok(b) => b.as_bytes().to_vec(),
                    Err(_) => data.extract::<String>().map_err(|_| PyTypeError::new_err("certificate_data must be bytes or str"))?.into_bytes(),
                };
                CertificateInput::Bytes { data: bytes, password }
            }
            _ => return Err(to_py_err(py, &Error::Configuration { credential: "CertificateCredential", message: "give exactly one of certificate_path and certificate_data".into() })),
        };
        let options = CertificateOptions { client: client_options(py, authority, additionally_allowed_tenants)?, send_certificate_chain, ..CertificateOptions::default() };
        let credential = core_result(py, ClientCertificateCredential::new(&tenant_id, &client_id, input, options))?;
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(CertificateCredentialPy))
    }
}

/// `ClientAssertionCredential(tenant_id, client_id, func, *, authority=None, additionally_allowed_tenants=None)`:
/// `func()` returns a signed assertion (str).
#[pyclass(module = "entra_token", name = "ClientAssertionCredential", extends = Credential, subclass, frozen)]
struct ClientAssertionCredentialPy;

#[pymethods]
impl ClientAssertionCredentialPy {
    #[new]
    #[pyo3(signature = (tenant_id, client_id, func, *, authority=None, additionally_allowed_tenants=None, **kwargs))]
    fn new(
        py: Python<'_>,
        tenant_id: String,
        client_id: String,
        func: Py<PyAny>,
        authority: Option<String>,
        additionally_allowed_tenants: Option<Vec<String>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        warn_ignored(py, "ClientAssertionCredential", kwargs, Vec::new())?;
        if !func.bind(py).is_callable() {
            return Err(PyTypeError::new_err("func must be a callable returning the assertion"));
        }
        let func = Arc::new(func);
        let options = client_options(py, authority, additionally_allowed_tenants)?;
        let credential = ClientAssertionCredential::new(
            &tenant_id,
            &client_id,
            move |_context| {
                let func = func.clone();
                async move {
                    // The callback is Python: run it on a blocking thread that takes the GIL.
                    let result = tokio::task::spawn_blocking(move || Python::attach(|py| func.call0(py).and_then(|v| v.extract::<String>(py)).map_err(|e| e.to_string())))
                        .await
                        .map_err(|e| format!("the assertion callback did not finish: {e}"))?;
                    result.map_err(|e| format!("the assertion callback raised: {e}"))
                }
            },
            options,
        );
        let credential = core_result(py, credential)?;
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(ClientAssertionCredentialPy))
    }
}

/// `ManagedIdentityCredential(*, client_id=None, identity_config=None)`, with `object_id` or
/// `resource_id` (also `mi_res_id` / `msi_res_id`) in `identity_config`.
#[pyclass(module = "entra_token", name = "ManagedIdentityCredential", extends = Credential, subclass, frozen)]
struct ManagedIdentityCredentialPy;

#[pymethods]
impl ManagedIdentityCredentialPy {
    #[new]
    #[pyo3(signature = (*, client_id=None, identity_config=None, app_service_api_version=None, **kwargs))]
    fn new(
        py: Python<'_>,
        client_id: Option<String>,
        identity_config: Option<std::collections::HashMap<String, String>>,
        app_service_api_version: Option<String>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        warn_ignored(py, "ManagedIdentityCredential", kwargs, Vec::new())?;
        let mut ids: Vec<UserAssignedId> = client_id.into_iter().map(UserAssignedId::ClientId).collect();
        for (key, value) in identity_config.unwrap_or_default() {
            ids.push(match key.as_str() {
                "client_id" => UserAssignedId::ClientId(value),
                "object_id" | "principal_id" => UserAssignedId::ObjectId(value),
                "resource_id" | "mi_res_id" | "msi_res_id" => UserAssignedId::ResourceId(value),
                other => {
                    let message = format!("identity_config key {other:?} is not one of client_id, object_id, resource_id");
                    return Err(to_py_err(py, &Error::Configuration { credential: "ManagedIdentityCredential", message }));
                }
            });
        }
        if ids.len() > 1 {
            let message = "give at most one of client_id, object_id and resource_id".to_owned();
            return Err(to_py_err(py, &Error::Configuration { credential: "ManagedIdentityCredential", message }));
        }
        let app_service_api_version = core_result(py, app_service_api_version.as_deref().map(str::parse).transpose())?.unwrap_or_default();
        let options = ManagedIdentityOptions { user_assigned_id: ids.pop(), app_service_api_version, ..ManagedIdentityOptions::default() };
        let credential = core_result(py, ManagedIdentityCredential::new(options))?;
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(ManagedIdentityCredentialPy))
    }

    /// The source in use: `(kind, endpoint, reason)`.
    fn source(self_: PyRef<'_, Self>) -> (String, String, String) {
        let source = self_.as_super().inner.0.managed_identity_source().cloned();
        source.map(|s| (s.kind.as_str().to_owned(), s.endpoint, s.reason)).unwrap_or_default()
    }
}

/// `WorkloadIdentityCredential(*, tenant_id=None, client_id=None, token_file_path=None, authority=None)`;
/// gaps come from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`.
#[pyclass(module = "entra_token", name = "WorkloadIdentityCredential", extends = Credential, subclass, frozen)]
struct WorkloadIdentityCredentialPy;

#[pymethods]
impl WorkloadIdentityCredentialPy {
    #[new]
    #[pyo3(signature = (*, tenant_id=None, client_id=None, token_file_path=None, authority=None, additionally_allowed_tenants=None, **kwargs))]
    fn new(
        py: Python<'_>,
        tenant_id: Option<String>,
        client_id: Option<String>,
        token_file_path: Option<std::path::PathBuf>,
        authority: Option<String>,
        additionally_allowed_tenants: Option<Vec<String>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        warn_ignored(py, "WorkloadIdentityCredential", kwargs, Vec::new())?;
        let options = WorkloadIdentityOptions { tenant_id, client_id, token_file_path, client: client_options(py, authority, additionally_allowed_tenants)?, ..Default::default() };
        let credential = core_result(py, WorkloadIdentityCredential::new(options))?;
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(WorkloadIdentityCredentialPy))
    }
}

/// `DefaultAzureCredential(**kwargs)`: environment, workload identity, managed identity, Azure
/// CLI, Azure Developer CLI, narrowed by `AZURE_TOKEN_CREDENTIALS` and azure-identity's keyword
/// arguments (`exclude_*_credential`, `managed_identity_client_id`, `workload_identity_client_id`,
/// `workload_identity_tenant_id`, `process_timeout`, `require_envvar`, `authority`,
/// `additionally_allowed_tenants`).
#[pyclass(module = "entra_token", name = "DefaultAzureCredential", extends = Credential, subclass, frozen)]
struct DefaultAzureCredentialPy;

/// azure-identity's links this package does not have: excluding them is already so.
const ABSENT_LINK_EXCLUSIONS: [&str; 5] =
    ["exclude_powershell_credential", "exclude_visual_studio_code_credential", "exclude_shared_token_cache_credential", "exclude_interactive_browser_credential", "exclude_broker_credential"];

/// azure-identity keyword arguments that have nothing to do here (entra-token never calls
/// instance discovery and keeps no persistent token cache): accepted without a word.
const NOTHING_TO_DO: [&str; 3] = ["disable_instance_discovery", "cache_persistence_options", "enable_support_logging"];

/// azure-identity hands the keyword arguments it does not know to its HTTP pipeline (transport,
/// retries, proxies...); they do nothing here, so a UserWarning names them rather than passing
/// them over in silence.
fn warn_ignored(py: Python<'_>, credential: &str, kwargs: Option<&Bound<'_, PyDict>>, also: Vec<String>) -> PyResult<()> {
    let mut ignored = also;
    for key in kwargs.map(|k| k.keys().into_iter().collect::<Vec<_>>()).unwrap_or_default() {
        let key: String = key.extract()?;
        if !NOTHING_TO_DO.contains(&key.as_str()) {
            ignored.push(key);
        }
    }
    if ignored.is_empty() {
        return Ok(());
    }
    let message = format!("entra_token.{credential} ignores these keyword arguments: {}", ignored.join(", "));
    PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &std::ffi::CString::new(message)?, 1)
}

/// A developer-tool timeout in seconds (a float, as azure-identity takes it); what no `Duration`
/// can hold is refused here, zero by the core.
fn process_timeout(py: Python<'_>, credential: &'static str, seconds: Option<f64>) -> PyResult<Option<std::time::Duration>> {
    seconds
        .map(|s| {
            std::time::Duration::try_from_secs_f64(s).map_err(|_| {
                let message = format!("process_timeout must be a positive number of seconds, not {s}");
                to_py_err(py, &Error::Configuration { credential, message })
            })
        })
        .transpose()
}

#[pymethods]
impl DefaultAzureCredentialPy {
    #[new]
    #[pyo3(signature = (**kwargs))]
    // The keywords it reads, for help() and stub checks (they are parsed from `kwargs` so that
    // the unknown ones can be named in a warning).
    #[pyo3(text_signature = "(*, authority=None, additionally_allowed_tenants=None, exclude_environment_credential=None, exclude_workload_identity_credential=None, exclude_managed_identity_credential=None, exclude_cli_credential=None, exclude_developer_cli_credential=None, managed_identity_client_id=None, workload_identity_client_id=None, workload_identity_tenant_id=None, process_timeout=None, require_envvar=False, **kwargs)")]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        let mut options = DefaultAzureCredentialOptions::default();
        let (mut authority, mut allowed_tenants) = (None, None);
        let mut ignored = Vec::new();
        for (key, value) in kwargs.map(|k| k.iter().collect::<Vec<_>>()).unwrap_or_default() {
            let key: String = key.extract()?;
            let flag = |value: &Bound<'_, PyAny>| -> PyResult<Option<bool>> { if value.is_none() { Ok(None) } else { value.is_truthy().map(Some) } };
            match key.as_str() {
                "tenant_id" => return Err(PyTypeError::new_err("'tenant_id' is not supported in DefaultAzureCredential.")),
                "authority" => authority = value.extract()?,
                "additionally_allowed_tenants" => allowed_tenants = value.extract()?,
                "exclude_environment_credential" => options.exclude_environment_credential = flag(&value)?,
                "exclude_workload_identity_credential" => options.exclude_workload_identity_credential = flag(&value)?,
                "exclude_managed_identity_credential" => options.exclude_managed_identity_credential = flag(&value)?,
                "exclude_cli_credential" => options.exclude_cli_credential = flag(&value)?,
                "exclude_developer_cli_credential" => options.exclude_developer_cli_credential = flag(&value)?,
                "managed_identity_client_id" => options.managed_identity = value.extract::<Option<String>>()?.map(UserAssignedId::ClientId),
                "workload_identity_client_id" => options.workload_identity_client_id = value.extract()?,
                "workload_identity_tenant_id" => options.workload_identity_tenant_id = value.extract()?,
                "process_timeout" => options.process_timeout = process_timeout(py, "DefaultAzureCredential", value.extract()?)?,
                "require_envvar" => {
                    if value.is_truthy()? {
                        options.required_env_vars.push("AZURE_TOKEN_CREDENTIALS".to_owned());
                    }
                }
                name if ABSENT_LINK_EXCLUSIONS.contains(&name) || NOTHING_TO_DO.contains(&name) => {}
                _ => ignored.push(key),
            }
        }
        warn_ignored(py, "DefaultAzureCredential", None, ignored)?;
        options.client = client_options(py, authority, allowed_tenants)?;
        let credential = core_result(py, entra_token::DefaultAzureCredential::with_options(options))?;
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(DefaultAzureCredentialPy))
    }

    /// The links of the chain, in order.
    fn links(self_: PyRef<'_, Self>) -> Vec<&'static str> {
        self_.as_super().inner.0.chain_links()
    }
}

/// `EnvironmentCredential()`: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and a secret or certificate.
#[pyclass(module = "entra_token", name = "EnvironmentCredential", extends = Credential, subclass, frozen)]
struct EnvironmentCredentialPy;

#[pymethods]
impl EnvironmentCredentialPy {
    #[new]
    #[pyo3(signature = (**kwargs))]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        warn_ignored(py, "EnvironmentCredential", kwargs, Vec::new())?;
        // Built even when the environment names no credential; get_token then raises
        // CredentialUnavailableError, as azure-identity's does (chains count on it).
        let credential = core_result(py, entra_token::AnyCredential::unavailable_until_used(entra_token::EnvironmentCredential::new(ClientOptions::default())))?;
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(EnvironmentCredentialPy))
    }
}

/// `ChainedTokenCredential(*credentials)`: entra_token credentials tried in order, moving on
/// only when one is unavailable here, as azure-identity's chain does (the chain logic is the
/// core's). The links are the caller's own credential objects, sharing their caches.
#[pyclass(module = "entra_token", name = "ChainedTokenCredential", extends = Credential, subclass, frozen)]
struct ChainedTokenCredentialPy;

#[pymethods]
impl ChainedTokenCredentialPy {
    #[new]
    #[pyo3(signature = (*credentials))]
    fn new(py: Python<'_>, credentials: &Bound<'_, PyTuple>) -> PyResult<PyClassInitializer<Self>> {
        let mut links = Vec::with_capacity(credentials.len());
        for item in credentials.iter() {
            let Ok(credential) = item.cast::<Credential>() else {
                let kind = item.get_type().fully_qualified_name().map(|n| n.to_string()).unwrap_or_else(|_| "this object".into());
                return Err(PyTypeError::new_err(format!(
                    "ChainedTokenCredential takes entra_token credentials, not {kind}; azure-identity's ChainedTokenCredential accepts both"
                )));
            };
            links.push(credential.get().inner.0.clone());
        }
        let chain = core_result(py, AnyCredential::chain_of(links))?;
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(chain) }).add_subclass(ChainedTokenCredentialPy))
    }

    /// The links of the chain, in order.
    fn links(self_: PyRef<'_, Self>) -> Vec<&'static str> {
        self_.as_super().inner.0.chain_links()
    }
}

/// `AzureCliCredential(*, tenant_id=None)`: the Azure CLI's signed-in account.
#[pyclass(module = "entra_token", name = "AzureCliCredential", extends = Credential, subclass, frozen)]
struct AzureCliCredentialPy;

#[pymethods]
impl AzureCliCredentialPy {
    #[new]
    #[pyo3(signature = (*, tenant_id=None, process_timeout=None, **kwargs))]
    fn new(py: Python<'_>, tenant_id: Option<String>, process_timeout: Option<f64>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        warn_ignored(py, "AzureCliCredential", kwargs, Vec::new())?;
        let credential = match self::process_timeout(py, "AzureCliCredential", process_timeout)? {
            Some(timeout) => core_result(py, entra_token::AzureCliCredential::with_process_timeout(tenant_id, ClientOptions::default(), timeout))?,
            None => entra_token::AzureCliCredential::new(tenant_id, ClientOptions::default()),
        };
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(AzureCliCredentialPy))
    }
}

/// `AzureDeveloperCliCredential(*, tenant_id=None)`: the Azure Developer CLI's signed-in account.
#[pyclass(module = "entra_token", name = "AzureDeveloperCliCredential", extends = Credential, subclass, frozen)]
struct AzureDeveloperCliCredentialPy;

#[pymethods]
impl AzureDeveloperCliCredentialPy {
    #[new]
    #[pyo3(signature = (*, tenant_id=None, process_timeout=None, **kwargs))]
    fn new(py: Python<'_>, tenant_id: Option<String>, process_timeout: Option<f64>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        warn_ignored(py, "AzureDeveloperCliCredential", kwargs, Vec::new())?;
        let credential = match self::process_timeout(py, "AzureDeveloperCliCredential", process_timeout)? {
            Some(timeout) => core_result(py, entra_token::AzureDeveloperCliCredential::with_process_timeout(tenant_id, ClientOptions::default(), timeout))?,
            None => entra_token::AzureDeveloperCliCredential::new(tenant_id, ClientOptions::default()),
        };
        Ok(PyClassInitializer::from(Credential { inner: Inner::new(credential) }).add_subclass(AzureDeveloperCliCredentialPy))
    }
}

/// The credential an appsettings.json file describes for `api` (its managed identity when the
/// section asks for one, else `AzureAd`'s client credentials in order).
#[pyfunction]
#[pyo3(signature = (path, api=None))]
fn credential_from_config(py: Python<'_>, path: std::path::PathBuf, api: Option<String>) -> PyResult<Py<Credential>> {
    let settings = core_result(py, entra_token::config::AppSettings::from_file(&path, &entra_token::Env::process()))?;
    let credential = core_result(py, settings.credential_for(api.as_deref(), &ClientOptions::default()))?;
    Py::new(py, Credential { inner: Inner::new(credential) })
}

/// The downstream APIs of an appsettings.json file: `call` sends a request with an app token
/// for the API's scopes and answers one claims challenge.
#[pyclass(module = "entra_token", name = "DownstreamApis", frozen)]
struct DownstreamApisPy {
    apis: Arc<entra_token::downstream::DownstreamApis>,
}

/// `(status, headers, body)` of a downstream API call.
type DownstreamAnswer<'py> = (u16, Vec<(String, String)>, Bound<'py, PyBytes>);

#[pymethods]
impl DownstreamApisPy {
    #[new]
    fn new(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let apis = core_result(py, entra_token::downstream::DownstreamApis::from_file(&path, ClientOptions::default()))?;
        Ok(DownstreamApisPy { apis: Arc::new(apis) })
    }

    /// `(status, headers, body)`; `body` is bytes, `content` (bytes) is sent as `content_type`.
    #[pyo3(signature = (api, method=None, path=None, content=None, content_type="application/json"))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        api: String,
        method: Option<String>,
        path: Option<String>,
        content: Option<Vec<u8>>,
        content_type: &str,
    ) -> PyResult<DownstreamAnswer<'py>> {
        let apis = self.apis.clone();
        let content_type = content_type.to_owned();
        let outcome = py.detach(|| {
            entra_token::runtime::shared().block_on(async move {
                let body = content.map(|c| (content_type.as_str(), c));
                apis.call(&api, method.as_deref(), path.as_deref(), body).await
            })
        });
        logs::forward(py);
        let response = outcome.map_err(|e| to_py_err(py, &e))?;
        Ok((response.status, response.headers, PyBytes::new(py, &response.body)))
    }

    /// Sends JSON text (if any), returns the response JSON text; an error status raises
    /// `DownstreamApiError` (the core decides).
    #[pyo3(signature = (api, method="GET", path=None, body=None))]
    fn call_json(&self, py: Python<'_>, api: String, method: &str, path: Option<String>, body: Option<String>) -> PyResult<String> {
        let apis = self.apis.clone();
        let method = method.to_owned();
        let body: Option<serde_json::Value> = match body {
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| PyTypeError::new_err(format!("body is not JSON: {e}")))?),
            None => None,
        };
        let outcome = py.detach(|| {
            entra_token::runtime::shared().block_on(async move { apis.call_json::<serde_json::Value>(&api, &method, path.as_deref(), body.as_ref()).await })
        });
        logs::forward(py);
        outcome.map(|v| v.to_string()).map_err(|e| to_py_err(py, &e))
    }
}

/// The decoded claims of a `WWW-Authenticate` claims challenge, or `None` (the HTTP adapters' test).
#[pyfunction]
fn claims_from_challenge(www_authenticate: &str) -> Option<String> {
    entra_token::challenge::claims_from_challenge(www_authenticate)
}

/// The process-wide cache's counters.
#[pyfunction]
fn cache_stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let stats = entra_token::TokenCache::global().stats();
    let dict = PyDict::new(py);
    for (k, v) in [
        ("hits", stats.hits),
        ("misses", stats.misses),
        ("fetches", stats.fetches),
        ("refreshes", stats.refreshes),
        ("refresh_failures", stats.refresh_failures),
        ("evictions", stats.evictions),
        ("uncacheable", stats.uncacheable),
        ("entries", stats.entries),
    ] {
        dict.set_item(k, v)?;
    }
    Ok(dict)
}

/// Empties the process-wide cache (tests, and after rotating credentials).
#[pyfunction]
fn clear_cache() {
    entra_token::TokenCache::global().clear();
}

/// A call that does nothing: the benchmark's floor for crossing into Rust.
#[pyfunction]
fn _noop() {}

/// Moves pending core log events into Python's `logging` (the Python side calls it too).
#[pyfunction]
fn _forward_logs(py: Python<'_>) {
    logs::forward(py);
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let version = m.py().version_info();
    entra_token::http::set_runtime(&format!("python/{}.{}", version.major, version.minor));
    logs::install();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyAccessToken>()?;
    m.add_class::<Credential>()?;
    m.add_class::<ClientSecretCredentialPy>()?;
    m.add_class::<CertificateCredentialPy>()?;
    m.add_class::<ClientAssertionCredentialPy>()?;
    m.add_class::<ManagedIdentityCredentialPy>()?;
    m.add_class::<WorkloadIdentityCredentialPy>()?;
    m.add_class::<DefaultAzureCredentialPy>()?;
    m.add_class::<ChainedTokenCredentialPy>()?;
    m.add_class::<EnvironmentCredentialPy>()?;
    m.add_class::<AzureCliCredentialPy>()?;
    m.add_class::<AzureDeveloperCliCredentialPy>()?;
    m.add_class::<DownstreamApisPy>()?;
    m.add_function(wrap_pyfunction!(credential_from_config, m)?)?;
    m.add_function(wrap_pyfunction!(claims_from_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(cache_stats, m)?)?;
    m.add_function(wrap_pyfunction!(clear_cache, m)?)?;
    m.add_function(wrap_pyfunction!(_noop, m)?)?;
    m.add_function(wrap_pyfunction!(_forward_logs, m)?)?;
    Ok(())
}
