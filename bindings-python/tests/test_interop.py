"""Drop-in use: azure-core's own bearer-token policies in a pipeline against the emulator's
protected API, and the requests / httpx adapters answering a claims challenge."""

from __future__ import annotations

import asyncio

import httpx
import requests
from azure.core.pipeline import AsyncPipeline, Pipeline
from azure.core.pipeline.policies import AsyncBearerTokenCredentialPolicy, BearerTokenCredentialPolicy
from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport
from azure.core.rest import HttpRequest

import entra_token
import entra_token.aio
from entra_token.httpx_auth import BearerAuth as HttpxBearerAuth
from entra_token.requests_auth import BearerAuth as RequestsBearerAuth
from conftest import WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, WEATHER_SCOPE, Emulator, claims_of


def credential(emulator: Emulator) -> entra_token.ClientSecretCredential:
    return entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url)


# The emulator serves plain http on loopback, so the requests opt out of azure-core's https
# rule (`enforce_https=False`), as Azure SDK tests against local servers do.


def test_azure_core_bearer_policy_in_a_pipeline(emulator: Emulator) -> None:
    pipeline = Pipeline(transport=RequestsTransport(), policies=[BearerTokenCredentialPolicy(credential(emulator), WEATHER_SCOPE)])
    response = pipeline.run(HttpRequest("GET", f"{emulator.weather_url}?city=Tromso"), enforce_https=False).http_response
    assert response.status_code == 200, response.text()
    assert response.json()["city"] == "Tromso"
    # azure-core prefers get_token_info when a credential offers it; either way one token request.
    assert len(emulator.token_requests()) == 1


def test_azure_core_async_bearer_policy_in_a_pipeline(emulator: Emulator) -> None:
    async def main() -> int:
        async with entra_token.aio.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url) as cred:
            policy = AsyncBearerTokenCredentialPolicy(cred, WEATHER_SCOPE)
            async with AsyncPipeline(transport=AioHttpTransport(), policies=[policy]) as pipeline:
                result = await pipeline.run(HttpRequest("GET", emulator.weather_url), enforce_https=False)
                return result.http_response.status_code  # type: ignore[no-any-return]

    assert asyncio.run(main()) == 200


def test_azure_core_answers_the_claims_challenge_through_get_token_info(emulator: Emulator) -> None:
    # azure-core's policy handles CAE challenges itself; our credential must honour the claims.
    emulator.admin("POST", "weather/claims-challenge", {"acrs": "c1"})
    pipeline = Pipeline(transport=RequestsTransport(), policies=[BearerTokenCredentialPolicy(credential(emulator), WEATHER_SCOPE, enable_cae=True)])
    response = pipeline.run(HttpRequest("GET", emulator.weather_url), enforce_https=False).http_response
    assert response.status_code == 200, response.text()
    sent = [dict(r["form"]) for r in emulator.token_requests()]
    assert len(sent) == 2 and "claims" in sent[1], sent


def test_requests_adapter_retries_once_on_a_claims_challenge(emulator: Emulator) -> None:
    cred = credential(emulator)
    old = cred.get_token(WEATHER_SCOPE)
    emulator.admin("POST", "weather/claims-challenge", {"acrs": "c1"})
    response = requests.get(emulator.weather_url, auth=RequestsBearerAuth(cred, WEATHER_SCOPE), timeout=10)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    sent = emulator.token_requests()
    assert len(sent) == 2 and '"acrs"' in dict(sent[1]["form"])["claims"]
    assert claims_of(response.request.headers["Authorization"].split()[1])["acrs"] == ["c1"]
    assert response.request.headers["Authorization"] != f"Bearer {old.token}"


def test_requests_adapter_passes_other_401s_through(emulator: Emulator) -> None:
    response = requests.get(emulator.weather_url, auth=lambda r: r, timeout=10)
    assert response.status_code == 401
    cred = credential(emulator)
    ok = requests.get(emulator.weather_url, auth=RequestsBearerAuth(cred, WEATHER_SCOPE), timeout=10)
    assert ok.status_code == 200 and ok.history == []


def test_httpx_adapter_sync_and_async(emulator: Emulator) -> None:
    cred = credential(emulator)
    cred.get_token(WEATHER_SCOPE)
    emulator.admin("POST", "weather/claims-challenge", {"acrs": "c1"})
    with httpx.Client(auth=HttpxBearerAuth(cred, WEATHER_SCOPE)) as client:
        response = client.get(emulator.weather_url)
    assert response.status_code == 200 and [r.status_code for r in response.history] == [401]

    emulator.admin("POST", "weather/claims-challenge", {"acrs": "c2"})

    async def main() -> httpx.Response:
        acred = entra_token.aio.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url)
        async with httpx.AsyncClient(auth=HttpxBearerAuth(acred, WEATHER_SCOPE)) as client:
            return await client.get(emulator.weather_url)

    response = asyncio.run(main())
    assert response.status_code == 200 and [r.status_code for r in response.history] == [401]


def test_requests_adapter_answers_a_challenge_when_the_header_was_made_bytes(emulator: Emulator) -> None:
    # requests accepts bytes header values; another auth layer may have re-encoded ours.
    bearer = RequestsBearerAuth(credential(emulator), WEATHER_SCOPE)

    def bytes_header(request: requests.PreparedRequest) -> requests.PreparedRequest:
        request = bearer(request)
        request.headers["Authorization"] = request.headers["Authorization"].encode("latin-1")  # type: ignore[assignment]
        return request

    emulator.admin("POST", "weather/claims-challenge", {"acrs": "c1"})
    response = requests.get(emulator.weather_url, auth=bytes_header, timeout=10)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
