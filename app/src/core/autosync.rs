//! When to sync without being asked: soon after something is saved, every few minutes
//! otherwise (so reviewers' comments and colleagues' records arrive), and less often while the
//! server cannot be reached — a phone on a mountain road must not drain its battery retrying.

use chrono::{DateTime, Duration, Utc};

/// How soon after a save the records go up, if the network is there.
pub const AFTER_SAVE: Duration = Duration::seconds(20);
/// How often to sync when nothing is waiting (to pull what others wrote).
pub const EVERY: Duration = Duration::minutes(5);
/// The longest wait between attempts while failing.
pub const MAX_BACKOFF: Duration = Duration::minutes(30);

/// Whether timers run here: in a real renderer (a tokio runtime natively, the browser's event
/// loop on the web), not in a test's virtual DOM, which drives syncs by hand.
#[cfg(not(target_arch = "wasm32"))]
pub fn timers_run() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// Whether timers run here (the browser always has its event loop).
#[cfg(target_arch = "wasm32")]
pub fn timers_run() -> bool {
    true
}

/// Wait `d` with the platform's timer (tokio's natively; tokio's timers do not exist in the
/// browser, where this is `setTimeout`).
pub async fn sleep(d: std::time::Duration) {
    #[cfg(not(target_arch = "wasm32"))]
    tokio::time::sleep(d).await;
    #[cfg(target_arch = "wasm32")]
    gloo_timers::future::sleep(d).await;
}

/// The policy's memory: the last attempt and how many failed in a row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoSync {
    last_attempt: Option<DateTime<Utc>>,
    failures: u32,
}

impl AutoSync {
    /// Whether to sync now, given whether records or photos are waiting.
    pub fn due(&self, now: DateTime<Utc>, pending: bool) -> bool {
        let Some(last) = self.last_attempt else {
            return true;
        };
        now - last >= self.wait(pending)
    }

    /// How long to wait after the last attempt.
    pub fn wait(&self, pending: bool) -> Duration {
        if self.failures == 0 {
            return if pending { AFTER_SAVE } else { EVERY };
        }
        // 1, 2, 4, 8 … minutes, at most half an hour.
        let minutes = 1i64 << (self.failures - 1).min(5);
        Duration::minutes(minutes).min(MAX_BACKOFF)
    }

    /// Note an attempt's outcome.
    pub fn attempted(&mut self, at: DateTime<Utc>, ok: bool) {
        self.last_attempt = Some(at);
        self.failures = if ok { 0 } else { self.failures + 1 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn saved_records_go_up_soon_and_failures_back_off() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        let mut a = AutoSync::default();
        assert!(a.due(t0, false), "at start, sync at once");
        a.attempted(t0, true);
        assert!(!a.due(t0 + Duration::seconds(30), false));
        assert!(
            a.due(t0 + Duration::seconds(30), true),
            "a save goes up soon"
        );
        assert!(a.due(t0 + EVERY, false), "and others' records come down");
        // Offline: 1, 2, 4 … minutes, never more than 30.
        let mut t = t0;
        let mut waits = vec![];
        for _ in 0..8 {
            a.attempted(t, false);
            waits.push(a.wait(true).num_minutes());
            t += a.wait(true);
            assert!(a.due(t, true));
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        a.attempted(t, true);
        assert_eq!(a.wait(true), AFTER_SAVE, "a success resets the back-off");
    }
}
