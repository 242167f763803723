// ESM entry: the same objects as the CommonJS entry (one native addon per process).
import cjs from './index.js';

export const {
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
  claimsFromChallenge,
  cacheStats,
  clearCache,
} = cjs;
export default cjs;
