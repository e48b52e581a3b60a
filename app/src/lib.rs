//! The field app. `core` is everything a teacher's phone does that is not drawing: the
//! encrypted local store, the outbox, the sync engine, the caseload and the student files.
//! It has no idea Dioxus exists, so it is tested headless and driven by `tests/` against a real
//! server. The Dioxus screens (to come) call it through plain methods.

pub mod core;
pub mod ui;
