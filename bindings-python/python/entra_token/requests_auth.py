"""An auth for ``requests`` that attaches the bearer token for a scope and answers one claims
challenge (401 with ``error="insufficient_claims"``) with a fresh token.

    session.get(url, auth=BearerAuth(credential, "api://weather/.default"))
"""

from __future__ import annotations

from typing import Any

import requests

from . import _native


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, credential: Any, *scopes: str) -> None:
        if not scopes:
            raise ValueError("give at least one scope")
        self._credential = credential
        self._scopes = scopes

    def _get(self, **kwargs: Any) -> Any:
        # Only entra_token credentials take rejected_token; other TokenCredentials get the claims.
        if not isinstance(self._credential, _native.Credential):
            kwargs.pop("rejected_token", None)
        return self._credential.get_token(*self._scopes, **kwargs)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._get()
        request.headers["Authorization"] = f"Bearer {token.token}"
        request.register_hook("response", self._answer_challenge)
        return request

    def _answer_challenge(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "_entra_token_retried", False):
            return response
        # The core decides what counts as a claims challenge.
        claims = _native.claims_from_challenge(response.headers.get("WWW-Authenticate", ""))
        if claims is None:
            return response
        sent_header = response.request.headers.get("Authorization") or ""
        # requests allows bytes header values (another hook may have set them).
        refused = (sent_header.decode("latin-1") if isinstance(sent_header, bytes) else sent_header).removeprefix("Bearer ")
        token = self._get(claims=claims, rejected_token=refused)
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {token.token}"
        retry._entra_token_retried = True  # type: ignore[attr-defined]
        response.content  # noqa: B018 - drain the body so the connection can be reused
        response.close()
        sent = response.connection.send(retry, **kwargs)  # type: ignore[attr-defined]
        sent.history.append(response)
        sent.request = retry
        return sent  # type: ignore[no-any-return]
