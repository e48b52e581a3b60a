//! Baoxue's shared core: the domain as types, validation, the sync protocol, the merge and the
//! per-student file. Used by the field app and the server alike, so a rule written here is
//! written once.
//!
//! Pure by design: no I/O, no async runtime, no SQL, no HTTP. Callers pass the time in (`now`)
//! so every rule is testable in microseconds. What does not belong here: storage, networking,
//! UI, photo decoding.

pub mod api;
pub mod area;
pub mod author;
pub mod coded;
pub mod divisions;
pub mod exif;
pub mod file;
pub mod hlc;
pub mod ids;
pub mod location;
pub mod observation;
pub mod op;
pub mod people;
pub mod phone;
pub mod register;
pub mod replica;
pub mod resident_id;
pub mod sample;
pub mod status;
pub mod time;
pub mod validation;
pub mod wire;
