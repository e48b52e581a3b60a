//! The app's core: no UI, no Dioxus. `local` keeps ops on the phone (SQLCipher), `sync` talks
//! to the server, `field` is what the screens call (the composition of the two with the
//! user's author and clock), `autosync` decides when to sync unasked, `visit_draft` is the
//! new-visit form's answers and their conversion into a visit.

pub mod autosync;
pub mod field;
pub mod install;
pub mod local;
pub mod location;
pub mod photo;
pub mod sync;
pub mod visit_draft;
