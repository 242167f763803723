//! Time, injectable: the cache, expiry checks and retry delays read the clock and sleep through
//! these traits so tests can drive time without waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A source of wall-clock time in whole seconds since the Unix epoch.
///
/// ```
/// use entra_token::{Clock, ManualClock};
/// let clock = ManualClock::new(1_000);
/// clock.advance(60);
/// assert_eq!(clock.now(), 1_060);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// On Linux the coarse realtime clock (the last kernel tick, a few milliseconds at most
    /// behind, stepped with the wall clock like the precise one): it is read on every cache hit,
    /// and the precise clock costs a third of a hit there. Elsewhere `SystemTime`.
    fn now(&self) -> u64 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
            u64::try_from(t.tv_sec).unwrap_or(0)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
        }
    }
}

/// A clock that moves only when told to; for tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock standing at `now` (seconds since the Unix epoch).
    pub fn new(now: u64) -> Self {
        ManualClock(AtomicU64::new(now))
    }
    /// Moves the clock forward.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
    /// Sets the clock.
    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock> Clock for Arc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// Boxed future returned by [`Sleeper::sleep`].
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Waits between retries. Tests inject one that records the delays and returns at once.
pub trait Sleeper: Send + Sync + 'static {
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// Sleeps with tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Records every requested delay and returns immediately; for tests of retry timelines.
///
/// ```
/// use entra_token::{RecordingSleeper, Sleeper};
/// use std::time::Duration;
/// let sleeper = RecordingSleeper::default();
/// # tokio_test_block_on(sleeper.sleep(Duration::from_secs(2)));
/// assert_eq!(sleeper.delays(), vec![Duration::from_secs(2)]);
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f) }
/// ```
#[derive(Debug, Default)]
pub struct RecordingSleeper(std::sync::Mutex<Vec<Duration>>);

impl RecordingSleeper {
    /// The delays requested so far, in order.
    pub fn delays(&self) -> Vec<Duration> {
        self.0.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        if let Ok(mut d) = self.0.lock() {
            d.push(duration);
        }
        Box::pin(async {})
    }
}

impl<S: Sleeper> Sleeper for Arc<S> {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        (**self).sleep(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_agrees_with_system_time_to_the_second() {
        // The coarse clock lags the precise one by at most a kernel tick, so the precise reading
        // taken after it can only be equal or one second ahead (across a second boundary).
        let coarse = SystemClock.now();
        let precise = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert!(precise == coarse || precise == coarse + 1, "coarse {coarse}, precise {precise}");
        assert!(coarse > 1_700_000_000, "a real wall-clock time: {coarse}");
    }
}
