"""msal and azure-identity, unchanged, acquire tokens from the emulator and call its weather API."""

import hashlib

import msal
import pytest
from azure.identity import CertificateCredential, ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import FIXTURES, decode_claims

WEATHER_CLIENT_ID = "33333333-3333-4333-8333-333333333333"
WEATHER_CLIENT_SECRET = "emulator-weather-client-secret"
CERT_CLIENT_ID = "44444444-4444-4444-8444-444444444444"
NO_ROLE_CLIENT_ID = "55555555-5555-4555-8555-555555555555"
NO_ROLE_CLIENT_SECRET = "emulator-no-role-secret"
SCOPE = "api://weather/.default"


def cert_a():
    pem = (FIXTURES / "cert-a.pem").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    return pem, (FIXTURES / "cert-a.key").read_text(), der


def msal_app(emulator, client_id, credential):
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{emulator.url}/{emulator.tenant_id}",
        # Nothing may leave loopback: no instance discovery against the public cloud.
        instance_discovery=False,
    )


def test_msal_client_secret(emulator):
    emulator.clear_requests()
    app = msal_app(emulator, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET)
    result = app.acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result
    assert decode_claims(result["access_token"])["roles"] == ["Weather.Read"]
    assert emulator.call_weather(result["access_token"]).status_code == 200
    sent = emulator.token_requests()
    assert len(sent) == 1 and dict(sent[0]["form"])["client_id"] == WEATHER_CLIENT_ID


def test_msal_certificate_with_sha1_thumbprint(emulator):
    pem, key, der = cert_a()
    credential = {"private_key": key, "thumbprint": hashlib.sha1(der).hexdigest()}
    result = msal_app(emulator, CERT_CLIENT_ID, credential).acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result
    assert emulator.call_weather(result["access_token"]).status_code == 200


def test_msal_certificate_with_sha256_thumbprint_and_chain(emulator):
    pem, key, der = cert_a()
    credential = {"private_key": key, "thumbprint_sha256": hashlib.sha256(der).hexdigest(), "public_certificate": pem.decode()}
    result = msal_app(emulator, CERT_CLIENT_ID, credential).acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result
    assert decode_claims(result["access_token"])["appidacr"] == "2"


def test_msal_wrong_secret_gets_the_entra_error(emulator):
    result = msal_app(emulator, WEATHER_CLIENT_ID, "not-the-secret").acquire_token_for_client(scopes=[SCOPE])
    assert result.get("error") == "invalid_client", result
    assert 7000215 in result.get("error_codes", []), result


def test_azure_identity_client_secret_and_403_without_role(emulator):
    credential = ClientSecretCredential(
        emulator.tenant_id, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, authority=emulator.url, disable_instance_discovery=True
    )
    token = credential.get_token(SCOPE)
    assert token.expires_on > 0
    assert emulator.call_weather(token.token).status_code == 200

    no_role = ClientSecretCredential(
        emulator.tenant_id, NO_ROLE_CLIENT_ID, NO_ROLE_CLIENT_SECRET, authority=emulator.url, disable_instance_discovery=True
    )
    assert emulator.call_weather(no_role.get_token(SCOPE).token).status_code == 403


def test_azure_identity_certificate(emulator):
    combined = str(FIXTURES / "cert-a-combined.pem")
    credential = CertificateCredential(
        emulator.tenant_id, CERT_CLIENT_ID, certificate_path=combined, authority=emulator.url, disable_instance_discovery=True
    )
    token = credential.get_token(SCOPE)
    assert decode_claims(token.token)["appid"] == CERT_CLIENT_ID
    assert emulator.call_weather(token.token).status_code == 200


def test_the_request_log_file_saw_the_peers(emulator):
    import json

    lines = [json.loads(line) for line in emulator.log.read_text().splitlines()]
    token_calls = [l for l in lines if l["path"].endswith("/oauth2/v2.0/token")]
    assert token_calls, "the peers' requests are in the JSON-lines log"
    assert all("status" in l and "headers" in l for l in token_calls)
