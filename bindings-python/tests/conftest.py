"""Starts `entra-token emulate` (plain http on loopback, which the core accepts for loopback
hosts) once per session, and resets the emulator and the process-wide cache between tests."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import subprocess
import tempfile
from typing import Any, Dict, Iterator, List

import pytest
import requests

import entra_token

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SCENARIOS = ROOT / "tests" / "scenarios"
IDENTITY_HEADER = "python-tests-identity-header"

TENANT = "11111111-1111-4111-8111-111111111111"
WEATHER_CLIENT_ID = "33333333-3333-4333-8333-333333333333"
WEATHER_CLIENT_SECRET = "emulator-weather-client-secret"
CERT_CLIENT_ID = "44444444-4444-4444-8444-444444444444"
NO_ROLE_CLIENT_ID = "55555555-5555-4555-8555-555555555555"
NO_ROLE_CLIENT_SECRET = "emulator-no-role-secret"
USER_ASSIGNED_CLIENT_ID = "66666666-6666-4666-8666-666666666666"
WORKLOAD_CLIENT_ID = "88888888-8888-4888-8888-888888888888"
WEATHER_SCOPE = "api://weather/.default"
MI_VARS = ["AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"]


def entra_token_binary() -> str:
    if os.environ.get("ENTRA_TOKEN_BIN"):
        return os.environ["ENTRA_TOKEN_BIN"]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "debug" / "entra-token")


class Emulator:
    def __init__(self, url: str) -> None:
        self.url = url
        self.tenant_id = TENANT
        self.weather_url = f"{url}/weather/forecast"

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        response = requests.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response

    def requests(self) -> List[Dict[str, Any]]:
        return self.admin("GET", "requests").json()  # type: ignore[no-any-return]

    def token_requests(self) -> List[Dict[str, Any]]:
        return [r for r in self.requests() if r["path"].endswith("/oauth2/v2.0/token")]

    def add_fault(self, fault: Dict[str, Any]) -> None:
        self.admin("POST", "faults", fault)

    def reset(self) -> None:
        self.admin("DELETE", "requests")
        self.admin("DELETE", "faults")
        self.admin("DELETE", "weather/claims-challenge")

    def workload_token(self, **kwargs: Any) -> str:
        return self.admin("POST", "workload-token", kwargs).json()["token"]  # type: ignore[no-any-return]

    def call_weather(self, token: str) -> requests.Response:
        return requests.get(self.weather_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    process = subprocess.Popen(
        [entra_token_binary(), "emulate", "--identity-header", IDENTITY_HEADER],
        stdout=subprocess.PIPE,
        text=True,
    )
    env: Dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        if line == "# ready":
            break
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value
    else:
        raise RuntimeError(f"entra-token emulate exited early: {process.wait()}")
    try:
        yield Emulator(env["AZURE_AUTHORITY_HOST"])
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def fresh(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with an empty log, no faults, an empty cache and no host variables."""
    emulator.reset()
    entra_token.clear_cache()
    for name in MI_VARS + ["AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"]:
        monkeypatch.delenv(name, raising=False)
    yield


def claims_of(jwt: str) -> Dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def temp_file(text: str) -> pathlib.Path:
    handle, name = tempfile.mkstemp(prefix="entra-token-py-")
    os.write(handle, text.encode())
    os.close(handle)
    return pathlib.Path(name)
