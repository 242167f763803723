import { managedIdentityTests } from "./managed-identity-cases.mjs";
managedIdentityTests("imds", "/metadata/identity/oauth2/token");
