"""The exceptions entra_token raises. Every one carries the fields of the core error."""

from __future__ import annotations

from typing import Optional


class EntraTokenError(Exception):
    """Base of every entra_token error.

    Attributes: ``kind`` (stable code such as ``authentication_failed``), ``credential`` (which
    credential or managed identity source failed), ``status`` (HTTP status), ``aadsts_code``,
    ``oauth_error``, ``correlation_id``, ``request_id`` and ``retryable``.
    """

    kind: str = "internal"
    credential: Optional[str] = None
    status: Optional[int] = None
    aadsts_code: Optional[int] = None
    oauth_error: Optional[str] = None
    correlation_id: Optional[str] = None
    request_id: Optional[str] = None
    retryable: bool = False

    @property
    def message(self) -> str:
        return str(self)


class AuthenticationError(EntraTokenError):
    """Entra ID or the identity endpoint answered with an error (wrong secret, unknown client...)."""


class CredentialUnavailableError(EntraTokenError):
    """The credential cannot work here (no managed identity, unreadable token file...)."""


class TransportError(EntraTokenError):
    """The endpoint could not be reached, or the connection failed."""


class RequestTimeoutError(TransportError):
    """No answer within the deadline (every network call has one)."""


class InvalidResponseError(EntraTokenError):
    """An answer that is not a usable token response."""


class ConfigurationError(EntraTokenError, ValueError):
    """Bad input: an empty secret, an unreadable certificate, an unknown option."""


class AssertionCallbackError(EntraTokenError):
    """The client assertion callback failed."""


class DownstreamApiError(EntraTokenError):
    """A downstream API answered with an error status (``status`` holds it)."""


_BY_KIND = {
    "authentication_failed": AuthenticationError,
    "credential_unavailable": CredentialUnavailableError,
    "transport": TransportError,
    "timeout": RequestTimeoutError,
    "invalid_response": InvalidResponseError,
    "configuration": ConfigurationError,
    "certificate": ConfigurationError,
    "assertion_callback": AssertionCallbackError,
    "downstream_api": DownstreamApiError,
}


def _class_for(kind: str) -> type:
    return _BY_KIND.get(kind, EntraTokenError)
