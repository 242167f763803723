"""Python cache-hit and import benchmarks for entra_token, with their floors measured in the
same run (machines here are shared and noisy: compare ratios, not absolute figures).

    python bench/python/bench_python.py [--json out.json]

Needs the package installed (release build: `pip install ./bindings-python`) and the
entra-token binary (ENTRA_TOKEN_BIN or target/debug/entra-token) to run the emulator. msal and
azure-identity are measured too when installed, each on its own default settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List

ROOT = pathlib.Path(__file__).resolve().parents[2]
TENANT = "11111111-1111-4111-8111-111111111111"
CLIENT_ID = "33333333-3333-4333-8333-333333333333"
SECRET = "emulator-weather-client-secret"
SCOPE = "api://weather/.default"


def binary() -> str:
    return os.environ.get("ENTRA_TOKEN_BIN") or str(pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "entra-token")


def ns_per_call(fn: Callable[[], object], calls: int = 100_000, batches: int = 7) -> float:
    """Median over batches of the mean time per call, in ns."""
    for _ in range(calls // 10):
        fn()
    results = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        results.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(results)


def async_ns_per_call(make: Callable[[], object], calls: int = 50_000, batches: int = 7) -> float:
    async def run() -> float:
        results = []
        for _ in range(calls // 10):
            await make()  # type: ignore[misc]
        for _ in range(batches):
            start = time.perf_counter_ns()
            for _ in range(calls):
                await make()  # type: ignore[misc]
            results.append((time.perf_counter_ns() - start) / calls)
        return statistics.median(results)

    return asyncio.run(run())


def import_ms(module: str, runs: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
    values = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(runs)]
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = parser.parse_args()

    emulator = subprocess.Popen([binary(), "emulate", "--https", "--tls-dir", str(ROOT / "target" / "bench-tls")], stdout=subprocess.PIPE, text=True)
    env: Dict[str, str] = {}
    assert emulator.stdout is not None
    for line in emulator.stdout:
        if line.strip() == "# ready":
            break
        if line.startswith("export "):
            k, _, v = line[7:].strip().partition("=")
            env[k] = v
    # Peers insist on https and read the CA from here; entra_token reads SSL_CERT_FILE.
    os.environ["REQUESTS_CA_BUNDLE"] = env["REQUESTS_CA_BUNDLE"]
    os.environ["SSL_CERT_FILE"] = env["SSL_CERT_FILE"]
    url = env["AZURE_AUTHORITY_HOST"]
    results: Dict[str, object] = {"machine": f"{platform.machine()} {os.cpu_count()} cpus", "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}
    try:
        import entra_token
        import entra_token._native as native
        import entra_token.aio

        floor = ns_per_call(native._noop)
        credential = entra_token.ClientSecretCredential(TENANT, CLIENT_ID, SECRET, authority=url)
        credential.get_token(SCOPE)
        hit = ns_per_call(lambda: credential.get_token(SCOPE))
        acred = entra_token.aio.ClientSecretCredential(TENANT, CLIENT_ID, SECRET, authority=url)

        async def coroutine_floor() -> None:
            return None

        async_floor = async_ns_per_call(coroutine_floor)
        async_hit = async_ns_per_call(lambda: acred.get_token(SCOPE))
        rows: List[Dict[str, object]] = [
            {"what": "no-op pyo3 call (floor)", "ns": floor},
            {"what": "entra_token get_token, cache hit", "ns": hit, "ratio_to_floor": hit / floor},
            {"what": "awaiting a pure-Python coroutine (floor)", "ns": async_floor},
            {"what": "entra_token.aio get_token, cache hit", "ns": async_hit, "ratio_to_floor": async_hit / async_floor},
        ]
        try:
            import msal

            app = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=SECRET, authority=f"{url}/{TENANT}", instance_discovery=False)
            app.acquire_token_for_client(scopes=[SCOPE])
            rows.append({"what": "msal acquire_token_for_client, cache hit", "ns": ns_per_call(lambda: app.acquire_token_for_client(scopes=[SCOPE]), calls=5_000)})
        except ImportError:
            pass
        try:
            from azure.identity import ClientSecretCredential as AzureSecret

            azure = AzureSecret(TENANT, CLIENT_ID, SECRET, authority=url, disable_instance_discovery=True)
            azure.get_token(SCOPE)
            rows.append({"what": "azure-identity get_token, cache hit", "ns": ns_per_call(lambda: azure.get_token(SCOPE), calls=5_000)})
        except ImportError:
            pass
        results["cache_hit"] = rows
        baseline = import_ms("sys")
        imports = [{"module": "(interpreter start floor)", "ms": baseline}]
        for module in ["entra_token", "msal", "azure.identity"]:
            try:
                imports.append({"module": module, "ms": import_ms(module)})
            except subprocess.CalledProcessError:
                pass
        results["import"] = imports
    finally:
        emulator.terminate()
        emulator.wait()
    for row in results["cache_hit"]:  # type: ignore[union-attr]
        ratio = f"  ({row['ratio_to_floor']:.1f}x floor)" if "ratio_to_floor" in row else ""
        print(f"{row['what']:<45} {row['ns']:>10.0f} ns{ratio}")
    for row in results["import"]:  # type: ignore[union-attr]
        print(f"import {row['module']:<38} {row['ms']:>10.1f} ms")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
