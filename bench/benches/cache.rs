//! Cache-hit cost of `get_token`, next to a bare `HashMap` lookup plus clone measured in the
//! same run; flatness with 10,000 cached entries; several threads at once; memory per entry;
//! and the cold path against the emulator.

use criterion::{Criterion, criterion_group, criterion_main};
use entra_token::TokenCredential;
use entra_token_bench::{fill, scope, setup};
use futures_util::FutureExt;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts live heap bytes, for the memory-per-entry figure.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const LARGE: usize = 10_000;

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let s = setup(&runtime);
    fill(&runtime, &s, 1);
    let one = scope(0);

    let mut g = c.benchmark_group("cache_hit");
    // The floor: a HashMap<String, Arc<String>> lookup of a scope-sized key plus an Arc clone.
    let mut map = HashMap::new();
    map.insert("api://bench-0/.default".to_owned(), Arc::new("token".to_owned()));
    g.bench_function("baseline_hashmap_lookup_clone", |b| b.iter(|| black_box(map.get(black_box("api://bench-0/.default")).cloned())));
    g.bench_function("get_token_cached_1_entry", |b| b.iter(|| black_box(s.credential.get_token_cached(black_box(&one)))));
    g.bench_function("get_token_async_1_entry", |b| b.iter(|| black_box(s.credential.get_token(black_box(&one)).now_or_never())));

    // Memory: live heap growth per entry while filling, minus the token bytes themselves.
    let token_len = s.credential.get_token_cached(&one).unwrap().token().expose_secret().len() as isize;
    // The in-process emulator logs every request; clear its log on both sides of the fill.
    s.emulator.clear_requests();
    let before = LIVE.load(Ordering::Relaxed);
    fill(&runtime, &s, LARGE);
    s.emulator.clear_requests();
    let grown = LIVE.load(Ordering::Relaxed) - before;
    let per_entry = grown / (LARGE as isize - 1) - token_len;
    eprintln!("memory: {grown} bytes for {} entries; {per_entry} bytes per entry beyond the {token_len}-byte token", LARGE - 1);

    let requests: Vec<_> = (0..LARGE).map(scope).collect();
    let mut i = 0usize;
    g.bench_function("get_token_cached_10k_entries_random", |b| {
        b.iter(|| {
            i = (i.wrapping_mul(2_654_435_761).wrapping_add(1)) % LARGE;
            black_box(s.credential.get_token_cached(&requests[i]))
        })
    });
    g.finish();

    // Two threads hitting the cache at once (this machine has 2 cores): time per hit per thread.
    c.bench_function("cache_hit_2_threads", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|scope_| {
                for t in 0..2 {
                    let (cred, reqs) = (&s.credential, &requests);
                    scope_.spawn(move || {
                        for n in 0..iters as usize {
                            black_box(cred.get_token_cached(&reqs[(n * 7 + t) % LARGE]));
                        }
                    });
                }
            });
            start.elapsed()
        })
    });

    // The cold path: one real HTTP round trip to the emulator (force_refresh skips the cache).
    let cold = scope(0).with_force_refresh(true);
    c.bench_function("cold_get_token_emulator_round_trip", |b| b.iter(|| runtime.block_on(s.credential.get_token(&cold)).unwrap()));
    eprintln!("cache stats: {:?}", s.cache.stats());
}

criterion_group! {
    name = cache;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(cache);
