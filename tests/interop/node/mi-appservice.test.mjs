import { managedIdentityTests } from "./managed-identity-cases.mjs";
managedIdentityTests("app_service", "/msi/token");
