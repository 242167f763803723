"""Starts `entra-token emulate --https` once per session, the way a user would, and hands the
tests its base URL, tenant and CA. Microsoft's libraries insist on https, so the CA goes into
REQUESTS_CA_BUNDLE, which requests (under msal and azure-core) reads on every request."""

import json
import os
import pathlib
import subprocess
import tempfile

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
# The secret the emulator's App Service endpoint expects (IDENTITY_HEADER on a real host).
IDENTITY_HEADER = "interop-identity-header"


def entra_token_binary() -> str:
    if os.environ.get("ENTRA_TOKEN_BIN"):
        return os.environ["ENTRA_TOKEN_BIN"]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "debug" / "entra-token")


class RunningEmulator:
    def __init__(self, env: dict, log: pathlib.Path):
        self.url = env["AZURE_AUTHORITY_HOST"]
        self.tenant_id = env["AZURE_TENANT_ID"]
        self.ca_bundle = env["REQUESTS_CA_BUNDLE"]
        self.log = log
        self.weather_url = f"{self.url}/weather/forecast"
        # What an Azure host sets, pointing at the emulator.
        self.imds_env = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": self.url}
        self.app_service_env = {"IDENTITY_ENDPOINT": f"{self.url}/msi/token", "IDENTITY_HEADER": IDENTITY_HEADER}

    def requests_to(self, path_prefix: str):
        requests_seen = requests.get(f"{self.url}/_emulator/requests", timeout=10).json()
        return [r for r in requests_seen if r["path"].startswith(path_prefix)]

    def token_requests(self):
        requests_seen = requests.get(f"{self.url}/_emulator/requests", timeout=10).json()
        return [r for r in requests_seen if r["path"].endswith("/oauth2/v2.0/token")]

    def clear_requests(self):
        requests.delete(f"{self.url}/_emulator/requests", timeout=10).raise_for_status()

    def call_weather(self, token: str):
        return requests.get(self.weather_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture(scope="session")
def emulator():
    work = pathlib.Path(tempfile.mkdtemp(prefix="entra-token-interop-"))
    log = work / "requests.jsonl"
    process = subprocess.Popen(
        [entra_token_binary(), "emulate", "--https", "--tls-dir", str(work / "tls"), "--log", str(log), "--identity-header", IDENTITY_HEADER],
        stdout=subprocess.PIPE,
        text=True,
    )
    env = {}
    for line in process.stdout:
        line = line.rstrip("\n")
        if line == "# ready":
            break
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value
    else:
        process.kill()
        raise RuntimeError(f"entra-token emulate exited early with {process.wait()}")
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = env["REQUESTS_CA_BUNDLE"]
    try:
        yield RunningEmulator(env, log)
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous
        process.terminate()
        process.wait(timeout=10)


def decode_claims(jwt: str) -> dict:
    import base64

    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
