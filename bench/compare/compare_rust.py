"""Side-by-side scenarios for Rust: entra-token and the azure_identity crate, each with its
default settings, each measurement in its own process (the binary built from
bench/compare/rust), against one emulator started here.

    python bench/compare/compare_rust.py --out target/compare/rust.json

Managed identity runs through the App Service endpoint: azure_identity's IMDS address is fixed
at 169.254.169.254, so only entra-token takes part in the IMDS 410 case.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import time
from typing import Any, Dict, List

from compare_python import CLIENT_ID, CONCURRENT_RUNS, FAULTS, ROOT, SCOPE, SECRET, Emulator, median_run, parse_args, run_all, run_command

LIBRARIES = ["entra-token", "azure_identity"]


def compare_binary() -> str:
    return str(pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "entra-token-compare-rust")


class Runner:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # Only what each flow needs: a child must not see both App Service and IMDS settings.
        self.base = {k: v for k, v in os.environ.items() if k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST")}
        self.base.update(
            AZURE_AUTHORITY_HOST=emulator.url,
            AZURE_TENANT_ID=emulator.env["AZURE_TENANT_ID"],
            SSL_CERT_FILE=emulator.env["SSL_CERT_FILE"],
            BENCH_CLIENT_ID=CLIENT_ID,
            BENCH_SECRET=SECRET,
            BENCH_SCOPE=SCOPE,
        )
        self.app_service = {"IDENTITY_ENDPOINT": emulator.env["IDENTITY_ENDPOINT"], "IDENTITY_HEADER": emulator.env["IDENTITY_HEADER"]}
        self.imds = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": emulator.url}

    def run(self, args: List[str], deadline: float, extra_env: Dict[str, str] | None = None) -> Dict[str, Any]:
        return run_command([compare_binary(), *args], {**self.base, **(extra_env or {})}, deadline)


def scenario_hit(r: Runner) -> List[Dict[str, Any]]:
    rows = [{"library": "floor: HashMap lookup + Arc clone", **r.run(["floor", "hit"], 120)}]
    for library in ["entra-token", "entra-token-prebuilt-request", "azure_identity"]:
        rows.append({"library": library, **r.run([library, "hit"], 300)})
    return rows


def scenario_scale(r: Runner, sizes: List[int], fill_budget_s: float) -> List[Dict[str, Any]]:
    return [{"library": library, **r.run([library, "scale", str(k), str(fill_budget_s)], fill_budget_s + 180)} for library in LIBRARIES for k in sizes]


def scenario_concurrent(r: Runner) -> List[Dict[str, Any]]:
    rows = []
    for library in LIBRARIES:
        r.emulator.reset()
        r.emulator.admin("POST", "faults", {"kind": "delay", "ms": 200, "path_contains": "/token", "times": 0})
        runs = []
        for _ in range(CONCURRENT_RUNS):
            r.emulator.admin("DELETE", "requests")
            runs.append({**r.run([library, "concurrent"], 120), "requests_at_server": r.emulator.token_requests()})
        r.emulator.admin("DELETE", "faults")
        rows.append({"library": library, **median_run(runs)})
    return rows


def scenario_cold_process(r: Runner) -> List[Dict[str, Any]]:
    rows = []
    for flow, args, env in [("client secret", [], {}), ("managed identity (App Service)", ["--mi"], r.app_service)]:
        for library in LIBRARIES:
            samples = [r.run([library, "once", *args], 120, env) for _ in range(5)]
            good = [s["process_wall_s"] for s in samples if s.get("outcome") == "token"]
            rows.append({"library": library, "flow": flow, "ms": statistics.median(good) * 1000 if good else None})
    return rows


def scenario_faults(r: Runner, deadline: float) -> List[Dict[str, Any]]:
    rows = []
    for name, faults, imds in FAULTS:
        for library in LIBRARIES:
            if imds and library == "azure_identity":
                rows.append({"fault": name, "library": library, "outcome": "not applicable (IMDS address fixed at 169.254.169.254)"})
                continue
            r.emulator.reset()
            for f in faults:
                r.emulator.admin("POST", "faults", {**f, "path_contains": "/metadata/identity" if imds else "/token"})
            result = r.run([library, "once", *(["--mi"] if imds else [])], deadline, r.imds if imds else {})
            r.emulator.admin("DELETE", "faults")
            rows.append({"fault": name, "library": library, "attempts_at_server": r.emulator.token_requests(), **result})
    return rows


def main() -> None:
    args = parse_args()
    emulator = Emulator("--managed-identity", "app_service")
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.split()[1]
    lock = (ROOT / "bench" / "compare" / "rust" / "Cargo.lock").read_text()
    versions = {"entra-token": "workspace"}
    for name in ["azure_identity", "azure_core"]:
        marker = f'name = "{name}"\nversion = "'
        if marker in lock:
            versions[name] = lock.split(marker, 1)[1].split('"', 1)[0]
    results: Dict[str, Any] = {"runtime": f"rust {rustc}", "date": time.strftime("%Y-%m-%d"), "versions": versions}
    runner = Runner(emulator)
    sizes = [int(s) for s in args.sizes.split(",")]
    run_all(args, emulator, results, {
        "hit": ("cache_hit", lambda: scenario_hit(runner)),
        "scale": ("cache_scale", lambda: scenario_scale(runner, sizes, args.fill_budget)),
        "concurrent": ("concurrent_cold", lambda: scenario_concurrent(runner)),
        "cold": ("cold_process", lambda: scenario_cold_process(runner)),
        "faults": ("faults", lambda: scenario_faults(runner, args.fault_deadline)),
    })


if __name__ == "__main__":
    main()
