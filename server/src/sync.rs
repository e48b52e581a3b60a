//! What a push must satisfy before anything of it is stored, and what a pull returns. The
//! merge itself is the shared crate's; this module only decides whether a batch may enter.

use crate::scope::{self, ScopeError};
use crate::store::{CheckedBatch, Cursor, LogPage, PushReceipt, Session, Store, StoreError};
use baoxue_shared::op::{OpBody, StudentField, Target};
use baoxue_shared::replica::Replica;
use baoxue_shared::validation::FieldErrors;
use baoxue_shared::wire::{DecodeError, decode_batch};
use chrono::{DateTime, Utc};
use thiserror::Error;

/// The most ops one pull page carries.
pub const MAX_PULL_PAGE: usize = 2_000;

/// Why a push was refused. Nothing of a refused batch is stored.
#[derive(Debug, Error)]
pub enum SyncError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(
        "the batch was made on device {batch_device}, but this token belongs to device {token_device}"
    )]
    WrongDevice {
        batch_device: baoxue_shared::ids::DeviceId,
        token_device: baoxue_shared::ids::DeviceId,
    },
    #[error("operation {index} was made by another user; each user pushes their own work")]
    ForeignAuthor { index: usize },
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error("operation {index} is refused: {errors}")]
    Invalid { index: usize, errors: FieldErrors },
    #[error("operation {0} was already stored with different content")]
    Conflict(baoxue_shared::ids::OpId),
    #[error(
        "record {0} is already held with other content; a correction is a new record naming it"
    )]
    RecordTaken(baoxue_shared::ids::RecordId),
    #[error("the cursor is not one this server issued")]
    BadCursor,
    #[error(transparent)]
    Store(StoreError),
    /// One op of a pushed batch is refused for `cause`; the rest may go without it.
    #[error("operation {op}: {cause}")]
    OpRefused {
        op: baoxue_shared::ids::OpId,
        cause: Box<SyncError>,
    },
}

impl SyncError {
    /// The op of `ops` this refusal is about, when it is about one.
    fn op_in(&self, ops: &[baoxue_shared::op::Op]) -> Option<baoxue_shared::ids::OpId> {
        let at = |i: &usize| ops.get(*i).map(|o| o.id);
        match self {
            SyncError::ForeignAuthor { index } | SyncError::Invalid { index, .. } => at(index),
            SyncError::Conflict(op) => Some(*op),
            SyncError::RecordTaken(record) => ops
                .iter()
                .find(|o| matches!(&o.body, OpBody::Record(v) if v.id == *record))
                .map(|o| o.id),
            SyncError::Scope(e) => e.index().and_then(|i| at(&i)),
            _ => None,
        }
    }

    /// Name the op a refusal is about, so the phone can set it aside.
    fn naming_op(self, ops: &[baoxue_shared::op::Op]) -> SyncError {
        match self.op_in(ops) {
            Some(op) => SyncError::OpRefused {
                op,
                cause: Box::new(self),
            },
            None => self,
        }
    }
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConflictingDuplicate(id) => SyncError::Conflict(id),
            StoreError::RecordIdTaken(id) => SyncError::RecordTaken(id),
            other => SyncError::Store(other),
        }
    }
}

/// Check and store a pushed batch for `session`. Idempotent: the same batch again gets the same
/// receipt and changes nothing.
pub fn push(
    store: &dyn Store,
    session: &Session,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<PushReceipt, SyncError> {
    let batch = decode_batch(body)?;
    if batch.device != session.device {
        return Err(SyncError::WrongDevice {
            batch_device: batch.device,
            token_device: session.device,
        });
    }
    if let Some(index) = batch.ops.iter().position(|o| o.author != session.user.id) {
        return Err(SyncError::ForeignAuthor { index }.naming_op(&batch.ops));
    }
    if let Some(receipt) = store.batch_receipt(batch.batch, batch.device)? {
        return Ok(receipt);
    }
    let ops = batch.ops.clone();
    push_checked(store, session, batch.batch, batch.ops, now).map_err(|e| e.naming_op(&ops))
}

/// Scope-check and store ops `session` made (a phone's batch, or a reviewer's action in the
/// console): every op must be in the user's caseload and allowed to their role. The ops are
/// already validated (`decode_batch` does it for phones).
pub fn push_checked(
    store: &dyn Store,
    session: &Session,
    batch: baoxue_shared::ids::BatchId,
    ops: Vec<baoxue_shared::op::Op>,
    now: DateTime<Utc>,
) -> Result<PushReceipt, SyncError> {
    let caseload = store.caseload(&session.user)?;
    let subjects = scope::check_batch(store, &session.user, &caseload, &ops)?;
    check_status_moves(store, &ops)?;
    let checked = CheckedBatch {
        batch,
        user: session.user.id,
        device: session.device,
        ops: ops.into_iter().zip(subjects).collect(),
        schools: vec![],
    };
    Ok(store.push(checked, now)?)
}

/// Every status change must be a legal move from the values it supersedes, as far as the
/// server knows them (earlier ops of the batch included).
fn check_status_moves(store: &dyn Store, ops: &[baoxue_shared::op::Op]) -> Result<(), SyncError> {
    let status_writes: Vec<(usize, &baoxue_shared::op::FieldWrite)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match &o.body {
            OpBody::Set(w)
                if matches!(
                    w.target,
                    Target::Student {
                        set: StudentField::Status(_),
                        ..
                    }
                ) =>
            {
                Some((i, w))
            }
            _ => None,
        })
        .collect();
    if status_writes.is_empty() {
        return Ok(());
    }
    let prev: Vec<_> = status_writes
        .iter()
        .flat_map(|(_, w)| w.prev.iter().copied())
        .collect();
    let mut known = Replica::new();
    for op in store
        .ops_by_id(&prev)?
        .into_iter()
        .chain(ops.iter().cloned())
    {
        // A conflicting duplicate is caught when storing; here only the values matter.
        let _ = known.apply(op);
    }
    for (index, w) in status_writes {
        known
            .check_write(w)
            .map_err(|errors| SyncError::Invalid { index, errors })?;
    }
    Ok(())
}

/// The next page of `session`'s caseload after `cursor` (empty or absent: from the start).
pub fn pull(
    store: &dyn Store,
    session: &Session,
    cursor: Option<&str>,
    limit: usize,
) -> Result<LogPage, SyncError> {
    let cursor = match cursor {
        None | Some("") => Cursor::default(),
        Some(c) => Cursor::decode(c).ok_or(SyncError::BadCursor)?,
    };
    let caseload = store.caseload(&session.user)?;
    let mut page = store.pull(&caseload, cursor, limit.clamp(1, MAX_PULL_PAGE))?;
    if !session.user.role.sees_full_resident_id() {
        page.ops = page
            .ops
            .into_iter()
            .map(baoxue_shared::op::Op::with_resident_id_masked)
            .collect();
    }
    Ok(page)
}

/// Store ops made by the server itself (roster import, demo data, console actions) on behalf
/// of `user` from `device`. The caller has already decided they are allowed; subjects are still
/// resolved the usual way so scoping and files see them.
pub fn push_trusted(
    store: &dyn Store,
    user: baoxue_shared::ids::UserId,
    device: baoxue_shared::ids::DeviceId,
    ops: Vec<baoxue_shared::op::Op>,
    now: DateTime<Utc>,
) -> Result<PushReceipt, SyncError> {
    import_trusted(store, user, device, vec![], ops, now)
}

/// [`push_trusted`] with the schools a roster names for the first time: schools and ops are
/// stored in one transaction, so an import is kept whole or not at all.
pub fn import_trusted(
    store: &dyn Store,
    user: baoxue_shared::ids::UserId,
    device: baoxue_shared::ids::DeviceId,
    schools: Vec<baoxue_shared::people::School>,
    ops: Vec<baoxue_shared::op::Op>,
    now: DateTime<Utc>,
) -> Result<PushReceipt, SyncError> {
    let subjects = scope::subjects(store, &ops)?;
    let batch = CheckedBatch {
        batch: baoxue_shared::ids::BatchId::new(),
        user,
        device,
        ops: ops.into_iter().zip(subjects).collect(),
        schools,
    };
    Ok(store.push(batch, now)?)
}
