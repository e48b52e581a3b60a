//! The storage seam: what the phone keeps, as rows an engine stores and hands back. The logic
//! (the outbox, set-aside records, photos awaiting upload, the merged replica) lives once in
//! [`super::local::LocalStore`]; an engine only makes rows durable and encrypted. Native builds
//! use SQLCipher ([`super::sqlite`]), the browser IndexedDB with every value sealed
//! ([`super::idb`]); the same contract tests ([`super::contract`]) run against both.

use super::local::LocalError;
use baoxue_shared::ids::OpId;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One op as kept: its place in the phone's order, its JSON, and whether it waits for the
/// server (the outbox).
#[derive(Debug, Clone, PartialEq)]
pub struct OpRow {
    pub seq: u64,
    pub id: OpId,
    pub body: String,
    pub pending: bool,
}

/// A record the server refused, with the reason the teacher reads.
#[derive(Debug, Clone, PartialEq)]
pub struct SetAsideRow {
    pub op_id: OpId,
    pub code: String,
    pub reason: String,
    /// RFC 3339.
    pub at: String,
}

/// A photo as loaded: its bytes only while it waits for upload (what a sync needs), and its
/// size on the phone.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRow {
    pub sha256: String,
    pub uploaded: bool,
    pub bytes: Option<Vec<u8>>,
}

/// Everything an engine holds, read once at open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// In `seq` order.
    pub ops: Vec<OpRow>,
    pub kv: Vec<(String, String)>,
    pub photos: Vec<PhotoRow>,
    pub set_aside: Vec<SetAsideRow>,
}

/// One change. A list of them is applied atomically, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Insert or replace by id.
    Op(OpRow),
    Kv {
        key: String,
        value: String,
    },
    /// A new photo awaiting upload (a photo already held is left as it is).
    Photo {
        sha256: String,
        bytes: Vec<u8>,
        thumb: Option<Vec<u8>>,
    },
    PhotoUploaded(String),
    /// Insert or replace by op id.
    SetAside(SetAsideRow),
    Unset(OpId),
    /// Forget everything (logging out).
    Wipe,
}

/// What an engine does. Opening and re-keying differ by platform (a file path and blocking
/// SQLite natively, a database name and promises in the browser), so they are the engines' own.
pub trait Engine {
    /// Apply `writes` atomically, in order. An error here means nothing changed. A native
    /// engine is durable on return; the browser's has issued the transaction, and
    /// [`Engine::durable`] says when it committed.
    fn write(&mut self, writes: Vec<Write>) -> Result<(), LocalError>;
    /// Completes once everything written so far is durable, or with why it is not.
    fn durable(&self) -> Durable;
    /// Bytes the store takes on the phone (as near as the platform tells).
    fn size(&self) -> Result<u64, LocalError>;
}

/// A promise that writes are durable: only then does a screen say 已保存.
#[must_use = "a save is only reported once it is durable"]
pub struct Durable(Pin<Box<dyn Future<Output = Result<(), LocalError>>>>);

impl Durable {
    /// Already durable (or already known to have failed).
    pub fn ready(result: Result<(), LocalError>) -> Durable {
        Durable(Box::pin(std::future::ready(result)))
    }

    /// Durable when `f` completes.
    pub fn when(f: impl Future<Output = Result<(), LocalError>> + 'static) -> Durable {
        Durable(Box::pin(f))
    }
}

impl Durable {
    /// The outcome if already known (natively, always), or the promise to await.
    pub fn now_or_later(mut self) -> Result<Result<(), LocalError>, Durable> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.0.as_mut().poll(&mut cx) {
            Poll::Ready(r) => Ok(r),
            Poll::Pending => Err(self),
        }
    }
}

impl Future for Durable {
    type Output = Result<(), LocalError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Durable")
    }
}
