"""An ``httpx.Auth`` that attaches the bearer token for a scope and answers one claims
challenge (401 with ``error="insufficient_claims"``) with a fresh token. Works with
``httpx.Client`` (sync credential) and ``httpx.AsyncClient`` (sync or ``entra_token.aio``
credential).

    httpx.get(url, auth=BearerAuth(credential, "api://weather/.default"))
"""

from __future__ import annotations

import inspect
from typing import Any, AsyncGenerator, Dict, Generator, Optional

import httpx

from . import _native
from .aio import _AsyncCredential


class BearerAuth(httpx.Auth):
    def __init__(self, credential: Any, *scopes: str) -> None:
        if not scopes:
            raise ValueError("give at least one scope")
        self._credential = credential
        self._scopes = scopes

    @staticmethod
    def _claims(response: httpx.Response) -> Optional[str]:
        if response.status_code != 401:
            return None
        return _native.claims_from_challenge(response.headers.get("WWW-Authenticate", ""))

    def _kwargs(self, claims: Optional[str], refused: Optional[str]) -> Dict[str, Any]:
        kwargs: Dict[str, Any] = {} if claims is None else {"claims": claims}
        # Only entra_token credentials take rejected_token; other TokenCredentials get the claims.
        if claims is not None and refused and isinstance(self._credential, (_native.Credential, _AsyncCredential)):
            kwargs["rejected_token"] = refused
        return kwargs

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        first = str(self._credential.get_token(*self._scopes).token)
        request.headers["Authorization"] = f"Bearer {first}"
        response = yield request
        claims = self._claims(response)
        if claims is not None:
            request.headers["Authorization"] = f"Bearer {self._credential.get_token(*self._scopes, **self._kwargs(claims, first)).token}"
            yield request

    async def _token(self, claims: Optional[str], refused: Optional[str] = None) -> str:
        result = self._credential.get_token(*self._scopes, **self._kwargs(claims, refused))
        if inspect.isawaitable(result):
            result = await result
        return str(result.token)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        first = await self._token(None)
        request.headers["Authorization"] = f"Bearer {first}"
        response = yield request
        claims = self._claims(response)
        if claims is not None:
            request.headers["Authorization"] = f"Bearer {await self._token(claims, first)}"
            yield request
