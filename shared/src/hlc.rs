//! Hybrid logical clocks, bounded against wrong phone clocks.
//!
//! Cheap phones' clocks are wrong by days, and a phone whose battery died may wake in 2015. An
//! HLC stamp orders writes by wall time where clocks are sane and never lets a stamp go
//! backwards on one device. Two bounds keep a bad clock from ruling:
//!
//! * [`Clock::observe`] never advances this clock more than [`CLOCK_BOUND`] past its own wall
//!   time, so one far-future stamp cannot drag every later write into the future;
//! * the server records when it first received an operation, and ordering uses
//!   [`effective`]: a stamp claiming to be later than its own receipt (plus the bound) is
//!   clamped to it. A clock in the future therefore cannot win forever, only until the next
//!   write by someone who has seen it (and the merge's causal `prev` links decide those
//!   regardless of clocks; see `register`).
//!
//! `uhlc` was considered (CRATES.md): it reads time through a `fn()` pointer, so tests cannot
//! inject a clock, and it *refuses* stamps beyond its bound, whereas field data must be kept
//! and flagged, never refused. The clock itself is twenty lines; these rules are the point.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How far a stamp may lead the receiver's wall clock before it is clamped and flagged.
pub const CLOCK_BOUND: Duration = Duration::minutes(10);

/// A hybrid logical timestamp: milliseconds since the Unix epoch plus a counter for events
/// within one millisecond (or while the wall clock lags the stamps this clock has seen).
/// Ordered by `(ms, counter)`; ties between devices are broken by the caller.
///
/// Frozen wire format: `{"ms": u64, "c": u32}`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Hlc {
    pub ms: u64,
    #[serde(rename = "c")]
    pub counter: u32,
}

impl Hlc {
    /// The stamp at a wall-clock instant, counter zero. Instants before 1970 map to zero.
    pub fn at(t: DateTime<Utc>) -> Self {
        Self {
            ms: u64::try_from(t.timestamp_millis()).unwrap_or(0),
            counter: 0,
        }
    }

    /// The wall-clock instant of the stamp (the counter is dropped).
    pub fn wall(&self) -> DateTime<Utc> {
        i64::try_from(self.ms)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Hlc({}+{})",
            self.wall().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            self.counter
        )
    }
}

/// One device's (or the server's) clock. Persist [`Clock::last`] with the local store so
/// stamps keep increasing across restarts even when the wall clock is set back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    last: Hlc,
}

impl Clock {
    /// A clock that has issued nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock resumed from its last issued stamp.
    pub fn resume(last: Hlc) -> Self {
        Self { last }
    }

    /// The last stamp issued or observed.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A new stamp, greater than every stamp issued or observed before, at wall time `now`.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Hlc {
        let wall = Hlc::at(now);
        self.last = if wall.ms > self.last.ms {
            wall
        } else if self.last.counter == u32::MAX {
            Hlc {
                ms: self.last.ms + 1,
                counter: 0,
            }
        } else {
            Hlc {
                ms: self.last.ms,
                counter: self.last.counter + 1,
            }
        };
        self.last
    }

    /// Take account of a stamp from elsewhere, so the next [`Clock::tick`] orders after it —
    /// but never more than [`CLOCK_BOUND`] past this clock's own wall time. Returns `true` when
    /// the stamp lay beyond that bound (the sender's clock, or ours, is wrong).
    pub fn observe(&mut self, remote: Hlc, now: DateTime<Utc>) -> bool {
        let ceiling = Hlc::at(now.checked_add_signed(CLOCK_BOUND).unwrap_or(now));
        let beyond = remote > ceiling;
        let seen = remote.min(ceiling);
        if seen > self.last {
            self.last = seen;
        }
        beyond
    }
}

/// The stamp used for ordering: `stamp`, clamped to `received_at + CLOCK_BOUND` once a
/// receiver has recorded when it arrived. A write cannot have been made after it was received,
/// so anything later is clock error.
pub fn effective(stamp: Hlc, received_at: Option<DateTime<Utc>>) -> Hlc {
    match received_at {
        Some(r) => {
            let ceiling = Hlc::at(r.checked_add_signed(CLOCK_BOUND).unwrap_or(r));
            if stamp > ceiling {
                Hlc {
                    ms: ceiling.ms,
                    counter: stamp.counter,
                }
            } else {
                stamp
            }
        }
        None => stamp,
    }
}

/// A device clock found to be wrong, with by how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "direction", content = "seconds", rename_all = "snake_case")]
pub enum ClockSkew {
    /// The device's clock ran ahead of real time (its stamp or wall time is later than the
    /// server's receipt of the operation).
    Ahead(i64),
    /// The device's clock ran behind: its wall time is earlier than a stamp it had already
    /// seen from elsewhere.
    Behind(i64),
}

impl ClockSkew {
    /// Judge an operation's clocks: `device_time` as the phone read it, `stamp` its HLC, and the
    /// receiver's `received_at` when known. `None` when everything is within [`CLOCK_BOUND`].
    pub fn judge(
        device_time: DateTime<Utc>,
        stamp: Hlc,
        received_at: Option<DateTime<Utc>>,
    ) -> Option<ClockSkew> {
        // Checked throughout: both times come from a phone and may be anything chrono holds.
        let past = |t: DateTime<Utc>| t.checked_add_signed(CLOCK_BOUND).unwrap_or(t);
        if let Some(r) = received_at {
            let latest_claim = device_time.max(stamp.wall());
            if latest_claim > past(r) {
                return Some(ClockSkew::Ahead((latest_claim - r).num_seconds()));
            }
        }
        if stamp.wall() > past(device_time) {
            return Some(ClockSkew::Behind(
                (stamp.wall() - device_time).num_seconds(),
            ));
        }
        None
    }

    /// A sentence for the file, in Chinese.
    pub fn zh(&self) -> String {
        match self {
            ClockSkew::Ahead(s) => format!("手机时间快了约{}", human_zh(*s)),
            ClockSkew::Behind(s) => format!("手机时间慢了约{}", human_zh(*s)),
        }
    }
}

fn human_zh(seconds: i64) -> String {
    let s = seconds.abs();
    if s >= 86_400 {
        format!("{}天", s / 86_400)
    } else if s >= 3600 {
        format!("{}小时", s / 3600)
    } else {
        format!("{}分钟", (s / 60).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, h, m, 0).unwrap()
    }

    #[test]
    fn stamps_increase_even_when_the_wall_clock_goes_back() {
        let mut c = Clock::new();
        let a = c.tick(t(10, 0));
        let b = c.tick(t(10, 0));
        let back = c.tick(t(9, 0)); // clock set back an hour
        assert!(a < b && b < back);
        assert_eq!(back.ms, a.ms);
        let resumed = Clock::resume(back).tick(t(8, 0));
        assert!(
            resumed > back,
            "a restarted app continues after its last stamp"
        );
    }

    #[test]
    fn a_far_future_stamp_moves_the_clock_only_to_the_bound() {
        let mut c = Clock::new();
        let from_bad_phone = Hlc::at(t(10, 0) + Duration::days(3));
        assert!(c.observe(from_bad_phone, t(10, 0)));
        let next = c.tick(t(10, 1));
        assert!(next.wall() <= t(10, 0) + CLOCK_BOUND, "{next:?}");
        // A sane remote stamp is simply followed.
        let mut d = Clock::new();
        assert!(!d.observe(Hlc::at(t(10, 5)), t(10, 0)));
        assert!(d.tick(t(10, 0)) > Hlc::at(t(10, 5)));
    }

    #[test]
    fn receipt_clamps_a_stamp_from_the_future() {
        let stamp = Hlc::at(t(10, 0) + Duration::days(2));
        let e = effective(stamp, Some(t(10, 0)));
        assert_eq!(e.wall(), t(10, 0) + CLOCK_BOUND);
        assert_eq!(
            effective(Hlc::at(t(9, 0)), Some(t(10, 0))),
            Hlc::at(t(9, 0))
        );
        assert_eq!(effective(stamp, None), stamp);
    }

    #[test]
    fn skew_is_judged_both_ways() {
        let ahead = ClockSkew::judge(
            t(10, 0) + Duration::days(3),
            Hlc::at(t(10, 0) + Duration::days(3)),
            Some(t(10, 0)),
        );
        assert_eq!(ahead, Some(ClockSkew::Ahead(3 * 86_400)));
        assert_eq!(ahead.unwrap().zh(), "手机时间快了约3天");
        // A phone that woke up in 2015 but had synced before: its stamp is far ahead of its wall time.
        let wall_2015 = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap();
        let behind = ClockSkew::judge(wall_2015, Hlc::at(t(10, 0)), Some(t(11, 0)));
        assert!(matches!(behind, Some(ClockSkew::Behind(s)) if s > 300 * 86_400));
        // Offline for a week is not skew: made long before it was received.
        assert_eq!(
            ClockSkew::judge(
                t(10, 0) - Duration::days(7),
                Hlc::at(t(10, 0) - Duration::days(7)),
                Some(t(10, 0))
            ),
            None
        );
    }

    proptest! {
        #[test]
        fn ticks_are_strictly_increasing_whatever_the_wall_clock(walls in proptest::collection::vec(0i64..4_000_000_000_000, 1..50)) {
            let mut c = Clock::new();
            let mut prev = None;
            for w in walls {
                let s = c.tick(DateTime::from_timestamp_millis(w).unwrap());
                if let Some(p) = prev { prop_assert!(s > p); }
                prev = Some(s);
            }
        }
    }
}
