"""Drop-in use: azure-core's own bearer-token policies in a pipeline against the emulator's
protected API, and the requests / httpx adapters answering a claims challenge."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest
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


def test_an_authentication_failure_is_azure_cores_client_authentication_error(emulator: Emulator) -> None:
    # azure-identity raises azure-core's ClientAuthenticationError; code that catches it must
    # catch ours too, with every field of ours kept.
    from azure.core.exceptions import ClientAuthenticationError

    wrong = entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, "wrong-secret", authority=emulator.url)
    with pytest.raises(ClientAuthenticationError) as caught:
        wrong.get_token(WEATHER_SCOPE)
    error = caught.value
    assert isinstance(error, entra_token.AuthenticationError)
    assert error.aadsts_code == 7000215 and error.status == error.status_code == 401
    assert "AADSTS7000215" in error.message and str(error) == error.message
    assert type(error).__name__ == "AuthenticationError"


def test_azure_identitys_chain_moves_past_an_unavailable_entra_token_credential(emulator: Emulator) -> None:
    # azure-identity's ChainedTokenCredential moves on only for its own CredentialUnavailableError.
    import azure.identity

    unavailable = entra_token.EnvironmentCredential()  # nothing in the environment: built, but unavailable
    chain = azure.identity.ChainedTokenCredential(unavailable, credential(emulator))
    token = chain.get_token(WEATHER_SCOPE)
    assert claims_of(token.token)["appid"] == WEATHER_CLIENT_ID
    with pytest.raises(azure.identity.CredentialUnavailableError) as caught:
        unavailable.get_token(WEATHER_SCOPE)
    assert isinstance(caught.value, entra_token.CredentialUnavailableError)
    assert "AZURE_TENANT_ID" in caught.value.message


def test_errors_stay_azure_free_when_no_azure_module_is_loaded() -> None:
    # Without azure-core loaded the package never imports it (50-130 ms), and its errors are its own.
    code = (
        "import sys, entra_token\n"
        "try:\n"
        "    entra_token.EnvironmentCredential().get_token('api://weather/.default')\n"
        "except entra_token.CredentialUnavailableError as e:\n"
        "    print([c.__module__ for c in type(e).__mro__], any(m.startswith('azure') for m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "['entra_token._errors', 'entra_token._errors', 'builtins', 'builtins', 'builtins'] False", out


def test_get_bearer_token_provider_as_azure_identity_has_it(emulator: Emulator) -> None:
    provider = entra_token.get_bearer_token_provider(credential(emulator), WEATHER_SCOPE)
    first = provider()
    assert provider() == first
    assert claims_of(first)["appid"] == WEATHER_CLIENT_ID
    assert emulator.call_weather(first).status_code == 200
    assert len(emulator.token_requests()) == 1

    async def main() -> str:
        async with entra_token.aio.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url) as cred:
            return await entra_token.aio.get_bearer_token_provider(cred, WEATHER_SCOPE)()

    # The async provider is served by the same process-wide cache.
    assert asyncio.run(main()) == first
    assert len(emulator.token_requests()) == 1
