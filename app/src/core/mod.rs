//! The app's core: no UI, no Dioxus. `local` keeps ops on the phone through a storage engine
//! (`rows` is the seam: `sqlite` natively, `idb` in the browser, both held to `contract`),
//! `sync` talks to the server (through `http`'s client), `field` is what the screens call (the
//! composition of the two with the user's author and clock), `autosync` decides when to sync
//! unasked, `visit_draft` is the new-visit form's answers and their conversion into a visit;
//! `android_dirs` finds the Android app's folders.

#[cfg(not(target_arch = "wasm32"))]
pub mod android_dirs;
pub mod autosync;
pub mod contract;
pub mod field;
pub mod http;
#[cfg(target_arch = "wasm32")]
pub mod idb;
pub mod install;
pub mod local;
pub mod location;
pub mod photo;
pub mod rows;
pub mod seal;
#[cfg(not(target_arch = "wasm32"))]
pub mod sqlite;
pub mod sync;
pub mod visit_draft;
