"""Microsoft Entra ID access tokens for applications, from one Rust core.

The credentials have azure-identity's names and constructors and satisfy azure-core's
``TokenCredential`` and ``SupportsTokenInfo`` protocols, so they can be handed to any Azure SDK
client::

    from entra_token import ClientSecretCredential
    credential = ClientSecretCredential(tenant_id, client_id, secret)
    token = credential.get_token("api://weather/.default")

Async versions live in ``entra_token.aio``; HTTP helpers in ``entra_token.requests_auth`` and
``entra_token.httpx_auth``. Tokens are cached process-wide (also across credentials built per
request) and refreshed in the background before they expire.
"""

from ._errors import (
    AssertionCallbackError,
    AuthenticationError,
    ConfigurationError,
    CredentialUnavailableError,
    EntraTokenError,
    InvalidResponseError,
    RequestTimeoutError,
    TransportError,
)
from ._native import (
    AccessToken,
    CertificateCredential,
    ClientAssertionCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
    __version__,
    cache_stats,
    claims_from_challenge,
    clear_cache,
)

__all__ = [
    "AccessToken",
    "AssertionCallbackError",
    "AuthenticationError",
    "CertificateCredential",
    "ClientAssertionCredential",
    "ClientSecretCredential",
    "ConfigurationError",
    "CredentialUnavailableError",
    "EntraTokenError",
    "InvalidResponseError",
    "ManagedIdentityCredential",
    "RequestTimeoutError",
    "TransportError",
    "WorkloadIdentityCredential",
    "__version__",
    "cache_stats",
    "claims_from_challenge",
    "clear_cache",
]
