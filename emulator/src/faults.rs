//! Fault injection: tests ask for latency, failures with a status and `Retry-After`, malformed
//! or oversized bodies, dropped connections, or no answer at all.

use serde::{Deserialize, Serialize};

/// What to do instead of (or before) answering normally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status, optional `Retry-After` and body.
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header value.
        #[serde(default)]
        retry_after: Option<String>,
        /// The body (JSON text); default: an Entra-shaped error.
        #[serde(default)]
        body: Option<String>,
        /// Extra response headers (for example `Location` on a redirect).
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
    /// Answer 200 with a body that is not valid JSON.
    Malformed,
    /// Answer 200 with a body of this many bytes.
    Oversized {
        /// Body size in bytes.
        bytes: usize,
    },
    /// Start a 200 answer, then drop the connection.
    Close,
    /// Never answer.
    Hang,
    /// Wait, then answer normally.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
}

/// One fault rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Applies to requests whose path contains this text (all requests when absent).
    #[serde(default)]
    pub path_contains: Option<String>,
    /// How many matching requests it applies to; `0` means every one until cleared.
    #[serde(default = "one")]
    pub times: u32,
    /// What to do.
    #[serde(flatten)]
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault for the next `times` requests whose path contains `path`.
    pub fn new(path_contains: Option<&str>, times: u32, action: FaultAction) -> Self {
        Fault { path_contains: path_contains.map(str::to_owned), times, action }
    }

    /// The next `times` requests answer `status` (with `Retry-After` when given).
    pub fn status(times: u32, status: u16, retry_after: Option<&str>) -> Self {
        Self::new(None, times, FaultAction::Status { status, retry_after: retry_after.map(str::to_owned), body: None, headers: Vec::new() })
    }
}

/// The active rules; the first matching rule applies.
#[derive(Default)]
pub struct Faults(Vec<(Fault, u32)>);

impl Faults {
    /// Adds a rule.
    pub fn push(&mut self, fault: Fault) {
        self.0.push((fault, 0));
    }

    /// Removes all rules.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The action for a request to `path`, consuming one use of the rule.
    pub fn take(&mut self, path: &str) -> Option<FaultAction> {
        let index = self.0.iter().position(|(f, _)| f.path_contains.as_deref().is_none_or(|p| path.contains(p)))?;
        let (fault, used) = &mut self.0[index];
        *used += 1;
        let action = fault.action.clone();
        if fault.times != 0 && *used >= fault.times {
            self.0.remove(index);
        }
        Some(action)
    }
}
