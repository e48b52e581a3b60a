//! One field's history and its current value: the merge rule for mutable fields.
//!
//! A register holds every write ever made to one field. A write names the writes it had seen
//! (`prev`); those are *superseded*. The writes nobody has superseded are the *heads*: one
//! head is the normal case, several heads mean devices wrote concurrently. The value is the
//! head with the greatest [`OrderKey`] (effective HLC, device, op id) — last writer wins among
//! concurrent writes, while a write that had seen another always beats it, whatever the
//! phones' clocks said. Nothing is ever removed: losers stay in [`Register::history`].
//!
//! The state is a function of the *set* of writes, so inserting in any order, any number of
//! times, gives the same register (commutative, associative, idempotent).

use crate::ids::OpId;
use crate::op::OrderKey;
use std::collections::HashSet;

/// The writes to one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Register {
    /// Every write, sorted by order key (oldest first).
    writes: Vec<(OrderKey, OpId)>,
    /// Writes named as `prev` by some write (may name writes not delivered yet).
    superseded: HashSet<OpId>,
}

impl Register {
    /// Add a write. Returns `false` if it was already there.
    pub fn insert(&mut self, order: OrderKey, op: OpId, prev: &[OpId]) -> bool {
        self.superseded.extend(prev.iter().copied());
        match self.writes.binary_search(&(order, op)) {
            Ok(_) => false,
            Err(at) => {
                self.writes.insert(at, (order, op));
                true
            }
        }
    }

    /// Move a write from order key `old` to `new` (its receipt time became known).
    pub fn reorder(&mut self, op: OpId, old: OrderKey, new: OrderKey) {
        if let Ok(i) = self.writes.binary_search(&(old, op)) {
            self.writes.remove(i);
            let at = self.writes.binary_search(&(new, op)).unwrap_or_else(|e| e);
            self.writes.insert(at, (new, op));
        }
    }

    /// The writes no one has superseded, oldest first.
    pub fn heads(&self) -> impl Iterator<Item = OpId> + '_ {
        self.writes
            .iter()
            .map(|(_, op)| *op)
            .filter(|op| !self.superseded.contains(op))
    }

    /// The winning write: the last head. If hostile `prev` links superseded every write (a
    /// cycle), the last write overall, so a register with writes always has a value.
    pub fn winner(&self) -> Option<OpId> {
        self.writes
            .iter()
            .rev()
            .map(|(_, op)| *op)
            .find(|op| !self.superseded.contains(op))
            .or_else(|| self.writes.last().map(|(_, op)| *op))
    }

    /// Whether concurrent writes left more than one head.
    pub fn is_conflicted(&self) -> bool {
        self.heads().nth(1).is_some()
    }

    /// Every write, oldest first, winners and losers alike.
    pub fn history(&self) -> impl DoubleEndedIterator<Item = OpId> + '_ {
        self.writes.iter().map(|(_, op)| *op)
    }

    /// Whether `op` has been superseded by a later write that saw it.
    pub fn is_superseded(&self, op: OpId) -> bool {
        self.superseded.contains(&op)
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// No writes yet.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::ids::DeviceId;

    fn key(ms: u64, dev: DeviceId, op: OpId) -> OrderKey {
        OrderKey {
            stamp: Hlc { ms, counter: 0 },
            device: dev,
            op,
        }
    }

    #[test]
    fn a_write_that_saw_another_wins_even_with_an_older_clock() {
        let (d1, d2) = (DeviceId::new(), DeviceId::new());
        let (a, b) = (OpId::new(), OpId::new());
        let mut r = Register::default();
        r.insert(key(2_000, d1, a), a, &[]); // phone with a fast clock
        r.insert(key(1_000, d2, b), b, &[a]); // saw `a`, but its clock reads earlier
        assert_eq!(r.winner(), Some(b));
        assert!(!r.is_conflicted());
        assert_eq!(r.history().collect::<Vec<_>>(), vec![b, a], "both kept");
    }

    #[test]
    fn concurrent_writes_conflict_and_the_later_stamp_shows() {
        let (d1, d2) = (DeviceId::new(), DeviceId::new());
        let (a, b, c) = (OpId::new(), OpId::new(), OpId::new());
        let mut r = Register::default();
        r.insert(key(1_000, d1, a), a, &[]);
        r.insert(key(2_000, d1, b), b, &[a]);
        r.insert(key(1_500, d2, c), c, &[a]);
        assert!(r.is_conflicted());
        assert_eq!(r.winner(), Some(b));
        // A resolution that saw both heads ends the conflict.
        let d = OpId::new();
        r.insert(key(900, d2, d), d, &[b, c]);
        assert!(!r.is_conflicted());
        assert_eq!(r.winner(), Some(d));
    }

    #[test]
    fn a_cycle_of_prev_links_still_has_a_value() {
        let d = DeviceId::new();
        let (a, b) = (OpId::new(), OpId::new());
        let mut r = Register::default();
        r.insert(key(1, d, a), a, &[b]);
        r.insert(key(2, d, b), b, &[a]);
        assert_eq!(r.winner(), Some(b));
    }

    #[test]
    fn inserting_twice_changes_nothing() {
        let d = DeviceId::new();
        let a = OpId::new();
        let mut r = Register::default();
        assert!(r.insert(key(1, d, a), a, &[]));
        let before = r.clone();
        assert!(!r.insert(key(1, d, a), a, &[]));
        assert_eq!(r, before);
    }
}
