//! Baoxue's sync server. Phones push batches of operations and pull what is new in their
//! caseload; the server is one more replica of the shared merge (`baoxue_shared::replica`) and
//! builds each student's file with the shared function. Supervisors' console and reports are
//! served from here too.
//!
//! Layout: `store` (storage behind one trait), `auth` (passwords, tokens), `scope` (who may see
//! what), `sync` (what a push must satisfy), `http` (the API, errors mapped once), `demo` (the
//! demo county). `main.rs` only parses the command line.

pub mod store;
pub mod auth;
pub mod photos;
pub mod scope;
pub mod sync;
