"""appsettings.json from Python: the seed's files, the downstream API helper, the local
managed identity endpoint (`entra-token serve-identity`) serving this package's and
azure-identity's ManagedIdentityCredential, and DefaultAzureCredential with a stand-in `az`."""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess
import tempfile
import time
import warnings
from typing import Dict, Iterator

import pytest
from azure.identity import ManagedIdentityCredential as AzureManagedIdentityCredential

import entra_token
from conftest import FIXTURES, IDENTITY_HEADER, USER_ASSIGNED_CLIENT_ID, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, WEATHER_SCOPE, Emulator, claims_of, entra_token_binary


def seed(emulator: Emulator, name: str, secret: str = WEATHER_CLIENT_SECRET) -> pathlib.Path:
    text = (FIXTURES / "appsettings" / name).read_text()
    for placeholder, value in {
        "https://login.microsoftonline.com/": f"{emulator.url}/",
        "<tenant id guid>": emulator.tenant_id,
        "<app registration client id guid>": WEATHER_CLIENT_ID,
        "<client secret>": secret,
        "https://weather-api/": f"{emulator.url}/weather/",
        "WeatherForecast": "forecast",
        "api://<downstream api name or app id>/.default": WEATHER_SCOPE,
        "<managed identity client id>": USER_ASSIGNED_CLIENT_ID,
    }.items():
        text = text.replace(placeholder, value)
    path = pathlib.Path(tempfile.mkdtemp(prefix="entra-token-py-config-")) / name
    path.write_text(text)
    return path


def test_the_seed_switch_is_configuration_only(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.url)
    callers = []
    for name in ["appsettings.client-credentials.json", "appsettings.managed-identity.json"]:
        apis = entra_token.DownstreamApis(str(seed(emulator, name)))
        callers.append(apis.call_json("DownstreamApi")["caller"])
    assert callers == [WEATHER_CLIENT_ID, USER_ASSIGNED_CLIENT_ID]


def test_credential_from_config_and_secret_from_the_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    path = seed(emulator, "appsettings.client-credentials.json", secret="")
    monkeypatch.setenv("AzureAd__ClientCredentials__0__ClientSecret", WEATHER_CLIENT_SECRET)
    credential = entra_token.credential_from_config(str(path), "DownstreamApi")
    assert claims_of(credential.get_token(WEATHER_SCOPE).token)["appid"] == WEATHER_CLIENT_ID


def test_downstream_helper_errors_and_claims_challenge(emulator: Emulator) -> None:
    apis = entra_token.DownstreamApis(str(seed(emulator, "appsettings.client-credentials.json")))
    emulator.admin("POST", "weather/claims-challenge", {"acrs": "c1"})
    response = apis.call("DownstreamApi", path="forecast?city=Oslo")
    assert response.status == 200 and b"Oslo" in response.body
    bad = seed(emulator, "appsettings.client-credentials.json")
    bad.write_text(bad.read_text().replace("\"forecast\"", "\"no-such-path\""))
    with pytest.raises(entra_token.DownstreamApiError) as caught:
        entra_token.DownstreamApis(str(bad)).call_json("DownstreamApi")
    assert caught.value.status == 404
    with pytest.raises(entra_token.ConfigurationError) as caught:
        entra_token.DownstreamApis(str(bad)).call_json("DownstreamAPX")
    assert "did you mean DownstreamApi?" in str(caught.value)


@pytest.fixture
def served_identity(emulator: Emulator) -> Iterator[Dict[str, str]]:
    config = seed(emulator, "appsettings.client-credentials.json")
    process = subprocess.Popen([entra_token_binary(), "serve-identity", "--as", "app-service", "--config", str(config)], stdout=subprocess.PIPE, text=True)
    env: Dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        line = line.strip()
        if line == "# ready":
            break
        if line.startswith("export "):
            key, _, value = line[7:].partition("=")
            env[key] = value
    try:
        yield env
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_local_managed_identity_endpoint_serves_this_package_and_azure_identity(
    emulator: Emulator, served_identity: Dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", served_identity["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", served_identity["IDENTITY_HEADER"])
    ours = entra_token.ManagedIdentityCredential().get_token(WEATHER_SCOPE)
    assert claims_of(ours.token)["appid"] == WEATHER_CLIENT_ID, "the token comes from the client secret behind the endpoint"
    theirs = AzureManagedIdentityCredential().get_token("https://vault.azure.net/.default")
    assert claims_of(theirs.token)["aud"] == "https://vault.azure.net"
    assert served_identity["IDENTITY_HEADER"] != IDENTITY_HEADER


def test_default_azure_credential_falls_through_to_a_stand_in_az(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = pathlib.Path(tempfile.mkdtemp(prefix="entra-token-py-az-"))
    az = tools / "az"
    # A real token from the emulator, printed the way `az account get-access-token` prints it.
    token = entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url).get_token(WEATHER_SCOPE)
    az.write_text(f"#!/bin/sh\nprintf '{{\"accessToken\": \"{token.token}\", \"expires_on\": {token.expires_on}, \"tokenType\": \"Bearer\"}}'\n")
    az.chmod(az.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "dev")
    entra_token.clear_cache()
    credential = entra_token.DefaultAzureCredential()
    assert credential.get_token(WEATHER_SCOPE).token == token.token
    assert "AzureCliCredential" in repr(credential)


def test_default_azure_credential_takes_azure_identity_keyword_arguments(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_TOKEN_CREDENTIALS", raising=False)
    # The exclude flags azure-identity users pass, including links this package does not have.
    credential = entra_token.DefaultAzureCredential(
        exclude_environment_credential=True,
        exclude_workload_identity_credential=True,
        exclude_developer_cli_credential=True,
        exclude_powershell_credential=True,
        exclude_visual_studio_code_credential=True,
        exclude_shared_token_cache_credential=True,
        exclude_interactive_browser_credential=True,
    )
    assert credential.links() == ["ManagedIdentityCredential", "AzureCliCredential"]
    # An explicit flag wins over AZURE_TOKEN_CREDENTIALS either way, as in azure-identity.
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "prod")
    assert entra_token.DefaultAzureCredential(exclude_cli_credential=False, exclude_environment_credential=True).links() == [
        "WorkloadIdentityCredential",
        "ManagedIdentityCredential",
        "AzureCliCredential",
    ]
    with pytest.raises(TypeError, match="'tenant_id' is not supported"):
        entra_token.DefaultAzureCredential(tenant_id="t")
    with pytest.warns(UserWarning, match="ignores these keyword arguments: connection_verify"):
        entra_token.DefaultAzureCredential(connection_verify=False)
    with pytest.raises(entra_token.ConfigurationError, match="process_timeout"):
        entra_token.DefaultAzureCredential(process_timeout=-1)
    with pytest.raises(entra_token.ConfigurationError, match="longer than zero"):
        entra_token.DefaultAzureCredential(process_timeout=0)
    with pytest.raises(entra_token.ConfigurationError, match="process_timeout"):
        entra_token.DefaultAzureCredential(process_timeout=1e300)
    monkeypatch.delenv("AZURE_TOKEN_CREDENTIALS")
    with pytest.raises(entra_token.ConfigurationError, match="required environment variables are not set: AZURE_TOKEN_CREDENTIALS"):
        entra_token.DefaultAzureCredential(require_envvar=True)


def test_default_azure_credential_managed_identity_client_id_picks_the_identity(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    monkeypatch.setenv("AZURE_CLIENT_ID", "99999999-9999-4999-8999-999999999999")
    entra_token.clear_cache()
    credential = entra_token.DefaultAzureCredential(managed_identity_client_id=USER_ASSIGNED_CLIENT_ID, exclude_environment_credential=True)
    token = credential.get_token(WEATHER_SCOPE)
    assert claims_of(token.token)["appid"] == USER_ASSIGNED_CLIENT_ID, "the keyword argument wins over AZURE_CLIENT_ID"


def test_async_default_azure_credential_takes_the_same_arguments(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    import entra_token.aio

    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    entra_token.clear_cache()

    async def main() -> entra_token.AccessToken:
        async with entra_token.aio.DefaultAzureCredential(managed_identity_client_id=USER_ASSIGNED_CLIENT_ID, exclude_environment_credential=True) as credential:
            assert credential.links() == ["WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureCliCredential", "AzureDeveloperCliCredential"]
            return await credential.get_token(WEATHER_SCOPE)

    assert claims_of(asyncio.run(main()).token)["appid"] == USER_ASSIGNED_CLIENT_ID


def test_async_environment_and_cli_credentials(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    import entra_token.aio

    for name, value in {"AZURE_AUTHORITY_HOST": emulator.url, "AZURE_TENANT_ID": emulator.tenant_id, "AZURE_CLIENT_ID": WEATHER_CLIENT_ID, "AZURE_CLIENT_SECRET": WEATHER_CLIENT_SECRET}.items():
        monkeypatch.setenv(name, value)
    tools = pathlib.Path(tempfile.mkdtemp(prefix="entra-token-py-aio-az-"))
    (tools / "az").write_text("#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1\n")
    (tools / "az").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")

    async def main() -> str:
        async with entra_token.aio.EnvironmentCredential() as environment:
            token = await environment.get_token(WEATHER_SCOPE)
        with pytest.raises(entra_token.CredentialUnavailableError, match="az login"):
            await entra_token.aio.AzureCliCredential().get_token(WEATHER_SCOPE)
        return token.token

    assert claims_of(asyncio.run(main()))["appid"] == WEATHER_CLIENT_ID


def test_every_credential_names_the_keyword_arguments_it_ignores(emulator: Emulator) -> None:
    # azure-identity passes unknown keywords to its HTTP pipeline; here they do nothing, and say so.
    with pytest.warns(UserWarning, match="ClientSecretCredential ignores these keyword arguments: connection_verify, retry_total"):
        entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, connection_verify=False, retry_total=2)
    with pytest.warns(UserWarning, match="ManagedIdentityCredential ignores these keyword arguments: proxies"):
        entra_token.ManagedIdentityCredential(proxies={})
    with pytest.warns(UserWarning, match="AzureCliCredential ignores these keyword arguments: subscription"):
        entra_token.AzureCliCredential(subscription="s")
    # Keywords with nothing to do here (no instance discovery, no persistent cache) pass quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entra_token.ClientSecretCredential(emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, disable_instance_discovery=True)
        entra_token.EnvironmentCredential(disable_instance_discovery=True)


def test_developer_tool_credentials_take_process_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    tools = pathlib.Path(tempfile.mkdtemp(prefix="entra-token-py-slow-az-"))
    for tool in ("az", "azd"):
        (tools / tool).write_text("#!/bin/sh\nexec /bin/sleep 5\n")
        (tools / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    for cls in (entra_token.AzureCliCredential, entra_token.AzureDeveloperCliCredential):
        started = time.monotonic()
        with pytest.raises(entra_token.EntraTokenError, match="within 300ms"):
            cls(process_timeout=0.3).get_token(WEATHER_SCOPE)
        assert time.monotonic() - started < 4
        for bad in (0, -1, float("nan")):
            with pytest.raises(entra_token.ConfigurationError, match="process"):
                cls(process_timeout=bad)
