//! Core `tracing` events into Python's `logging`, under the `entra_token` logger.
//!
//! Events are pushed into a lock-free bounded queue by whatever thread emits them (often a tokio
//! worker) and drained by Python threads after each call. A tokio thread never takes the GIL
//! for logging: that can deadlock at `fork()` or interpreter shutdown. A lock-free queue also
//! survives `fork()`, where a mutex held by a vanished thread would stay locked forever.

use crossbeam_queue::ArrayQueue;
use pyo3::prelude::*;
use std::fmt::Write;
use std::sync::OnceLock;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber, span};

/// Past this many undelivered events the oldest are dropped, so a process that never calls in
/// again cannot grow the queue without bound.
const CAPACITY: usize = 1024;

struct Record {
    level: u8,
    target: &'static str,
    message: String,
}

fn queue() -> &'static ArrayQueue<Record> {
    static QUEUE: OnceLock<ArrayQueue<Record>> = OnceLock::new();
    QUEUE.get_or_init(|| ArrayQueue::new(CAPACITY))
}

struct Forwarder;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}");
            self.0.push_str(&rest);
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl Subscriber for Forwarder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::DEBUG && metadata.target().starts_with("entra_token")
    }
    fn new_span(&self, _span: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _span: &span::Id, _values: &span::Record<'_>) {}
    fn record_follows_from(&self, _span: &span::Id, _follows: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let level = match *event.metadata().level() {
            Level::ERROR => 40,
            Level::WARN => 30,
            Level::INFO => 20,
            Level::DEBUG => 10,
            Level::TRACE => 5,
        };
        queue().force_push(Record { level, target: event.metadata().target(), message: fields.0 });
    }
    fn enter(&self, _span: &span::Id) {}
    fn exit(&self, _span: &span::Id) {}
}

/// Makes this module the receiver of core events (unless the process set another subscriber).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(Forwarder);
}

/// Hands queued events to `logging.getLogger("entra_token.<module>")`.
pub fn forward(py: Python<'_>) {
    let queue = queue();
    if queue.is_empty() {
        return;
    }
    let Ok(logging) = py.import("logging") else { return };
    while let Some(record) = queue.pop() {
        let name = record.target.replace("::", ".");
        if let Ok(logger) = logging.call_method1("getLogger", (name,)) {
            let _ = logger.call_method1("log", (record.level, "%s", record.message));
        }
    }
}
