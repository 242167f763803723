"""Every credential against the emulator, the shared cache between sync and async, and the
exception classes with their fields."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

import entra_token
import entra_token.aio
from conftest import (
    CERT_CLIENT_ID,
    FIXTURES,
    IDENTITY_HEADER,
    NO_ROLE_CLIENT_ID,
    USER_ASSIGNED_CLIENT_ID,
    WEATHER_CLIENT_ID,
    WEATHER_CLIENT_SECRET,
    WEATHER_SCOPE,
    WORKLOAD_CLIENT_ID,
    Emulator,
    claims_of,
    temp_file,
)


def secret_credential(emulator: Emulator, **kwargs: object) -> entra_token.ClientSecretCredential:
    return entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url, **kwargs)


def test_client_secret(emulator: Emulator) -> None:
    token = secret_credential(emulator).get_token(WEATHER_SCOPE)
    assert claims_of(token.token)["roles"] == ["Weather.Read"]
    assert emulator.call_weather(token.token).status_code == 200
    assert token.expires_on > time.time() + 3000
    assert token.token_type == "Bearer"
    value, expires_on = token  # unpacks like azure-core's AccessToken
    assert (value, expires_on) == (token.token, token.expires_on)


def test_credentials_can_be_subclassed_like_azure_identitys(emulator: Emulator) -> None:
    # azure-identity's credentials are plain classes that applications subclass (to log, to count).
    class CountingCredential(entra_token.ClientSecretCredential):
        calls = 0

        def get_token(self, *scopes: str, **kwargs: object) -> entra_token.AccessToken:  # type: ignore[override]
            type(self).calls += 1
            return super().get_token(*scopes, **kwargs)  # type: ignore[arg-type]

    credential = CountingCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url)
    token = credential.get_token(WEATHER_SCOPE)
    assert CountingCredential.calls == 1
    assert isinstance(credential, entra_token.ClientSecretCredential)
    assert emulator.call_weather(token.token).status_code == 200
    for base in (
        entra_token.CertificateCredential,
        entra_token.ClientAssertionCredential,
        entra_token.ManagedIdentityCredential,
        entra_token.WorkloadIdentityCredential,
        entra_token.DefaultAzureCredential,
        entra_token.EnvironmentCredential,
        entra_token.AzureCliCredential,
        entra_token.AzureDeveloperCliCredential,
    ):
        assert issubclass(type("Sub" + base.__name__, (base,), {}), base)


def test_chained_token_credential_moves_past_unavailable_links_and_stops_at_a_failure(emulator: Emulator) -> None:
    secret = secret_credential(emulator)
    chain = entra_token.ChainedTokenCredential(entra_token.EnvironmentCredential(), secret)
    assert chain.links() == ["EnvironmentCredential", "ClientSecretCredential"]
    token = chain.get_token(WEATHER_SCOPE)
    assert emulator.call_weather(token.token).status_code == 200
    # The link is the caller's own credential object: one token, one request.
    assert secret.get_token(WEATHER_SCOPE).token == token.token
    assert len(emulator.token_requests()) == 1

    async def through_aio() -> str:
        aio_secret = entra_token.aio.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url)
        async with entra_token.aio.ChainedTokenCredential(entra_token.aio.EnvironmentCredential(), aio_secret) as aio_chain:
            return (await aio_chain.get_token(WEATHER_SCOPE)).token

    assert asyncio.run(through_aio()) == token.token

    wrong = entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, "wrong-secret", authority=emulator.url)
    with pytest.raises(entra_token.AuthenticationError) as failed:
        entra_token.ChainedTokenCredential(wrong, secret).get_token(WEATHER_SCOPE)
    assert failed.value.aadsts_code == 7000215
    with pytest.raises(entra_token.CredentialUnavailableError, match="EnvironmentCredential"):
        entra_token.ChainedTokenCredential(entra_token.EnvironmentCredential()).get_token(WEATHER_SCOPE)
    with pytest.raises(entra_token.ConfigurationError, match="at least one credential"):
        entra_token.ChainedTokenCredential()
    with pytest.raises(TypeError, match="azure-identity's ChainedTokenCredential accepts both"):
        entra_token.ChainedTokenCredential(object())  # type: ignore[arg-type]


def test_authority_from_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emulator.url)
    credential = entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET)
    assert claims_of(credential.get_token(WEATHER_SCOPE).token)["appid"] == WEATHER_CLIENT_ID


@pytest.mark.parametrize(
    "how",
    ["pem_path", "pem_bytes", "pfx_path_str_password", "pfx_bytes_bytes_password", "legacy_pfx"],
)
def test_certificate(emulator: Emulator, how: str) -> None:
    combined = FIXTURES / "cert-a-combined.pem"
    kwargs: dict = {"authority": emulator.url}
    if how == "pem_path":
        credential = entra_token.CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, str(combined), **kwargs)
    elif how == "pem_bytes":
        credential = entra_token.CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, certificate_data=combined.read_bytes(), **kwargs)
    elif how == "pfx_path_str_password":
        credential = entra_token.CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, FIXTURES / "cert-a-modern.pfx", password="fixture-pw", **kwargs)
    elif how == "pfx_bytes_bytes_password":
        data = (FIXTURES / "cert-a-modern.pfx").read_bytes()
        credential = entra_token.CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, certificate_data=data, password=b"fixture-pw", **kwargs)
    else:
        credential = entra_token.CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, FIXTURES / "cert-a-legacy.pfx", password="fixture-pw", **kwargs)
    token = credential.get_token(WEATHER_SCOPE)
    assert claims_of(token.token)["appidacr"] == "2"
    sent = emulator.token_requests()[-1]
    assert dict(sent["form"])["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_client_assertion_callable(emulator: Emulator) -> None:
    calls = []

    def assertion() -> str:
        calls.append(threading.current_thread().name)
        return emulator.workload_token()

    credential = entra_token.ClientAssertionCredential(emulator.tenant_id, WORKLOAD_CLIENT_ID, assertion, authority=emulator.url)
    assert claims_of(credential.get_token(WEATHER_SCOPE).token)["appid"] == WORKLOAD_CLIENT_ID
    assert len(calls) == 1


def test_client_assertion_callable_that_raises(emulator: Emulator) -> None:
    def broken() -> str:
        raise RuntimeError("the vault is sealed")

    credential = entra_token.ClientAssertionCredential(emulator.tenant_id, WORKLOAD_CLIENT_ID, broken, authority=emulator.url)
    with pytest.raises(entra_token.AssertionCallbackError) as caught:
        credential.get_token(WEATHER_SCOPE)
    assert "the vault is sealed" in str(caught.value)
    assert emulator.token_requests() == []


@pytest.mark.parametrize("host", ["imds", "app_service"])
@pytest.mark.parametrize("identity", ["system", "client_id", "resource_id"])
def test_managed_identity(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, host: str, identity: str) -> None:
    if host == "imds":
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.url)
    else:
        monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.url}/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    if identity == "system":
        credential = entra_token.ManagedIdentityCredential()
    elif identity == "client_id":
        credential = entra_token.ManagedIdentityCredential(client_id=USER_ASSIGNED_CLIENT_ID)
    else:
        resource_id = "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/weather-reader"
        credential = entra_token.ManagedIdentityCredential(identity_config={"resource_id": resource_id})
    kind, endpoint, reason = credential.source()  # type: ignore[attr-defined]
    assert kind == host and endpoint.startswith(emulator.url), reason
    token = credential.get_token(WEATHER_SCOPE)
    if identity != "system":
        assert claims_of(token.token)["appid"] == USER_ASSIGNED_CLIENT_ID
    assert emulator.call_weather(token.token).status_code == 200


def test_workload_identity_from_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    path = temp_file(emulator.workload_token())
    for name, value in {
        "AZURE_AUTHORITY_HOST": emulator.url,
        "AZURE_TENANT_ID": emulator.tenant_id,
        "AZURE_CLIENT_ID": WORKLOAD_CLIENT_ID,
        "AZURE_FEDERATED_TOKEN_FILE": str(path),
    }.items():
        monkeypatch.setenv(name, value)
    token = entra_token.WorkloadIdentityCredential().get_token(WEATHER_SCOPE)
    assert claims_of(token.token)["appid"] == WORKLOAD_CLIENT_ID
    os.unlink(path)


def test_sync_and_async_share_one_cache(emulator: Emulator) -> None:
    sync_token = secret_credential(emulator).get_token(WEATHER_SCOPE)

    async def main() -> entra_token.AccessToken:
        async with entra_token.aio.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url) as credential:
            return await credential.get_token(WEATHER_SCOPE)

    async_token = asyncio.run(main())
    assert (async_token.token, async_token.expires_on) == (sync_token.token, sync_token.expires_on)
    assert len(emulator.token_requests()) == 1, "the async credential hit the token the sync one cached"


def test_two_hundred_async_tasks_on_a_cold_cache_make_one_request(emulator: Emulator) -> None:
    emulator.add_fault({"kind": "delay", "ms": 300, "path_contains": "/oauth2/", "times": 1})

    async def main() -> set:
        credential = entra_token.aio.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url)
        tokens = await asyncio.gather(*(credential.get_token(WEATHER_SCOPE) for _ in range(200)))
        return {t.token for t in tokens}

    assert len(asyncio.run(main())) == 1
    assert len(emulator.token_requests()) == 1


def test_sixteen_threads_with_different_requests_do_not_serialise(emulator: Emulator) -> None:
    # Sixteen different claims requests: none can share another's flight or cached token.
    delay_ms = 600
    emulator.add_fault({"kind": "delay", "ms": delay_ms, "path_contains": "/oauth2/", "times": 16})
    credential = secret_credential(emulator)
    errors: list = []
    barrier = threading.Barrier(16)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            credential.get_token(WEATHER_SCOPE, claims=f'{{"access_token":{{"acrs":{{"essential":true,"value":"c{i}"}}}}}}')
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert not errors, errors
    assert len(emulator.token_requests()) == 16
    # One round trip is 0.6 s; sixteen in a row would be 9.6 s. Leave room for a loaded machine.
    assert elapsed < 4 * delay_ms / 1000, f"{elapsed:.2f} s: the calls serialised"


def test_wrong_secret_raises_authentication_error_with_fields(emulator: Emulator) -> None:
    credential = entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, "not-the-secret", authority=emulator.url)
    with pytest.raises(entra_token.AuthenticationError) as caught:
        credential.get_token(WEATHER_SCOPE)
    e = caught.value
    assert (e.kind, e.status, e.aadsts_code, e.oauth_error, e.retryable) == ("authentication_failed", 401, 7000215, "invalid_client", False)
    assert e.correlation_id and e.request_id and e.credential == "ClientSecretCredential"
    assert "not-the-secret" not in str(e) and "not-the-secret" not in repr(e)


def test_unknown_resource_and_malformed_answer(emulator: Emulator) -> None:
    credential = entra_token.ClientSecretCredential(emulator.tenant_id, NO_ROLE_CLIENT_ID, "emulator-no-role-secret", authority=emulator.url)
    emulator.add_fault({"kind": "malformed", "path_contains": "/oauth2/", "times": 1})
    with pytest.raises(entra_token.InvalidResponseError) as caught:
        credential.get_token(WEATHER_SCOPE)
    assert caught.value.status == 200


def test_configuration_errors_are_value_errors(emulator: Emulator) -> None:
    with pytest.raises(entra_token.ConfigurationError) as caught:
        entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, "", authority=emulator.url)
    assert isinstance(caught.value, ValueError) and caught.value.kind == "configuration"
    with pytest.raises(entra_token.ConfigurationError):
        entra_token.CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, FIXTURES / "cert-a-modern.pfx", password="wrong")
    with pytest.raises(entra_token.ConfigurationError):
        entra_token.ManagedIdentityCredential(identity_config={"colour": "blue"})


def test_a_scope_that_is_not_a_string_is_a_type_error_on_every_path(emulator: Emulator) -> None:
    credential = secret_credential(emulator)
    # One scope takes the borrowed hit path; several take the request path; both refuse alike.
    for scopes in [(42,), (WEATHER_SCOPE, 42)]:
        with pytest.raises(TypeError, match="scopes must be strings"):
            credential.get_token(*scopes)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="scopes must be strings"):
            asyncio.run(entra_token.aio.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url).get_token(*scopes))  # type: ignore[arg-type]
    assert emulator.token_requests() == []


def test_unavailable_workload_file_and_managed_identity(emulator: Emulator) -> None:
    with pytest.raises(entra_token.CredentialUnavailableError) as caught:
        entra_token.WorkloadIdentityCredential(tenant_id=emulator.tenant_id, client_id=WORKLOAD_CLIENT_ID, token_file_path="/nonexistent/token")
    assert "/nonexistent/token" in str(caught.value)


def test_unreachable_endpoint_raises_transport_error() -> None:
    # Port 9 (discard) is closed on loopback: every attempt is refused, then retried 3 times.
    credential = entra_token.ClientSecretCredential("11111111-1111-4111-8111-111111111111", WEATHER_CLIENT_ID, "s", authority="http://127.0.0.1:9")
    with pytest.raises(entra_token.TransportError) as caught:
        credential.get_token(WEATHER_SCOPE)
    assert caught.value.retryable is True and caught.value.kind == "transport"


def test_repr_never_shows_secrets_or_tokens(emulator: Emulator) -> None:
    credential = secret_credential(emulator)
    token = credential.get_token(WEATHER_SCOPE)
    for text in (repr(credential), str(credential), repr(token), str(token)):
        assert WEATHER_CLIENT_SECRET not in text
        assert token.token not in text
    assert "[redacted]" in repr(token)
    cert = entra_token.CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, FIXTURES / "cert-a-modern.pfx", password="fixture-pw", authority=emulator.url)
    assert "fixture-pw" not in repr(cert)
    assert "fixture-pw" not in repr(entra_token.aio.CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, str(FIXTURES / "cert-a-modern.pfx"), password="fixture-pw"))


def test_core_logs_reach_python_logging_without_secrets(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="entra_token")
    emulator.add_fault({"kind": "status", "status": 503, "path_contains": "/oauth2/", "times": 1})
    token = secret_credential(emulator).get_token(WEATHER_SCOPE)
    records = [r for r in caplog.records if r.name.startswith("entra_token")]
    assert any("retrying" in r.getMessage() for r in records), [r.getMessage() for r in records]
    for record in records:
        assert WEATHER_CLIENT_SECRET not in record.getMessage() and token.token not in record.getMessage()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
def test_works_after_fork(emulator: Emulator) -> None:
    credential = secret_credential(emulator)
    parent_token = credential.get_token(WEATHER_SCOPE).token
    pid = os.fork()
    if pid == 0:  # the child: finished tokens stay, new requests work on a fresh runtime
        code = 1
        try:
            same = credential.get_token(WEATHER_SCOPE).token == parent_token
            fresh = credential.get_token("https://vault.azure.net/.default").token
            code = 0 if same and fresh else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert [r for r in emulator.token_requests() if "vault" in dict(r["form"])["scope"]], "the child fetched over its own connection"


def test_app_service_2025_03_30_revokes_the_rejected_token(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    credential = entra_token.ManagedIdentityCredential(app_service_api_version="2025-03-30")
    first = credential.get_token(WEATHER_SCOPE)
    again = credential.get_token(WEATHER_SCOPE, claims='{"access_token":{"nbf":{"essential":true,"value":"1"}}}', rejected_token=first.token)
    sent = [r for r in emulator.requests() if r["path"] == "/msi/token"]
    assert [dict(r["query"])["api-version"] for r in sent] == ["2025-03-30", "2025-03-30"]
    assert dict(sent[1]["query"])["token_sha256_to_refresh"] == hashlib.sha256(first.token.encode()).hexdigest()
    assert again.token != first.token, "the host minted a new token"
    assert credential.get_token(WEATHER_SCOPE).token == again.token, "and it replaced the cached one"
    with pytest.raises(entra_token.ConfigurationError, match="is not 2019-08-01 or 2025-03-30"):
        entra_token.ManagedIdentityCredential(app_service_api_version="2024-01-01")


def test_managed_identity_claims_request_with_the_rejected_token_goes_to_the_host(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # App Service revokes a token only from api-version 2025-03-30; Service Fabric always. The
    # IMDS-style check here: the keyword reaches the core, and a claims request bypasses the cache.
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.url)
    credential = entra_token.ManagedIdentityCredential()
    first = credential.get_token(WEATHER_SCOPE)
    again = credential.get_token(WEATHER_SCOPE, claims='{"access_token":{"nbf":{"essential":true,"value":"1"}}}', rejected_token=first.token)
    imds = [r for r in emulator.requests() if r["path"].startswith("/metadata/identity")]
    assert len(imds) == 2, "the claims request went to the host"
    assert again.token == first.token, "IMDS has no revocation: the host hands back its cached token"


def test_region_auto_detection_asks_imds_where_the_vm_runs(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator is an IP host, where regional endpoints do not apply; what shows here is that
    # the environment reaches the core and IMDS is asked once, as MSAL Python asks it.
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emulator.url)
    monkeypatch.setenv("AZURE_REGIONAL_AUTHORITY_NAME", "tryautodetect")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.url + "/")
    credential = entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET)
    assert emulator.call_weather(credential.get_token(WEATHER_SCOPE).token).status_code == 200
    asked = [r for r in emulator.requests() if r["path"] == "/metadata/instance/compute/location"]
    assert len(asked) == 1 and dict(asked[0]["query"])["format"] == "text" and asked[0]["headers"]["metadata"] == "true"
