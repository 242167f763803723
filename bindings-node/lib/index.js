'use strict';
// entra-token for Node: @azure/identity's credential names and shapes over one Rust core.
// Everything here is translation; caching, retries and protocol live in the core.

const util = require('node:util');
const native = require('../native.js');

native.setRuntime(`node/${process.versions.node}`);

const REDACTED = '[redacted]';

/** An access token in @azure/core-auth's shape; redacts itself in inspect and JSON. */
class AccessToken {
  constructor(raw) {
    this.token = raw.token;
    this.expiresOnTimestamp = raw.expiresOn * 1000;
    this.refreshAfterTimestamp = raw.refreshOn == null ? undefined : raw.refreshOn * 1000;
    this.tokenType = raw.tokenType;
  }

  toJSON() {
    return { token: REDACTED, expiresOnTimestamp: this.expiresOnTimestamp, refreshAfterTimestamp: this.refreshAfterTimestamp, tokenType: this.tokenType };
  }

  [util.inspect.custom]() {
    return `AccessToken { token: '${REDACTED}', expiresOnTimestamp: ${this.expiresOnTimestamp}, tokenType: '${this.tokenType}' }`;
  }
}

/** Base of every entra-token error; `code` is the core's stable error kind. */
class EntraTokenError extends Error {
  constructor(fields) {
    super(fields.message);
    this.name = 'EntraTokenError';
    this.code = fields.kind;
    this.credential = fields.credential || undefined;
    this.status = fields.status ?? undefined;
    this.statusCode = this.status; // @azure/identity's AuthenticationError calls it statusCode
    this.aadstsCode = fields.aadstsCode ?? undefined;
    this.oauthError = fields.oauthError ?? undefined;
    this.correlationId = fields.correlationId ?? undefined;
    this.requestId = fields.requestId ?? undefined;
    this.retryable = Boolean(fields.retryable);
  }
}

function named(name, Base) {
  const Class = class extends Base {
    constructor(fields) {
      super(fields);
      this.name = name;
    }
  };
  Object.defineProperty(Class, 'name', { value: name });
  return Class;
}

// Names follow @azure/identity, so its ChainedTokenCredential moves on after a
// CredentialUnavailableError and stops at an AuthenticationError, as it does for its own.
const AuthenticationError = named('AuthenticationError', EntraTokenError);
const CredentialUnavailableError = named('CredentialUnavailableError', EntraTokenError);
const TransportError = named('TransportError', EntraTokenError);
const RequestTimeoutError = named('RequestTimeoutError', TransportError);
const InvalidResponseError = named('InvalidResponseError', EntraTokenError);
const ConfigurationError = named('ConfigurationError', EntraTokenError);
const AssertionCallbackError = named('AssertionCallbackError', EntraTokenError);
const DownstreamApiError = named('DownstreamApiError', EntraTokenError);

const BY_KIND = {
  authentication_failed: AuthenticationError,
  credential_unavailable: CredentialUnavailableError,
  transport: TransportError,
  timeout: RequestTimeoutError,
  invalid_response: InvalidResponseError,
  configuration: ConfigurationError,
  certificate: ConfigurationError,
  assertion_callback: AssertionCallbackError,
  downstream_api: DownstreamApiError,
};

function toError(fields) {
  const Class = BY_KIND[fields.kind] || EntraTokenError;
  return new Class(fields);
}

/** Runs a native constructor, turning its errors into entra-token error classes. */
function build(make) {
  try {
    return make();
  } catch (e) {
    const text = String(e && e.message);
    const at = text.indexOf('entra-token:');
    if (at >= 0) throw toError(JSON.parse(text.slice(at + 'entra-token:'.length)));
    throw e;
  }
}

function nativeOptions(options) {
  if (!options) return undefined;
  return { authorityHost: options.authorityHost, additionallyAllowedTenants: options.additionallyAllowedTenants };
}

function abortError(signal) {
  const reason = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}

function untilAborted(promise, signal) {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const kNative = Symbol('entraTokenNative');

// One AccessToken object per cached token, by the id the core keeps beside it: a hit returns
// the same object without copying the token text across the boundary. This is object identity,
// not a token cache: the core decides validity on every call. Bounded: past the limit the
// oldest object is dropped (a later hit on it builds a new one, ~1 µs). 1,024 covers the hot
// tokens of any service while keeping this second copy of token text to about 1 MB; the core's
// copy is the only one kept for the rest (bench/README.md, memory per entry).
const tokensById = new Map();
const MAX_REMEMBERED = 1_024;

function rememberedToken(handle, scope) {
  const id = handle.lookupOneId(scope);
  if (id < 0) return null;
  const known = tokensById.get(id);
  if (known !== undefined) return known;
  // The token lookupOneId just found, as one string across the boundary (see lastHitPacked in
  // src/lib.rs): "id expires refresh type\ntoken". No second lookup, so one hit counts once.
  const packed = handle.lastHitPacked();
  if (packed === null) return null;
  const newline = packed.indexOf('\n');
  const [packedId, expiresOn, refreshOn, tokenType] = packed.slice(0, newline).split(' ');
  const token = new AccessToken({
    token: packed.slice(newline + 1),
    expiresOn: Number(expiresOn),
    refreshOn: refreshOn === '-' ? null : Number(refreshOn),
    tokenType,
  });
  if (tokensById.size >= MAX_REMEMBERED) tokensById.delete(tokensById.keys().next().value);
  tokensById.set(Number(packedId), token);
  return token;
}

/** What every credential shares: @azure/core-auth's `getToken`. */
class Credential {
  constructor(handle) {
    Object.defineProperty(this, kNative, { value: handle, enumerable: false });
  }

  /**
   * @param {string | string[]} scopes
   * @param {{ claims?: string, tenantId?: string, enableCae?: boolean, abortSignal?: AbortSignal }} [options]
   */
  getToken(scopes, options) {
    const handle = this[kNative];
    const list = typeof scopes === 'string' ? [scopes] : scopes;
    // The hit path: a synchronous lookup on this thread and an already resolved Promise.
    if (options === undefined || (!options.claims && !options.tenantId && !options.enableCae)) {
      if (list.length === 1) {
        const hit = rememberedToken(handle, list[0]);
        if (hit !== null) return Promise.resolve(hit);
      } else {
        const hit = handle.lookup(list);
        if (hit !== null) return Promise.resolve(new AccessToken(hit));
      }
    } else if (!options.claims) {
      const hit = handle.lookup(list, null, options.tenantId ?? null, Boolean(options.enableCae));
      if (hit !== null) return Promise.resolve(new AccessToken(hit));
    }
    return this.#fetch(handle, list, options);
  }

  async #fetch(handle, list, options) {
    const signal = options && options.abortSignal;
    if (signal && signal.aborted) throw abortError(signal);
    // An aborted caller stops waiting; the request itself may still serve other callers.
    const pending = handle.fetch(list, options?.claims ?? null, options?.tenantId ?? null, Boolean(options?.enableCae), options?.rejectedToken ?? null);
    const outcome = await untilAborted(pending, signal);
    if (outcome.error) throw toError(outcome.error);
    return new AccessToken(outcome.token);
  }

  [util.inspect.custom]() {
    return `${this.constructor.name} ${this[kNative].describe()}`;
  }

  toJSON() {
    return { credential: this.constructor.name };
  }
}

/** `new ClientSecretCredential(tenantId, clientId, clientSecret, options?)`. */
class ClientSecretCredential extends Credential {
  constructor(tenantId, clientId, clientSecret, options) {
    super(build(() => native.NativeCredential.clientSecret(tenantId, clientId, clientSecret, nativeOptions(options))));
  }
}

/**
 * `new ClientCertificateCredential(tenantId, clientId, certificatePath | { certificatePath } | { certificate }, options?)`:
 * `certificate` is PEM text or a PEM/PFX Buffer; `certificatePassword` opens a PFX.
 */
class ClientCertificateCredential extends Credential {
  constructor(tenantId, clientId, certificate, options) {
    const spec = typeof certificate === 'string' ? { certificatePath: certificate } : certificate || {};
    const data = spec.certificate === undefined ? null : Buffer.isBuffer(spec.certificate) ? spec.certificate : Buffer.from(String(spec.certificate));
    super(
      build(() =>
        native.NativeCredential.clientCertificate(
          tenantId,
          clientId,
          spec.certificatePath ?? null,
          data,
          spec.certificatePassword ?? null,
          Boolean(options && options.sendCertificateChain),
          nativeOptions(options),
        ),
      ),
    );
  }
}

/** `new ClientAssertionCredential(tenantId, clientId, getAssertion, options?)`; `getAssertion` may be async. */
class ClientAssertionCredential extends Credential {
  constructor(tenantId, clientId, getAssertion, options) {
    if (typeof getAssertion !== 'function') throw new TypeError('getAssertion must be a function returning the assertion');
    const callback = async () => String(await getAssertion());
    super(build(() => native.NativeCredential.clientAssertion(tenantId, clientId, callback, nativeOptions(options))));
  }
}

/** `new ManagedIdentityCredential()`, `(clientId)`, or `({ clientId } | { resourceId } | { objectId })`. */
class ManagedIdentityCredential extends Credential {
  constructor(idOrOptions, options) {
    const spec = typeof idOrOptions === 'string' ? { clientId: idOrOptions, ...(options || {}) } : idOrOptions || {};
    super(
      build(() =>
        native.NativeCredential.managedIdentity(spec.clientId ?? null, spec.objectId ?? null, spec.resourceId ?? null, spec.appServiceApiVersion ?? null, nativeOptions(spec)),
      ),
    );
  }

  /** `{ kind, endpoint, reason }`: which source is used, and why. */
  source() {
    const [kind, endpoint, reason] = this[kNative].source();
    return { kind, endpoint, reason };
  }
}

/** `new WorkloadIdentityCredential({ tenantId?, clientId?, tokenFilePath?, authorityHost? })`; gaps come from AZURE_* variables. */
class WorkloadIdentityCredential extends Credential {
  constructor(options) {
    const o = options || {};
    super(build(() => native.NativeCredential.workloadIdentity(o.tenantId ?? null, o.clientId ?? null, o.tokenFilePath ?? null, nativeOptions(o))));
  }
}

/**
 * `new DefaultAzureCredential(options?)`: environment → workload identity → managed identity → Azure CLI →
 * Azure Developer CLI (`AZURE_TOKEN_CREDENTIALS` narrows it), with @azure/identity's options.
 */
class DefaultAzureCredential extends Credential {
  constructor(options) {
    const o = options || {};
    // napi objects take undefined, not null, for a missing field.
    const required = o.requiredEnvVars === undefined || o.requiredEnvVars === null ? undefined : [].concat(o.requiredEnvVars);
    super(
      build(() =>
        native.NativeCredential.defaultAzure({
          authorityHost: o.authorityHost ?? undefined,
          additionallyAllowedTenants: o.additionallyAllowedTenants ?? undefined,
          managedIdentityClientId: o.managedIdentityClientId ?? undefined,
          managedIdentityResourceId: o.managedIdentityResourceId ?? undefined,
          workloadIdentityClientId: o.workloadIdentityClientId ?? undefined,
          tenantId: o.tenantId ?? undefined,
          processTimeoutInMs: o.processTimeoutInMs ?? undefined,
          requiredEnvVars: required,
        }),
      ),
    );
  }

  /** The links of the chain, in order. */
  links() {
    return this[kNative].chainLinks();
  }
}

/**
 * `new ChainedTokenCredential(...sources)`: entra-token credentials tried in order, moving on
 * only when one is unavailable here, as @azure/identity's chain does.
 */
class ChainedTokenCredential extends Credential {
  constructor(...sources) {
    for (const source of sources) {
      if (!(source instanceof Credential)) {
        throw new TypeError(`ChainedTokenCredential takes entra-token credentials, not ${source?.constructor?.name ?? typeof source}; @azure/identity's ChainedTokenCredential accepts both`);
      }
    }
    super(build(() => native.NativeCredential.chained(sources.map((s) => s[kNative]))));
  }

  /** The links of the chain, in order. */
  links() {
    return this[kNative].chainLinks();
  }
}

/** `new EnvironmentCredential()`: AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret or certificate. */
class EnvironmentCredential extends Credential {
  constructor() {
    super(build(() => native.NativeCredential.environment()));
  }
}

/** `new AzureCliCredential({ tenantId? })`: the Azure CLI's signed-in account. */
class AzureCliCredential extends Credential {
  constructor(options) {
    super(build(() => native.NativeCredential.azureCli(options?.tenantId ?? null, options?.processTimeoutInMs ?? null)));
  }
}

/** `new AzureDeveloperCliCredential({ tenantId? })`: the Azure Developer CLI's signed-in account. */
class AzureDeveloperCliCredential extends Credential {
  constructor(options) {
    super(build(() => native.NativeCredential.azureDeveloperCli(options?.tenantId ?? null, options?.processTimeoutInMs ?? null)));
  }
}

/** What `credentialFromConfig` returns: the configuration's credentials, tried in order. */
class ConfiguredCredential extends Credential {}

/** The credential an appsettings.json file describes for `api` (a downstream API section). */
function credentialFromConfig(path, api) {
  return new ConfiguredCredential(build(() => native.NativeCredential.fromConfig(path, api ?? null)));
}

/** The downstream APIs of an appsettings.json file (Microsoft.Identity.Web's IDownstreamApi). */
class DownstreamApis {
  #native;

  constructor(path) {
    this.#native = build(() => new native.NativeDownstreamApis(path));
  }

  /** `{ status, headers, body }` with an app token for the API's scopes; answers one claims challenge. */
  async call(api, { method, path, body, contentType } = {}) {
    const data = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const outcome = await this.#native.call(api, method ?? null, path ?? null, data, contentType ?? null);
    if (outcome.error) throw toError(outcome.error);
    const r = outcome.response;
    return { status: r.status, headers: Object.fromEntries(r.headers.map(([k, v]) => [k, v])), body: r.body };
  }

  /** The parsed JSON answer; an error status rejects with DownstreamApiError. */
  async callJson(api, { method, path, body } = {}) {
    const outcome = await this.#native.callJson(api, method ?? null, path ?? null, body === undefined ? null : JSON.stringify(body));
    if (outcome.error) throw toError(outcome.error);
    return JSON.parse(outcome.json);
  }
}

/**
 * A `fetch` that sends the bearer token for `scopes` and, on a 401 claims challenge, retries
 * once with a token satisfying it. Request bodies must be re-sendable (string, Buffer, ...).
 */
function createAuthenticatedFetch(credential, scopes, fetchImpl = globalThis.fetch) {
  return async function authenticatedFetch(input, init = {}) {
    const send = async (token) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token.token}`);
      return fetchImpl(input, { ...init, headers });
    };
    const first = await credential.getToken(scopes, { abortSignal: init.signal ?? undefined });
    const response = await send(first);
    if (response.status !== 401) return response;
    const claims = native.claimsFromChallenge(response.headers.get('www-authenticate') ?? '');
    if (claims === null) return response;
    await response.arrayBuffer().catch(() => undefined); // release the connection
    // The refused token lets managed identity hosts that support revocation mint a new one.
    return send(await credential.getToken(scopes, { claims, rejectedToken: first.token, abortSignal: init.signal ?? undefined }));
  };
}

/**
 * @azure/identity's `getBearerTokenProvider`: a function resolving to a bearer token for
 * `scopes` on each call, for clients that take a token provider (openai's `AzureOpenAI`
 * `azureADTokenProvider`). Works with any @azure/core-auth `TokenCredential`.
 */
function getBearerTokenProvider(credential, scopes, options = {}) {
  return async function getAccessToken() {
    const token = await credential.getToken(scopes, { abortSignal: options.abortSignal });
    if (!token) throw new CredentialUnavailableError({ kind: 'credential_unavailable', message: 'getBearerTokenProvider: the credential returned no token' });
    return token.token;
  };
}

module.exports = {
  AccessToken,
  ClientSecretCredential,
  ClientCertificateCredential,
  ClientAssertionCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  DefaultAzureCredential,
  ChainedTokenCredential,
  EnvironmentCredential,
  AzureCliCredential,
  AzureDeveloperCliCredential,
  credentialFromConfig,
  DownstreamApis,
  DownstreamApiError,
  EntraTokenError,
  AuthenticationError,
  CredentialUnavailableError,
  TransportError,
  RequestTimeoutError,
  InvalidResponseError,
  ConfigurationError,
  AssertionCallbackError,
  createAuthenticatedFetch,
  getBearerTokenProvider,
  claimsFromChallenge: (header) => native.claimsFromChallenge(header),
  cacheStats: () => native.cacheStats(),
  clearCache: () => native.clearCache(),
  _native: native,
};
