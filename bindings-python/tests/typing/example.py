"""Checked by `mypy --strict` in test_typing.py: what an application writes with entra_token."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Optional

import entra_token
import entra_token.aio


def token_for(credential: entra_token.ClientSecretCredential, scope: str) -> str:
    token = credential.get_token(scope, enable_cae=True)
    expires: int = token.expires_on
    refresh: Optional[int] = token.refresh_on
    assert expires > (refresh or 0)
    return token.token


def handle(error: entra_token.EntraTokenError) -> str:
    status: Optional[int] = error.status
    code: Optional[int] = error.aadsts_code
    return f"{error.kind} {status} {code} {error.correlation_id} {error.retryable}"


async def async_token(tenant: str, client: str, secret: str) -> str:
    async with entra_token.aio.ClientSecretCredential(tenant, client, secret, authority="https://login.microsoftonline.com") as credential:
        info = await credential.get_token_info("api://weather/.default", options={"enable_cae": True})
        return info.token


def managed() -> str:
    credential = entra_token.ManagedIdentityCredential(client_id="66666666-6666-4666-8666-666666666666", app_service_api_version="2025-03-30")
    kind, endpoint, reason = credential.source()
    return f"{kind} {endpoint} {reason}"


def default_chain() -> list[str]:
    credential = entra_token.DefaultAzureCredential(exclude_environment_credential=True, managed_identity_client_id="66666666-6666-4666-8666-666666666666", process_timeout=5)
    return credential.links()


async def async_default_chain() -> list[str]:
    async with entra_token.aio.DefaultAzureCredential(exclude_cli_credential=True) as credential:
        return credential.links()


def certificate(path: str) -> entra_token.CertificateCredential:
    return entra_token.CertificateCredential("tenant", "client", path, password="pw", send_certificate_chain=True)


def claims(header: str) -> Optional[str]:
    return entra_token.claims_from_challenge(header)


def token_provider(credential: entra_token.ClientSecretCredential) -> Callable[[], str]:
    return entra_token.get_bearer_token_provider(credential, "https://cognitiveservices.azure.com/.default")


def async_token_provider(credential: entra_token.aio.ClientSecretCredential) -> Callable[[], Awaitable[str]]:
    return entra_token.aio.get_bearer_token_provider(credential, "https://cognitiveservices.azure.com/.default")


if __name__ == "__main__":
    asyncio.run(async_token("t", "c", "s"))
