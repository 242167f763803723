"""Async credentials for asyncio, satisfying azure-core's ``AsyncTokenCredential``.

They share the process-wide cache with the sync credentials. A cache hit is answered at once
on the event loop; a miss waits in a worker thread (the GIL released) on the same Rust runtime
the sync credentials use, so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Callable, Coroutine, List, Mapping, Optional, Tuple, Type, TypeVar

from . import _native
from ._native import AccessToken

_lock = threading.Lock()
_executor: Optional[ThreadPoolExecutor] = None
# Enough for many distinct cold scopes at once; concurrent misses on one key share one request.
_MAX_WORKERS = 32


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=_MAX_WORKERS, thread_name_prefix="entra-token")
    return _executor


def _forget_pool_after_fork() -> None:
    # The parent's worker threads do not exist in a forked child.
    global _executor, _lock
    _executor = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)

_Self = TypeVar("_Self", bound="_AsyncCredential")


class _AsyncCredential:
    _sync: _native.Credential

    async def get_token(
        self,
        *scopes: str,
        claims: Optional[str] = None,
        tenant_id: Optional[str] = None,
        enable_cae: bool = False,
        rejected_token: Optional[str] = None,
        **kwargs: Any,
    ) -> AccessToken:
        hit = self._sync._lookup(scopes, claims, tenant_id, enable_cae)
        if hit is not None:
            return hit
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_pool(), self._sync._fetch, scopes, claims, tenant_id, enable_cae, rejected_token)

    async def get_token_info(self, *scopes: str, options: Optional[Mapping[str, Any]] = None) -> AccessToken:
        options = options or {}
        return await self.get_token(
            *scopes, claims=options.get("claims"), tenant_id=options.get("tenant_id"), enable_cae=bool(options.get("enable_cae", False))
        )

    async def close(self) -> None:
        """Nothing to release: connections and the cache are shared by the process."""

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]] = None, exc: Optional[BaseException] = None, tb: Optional[TracebackType] = None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._sync)


class ClientSecretCredential(_AsyncCredential):
    """Async ``ClientSecretCredential(tenant_id, client_id, client_secret, **kwargs)``."""

    def __init__(self, tenant_id: str, client_id: str, client_secret: str, **kwargs: Any) -> None:
        self._sync = _native.ClientSecretCredential(tenant_id, client_id, client_secret, **kwargs)


class CertificateCredential(_AsyncCredential):
    """Async ``CertificateCredential(tenant_id, client_id, certificate_path=None, **kwargs)``."""

    def __init__(self, tenant_id: str, client_id: str, certificate_path: Optional[str] = None, **kwargs: Any) -> None:
        self._sync = _native.CertificateCredential(tenant_id, client_id, certificate_path, **kwargs)


class ClientAssertionCredential(_AsyncCredential):
    """Async ``ClientAssertionCredential(tenant_id, client_id, func, **kwargs)``; ``func`` is sync."""

    def __init__(self, tenant_id: str, client_id: str, func: Any, **kwargs: Any) -> None:
        self._sync = _native.ClientAssertionCredential(tenant_id, client_id, func, **kwargs)


class ManagedIdentityCredential(_AsyncCredential):
    """Async ``ManagedIdentityCredential(*, client_id=None, identity_config=None)``."""

    def __init__(self, **kwargs: Any) -> None:
        self._sync = _native.ManagedIdentityCredential(**kwargs)

    def source(self) -> Tuple[str, str, str]:
        return self._sync.source()  # type: ignore[attr-defined,no-any-return]


class WorkloadIdentityCredential(_AsyncCredential):
    """Async ``WorkloadIdentityCredential(*, tenant_id=None, client_id=None, token_file_path=None)``."""

    def __init__(self, **kwargs: Any) -> None:
        self._sync = _native.WorkloadIdentityCredential(**kwargs)


class DefaultAzureCredential(_AsyncCredential):
    """Async ``DefaultAzureCredential(**kwargs)``, with the sync one's keyword arguments."""

    def __init__(self, **kwargs: Any) -> None:
        self._sync = _native.DefaultAzureCredential(**kwargs)

    def links(self) -> List[str]:
        return self._sync.links()  # type: ignore[attr-defined,no-any-return]


class EnvironmentCredential(_AsyncCredential):
    """Async ``EnvironmentCredential()``."""

    def __init__(self, **kwargs: Any) -> None:
        self._sync = _native.EnvironmentCredential(**kwargs)


class AzureCliCredential(_AsyncCredential):
    """Async ``AzureCliCredential(*, tenant_id=None)``."""

    def __init__(self, **kwargs: Any) -> None:
        self._sync = _native.AzureCliCredential(**kwargs)


class AzureDeveloperCliCredential(_AsyncCredential):
    """Async ``AzureDeveloperCliCredential(*, tenant_id=None)``."""

    def __init__(self, **kwargs: Any) -> None:
        self._sync = _native.AzureDeveloperCliCredential(**kwargs)


class ChainedTokenCredential(_AsyncCredential):
    """Async ``ChainedTokenCredential(*credentials)`` of entra_token credentials (async or sync)."""

    def __init__(self, *credentials: Any) -> None:
        self._sync = _native.ChainedTokenCredential(*(getattr(c, "_sync", c) for c in credentials))

    def links(self) -> List[str]:
        return self._sync.links()  # type: ignore[attr-defined,no-any-return]


def get_bearer_token_provider(credential: Any, *scopes: str) -> Callable[[], Coroutine[Any, Any, str]]:
    """azure-identity's ``aio.get_bearer_token_provider``: an async callable returning a bearer
    token for ``scopes`` (openai's ``AsyncAzureOpenAI`` ``azure_ad_token_provider``). Works with
    any azure-core ``AsyncTokenCredential``."""

    async def provider() -> str:
        return str((await credential.get_token(*scopes)).token)

    return provider


__all__ = [
    "ClientSecretCredential",
    "CertificateCredential",
    "ClientAssertionCredential",
    "ManagedIdentityCredential",
    "WorkloadIdentityCredential",
    "DefaultAzureCredential",
    "ChainedTokenCredential",
    "EnvironmentCredential",
    "AzureCliCredential",
    "AzureDeveloperCliCredential",
    "get_bearer_token_provider",
]
