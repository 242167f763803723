/**
 * entra-token: Microsoft Entra ID access tokens for Node, from one Rust core.
 *
 * The credentials have @azure/identity's names and constructor shapes and implement
 * @azure/core-auth's `TokenCredential`, so they can be handed to any @azure SDK client:
 *
 * ```ts
 * import { ClientSecretCredential } from "entra-token";
 * const credential = new ClientSecretCredential(tenantId, clientId, secret);
 * const token = await credential.getToken("api://weather/.default");
 * ```
 *
 * Tokens are cached process-wide (also across credentials built per request) and refreshed in
 * the background before they expire; a cache hit resolves without leaving the JS thread.
 */

/** An access token, in @azure/core-auth's `AccessToken` shape. Redacts itself in inspect and JSON. */
export declare class AccessToken {
  /** The bearer token. */
  readonly token: string;
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresOnTimestamp: number;
  /** When a background refresh is due, in milliseconds since the epoch. */
  readonly refreshAfterTimestamp?: number;
  /** `Bearer`. */
  readonly tokenType: "Bearer" | "pop";
  toJSON(): { token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number; tokenType: "Bearer" | "pop" };
}

/** @azure/core-auth's `GetTokenOptions`, the parts entra-token uses. */
export interface GetTokenOptions {
  /** A claims challenge from a resource (JSON); always bypasses the cache. */
  claims?: string;
  /** Another tenant, allowed by `additionallyAllowedTenants`. */
  tenantId?: string;
  /** Ask for a Continuous Access Evaluation capable token. */
  enableCae?: boolean;
  /** With `claims`: the token the resource refused, so managed identity hosts that support
   * revocation (Service Fabric, App Service 2025-03-30) mint a new one. */
  rejectedToken?: string;
  /** Stops waiting (the promise rejects with an AbortError). */
  abortSignal?: AbortSignal;
  [key: string]: unknown;
}

/** Options every credential takes. */
export interface CredentialOptions {
  /** The authority host, such as `https://login.microsoftonline.us`; `AZURE_AUTHORITY_HOST` by default. */
  authorityHost?: string;
  /** Other tenants `getToken` may name (`"*"` for any). */
  additionallyAllowedTenants?: string[];
  /** Accepted for @azure/identity compatibility; entra-token never calls instance discovery. */
  disableInstanceDiscovery?: boolean;
}

/** @azure/core-auth's `TokenCredential`. */
export interface TokenCredential {
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null>;
}

declare abstract class Credential implements TokenCredential {
  /** A token for `scopes`; resolves at once on a cache hit. */
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken>;
}

/** An app registration with a client secret. */
export declare class ClientSecretCredential extends Credential {
  constructor(tenantId: string, clientId: string, clientSecret: string, options?: CredentialOptions);
}

/** Where the certificate comes from: a file (PEM or PFX), or PEM text / a PEM or PFX Buffer. */
export type CertificateSource =
  | string
  | { certificatePath: string; certificatePassword?: string }
  | { certificate: string | Buffer; certificatePassword?: string };

/** Options of {@link ClientCertificateCredential}. */
export interface ClientCertificateCredentialOptions extends CredentialOptions {
  /** Send the certificate chain (`x5c`) for subject name / issuer authentication. */
  sendCertificateChain?: boolean;
}

/** An app registration with a certificate (PS256 client assertions). */
export declare class ClientCertificateCredential extends Credential {
  constructor(tenantId: string, clientId: string, certificate: CertificateSource, options?: ClientCertificateCredentialOptions);
}

/** An app registration whose assertion comes from your callback. */
export declare class ClientAssertionCredential extends Credential {
  constructor(tenantId: string, clientId: string, getAssertion: () => string | Promise<string>, options?: CredentialOptions);
}

/** A user-assigned identity by one of its ids, or nothing for the system-assigned identity. */
export type ManagedIdentityId = { clientId: string } | { resourceId: string } | { objectId: string };

/** Options of {@link ManagedIdentityCredential} beyond the identity. */
export interface ManagedIdentityCredentialOptions extends CredentialOptions {
  /** App Service's api-version; `"2025-03-30"` lets a claims challenge with `rejectedToken` get a fresh token from the host. */
  appServiceApiVersion?: "2019-08-01" | "2025-03-30";
}

/** The managed identity source in use, and why it was picked. */
export interface ManagedIdentitySource {
  kind: "service_fabric" | "app_service" | "azure_ml" | "cloud_shell" | "azure_arc" | "imds";
  endpoint: string;
  reason: string;
}

/** A managed identity of the Azure host (IMDS, App Service, Arc, Service Fabric, Azure ML, Cloud Shell). */
export declare class ManagedIdentityCredential extends Credential {
  constructor(id?: ManagedIdentityId & ManagedIdentityCredentialOptions);
  constructor(options?: ManagedIdentityCredentialOptions);
  constructor(clientId: string, options?: ManagedIdentityCredentialOptions);
  source(): ManagedIdentitySource;
}

/** Options of {@link WorkloadIdentityCredential}; gaps come from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`. */
export interface WorkloadIdentityCredentialOptions extends CredentialOptions {
  tenantId?: string;
  clientId?: string;
  tokenFilePath?: string;
}

/** Workload identity federation (AKS): the projected token file is the client assertion. */
export declare class WorkloadIdentityCredential extends Credential {
  constructor(options?: WorkloadIdentityCredentialOptions);
}

/** environment → workload identity → managed identity → Azure CLI → Azure Developer CLI; `AZURE_TOKEN_CREDENTIALS` (`dev`, `prod`, a name) narrows it. */
export declare class DefaultAzureCredential extends Credential {
  constructor(options?: DefaultAzureCredentialOptions);
  /** The links of the chain, in order. */
  links(): string[];
}

/** entra-token credentials tried in order; moves on only when one is unavailable here. */
export declare class ChainedTokenCredential extends Credential {
  constructor(...sources: Credential[]);
  /** The links of the chain, in order. */
  links(): string[];
}

/** @azure/identity's `DefaultAzureCredentialOptions`. */
export interface DefaultAzureCredentialOptions extends CredentialOptions {
  /** The user-assigned managed identity's client id; `AZURE_CLIENT_ID` by default. */
  managedIdentityClientId?: string;
  /** The user-assigned managed identity's ARM resource id (instead of its client id). */
  managedIdentityResourceId?: string;
  /** The workload identity's client id; `managedIdentityClientId`, then `AZURE_CLIENT_ID`, by default. */
  workloadIdentityClientId?: string;
  /** The tenant for the workload identity and developer tool links; `AZURE_TENANT_ID` by default. */
  tenantId?: string;
  /** How long `az` / `azd` may take, in milliseconds (15,000 by default). */
  processTimeoutInMs?: number;
  /** Environment variables that must be set and non-empty, or the constructor throws. */
  requiredEnvVars?: string | string[];
}

/** AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH. */
export declare class EnvironmentCredential extends Credential {
  constructor();
}

/** The Azure CLI's signed-in account (`az account get-access-token`); its tokens are cached. */
export declare class AzureCliCredential extends Credential {
  /** `processTimeoutInMs`: how long `az` may take (default 15 s). */
  constructor(options?: { tenantId?: string; processTimeoutInMs?: number });
}

/** The Azure Developer CLI's signed-in account (`azd auth token`); its tokens are cached. */
export declare class AzureDeveloperCliCredential extends Credential {
  /** `processTimeoutInMs`: how long `azd` may take (default 15 s). */
  constructor(options?: { tenantId?: string; processTimeoutInMs?: number });
}

/** The credential an appsettings.json file (Microsoft.Identity.Web's shape) describes for a downstream API section. */
export declare function credentialFromConfig(path: string, api?: string): TokenCredential & { getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> };

/** A downstream API's answer. */
export interface DownstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The downstream APIs of an appsettings.json file (Microsoft.Identity.Web's `IDownstreamApi`). */
export declare class DownstreamApis {
  constructor(path: string);
  /** Sends the request with an app token for the API's scopes; answers one claims challenge. */
  call(api: string, options?: { method?: string; path?: string; body?: string | Buffer | object; contentType?: string }): Promise<DownstreamResponse>;
  /** The parsed JSON answer; an error status rejects with {@link DownstreamApiError}. */
  callJson<T = unknown>(api: string, options?: { method?: string; path?: string; body?: unknown }): Promise<T>;
}

/** Base of every entra-token error. */
export declare class EntraTokenError extends Error {
  /** The core's stable error kind: `authentication_failed`, `transport`, `timeout`, ... */
  readonly code: string;
  readonly credential?: string;
  readonly status?: number;
  readonly statusCode?: number;
  readonly aadstsCode?: number;
  readonly oauthError?: string;
  readonly correlationId?: string;
  readonly requestId?: string;
  readonly retryable: boolean;
}
/** Entra ID or the identity endpoint rejected the request. */
export declare class AuthenticationError extends EntraTokenError {}
/** The credential cannot work here (chains move on to the next one). */
export declare class CredentialUnavailableError extends EntraTokenError {}
/** The endpoint could not be reached. */
export declare class TransportError extends EntraTokenError {}
/** No answer within the deadline. */
export declare class RequestTimeoutError extends TransportError {}
/** An answer that is not a usable token response. */
export declare class InvalidResponseError extends EntraTokenError {}
/** Bad input: an empty secret, an unreadable certificate. */
export declare class ConfigurationError extends EntraTokenError {}
/** The assertion callback failed. */
export declare class AssertionCallbackError extends EntraTokenError {}
/** A downstream API answered with an error status (`status`). */
export declare class DownstreamApiError extends EntraTokenError {}

/** A `fetch` that sends the bearer token for `scopes` and answers one claims challenge. */
export declare function createAuthenticatedFetch(
  credential: TokenCredential,
  scopes: string | string[],
  fetchImpl?: typeof fetch,
): (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * @azure/identity's `getBearerTokenProvider`: a function resolving to a bearer token for
 * `scopes` on each call (openai's `AzureOpenAI` `azureADTokenProvider`).
 */
export declare function getBearerTokenProvider(
  credential: TokenCredential,
  scopes: string | string[],
  options?: { abortSignal?: AbortSignal },
): () => Promise<string>;

/** The decoded claims of a `WWW-Authenticate` claims challenge, or null. */
export declare function claimsFromChallenge(wwwAuthenticate: string): string | null;

/** The process-wide cache's counters. */
export declare function cacheStats(): {
  hits: number;
  misses: number;
  fetches: number;
  refreshes: number;
  refreshFailures: number;
  evictions: number;
  uncacheable: number;
  entries: number;
};

/** Empties the process-wide cache. */
export declare function clearCache(): void;

// Only what is marked `export` above is exported (the Credential base stays internal, as at run time).
export {};
