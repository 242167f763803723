//! One scenario of bench/compare for one Rust library, in this process; prints one JSON line.
//!
//! ```text
//! compare-rust <entra-token|azure_identity|floor> <hit|scale K BUDGET_S|concurrent|once> [--mi]
//! ```
//! The emulator's address and the credential come from the environment the orchestrator sets
//! (`AZURE_AUTHORITY_HOST`, `AZURE_TENANT_ID`, `BENCH_CLIENT_ID`, `BENCH_SECRET`, `BENCH_SCOPE`;
//! `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` for managed identity). Each library runs with its
//! default settings, as its users would write it.

use entra_token::TokenCredential;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

enum Library {
    Ours(Arc<entra_token::AnyCredential>),
    /// The request built once, to show what the per-call `TokenRequest` costs.
    OursPrebuilt(Arc<entra_token::AnyCredential>),
    Peer(Arc<dyn azure_core::credentials::TokenCredential>),
}

impl Library {
    fn new(name: &str, managed_identity: bool) -> Result<Library, String> {
        let var = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
        let ours = |mi: bool| -> Result<Arc<entra_token::AnyCredential>, String> {
            Ok(if mi {
                Arc::new(entra_token::ManagedIdentityCredential::new(Default::default()).map_err(|e| e.to_string())?.into())
            } else {
                let options = entra_token::ClientOptions {
                    authority: Some(entra_token::Authority::entra(&var("AZURE_AUTHORITY_HOST")?).map_err(|e| e.to_string())?),
                    ..Default::default()
                };
                Arc::new(
                    entra_token::ClientSecretCredential::with_options(&var("AZURE_TENANT_ID")?, &var("BENCH_CLIENT_ID")?, var("BENCH_SECRET")?, options)
                        .map_err(|e| e.to_string())?
                        .into(),
                )
            })
        };
        Ok(match name {
            "entra-token" => Library::Ours(ours(managed_identity)?),
            "entra-token-prebuilt-request" => Library::OursPrebuilt(ours(managed_identity)?),
            // azure_identity reads AZURE_AUTHORITY_HOST itself and insists on https.
            "azure_identity" if managed_identity => Library::Peer(azure_identity::ManagedIdentityCredential::new(None).map_err(|e| e.to_string())?),
            "azure_identity" => Library::Peer(
                azure_identity::ClientSecretCredential::new(&var("AZURE_TENANT_ID")?, var("BENCH_CLIENT_ID")?, var("BENCH_SECRET")?.into(), None)
                    .map_err(|e| e.to_string())?,
            ),
            other => return Err(format!("unknown library {other}")),
        })
    }

    async fn get(&self, scope: &str, prebuilt: &entra_token::TokenRequest) -> Result<usize, String> {
        match self {
            Library::Ours(c) => c.get_token(&entra_token::TokenRequest::new([scope])).await.map(|t| t.token().expose_secret().len()).map_err(|e| e.to_string()),
            Library::OursPrebuilt(c) => c.get_token(prebuilt).await.map(|t| t.token().expose_secret().len()).map_err(|e| e.to_string()),
            Library::Peer(c) => c.get_token(&[scope], None).await.map(|t| t.token.secret().len()).map_err(|e| e.to_string()),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A pseudo-random index sequence without a dependency (xorshift).
fn random_order(n: usize, count: usize) -> Vec<usize> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        })
        .collect()
}

/// The floor: a `HashMap<String, Arc<String>>` lookup of a scope-sized key plus an `Arc` clone.
fn floor() -> serde_json::Value {
    let mut map = HashMap::new();
    map.insert("api://weather/.default".to_owned(), Arc::new("x".repeat(1000)));
    let calls = 2_000_000;
    let batches = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                black_box(map.get(black_box("api://weather/.default")).cloned());
            }
            t.elapsed().as_nanos() as f64 / calls as f64
        })
        .collect();
    serde_json::json!({ "ns": median(batches) })
}

async fn run(library: &Library, scenario: &str, args: &[String]) -> Result<serde_json::Value, String> {
    let scope = std::env::var("BENCH_SCOPE").unwrap_or_else(|_| "api://weather/.default".into());
    let prebuilt = entra_token::TokenRequest::new([scope.as_str()]);
    match scenario {
        "hit" => {
            library.get(&scope, &prebuilt).await?;
            let calls = if matches!(library, Library::Peer(_)) { 200_000 } else { 1_000_000 };
            for _ in 0..calls / 10 {
                library.get(&scope, &prebuilt).await?;
            }
            let mut batches = Vec::new();
            for _ in 0..7 {
                let t = Instant::now();
                for _ in 0..calls {
                    black_box(library.get(black_box(&scope), &prebuilt).await?);
                }
                batches.push(t.elapsed().as_nanos() as f64 / calls as f64);
            }
            Ok(serde_json::json!({ "ns": median(batches) }))
        }
        "scale" => {
            let k: usize = args.first().and_then(|a| a.parse().ok()).ok_or("scale needs K")?;
            let budget = Duration::from_secs_f64(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60.0));
            let scopes: Vec<String> = (0..k).map(|i| format!("api://scale-{i}/.default")).collect();
            let requests: Vec<entra_token::TokenRequest> = scopes.iter().map(|s| entra_token::TokenRequest::new([s.as_str()])).collect();
            library.get(&scope, &prebuilt).await?;
            let before = rss_kb();
            let started = Instant::now();
            let mut filled = 0;
            for (s, r) in scopes.iter().zip(&requests) {
                if started.elapsed() > budget {
                    break;
                }
                library.get(s, r).await?;
                filled += 1;
            }
            let fill_s = started.elapsed().as_secs_f64();
            let after = rss_kb();
            let order = random_order(filled.max(1), 200_000);
            let t = Instant::now();
            for &i in &order {
                black_box(library.get(&scopes[i], &requests[i]).await?);
            }
            let hit_ns = t.elapsed().as_nanos() as f64 / order.len() as f64;
            let growth = before.zip(after).map(|(b, a)| a as i64 - b as i64);
            Ok(serde_json::json!({ "k": k, "filled": filled, "fill_s": fill_s, "hit_ns": hit_ns, "rss_growth_kb": growth }))
        }
        "once" => {
            let t = Instant::now();
            let outcome = match library.get(&scope, &prebuilt).await {
                Ok(_) => "token".to_owned(),
                Err(e) => format!("error: {}", e.lines().next().unwrap_or("").chars().take(120).collect::<String>()),
            };
            Ok(serde_json::json!({ "outcome": outcome, "call_s": t.elapsed().as_secs_f64() }))
        }
        other => Err(format!("unknown scenario {other}")),
    }
}

/// 100 tasks at once on a cold credential (the server delays each answer by 200 ms).
async fn concurrent(library: Arc<Library>) -> serde_json::Value {
    let scope = std::env::var("BENCH_SCOPE").unwrap_or_else(|_| "api://weather/.default".into());
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let t = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (library, barrier, scope) = (library.clone(), barrier.clone(), scope.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let prebuilt = entra_token::TokenRequest::new([scope.as_str()]);
                library.get(&scope, &prebuilt).await
            })
        })
        .collect();
    let mut errors = 0;
    for task in tasks {
        if !matches!(task.await, Ok(Ok(_))) {
            errors += 1;
        }
    }
    serde_json::json!({ "wall_s": t.elapsed().as_secs_f64(), "errors": errors })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let managed_identity = args.iter().any(|a| a == "--mi");
    let args: Vec<String> = args.into_iter().filter(|a| a != "--mi").collect();
    let (Some(name), Some(scenario)) = (args.first(), args.get(1)) else {
        eprintln!("usage: compare-rust <entra-token|entra-token-prebuilt-request|azure_identity|floor> <hit|scale K BUDGET_S|concurrent|once> [--mi]");
        std::process::exit(2);
    };
    if name == "floor" {
        println!("{}", floor());
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let result = runtime.block_on(async {
        let library = Library::new(name, managed_identity)?;
        if scenario == "concurrent" {
            return Ok(concurrent(Arc::new(library)).await);
        }
        run(&library, scenario, &args[2..]).await
    });
    match result {
        Ok(v) => println!("{v}"),
        Err(e) => println!("{}", serde_json::json!({ "outcome": format!("error: {e}") })),
    }
}
