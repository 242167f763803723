//! The Node face of the entra-token core (loaded by `lib/index.js`, which gives it
//! @azure/identity's shapes). It translates arguments, tokens and errors, and nothing more.
//!
//! `lookup` is the cache-hit path: synchronous, on the JS thread, no tokio. `fetch` runs a miss
//! on the core's shared runtime and resolves to a token or an error description (never
//! rejects: the JS side turns descriptions into its error classes, and a Rust panic into an
//! `EntraTokenError`).

use entra_token::{
    AccessToken, AnyCredential, Authority, CertificateInput, CertificateOptions, ClientAssertionCredential, ClientCertificateCredential, ClientOptions, ClientSecretCredential,
    Error, ManagedIdentityCredential, ManagedIdentityOptions, ScopeQuery, Secret, TokenCredential, TokenRequest, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityOptions,
};
use futures_util::FutureExt;
use napi::{Env, Status};
use napi::bindgen_prelude::{Buffer, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

type Fetch = Pin<Box<dyn Future<Output = entra_token::Result<AccessToken>> + Send>>;

/// The credential behind a binding object; the dispatch lives in core (`AnyCredential`).
struct Inner(Arc<AnyCredential>);

impl Inner {
    fn new(credential: impl Into<AnyCredential>) -> Self {
        Inner(Arc::new(credential.into()))
    }

    fn lookup(&self, request: &TokenRequest) -> Option<AccessToken> {
        self.0.get_token_cached(request)
    }

    fn fetch(&self, request: TokenRequest) -> Fetch {
        let credential = self.0.clone();
        Box::pin(async move { credential.get_token(&request).await })
    }

    fn describe(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// A token as the JS side receives it (times in Unix seconds).
#[napi(object)]
pub struct NativeToken {
    pub token: String,
    pub expires_on: f64,
    pub refresh_on: Option<f64>,
    pub token_type: String,
}

fn native_token(token: &AccessToken) -> NativeToken {
    NativeToken {
        token: token.token().expose_secret().to_owned(),
        expires_on: token.expires_on() as f64,
        refresh_on: token.refresh_on().map(|r| r as f64),
        token_type: token.token_type().to_owned(),
    }
}

/// A process-unique id per token, kept beside the cached token.
fn token_id(token: &AccessToken) -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    let slot = token.binding_slot().get_or_init(|| Box::new(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    slot.downcast_ref::<i64>().copied().unwrap_or(0)
}

/// Everything the core error carries.
#[napi(object)]
pub struct NativeError {
    pub kind: String,
    pub message: String,
    pub credential: String,
    pub status: Option<u32>,
    pub aadsts_code: Option<u32>,
    pub oauth_error: Option<String>,
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
    pub retryable: bool,
}

fn native_error(error: &Error) -> NativeError {
    NativeError {
        kind: error.kind_code().to_owned(),
        message: error.to_string(),
        credential: error.credential().to_owned(),
        status: error.status().map(u32::from),
        aadsts_code: error.aadsts_code(),
        oauth_error: error.oauth_error().map(str::to_owned),
        correlation_id: error.correlation_id().map(str::to_owned),
        request_id: error.request_id().map(str::to_owned),
        retryable: error.is_retryable(),
    }
}

fn internal_error(what: String) -> NativeError {
    NativeError {
        kind: "internal".into(),
        message: format!("internal error in entra-token (please report it): {what}"),
        credential: String::new(),
        status: None,
        aadsts_code: None,
        oauth_error: None,
        correlation_id: None,
        request_id: None,
        retryable: false,
    }
}

/// A token or an error: `fetch` resolves to one of them.
#[napi(object)]
pub struct NativeOutcome {
    pub token: Option<NativeToken>,
    pub error: Option<NativeError>,
}

/// @azure/identity's `DefaultAzureCredentialOptions`.
#[napi(object)]
#[derive(Default)]
pub struct NativeDefaultOptions {
    pub authority_host: Option<String>,
    pub additionally_allowed_tenants: Option<Vec<String>>,
    pub managed_identity_client_id: Option<String>,
    pub managed_identity_resource_id: Option<String>,
    pub workload_identity_client_id: Option<String>,
    pub tenant_id: Option<String>,
    pub process_timeout_in_ms: Option<f64>,
    pub required_env_vars: Option<Vec<String>>,
}

/// Options every credential takes.
#[napi(object)]
pub struct NativeOptions {
    pub authority_host: Option<String>,
    pub additionally_allowed_tenants: Option<Vec<String>>,
}

#[allow(clippy::result_large_err, reason = "NativeError is what JS receives; it is built only on a refused option")]
fn client_options(options: Option<NativeOptions>) -> Result<ClientOptions, NativeError> {
    let mut client = ClientOptions::default();
    if let Some(options) = options {
        client.additionally_allowed_tenants = options.additionally_allowed_tenants.unwrap_or_default();
        if let Some(host) = options.authority_host {
            let url = if host.contains("://") { host } else { format!("https://{host}") };
            client.authority = Some(Authority::entra(&url).map_err(|message| native_error(&Error::Configuration { credential: "authorityHost", message }))?);
        }
    }
    Ok(client)
}

/// Construction errors travel as JSON in the thrown error's message; the JS side rebuilds them.
fn throw(error: NativeError) -> napi::Error {
    let json = format!(
        "{{\"kind\":{},\"message\":{},\"credential\":{}}}",
        json_string(&error.kind),
        json_string(&error.message),
        json_string(&error.credential)
    );
    napi::Error::new(Status::InvalidArg, format!("entra-token:{json}"))
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn core<T>(result: entra_token::Result<T>) -> napi::Result<T> {
    result.map_err(|e| throw(native_error(&e)))
}

fn request(scopes: Vec<String>, claims: Option<String>, tenant_id: Option<String>, enable_cae: Option<bool>, rejected_token: Option<String>) -> TokenRequest {
    let mut request = TokenRequest::new(scopes).with_cae(enable_cae.unwrap_or(false));
    if let Some(claims) = claims {
        request = request.with_claims(claims);
    }
    if let Some(tenant) = tenant_id {
        request = request.with_tenant(tenant);
    }
    if let Some(rejected) = rejected_token {
        request = request.with_rejected_token(rejected);
    }
    request
}

/// The JS assertion callback: called with no arguments, resolves to the assertion. Weak, so a
/// credential does not keep the process alive.
type AssertionFn = ThreadsafeFunction<(), Promise<String>, (), Status, false, true>;

/// One credential of any kind.
#[napi]
pub struct NativeCredential {
    inner: Inner,
    /// The token the last `lookupOneId` hit found, for `lastHitPacked` to describe when the JS
    /// side does not know its id yet: a second lookup would count a second hit. Only the JS
    /// thread touches it (the lock is never contended); `fetch` needs the struct to be `Sync`.
    last_hit: Mutex<Option<AccessToken>>,
}

impl NativeCredential {
    fn wrap(inner: Inner) -> Self {
        NativeCredential { inner, last_hit: Mutex::new(None) }
    }
}

/// A developer-tool timeout in milliseconds (@azure/identity's `processTimeoutInMs`); what no
/// `Duration` can hold (negative, NaN, astronomically large) is refused here, zero by the core.
fn process_timeout_ms(credential: &'static str, ms: Option<f64>) -> napi::Result<Option<std::time::Duration>> {
    ms.map(|ms| {
        std::time::Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
            let message = format!("processTimeoutInMs must be a positive number, not {ms}");
            throw(native_error(&Error::Configuration { credential, message }))
        })
    })
    .transpose()
}

#[napi]
impl NativeCredential {
    #[napi(factory)]
    pub fn client_secret(tenant_id: String, client_id: String, client_secret: String, options: Option<NativeOptions>) -> napi::Result<Self> {
        let options = client_options(options).map_err(throw)?;
        let credential = core(ClientSecretCredential::with_options(&tenant_id, &client_id, Secret::new(client_secret), options))?;
        Ok(NativeCredential::wrap(Inner::new(credential)))
    }

    #[napi(factory)]
    pub fn client_certificate(
        tenant_id: String,
        client_id: String,
        certificate_path: Option<String>,
        certificate: Option<Buffer>,
        password: Option<String>,
        send_certificate_chain: Option<bool>,
        options: Option<NativeOptions>,
    ) -> napi::Result<Self> {
        let password = password.map(Secret::new);
        let input = match (certificate_path, certificate) {
            (Some(path), None) => CertificateInput::File { path: path.into(), password },
            (None, Some(data)) => CertificateInput::Bytes { data: data.to_vec(), password },
            _ => {
                let message = "give exactly one of certificatePath and certificate".to_owned();
                return Err(throw(native_error(&Error::Configuration { credential: "ClientCertificateCredential", message })));
            }
        };
        let options = CertificateOptions { client: client_options(options).map_err(throw)?, send_certificate_chain: send_certificate_chain.unwrap_or(false), ..Default::default() };
        let credential = core(ClientCertificateCredential::new(&tenant_id, &client_id, input, options))?;
        Ok(NativeCredential::wrap(Inner::new(credential)))
    }

    #[napi(factory)]
    pub fn client_assertion(tenant_id: String, client_id: String, callback: AssertionFn, options: Option<NativeOptions>) -> napi::Result<Self> {
        let callback = Arc::new(callback);
        let options = client_options(options).map_err(throw)?;
        let credential = ClientAssertionCredential::new(
            &tenant_id,
            &client_id,
            move |_context| {
                let callback = callback.clone();
                async move {
                    let promise = callback.call_async(()).await.map_err(|e| format!("the assertion callback could not be called: {e}"))?;
                    promise.await.map_err(|e| format!("the assertion callback failed: {}", e.reason))
                }
            },
            options,
        );
        Ok(NativeCredential::wrap(Inner::new(core(credential)?)))
    }

    #[napi(factory)]
    pub fn managed_identity(
        client_id: Option<String>,
        object_id: Option<String>,
        resource_id: Option<String>,
        app_service_api_version: Option<String>,
        _options: Option<NativeOptions>,
    ) -> napi::Result<Self> {
        let mut ids: Vec<UserAssignedId> = Vec::new();
        ids.extend(client_id.map(UserAssignedId::ClientId));
        ids.extend(object_id.map(UserAssignedId::ObjectId));
        ids.extend(resource_id.map(UserAssignedId::ResourceId));
        if ids.len() > 1 {
            let message = "give at most one of clientId, objectId and resourceId".to_owned();
            return Err(throw(native_error(&Error::Configuration { credential: "ManagedIdentityCredential", message })));
        }
        let app_service_api_version = core(app_service_api_version.as_deref().map(str::parse).transpose())?.unwrap_or_default();
        let options = ManagedIdentityOptions { user_assigned_id: ids.pop(), app_service_api_version, ..ManagedIdentityOptions::default() };
        Ok(NativeCredential::wrap(Inner::new(core(ManagedIdentityCredential::new(options))?)))
    }

    #[napi(factory)]
    pub fn workload_identity(tenant_id: Option<String>, client_id: Option<String>, token_file_path: Option<String>, options: Option<NativeOptions>) -> napi::Result<Self> {
        let options = WorkloadIdentityOptions { tenant_id, client_id, token_file_path: token_file_path.map(Into::into), client: client_options(options).map_err(throw)?, ..Default::default() };
        Ok(NativeCredential::wrap(Inner::new(core(WorkloadIdentityCredential::new(options))?)))
    }

    /// The hit path: the id of the cached token for one scope (-1 on a miss). The JS side keeps
    /// one `AccessToken` object per id, so a hit builds no object and copies no token text.
    #[napi]
    pub fn lookup_one_id(&self, scope: String) -> i64 {
        // Borrowed: no request (a Vec and the scope moved into it) per hit.
        let found = self.inner.0.get_token_cached(&ScopeQuery::new(&[scope.as_str()]));
        let id = found.as_ref().map_or(-1, token_id);
        *self.last_hit.lock().unwrap_or_else(|p| p.into_inner()) = found;
        id
    }

    /// The token the last `lookupOneId` found, packed into one string, or null:
    /// `"<id> <expiresOn> <refreshOn or -> <tokenType>\n<token>"`. Building a JS object through
    /// napi costs ~1.3 µs (six property sets, two strings); one string and a split in JS cost
    /// a fraction of that, which matters when a hit misses the JS side's object memo.
    #[napi]
    pub fn last_hit_packed(&self) -> Option<String> {
        let last = self.last_hit.lock().unwrap_or_else(|p| p.into_inner()).take();
        last.map(|t| {
            let refresh = t.refresh_on().map_or_else(|| "-".to_owned(), |r| r.to_string());
            let secret = t.token().expose_secret();
            let mut packed = format!("{} {} {} {}\n", token_id(&t), t.expires_on(), refresh, t.token_type());
            packed.reserve_exact(secret.len());
            packed.push_str(secret);
            packed
        })
    }

    /// A chain of the given credentials (the caller's own objects, sharing their caches); the
    /// chain logic is the core's.
    #[napi(factory)]
    pub fn chained(links: napi::bindgen_prelude::Array<'_>) -> napi::Result<Self> {
        let mut credentials = Vec::with_capacity(links.len() as usize);
        for index in 0..links.len() {
            let Ok(Some(link)) = links.get_ref::<NativeCredential>(index) else {
                return Err(napi::Error::new(Status::InvalidArg, format!("link {index} is not an entra-token credential")));
            };
            credentials.push(link.inner.0.clone());
        }
        Ok(NativeCredential::wrap(Inner::new(core(AnyCredential::chain_of(credentials))?)))
    }

    #[napi(factory)]
    pub fn default_azure(options: Option<NativeDefaultOptions>) -> napi::Result<Self> {
        let o = options.unwrap_or_default();
        if o.managed_identity_client_id.is_some() && o.managed_identity_resource_id.is_some() {
            let message = "give at most one of managedIdentityClientId and managedIdentityResourceId".to_owned();
            return Err(throw(native_error(&Error::Configuration { credential: "DefaultAzureCredential", message })));
        }
        let process_timeout = process_timeout_ms("DefaultAzureCredential", o.process_timeout_in_ms)?;
        let client = client_options(Some(NativeOptions { authority_host: o.authority_host, additionally_allowed_tenants: o.additionally_allowed_tenants })).map_err(throw)?;
        let options = entra_token::DefaultAzureCredentialOptions {
            client,
            managed_identity: o.managed_identity_client_id.map(UserAssignedId::ClientId).or(o.managed_identity_resource_id.map(UserAssignedId::ResourceId)),
            workload_identity_client_id: o.workload_identity_client_id,
            tenant_id: o.tenant_id,
            process_timeout,
            required_env_vars: o.required_env_vars.unwrap_or_default(),
            ..Default::default()
        };
        Ok(NativeCredential::wrap(Inner::new(core(entra_token::DefaultAzureCredential::with_options(options))?)))
    }

    /// The links of a chain, in order; empty for other credentials.
    #[napi]
    pub fn chain_links(&self) -> Vec<&'static str> {
        self.inner.0.chain_links()
    }

    #[napi(factory)]
    pub fn environment() -> napi::Result<Self> {
        // Built even when the environment names no credential; getToken then rejects with
        // CredentialUnavailableError, as @azure/identity's does (chains count on it).
        let credential = entra_token::AnyCredential::unavailable_until_used(entra_token::EnvironmentCredential::new(ClientOptions::default()));
        Ok(NativeCredential::wrap(Inner::new(core(credential)?)))
    }

    #[napi(factory)]
    pub fn azure_cli(tenant_id: Option<String>, process_timeout_in_ms: Option<f64>) -> napi::Result<Self> {
        let credential = match process_timeout_ms("AzureCliCredential", process_timeout_in_ms)? {
            Some(timeout) => core(entra_token::AzureCliCredential::with_process_timeout(tenant_id, ClientOptions::default(), timeout))?,
            None => entra_token::AzureCliCredential::new(tenant_id, ClientOptions::default()),
        };
        Ok(NativeCredential::wrap(Inner::new(credential)))
    }

    #[napi(factory)]
    pub fn azure_developer_cli(tenant_id: Option<String>, process_timeout_in_ms: Option<f64>) -> napi::Result<Self> {
        let credential = match process_timeout_ms("AzureDeveloperCliCredential", process_timeout_in_ms)? {
            Some(timeout) => core(entra_token::AzureDeveloperCliCredential::with_process_timeout(tenant_id, ClientOptions::default(), timeout))?,
            None => entra_token::AzureDeveloperCliCredential::new(tenant_id, ClientOptions::default()),
        };
        Ok(NativeCredential::wrap(Inner::new(credential)))
    }

    /// The credential an appsettings.json file describes for `api`.
    #[napi(factory)]
    pub fn from_config(path: String, api: Option<String>) -> napi::Result<Self> {
        let settings = core(entra_token::config::AppSettings::from_file(path.as_ref(), &entra_token::Env::process()))?;
        Ok(NativeCredential::wrap(Inner::new(core(settings.credential_for(api.as_deref(), &ClientOptions::default()))?)))
    }

    /// A cached token for one scope, or null; synchronous.
    #[napi]
    pub fn lookup_one(&self, scope: String) -> Option<NativeToken> {
        self.inner.lookup(&TokenRequest::new([scope])).map(|t| native_token(&t))
    }

    /// A cached token, or null; synchronous.
    #[napi]
    pub fn lookup(&self, scopes: Vec<String>, claims: Option<String>, tenant_id: Option<String>, enable_cae: Option<bool>) -> Option<NativeToken> {
        self.inner.lookup(&request(scopes, claims, tenant_id, enable_cae, None)).map(|t| native_token(&t))
    }

    /// A token from the cache or the network, on the core's runtime (never blocks the JS thread).
    #[napi]
    pub async fn fetch(&self, scopes: Vec<String>, claims: Option<String>, tenant_id: Option<String>, enable_cae: Option<bool>, rejected_token: Option<String>) -> NativeOutcome {
        let fetch = self.inner.fetch(request(scopes, claims, tenant_id, enable_cae, rejected_token));
        let task = entra_token::runtime::shared().spawn(std::panic::AssertUnwindSafe(fetch).catch_unwind());
        match task.await {
            Ok(Ok(Ok(token))) => NativeOutcome { token: Some(native_token(&token)), error: None },
            Ok(Ok(Err(error))) => NativeOutcome { token: None, error: Some(native_error(&error)) },
            Ok(Err(panic)) => {
                let text = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
                NativeOutcome { token: None, error: Some(internal_error(text)) }
            }
            Err(join) => NativeOutcome { token: None, error: Some(internal_error(join.to_string())) },
        }
    }

    /// The credential without its secrets.
    #[napi]
    pub fn describe(&self) -> String {
        self.inner.describe()
    }

    /// `[kind, endpoint, reason]` for a managed identity, else null.
    #[napi]
    pub fn source(&self) -> Option<Vec<String>> {
        self.inner.0.managed_identity_source().map(|s| vec![s.kind.as_str().to_owned(), s.endpoint.clone(), s.reason.clone()])
    }
}

/// A downstream API's answer.
#[napi(object)]
pub struct NativeApiResponse {
    pub status: u32,
    pub headers: Vec<Vec<String>>,
    pub body: Buffer,
}

/// A downstream API call's outcome: a response or an error description.
#[napi(object)]
pub struct NativeApiOutcome {
    pub response: Option<NativeApiResponse>,
    pub json: Option<String>,
    pub error: Option<NativeError>,
}

/// The downstream APIs of an appsettings.json file.
#[napi]
pub struct NativeDownstreamApis {
    apis: Arc<entra_token::downstream::DownstreamApis>,
}

#[napi]
impl NativeDownstreamApis {
    #[napi(constructor)]
    pub fn new(path: String) -> napi::Result<Self> {
        let apis = core(entra_token::downstream::DownstreamApis::from_file(path.as_ref(), ClientOptions::default()))?;
        Ok(NativeDownstreamApis { apis: Arc::new(apis) })
    }

    /// Sends the request with an app token for the API's scopes; answers one claims challenge.
    #[napi]
    pub async fn call(&self, api: String, method: Option<String>, path: Option<String>, body: Option<Buffer>, content_type: Option<String>) -> NativeApiOutcome {
        let apis = self.apis.clone();
        let body = body.map(|b| b.to_vec());
        let task = entra_token::runtime::shared().spawn(async move {
            let content_type = content_type.unwrap_or_else(|| "application/json".into());
            apis.call(&api, method.as_deref(), path.as_deref(), body.map(|b| (content_type.as_str(), b))).await
        });
        match task.await {
            Ok(Ok(r)) => NativeApiOutcome {
                response: Some(NativeApiResponse { status: u32::from(r.status), headers: r.headers.into_iter().map(|(k, v)| vec![k, v]).collect(), body: r.body.into() }),
                json: None,
                error: None,
            },
            Ok(Err(e)) => NativeApiOutcome { response: None, json: None, error: Some(native_error(&e)) },
            Err(join) => NativeApiOutcome { response: None, json: None, error: Some(internal_error(join.to_string())) },
        }
    }

    /// Sends JSON text (if any); resolves to the response JSON text, or an error (the core
    /// turns an error status into a `downstream_api` error).
    #[napi]
    pub async fn call_json(&self, api: String, method: Option<String>, path: Option<String>, body: Option<String>) -> NativeApiOutcome {
        let apis = self.apis.clone();
        let body: Option<serde_json::Value> = match body.map(|b| serde_json::from_str(&b)) {
            Some(Err(e)) => return NativeApiOutcome { response: None, json: None, error: Some(native_error(&Error::Configuration { credential: "DownstreamApi", message: format!("body is not JSON: {e}") })) },
            Some(Ok(v)) => Some(v),
            None => None,
        };
        let task = entra_token::runtime::shared().spawn(async move {
            apis.call_json::<serde_json::Value>(&api, method.as_deref().unwrap_or("GET"), path.as_deref(), body.as_ref()).await
        });
        match task.await {
            Ok(Ok(v)) => NativeApiOutcome { response: None, json: Some(v.to_string()), error: None },
            Ok(Err(e)) => NativeApiOutcome { response: None, json: None, error: Some(native_error(&e)) },
            Err(join) => NativeApiOutcome { response: None, json: None, error: Some(internal_error(join.to_string())) },
        }
    }
}

/// The decoded claims of a `WWW-Authenticate` claims challenge, or null.
#[napi]
pub fn claims_from_challenge(www_authenticate: String) -> Option<String> {
    entra_token::challenge::claims_from_challenge(&www_authenticate)
}

/// The process-wide cache's counters.
#[napi(object)]
pub struct NativeCacheStats {
    pub hits: f64,
    pub misses: f64,
    pub fetches: f64,
    pub refreshes: f64,
    pub refresh_failures: f64,
    pub evictions: f64,
    pub uncacheable: f64,
    pub entries: f64,
}

#[napi]
pub fn cache_stats() -> NativeCacheStats {
    let s = entra_token::TokenCache::global().stats();
    NativeCacheStats {
        hits: s.hits as f64,
        misses: s.misses as f64,
        fetches: s.fetches as f64,
        refreshes: s.refreshes as f64,
        refresh_failures: s.refresh_failures as f64,
        evictions: s.evictions as f64,
        uncacheable: s.uncacheable as f64,
        entries: s.entries as f64,
    }
}

/// Empties the process-wide cache.
#[napi]
pub fn clear_cache() {
    entra_token::TokenCache::global().clear();
}

/// A call that does nothing: the benchmark's floor.
#[napi]
pub fn noop() {}

/// A call that does nothing and returns an already resolved Promise: the floor a hit is
/// measured against (the benchmark), built with the plain Node-API calls.
#[napi]
pub fn noop_resolved<'env>(env: &'env Env) -> napi::Result<napi::bindgen_prelude::Unknown<'env>> {
    use napi::bindgen_prelude::FromNapiValue;
    let raw_env = env.raw();
    let mut deferred = std::ptr::null_mut();
    let mut promise = std::ptr::null_mut();
    let mut undefined = std::ptr::null_mut();
    // SAFETY: plain Node-API calls on the JS thread with the env napi-rs handed us; every
    // out-pointer is a valid local.
    unsafe {
        napi::check_status!(napi::sys::napi_create_promise(raw_env, &mut deferred, &mut promise))?;
        napi::check_status!(napi::sys::napi_get_undefined(raw_env, &mut undefined))?;
        napi::check_status!(napi::sys::napi_resolve_deferred(raw_env, deferred, undefined))?;
        napi::bindgen_prelude::Unknown::from_napi_value(raw_env, promise)
    }
}

/// Names the runtime in the User-Agent (`node/20.20.2`); the JS side calls it once at load.
#[napi]
pub fn set_runtime(runtime: String) {
    entra_token::http::set_runtime(&runtime);
}
