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
    DownstreamApiError,
    EntraTokenError,
    InvalidResponseError,
    RequestTimeoutError,
    TransportError,
)
from ._native import (
    AccessToken,
    AzureCliCredential,
    AzureDeveloperCliCredential,
    CertificateCredential,
    ChainedTokenCredential,
    ClientAssertionCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    EnvironmentCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
    __version__,
    cache_stats,
    claims_from_challenge,
    clear_cache,
    credential_from_config,
)
from ._native import DownstreamApis as _NativeDownstreamApis

import json as _json
from typing import Any as _Any, Callable as _Callable, List as _List, NamedTuple as _NamedTuple, Optional as _Optional, Tuple as _Tuple


class DownstreamResponse(_NamedTuple):
    """A downstream API's answer."""

    status: int
    headers: _List[_Tuple[str, str]]
    body: bytes


class DownstreamApis:
    """The downstream APIs of an appsettings.json file (Microsoft.Identity.Web's ``IDownstreamApi``)::

        apis = DownstreamApis("appsettings.json")
        forecast = apis.call_json("DownstreamApi")
    """

    def __init__(self, path: str) -> None:
        self._native = _NativeDownstreamApis(path)

    def call(self, api: str, method: _Optional[str] = None, path: _Optional[str] = None, content: _Optional[bytes] = None, content_type: str = "application/json") -> DownstreamResponse:
        """Sends the request with an app token for the API's scopes; answers one claims challenge."""
        status, headers, body = self._native.call(api, method, path, content, content_type)
        return DownstreamResponse(status, headers, body)

    def call_json(self, api: str, method: str = "GET", path: _Optional[str] = None, body: _Any = None) -> _Any:
        """Sends ``body`` as JSON and returns the parsed JSON answer; an error status raises ``DownstreamApiError``."""
        text = self._native.call_json(api, method, path, None if body is None else _json.dumps(body))
        return _json.loads(text)


def get_bearer_token_provider(credential: _Any, *scopes: str) -> _Callable[[], str]:
    """azure-identity's ``get_bearer_token_provider``: a callable returning a bearer token for
    ``scopes`` on each call, for clients that take a token provider (openai's ``AzureOpenAI``
    ``azure_ad_token_provider``)::

        provider = get_bearer_token_provider(DefaultAzureCredential(), "https://cognitiveservices.azure.com/.default")

    Works with any azure-core ``TokenCredential``; with ours each call after the first is a
    cache hit, and the token is refreshed before it expires.
    """

    def provider() -> str:
        return str(credential.get_token(*scopes).token)

    return provider


__all__ = [
    "AccessToken",
    "AssertionCallbackError",
    "AuthenticationError",
    "AzureCliCredential",
    "AzureDeveloperCliCredential",
    "DefaultAzureCredential",
    "DownstreamApiError",
    "DownstreamApis",
    "DownstreamResponse",
    "EnvironmentCredential",
    "credential_from_config",
    "CertificateCredential",
    "ChainedTokenCredential",
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
    "get_bearer_token_provider",
]
