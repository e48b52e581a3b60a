//! The sync wire format: a versioned batch of ops, and a decoder that refuses malformed or
//! hostile input with an error — never a panic, never a partial batch.
//!
//! Encoding: JSON, compressed with zstd on the way (the HTTP layer's `Content-Encoding`). The
//! choice was measured (`cargo bench -p baoxue-shared --bench wire`): for a realistic day of
//! one teacher's work compression matters several times more than the format, and JSON keeps
//! the API readable, debuggable with curl, and describable in OpenAPI.
//!
//! Versioning: every batch says its `v`. A server accepts every version up to its own and
//! upgrades older ones on decode; a batch from a newer app is refused with a clear error (the
//! app keeps it in its outbox until the server is updated) rather than half-understood.

use crate::ids::{BatchId, DeviceId};
use crate::op::Op;
use crate::validation::{FieldErrorBody, FieldErrors};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// The oldest version still accepted.
pub const OLDEST_SUPPORTED: u16 = 1;

/// The largest batch body accepted, uncompressed. A day of field work is tens of kilobytes;
/// photos travel separately.
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// The most ops in one batch; a phone splits a longer outbox.
pub const MAX_BATCH_OPS: usize = 5_000;

/// A batch of ops pushed by one device.
///
/// Frozen wire format (version 1): `{"v":1,"batch":uuid,"device":uuid,"ops":[Op...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub v: u16,
    /// Made by the device once per batch: pushing it again is recognised as the same push.
    pub batch: BatchId,
    pub device: DeviceId,
    pub ops: Vec<Op>,
}

impl Batch {
    /// A batch in the current protocol version.
    pub fn new(device: DeviceId, ops: Vec<Op>) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            batch: BatchId::new(),
            device,
            ops,
        }
    }

    /// The batch as JSON bytes.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("batches always serialize")
    }
}

/// Why a batch was refused. Every variant names what is wrong in terms a developer of the
/// other side can act on; [`DecodeError::code`] is the stable machine code.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DecodeError {
    #[error("batch is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("batch has {count} operations; the limit is {limit}")]
    TooManyOps { count: usize, limit: usize },
    #[error("protocol version {got} is newer than this server's {supported}; update the server")]
    FutureVersion { got: u16, supported: u16 },
    #[error("protocol version {got} is no longer supported (oldest: {oldest})")]
    AncientVersion { got: u16, oldest: u16 },
    #[error("malformed batch at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("operation {index} was made by device {op_device}, not the batch's device")]
    ForeignDevice { index: usize, op_device: DeviceId },
    #[error("operation {index} is invalid: {errors}")]
    InvalidOp { index: usize, errors: FieldErrors },
}

impl DecodeError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "batch_too_large",
            DecodeError::TooManyOps { .. } => "batch_too_many_ops",
            DecodeError::FutureVersion { .. } => "protocol_version_too_new",
            DecodeError::AncientVersion { .. } => "protocol_version_too_old",
            DecodeError::Malformed { .. } => "malformed_batch",
            DecodeError::ForeignDevice { .. } => "foreign_device",
            DecodeError::InvalidOp { .. } => "invalid_operation",
        }
    }

    /// The field errors of an invalid op, with `ops[i].` prefixed, for a response body.
    pub fn field_errors(&self) -> Vec<FieldErrorBody> {
        match self {
            DecodeError::InvalidOp { index, errors } => errors
                .0
                .iter()
                .map(|e| FieldErrorBody::from(&e.clone().under(&format!("ops[{index}]"))))
                .collect(),
            _ => vec![],
        }
    }
}

fn malformed(e: serde_json::Error) -> DecodeError {
    DecodeError::Malformed {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

/// Decode and check a batch: size, version, shape, every op's content, and that every op was
/// made by the device that pushes it (a phone relays no one else's ops).
pub fn decode_batch(bytes: &[u8]) -> Result<Batch, DecodeError> {
    if bytes.len() > MAX_BATCH_BYTES {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: MAX_BATCH_BYTES,
        });
    }
    #[derive(Deserialize)]
    struct Version {
        v: u16,
    }
    let Version { v } = serde_json::from_slice(bytes).map_err(malformed)?;
    if v > PROTOCOL_VERSION {
        return Err(DecodeError::FutureVersion {
            got: v,
            supported: PROTOCOL_VERSION,
        });
    }
    if v < OLDEST_SUPPORTED {
        return Err(DecodeError::AncientVersion {
            got: v,
            oldest: OLDEST_SUPPORTED,
        });
    }
    // Only version 1 exists. When version 2 comes, decode older versions into their own
    // frozen types here and upgrade them to the current `Batch`.
    let batch: Batch = serde_json::from_slice(bytes).map_err(malformed)?;
    if batch.ops.len() > MAX_BATCH_OPS {
        return Err(DecodeError::TooManyOps {
            count: batch.ops.len(),
            limit: MAX_BATCH_OPS,
        });
    }
    for (index, op) in batch.ops.iter().enumerate() {
        if op.device != batch.device {
            return Err(DecodeError::ForeignDevice {
                index,
                op_device: op.device,
            });
        }
        op.validate()
            .map_err(|errors| DecodeError::InvalidOp { index, errors })?;
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::ids::{OpId, RecordId, UserId};
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    fn void_batch(reason: &str) -> Batch {
        let device = DeviceId::new();
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        Batch::new(
            device,
            vec![Op {
                id: OpId::new(),
                hlc: Hlc::at(t),
                device,
                author: UserId::new(),
                device_time: t,
                received_at: None,
                body: crate::op::OpBody::Void {
                    record: RecordId::new(),
                    reason: reason.into(),
                },
            }],
        )
    }

    #[test]
    fn a_batch_round_trips() {
        let b = void_batch("重复录入");
        assert_eq!(decode_batch(&b.encode()).unwrap(), b);
    }

    #[test]
    fn a_newer_app_is_told_to_wait_for_a_server_update() {
        let mut v = serde_json::to_value(void_batch("x")).unwrap();
        v["v"] = 2.into();
        let e = decode_batch(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(
            e,
            DecodeError::FutureVersion {
                got: 2,
                supported: 1
            }
        );
        v["v"] = 0.into();
        assert_eq!(
            decode_batch(&serde_json::to_vec(&v).unwrap())
                .unwrap_err()
                .code(),
            "protocol_version_too_old"
        );
    }

    #[test]
    fn unknown_enum_values_and_wrong_types_are_malformed_with_a_position() {
        let mut v = serde_json::to_value(void_batch("x")).unwrap();
        v["ops"][0]["body"]["type"] = "delete_everything".into();
        let e = decode_batch(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(
            matches!(&e, DecodeError::Malformed { message, .. } if message.contains("delete_everything")),
            "{e}"
        );
        let mut v = serde_json::to_value(void_batch("x")).unwrap();
        v["ops"][0]["hlc"]["ms"] = "yesterday".into();
        assert_eq!(
            decode_batch(&serde_json::to_vec(&v).unwrap())
                .unwrap_err()
                .code(),
            "malformed_batch"
        );
    }

    #[test]
    fn a_huge_string_is_refused_by_field() {
        let b = void_batch(&"长".repeat(crate::validation::limits::REASON + 1));
        let e = decode_batch(&b.encode()).unwrap_err();
        assert_eq!(e.code(), "invalid_operation");
        let fields = e.field_errors();
        assert_eq!(fields[0].field, "ops[0].void.reason");
        assert_eq!(fields[0].code, "too_long");
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let big = vec![b' '; MAX_BATCH_BYTES + 1];
        assert_eq!(decode_batch(&big).unwrap_err().code(), "batch_too_large");
    }

    #[test]
    fn ops_of_another_device_are_refused() {
        let mut b = void_batch("x");
        b.ops[0].device = DeviceId::new();
        assert_eq!(
            decode_batch(&b.encode()).unwrap_err().code(),
            "foreign_device"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            decode_batch(deep.as_bytes()).unwrap_err().code(),
            "malformed_batch"
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            prop_assert!(decode_batch(&bytes).is_err());
        }

        #[test]
        fn mangled_valid_batches_never_panic(cut in 0usize..400, flip in 0usize..400, byte in any::<u8>()) {
            let mut bytes = void_batch("家访时家长不在").encode();
            let n = bytes.len();
            bytes[flip % n] = byte;
            bytes.truncate(n - cut.min(n));
            let _ = decode_batch(&bytes);
        }
    }
}
