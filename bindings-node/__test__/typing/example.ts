// Checked by `tsc --noEmit --strict` (typing.test.mjs): what an application writes.
import type { TokenCredential as CoreTokenCredential } from '@azure/core-auth';
import {
  getBearerTokenProvider,
  AccessToken,
  AuthenticationError,
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  EntraTokenError,
  ManagedIdentityCredential,
  createAuthenticatedFetch,
} from '../../index';

async function main(): Promise<void> {
  const credential = new ClientSecretCredential('tenant', 'client', 'secret', { authorityHost: 'https://login.microsoftonline.com' });
  const token: AccessToken = await credential.getToken(['api://weather/.default'], { enableCae: true, abortSignal: AbortSignal.timeout(5000) });
  const expires: number = token.expiresOnTimestamp;
  const core: CoreTokenCredential = credential; // assignable to @azure/core-auth's interface
  void core;
  const managed = new ManagedIdentityCredential({ clientId: '66666666-6666-4666-8666-666666666666', appServiceApiVersion: '2025-03-30' });
  const source: string = managed.source().kind;
  const chain = new DefaultAzureCredential({ managedIdentityClientId: '66666666-6666-4666-8666-666666666666', requiredEnvVars: ['AZURE_TOKEN_CREDENTIALS'], processTimeoutInMs: 5000 });
  const links: string[] = chain.links();
  void links;
  const certificate = new ClientCertificateCredential('t', 'c', { certificatePath: '/cert.pem' }, { sendCertificateChain: true });
  void certificate;
  const authed = createAuthenticatedFetch(credential, 'api://weather/.default');
  const response: Response = await authed('https://weather.example/forecast');
  void response;
  try {
    await credential.getToken('x');
  } catch (e) {
    if (e instanceof AuthenticationError) {
      const code: number | undefined = e.aadstsCode;
      void code;
    } else if (e instanceof EntraTokenError) {
      const retryable: boolean = e.retryable;
      void retryable;
    }
  }
  void expires;
  void source;
}

// @azure/identity's token-provider helper (openai's `azureADTokenProvider`).
const provider: () => Promise<string> = getBearerTokenProvider(new ClientSecretCredential('t', 'c', 's'), 'https://cognitiveservices.azure.com/.default');
void provider;

void main;
