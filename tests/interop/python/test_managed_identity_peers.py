"""msal's ManagedIdentityClient and azure-identity's ManagedIdentityCredential, unchanged, get
tokens from the emulator's IMDS and App Service endpoints through the variables a host sets."""

import msal
import pytest
import requests
from azure.identity import ManagedIdentityCredential

from conftest import decode_claims

USER_ASSIGNED_CLIENT_ID = "66666666-6666-4666-8666-666666666666"
USER_ASSIGNED_OBJECT_ID = "77777777-7777-4777-8777-777777777777"
MI_VARS = ["AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"]


@pytest.fixture(params=["imds", "app_service"])
def host(request, emulator, monkeypatch):
    for name in MI_VARS:
        monkeypatch.delenv(name, raising=False)
    env = emulator.imds_env if request.param == "imds" else emulator.app_service_env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = "/metadata/identity/oauth2/token" if request.param == "imds" else "/msi/token"
    return request.param, path


@pytest.mark.parametrize("identity", ["system", "user"])
def test_msal_managed_identity_client(emulator, host, identity):
    source, path = host
    managed = msal.SystemAssignedManagedIdentity() if identity == "system" else msal.UserAssignedManagedIdentity(client_id=USER_ASSIGNED_CLIENT_ID)
    client = msal.ManagedIdentityClient(managed, http_client=requests.Session())
    before = len(emulator.requests_to(path))
    result = client.acquire_token_for_client(resource="api://weather")
    assert "access_token" in result, result
    claims = decode_claims(result["access_token"])
    if identity == "user":
        assert claims["appid"] == USER_ASSIGNED_CLIENT_ID
    assert claims["roles"] == ["Weather.Read"]
    assert emulator.call_weather(result["access_token"]).status_code == 200
    assert len(emulator.requests_to(path)) == before + 1, f"msal reached the emulator's {source} endpoint"


@pytest.mark.parametrize("identity", ["system", "client_id", "object_id"])
def test_azure_identity_managed_identity_credential(emulator, host, identity):
    source, path = host
    if identity == "system":
        credential = ManagedIdentityCredential()
    elif identity == "client_id":
        credential = ManagedIdentityCredential(client_id=USER_ASSIGNED_CLIENT_ID)
    else:
        credential = ManagedIdentityCredential(identity_config={"object_id": USER_ASSIGNED_OBJECT_ID})
    before = len(emulator.requests_to(path))
    token = credential.get_token("https://vault.azure.net/.default")
    claims = decode_claims(token.token)
    assert claims["aud"] == "https://vault.azure.net"
    if identity != "system":
        assert claims["oid"] == USER_ASSIGNED_OBJECT_ID
    assert len(emulator.requests_to(path)) > before, f"azure-identity reached the emulator's {source} endpoint"
