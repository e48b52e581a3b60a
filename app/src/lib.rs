//! The field app (Dioxus, offline-first). Not built yet: the next step is its headless core —
//! local store, outbox and sync engine — on top of `baoxue_shared`, then the screens.
