//! The one tokio runtime the language bindings share (Rust users bring their own).
//!
//! After `fork()` (gunicorn, multiprocessing) the child inherits a copy of the parent's runtime
//! whose worker threads do not exist in the child; using it would hang. [`shared`] notices the
//! new process id and builds a fresh runtime; the old one is leaked, never dropped, since
//! dropping it would wait for threads that are gone. HTTP clients and in-flight cache entries
//! follow the same rule in their own modules; finished tokens stay cached.
//!
//! ```
//! let runtime = entra_token::runtime::shared();
//! assert_eq!(runtime.block_on(async { 1 + 1 }), 2);
//! ```

use std::sync::{Arc, Mutex, OnceLock};

/// The runtime and the process id it was built in (a forked child builds its own).
type PerProcessRuntime = Option<(u32, Arc<tokio::runtime::Runtime>)>;

static RUNTIME: OnceLock<Mutex<PerProcessRuntime>> = OnceLock::new();

/// The shared multi-threaded runtime of this process, built on first use (two worker threads:
/// token traffic is light, and bindings must not take a core per CPU from the host app).
///
/// # Panics
/// Only if the operating system refuses to start threads.
pub fn shared() -> Arc<tokio::runtime::Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some((owner, runtime)) = slot.as_ref() {
        if *owner == pid {
            return runtime.clone();
        }
    }
    if let Some((_, parent)) = slot.take() {
        // A forked child: the parent's runtime cannot be shut down from here.
        std::mem::forget(parent);
    }
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("entra-token")
            .enable_all()
            .build()
            .expect("cannot start the entra-token runtime threads"),
    );
    *slot = Some((pid, runtime.clone()));
    runtime
}
