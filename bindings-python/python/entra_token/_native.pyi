from types import TracebackType
from typing import Any, Callable, Dict, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union, final, overload
import os

from typing_extensions import Self, disjoint_base

__all__ = [
    "__version__",
    "AccessToken",
    "Credential",
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
    "DownstreamApis",
    "credential_from_config",
    "claims_from_challenge",
    "cache_stats",
    "clear_cache",
    "_noop",
    "_forward_logs",
]

__version__: str

@final
class AccessToken:
    """An access token; unpacks as ``(token, expires_on)`` like azure-core's ``AccessToken``."""
    @property
    def token(self) -> str: ...
    @property
    def expires_on(self) -> int: ...
    @property
    def refresh_on(self) -> Optional[int]: ...
    @property
    def token_type(self) -> str: ...
    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, key: int, /) -> Union[str, int]: ...
    @overload
    def __getitem__(self, key: slice, /) -> Any: ...
    def __iter__(self) -> Iterator[Union[str, int]]: ...

@disjoint_base
class Credential:
    def get_token(
        self,
        *scopes: str,
        claims: Optional[str] = None,
        tenant_id: Optional[str] = None,
        enable_cae: bool = False,
        rejected_token: Optional[str] = None,
        **kwargs: Any,
    ) -> AccessToken: ...
    def get_token_info(self, *scopes: str, options: Optional[Mapping[str, Any]] = None) -> AccessToken: ...
    def _lookup(
        self, scopes: Tuple[str, ...], claims: Optional[str] = None, tenant_id: Optional[str] = None, enable_cae: bool = False
    ) -> Optional[AccessToken]: ...
    def _fetch(
        self,
        scopes: Tuple[str, ...],
        claims: Optional[str] = None,
        tenant_id: Optional[str] = None,
        enable_cae: bool = False,
        rejected_token: Optional[str] = None,
    ) -> AccessToken: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Credential": ...
    def __exit__(
        self, exc_type: Optional[type] = None, exc: Optional[BaseException] = None, tb: Optional[TracebackType] = None
    ) -> None: ...

class ClientSecretCredential(Credential):
    def __new__(
        cls,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        *,
        authority: Optional[str] = None,
        additionally_allowed_tenants: Optional[Sequence[str]] = None,
        **kwargs: Any,
    ) -> Self: ...

class CertificateCredential(Credential):
    def __new__(
        cls,
        tenant_id: str,
        client_id: str,
        certificate_path: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        certificate_data: Optional[Union[bytes, str]] = None,
        password: Optional[Union[str, bytes]] = None,
        send_certificate_chain: bool = False,
        authority: Optional[str] = None,
        additionally_allowed_tenants: Optional[Sequence[str]] = None,
        **kwargs: Any,
    ) -> Self: ...

class ClientAssertionCredential(Credential):
    def __new__(
        cls,
        tenant_id: str,
        client_id: str,
        func: Callable[[], str],
        *,
        authority: Optional[str] = None,
        additionally_allowed_tenants: Optional[Sequence[str]] = None,
        **kwargs: Any,
    ) -> Self: ...

class ManagedIdentityCredential(Credential):
    def __new__(
        cls,
        *,
        client_id: Optional[str] = None,
        identity_config: Optional[Mapping[str, str]] = None,
        app_service_api_version: Optional[Literal["2019-08-01", "2025-03-30"]] = None,
        **kwargs: Any,
    ) -> Self:
        """``app_service_api_version="2025-03-30"`` lets a claims challenge with ``rejected_token``
        get a fresh token from App Service (its revocation support)."""
    def source(self) -> Tuple[str, str, str]:
        """``(kind, endpoint, reason)``: which managed identity source is used, and why."""

class WorkloadIdentityCredential(Credential):
    def __new__(
        cls,
        *,
        tenant_id: Optional[str] = None,
        client_id: Optional[str] = None,
        token_file_path: Optional[Union[str, "os.PathLike[str]"]] = None,
        authority: Optional[str] = None,
        additionally_allowed_tenants: Optional[Sequence[str]] = None,
        **kwargs: Any,
    ) -> Self: ...

class DefaultAzureCredential(Credential):
    def __new__(
        cls,
        *,
        authority: Optional[str] = None,
        additionally_allowed_tenants: Optional[List[str]] = None,
        exclude_environment_credential: Optional[bool] = None,
        exclude_workload_identity_credential: Optional[bool] = None,
        exclude_managed_identity_credential: Optional[bool] = None,
        exclude_cli_credential: Optional[bool] = None,
        exclude_developer_cli_credential: Optional[bool] = None,
        managed_identity_client_id: Optional[str] = None,
        workload_identity_client_id: Optional[str] = None,
        workload_identity_tenant_id: Optional[str] = None,
        process_timeout: Optional[float] = None,
        require_envvar: bool = False,
        **kwargs: Any,
    ) -> Self: ...
    def links(self) -> List[str]: ...

class ChainedTokenCredential(Credential):
    """entra_token credentials tried in order; moves on only when one is unavailable here."""
    def __new__(cls, *credentials: Credential) -> Self: ...
    def links(self) -> List[str]: ...

class EnvironmentCredential(Credential):
    def __new__(cls, **kwargs: Any) -> Self: ...

class AzureCliCredential(Credential):
    def __new__(cls, *, tenant_id: Optional[str] = None, process_timeout: Optional[float] = None, **kwargs: Any) -> Self: ...

class AzureDeveloperCliCredential(Credential):
    def __new__(cls, *, tenant_id: Optional[str] = None, process_timeout: Optional[float] = None, **kwargs: Any) -> Self: ...

@final
class DownstreamApis:
    def __new__(cls, path: Union[str, "os.PathLike[str]"]) -> Self: ...
    def call(
        self, api: str, method: Optional[str] = None, path: Optional[str] = None, content: Optional[bytes] = None, content_type: str = "application/json"
    ) -> Tuple[int, List[Tuple[str, str]], bytes]: ...
    def call_json(self, api: str, method: str = "GET", path: Optional[str] = None, body: Optional[str] = None) -> str: ...

def credential_from_config(path: Union[str, "os.PathLike[str]"], api: Optional[str] = None) -> Credential: ...
def claims_from_challenge(www_authenticate: str) -> Optional[str]: ...
def cache_stats() -> Dict[str, int]: ...
def clear_cache() -> None: ...
def _noop() -> None: ...
def _forward_logs() -> None: ...
