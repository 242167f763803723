"""An ``httpx.Auth`` that attaches the bearer token for a scope and answers one claims
challenge (401 with ``error="insufficient_claims"``) with a fresh token. Works with
``httpx.Client`` (sync credential) and ``httpx.AsyncClient`` (sync or ``entra_token.aio``
credential).

    httpx.get(url, auth=BearerAuth(credential, "api://weather/.default"))
"""

from __future__ import annotations

import inspect
from typing import Any, AsyncGenerator, Generator, Optional

import httpx

from . import _native


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

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._credential.get_token(*self._scopes).token}"
        response = yield request
        claims = self._claims(response)
        if claims is not None:
            request.headers["Authorization"] = f"Bearer {self._credential.get_token(*self._scopes, claims=claims).token}"
            yield request

    async def _token(self, claims: Optional[str]) -> str:
        result = self._credential.get_token(*self._scopes, claims=claims)
        if inspect.isawaitable(result):
            result = await result
        return str(result.token)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self._token(None)}"
        response = yield request
        claims = self._claims(response)
        if claims is not None:
            request.headers["Authorization"] = f"Bearer {await self._token(claims)}"
            yield request
