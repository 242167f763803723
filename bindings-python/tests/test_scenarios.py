"""The cross-runtime scenarios (tests/scenarios/*.json), replayed through the Python package
exactly as core/tests/scenarios.rs replays them in Rust: same emulator, same expectations."""

from __future__ import annotations

import json
import pathlib
from typing import Any, Dict

import pytest

import entra_token
from conftest import (
    CERT_CLIENT_ID,
    FIXTURES,
    NO_ROLE_CLIENT_ID,
    NO_ROLE_CLIENT_SECRET,
    SCENARIOS,
    WEATHER_CLIENT_ID,
    WEATHER_CLIENT_SECRET,
    Emulator,
    claims_of,
)

FILES = sorted(SCENARIOS.glob("*.json"))


def load(path: pathlib.Path, emulator: Emulator) -> Dict[str, Any]:
    text = path.read_text()
    for placeholder, value in {
        "${WEATHER_CLIENT_ID}": WEATHER_CLIENT_ID,
        "${WEATHER_CLIENT_SECRET}": WEATHER_CLIENT_SECRET,
        "${CERT_CLIENT_ID}": CERT_CLIENT_ID,
        "${NO_ROLE_CLIENT_ID}": NO_ROLE_CLIENT_ID,
        "${NO_ROLE_CLIENT_SECRET}": NO_ROLE_CLIENT_SECRET,
        "${TENANT}": emulator.tenant_id,
    }.items():
        text = text.replace(placeholder, value)
    return json.loads(text)  # type: ignore[no-any-return]


def build(spec: Dict[str, Any], emulator: Emulator) -> Any:
    if spec["kind"] == "client_secret":
        return entra_token.ClientSecretCredential(emulator.tenant_id, spec["client_id"], spec["secret"], authority=emulator.url)
    if spec["kind"] == "client_certificate":
        return entra_token.CertificateCredential(
            emulator.tenant_id, spec["client_id"], FIXTURES / spec["path"], password=spec.get("password"), authority=emulator.url
        )
    raise AssertionError(f"unknown credential kind {spec['kind']}")


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_scenario(path: pathlib.Path, emulator: Emulator) -> None:
    scenario = load(path, emulator)
    name = scenario["name"]
    for fault in scenario["faults"]:
        emulator.add_fault(fault)
    credential = build(scenario["credential"], emulator)
    before = entra_token.cache_stats()
    for call in scenario["calls"]:
        if call.get("force_refresh"):
            # Python has no force_refresh keyword (azure-core has none); emptying the cache is the same here.
            entra_token.clear_cache()
        expect = call["expect"]
        if "token" in expect:
            token = credential.get_token(*call["scopes"])
            claims = claims_of(token.token)
            for key, value in expect["token"]["claims"].items():
                assert claims.get(key) == value, f"{name}: claim {key}"
        else:
            wanted = expect["error"]
            with pytest.raises(entra_token.EntraTokenError) as caught:
                credential.get_token(*call["scopes"])
            e = caught.value
            assert e.kind == wanted["kind"], f"{name}: {e}"
            if "status" in wanted:
                assert e.status == wanted["status"], name
            if "aadsts" in wanted:
                assert e.aadsts_code == wanted["aadsts"], name
            if "oauth_error" in wanted:
                assert e.oauth_error == wanted["oauth_error"], name
            if "retryable" in wanted:
                assert e.retryable == wanted["retryable"], name
    sent = emulator.token_requests()
    assert len(sent) == scenario["expect_token_requests"], f"{name}: token requests"
    if "expect_statuses" in scenario:
        assert [r["status"] for r in sent] == scenario["expect_statuses"], name
    if "expect_cache" in scenario:
        after = entra_token.cache_stats()
        assert {k: after[k] - before[k] for k in scenario["expect_cache"]} == scenario["expect_cache"], f"{name}: cache counters"


def test_every_scenario_file_is_replayed() -> None:
    assert len(FILES) >= 9
