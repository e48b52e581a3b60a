#![cfg(target_arch = "wasm32")]
//! The store contract in a real browser: the IndexedDB engine in headless Chromium, through
//! wasm-bindgen-test (`cargo test -p baoxue-app --target wasm32-unknown-unknown --test
//! web_store`, as scripts/test.sh runs it). Plus what only the browser engine must show: its
//! raw values keep no child's data in the clear.

use baoxue_app::core::contract::{Opener, run_all};
use baoxue_app::core::local::LocalStore;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A database name no earlier run used (the profile may be reused between runs).
fn unique(name: &str) -> String {
    format!("contract-{name}-{}", js_sys::Date::now())
}

#[wasm_bindgen_test]
async fn the_indexeddb_engine_keeps_the_contract() {
    let fresh = |name: &str| -> Box<Opener> {
        let db = unique(name);
        Box::new(move |k: [u8; 32]| {
            let db = db.clone();
            Box::pin(async move { LocalStore::open_in_browser(&db, &k).await })
        })
    };
    run_all(&fresh).await;
}

#[wasm_bindgen_test]
async fn the_stored_values_hold_no_childs_name_id_or_notes_in_the_clear() {
    use baoxue_shared::author::Author;
    use baoxue_shared::ids::{DeviceId, RecordId, StudentId, UserId};
    use baoxue_shared::op::{StudentField, Target};
    use baoxue_shared::resident_id::ResidentId;
    let db = unique("clear");
    let mut s = LocalStore::open_in_browser(&db, &[5; 32]).await.unwrap();
    let mut a = Author::new(UserId::new(), DeviceId::new());
    let kid = StudentId::new();
    let mut saved = vec![];
    for set in [
        StudentField::Name("张小明".into()),
        StudentField::ResidentId(Some(ResidentId::parse("11010519491231002X").unwrap())),
    ] {
        let op = a.set(
            s.replica(),
            Target::Student { id: kid, set },
            chrono::Utc::now(),
        );
        saved.push(op.clone());
        s.save_own(op, &a.clock).unwrap();
    }
    let notes = a.void(
        RecordId::new(),
        "家中无人，邻居说孩子去广东打工",
        chrono::Utc::now(),
    );
    s.save_own(notes, &a.clock).unwrap();
    s.save_photo("ab12", "张小明的照片".as_bytes(), None)
        .unwrap();
    s.durable().await.unwrap();
    let raw = baoxue_app::core::idb::raw_values(&db).await.unwrap();
    assert!(raw.len() >= 5, "the values were stored: {}", raw.len());
    for secret in ["张小明", "11010519491231002X", "广东打工", "resident_id"] {
        for (store, key, value) in &raw {
            assert!(
                !value.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in the clear in {store}/{key}"
            );
            assert!(!key.contains(secret), "{secret} in a key: {store}/{key}");
        }
    }
    // And the same values open with the key.
    drop(s);
    let s = LocalStore::open_in_browser(&db, &[5; 32]).await.unwrap();
    for op in &saved {
        assert_eq!(s.replica().op(op.id), Some(op));
    }
}

#[wasm_bindgen_test]
async fn a_save_is_reported_durable_only_once_its_transaction_committed() {
    use baoxue_shared::author::Author;
    use baoxue_shared::ids::{DeviceId, RecordId, UserId};
    let db = unique("durable");
    let mut s = LocalStore::open_in_browser(&db, &[6; 32]).await.unwrap();
    let mut a = Author::new(UserId::new(), DeviceId::new());
    let op = a.void(RecordId::new(), "等待提交", chrono::Utc::now());
    s.save_own(op.clone(), &a.clock).unwrap();
    // Issued, not yet committed: the screen must wait (it shows 保存中…, not 已保存).
    let pending = s
        .durable()
        .now_or_later()
        .expect_err("a browser write is not durable the moment it is issued");
    pending.await.expect("then the browser commits it");
    assert!(matches!(s.durable().now_or_later(), Ok(Ok(()))));
    drop(s);
    let s = LocalStore::open_in_browser(&db, &[6; 32]).await.unwrap();
    assert_eq!(s.replica().op(op.id), Some(&op));
}
