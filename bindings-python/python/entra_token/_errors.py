"""The exceptions entra_token raises. Every one carries the fields of the core error."""

from __future__ import annotations

import sys
from typing import Dict, Optional, Tuple


class EntraTokenError(Exception):
    """Base of every entra_token error.

    Attributes: ``kind`` (stable code such as ``authentication_failed``), ``credential`` (which
    credential or managed identity source failed), ``status`` (HTTP status), ``aadsts_code``,
    ``oauth_error``, ``correlation_id``, ``request_id`` and ``retryable``.

    Authentication failures and unavailable credentials are also azure-core's
    ``ClientAuthenticationError`` (and azure-identity's ``CredentialUnavailableError``) when an
    application has those modules loaded, as azure-identity's errors are.
    """

    kind: str = "internal"
    credential: Optional[str] = None
    status: Optional[int] = None
    #: The same as ``status``, under azure-core's name.
    status_code: Optional[int] = None
    aadsts_code: Optional[int] = None
    oauth_error: Optional[str] = None
    correlation_id: Optional[str] = None
    request_id: Optional[str] = None
    retryable: bool = False

    def __init__(self, message: str = "", *args: object) -> None:
        # Cooperative: in the azure-core twins below the next class is ClientAuthenticationError.
        super().__init__(message, *args)
        self.message = message


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


_TWINS: Dict[Tuple[type, type], type] = {}


def _class_for(kind: str) -> type:
    cls = _BY_KIND.get(kind, EntraTokenError)
    if cls is AuthenticationError or cls is CredentialUnavailableError:
        return _azure_twin(cls)
    return cls


def _azure_twin(cls: type) -> type:
    """The class to raise for an authentication failure or an unavailable credential.

    azure-identity raises azure-core's ``ClientAuthenticationError`` for both, and its own
    ``CredentialUnavailableError`` (a subclass) for the second, which its
    ``ChainedTokenCredential`` catches to move on to the next credential. So that ``except``
    clauses and chains written for azure-identity keep working, the error raised is also an
    instance of those classes when their modules are loaded. They are never imported here (that
    would cost an Azure SDK-free service 50-130 ms at import): a module nobody has loaded is a
    module nobody catches from.
    """
    core = sys.modules.get("azure.core.exceptions")
    if core is None:
        return cls
    azure_base: type = core.ClientAuthenticationError
    if cls is CredentialUnavailableError:
        identity = sys.modules.get("azure.identity")
        azure_base = getattr(identity, "CredentialUnavailableError", azure_base)
    twin = _TWINS.get((cls, azure_base))
    if twin is None:
        twin = type(cls.__name__, (cls, azure_base), {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})
        _TWINS[(cls, azure_base)] = twin
    return twin
