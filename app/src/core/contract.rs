//! What every storage engine must do, written once and run against each: natively over
//! SQLCipher by `cargo test` (this module's tests), in headless Chromium over IndexedDB by
//! `wasm-bindgen-test` (`app/tests/web_store.rs`). Each check opens a store through `open`,
//! which reaches the same place every time it is called with a key (a file, a database name).

use super::local::{LocalError, LocalStore};
use baoxue_shared::author::Author;
use baoxue_shared::ids::{DeviceId, RecordId, UserId};
use chrono::Utc;
use std::future::Future;
use std::pin::Pin;

/// Opens the engine's store at one fixed place with the given key.
pub type Opener = dyn Fn([u8; 32]) -> Pin<Box<dyn Future<Output = Result<LocalStore, LocalError>>>>;

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

/// Every check, in turn, each with a fresh place from `fresh`.
pub async fn run_all(fresh: &dyn Fn(&str) -> Box<Opener>) {
    saved_ops_survive_a_reopen_and_a_wrong_key_is_refused(&*fresh("reopen")).await;
    the_outbox_keeps_order_and_acknowledged_ops_leave_it(&*fresh("outbox")).await;
    set_aside_records_keep_their_reason_until_retried(&*fresh("set-aside")).await;
    photos_wait_for_upload_across_a_reopen(&*fresh("photos")).await;
    a_wipe_forgets_everything_for_good(&*fresh("wipe")).await;
    a_rekeyed_store_opens_only_with_the_new_key(&*fresh("rekey")).await;
}

async fn open(o: &Opener, k: [u8; 32]) -> LocalStore {
    o(k).await.expect("the store opens with its key")
}

/// An op saved with its clock is there after a reopen, still in the outbox, with the clock;
/// another key is refused as such — never an empty store.
pub async fn saved_ops_survive_a_reopen_and_a_wrong_key_is_refused(o: &Opener) {
    let mut a = Author::new(UserId::new(), DeviceId::new());
    let op = a.void(RecordId::new(), "重复录入", Utc::now());
    {
        let mut s = open(o, key(1)).await;
        s.save_own(op.clone(), &a.clock).unwrap();
        s.set("cursor", "17.3").unwrap();
        s.durable().await.expect("the save becomes durable");
    }
    let s = open(o, key(1)).await;
    assert_eq!(s.replica().op(op.id), Some(&op));
    assert_eq!(s.outbox_len().unwrap(), 1);
    assert_eq!(s.clock().unwrap().last(), a.clock.last());
    assert_eq!(s.get("cursor").unwrap().as_deref(), Some("17.3"));
    drop(s);
    assert!(
        matches!(o(key(2)).await, Err(LocalError::WrongKey)),
        "a wrong key must be refused"
    );
    // And the refusal changed nothing.
    assert_eq!(open(o, key(1)).await.outbox_len().unwrap(), 1);
}

/// Ops leave the outbox in the order they were made; acknowledged ones leave it for good; a
/// pulled copy of an op replaces the phone's own and is not pushed again.
pub async fn the_outbox_keeps_order_and_acknowledged_ops_leave_it(o: &Opener) {
    let mut a = Author::new(UserId::new(), DeviceId::new());
    let ops: Vec<_> = (0..5)
        .map(|i| a.void(RecordId::new(), &format!("第{i}条"), Utc::now()))
        .collect();
    {
        let mut s = open(o, key(1)).await;
        for op in &ops {
            s.save_own(op.clone(), &a.clock).unwrap();
        }
        let first: Vec<_> = s.outbox(2).unwrap().iter().map(|o| o.id).collect();
        assert_eq!(first, [ops[0].id, ops[1].id]);
        s.acknowledge(&first).unwrap();
        let mut back = ops[2].clone();
        back.received_at = Some(Utc::now());
        s.save_pulled(vec![back]).unwrap();
        s.durable().await.unwrap();
    }
    let s = open(o, key(1)).await;
    let left: Vec<_> = s.outbox(10).unwrap().iter().map(|o| o.id).collect();
    assert_eq!(left, [ops[3].id, ops[4].id]);
    assert_eq!(s.outbox_len().unwrap(), 2);
    assert!(s.replica().op(ops[2].id).unwrap().received_at.is_some());
    assert_eq!(s.replica().len(), 5);
}

/// A refused record stays unsynced but out of pushes, with its reason, across a reopen, until
/// the teacher retries it.
pub async fn set_aside_records_keep_their_reason_until_retried(o: &Opener) {
    let mut a = Author::new(UserId::new(), DeviceId::new());
    let refused = a.void(RecordId::new(), "被拒", Utc::now());
    let fine = a.void(RecordId::new(), "正常", Utc::now());
    {
        let mut s = open(o, key(1)).await;
        s.save_own(refused.clone(), &a.clock).unwrap();
        s.save_own(fine.clone(), &a.clock).unwrap();
        s.set_aside(refused.id, "out_of_scope", "不在负责范围内", Utc::now())
            .unwrap();
        s.durable().await.unwrap();
    }
    let mut s = open(o, key(1)).await;
    assert_eq!(s.pushable_len().unwrap(), 1);
    assert_eq!(
        s.outbox_len().unwrap(),
        2,
        "a set-aside record is still unsynced"
    );
    let kept = s.set_aside_ops().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (
            kept[0].op.id,
            kept[0].code.as_str(),
            kept[0].reason.as_str()
        ),
        (refused.id, "out_of_scope", "不在负责范围内")
    );
    s.retry(refused.id).unwrap();
    s.durable().await.unwrap();
    drop(s);
    let s = open(o, key(1)).await;
    assert_eq!(s.pushable_len().unwrap(), 2);
    assert!(s.set_aside_ops().unwrap().is_empty());
}

/// A photo's bytes wait for upload across a reopen; once uploaded it is still held (the file
/// shows it) but no longer waits.
pub async fn photos_wait_for_upload_across_a_reopen(o: &Opener) {
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    {
        let mut s = open(o, key(1)).await;
        s.save_photo("aa", &bytes, Some(b"thumb")).unwrap();
        s.save_photo("bb", b"second", None).unwrap();
        s.durable().await.unwrap();
    }
    let mut s = open(o, key(1)).await;
    assert_eq!(
        s.pending_photos().unwrap(),
        vec![
            ("aa".to_string(), bytes.clone()),
            ("bb".into(), b"second".to_vec())
        ]
    );
    s.photo_uploaded("aa").unwrap();
    s.durable().await.unwrap();
    drop(s);
    let s = open(o, key(1)).await;
    assert_eq!(s.pending_photos().unwrap().len(), 1);
    assert!(s.has_photo("aa").unwrap() && s.has_photo("bb").unwrap());
    let (size, kept, waiting) = s.usage().unwrap();
    assert_eq!((kept, waiting), (2, 1));
    assert!(
        size >= bytes.len() as u64,
        "the photo's bytes count: {size}"
    );
}

/// Logging out forgets ops, settings, set-aside records and photos, and they stay gone.
pub async fn a_wipe_forgets_everything_for_good(o: &Opener) {
    let mut a = Author::new(UserId::new(), DeviceId::new());
    let op = a.void(RecordId::new(), "将被清除", Utc::now());
    {
        let mut s = open(o, key(1)).await;
        s.save_own(op.clone(), &a.clock).unwrap();
        s.set_aside(op.id, "out_of_scope", "x", Utc::now()).unwrap();
        s.save_photo("cc", b"photo", None).unwrap();
        s.set("session", "token").unwrap();
        s.wipe().unwrap();
        s.durable().await.unwrap();
        assert_eq!(s.replica().len(), 0);
    }
    let s = open(o, key(1)).await;
    assert_eq!(s.replica().len(), 0);
    assert_eq!(s.outbox_len().unwrap(), 0);
    assert_eq!(s.get("session").unwrap(), None);
    assert!(s.held_photos().unwrap().is_empty());
    assert!(s.set_aside_ops().unwrap().is_empty());
}

/// After a password change the data, outbox included, opens with the new key only.
pub async fn a_rekeyed_store_opens_only_with_the_new_key(o: &Opener) {
    let mut a = Author::new(UserId::new(), DeviceId::new());
    let op = a.void(RecordId::new(), "改密码前", Utc::now());
    {
        let mut s = open(o, key(1)).await;
        s.save_own(op.clone(), &a.clock).unwrap();
        s.save_photo("dd", b"photo-bytes", None).unwrap();
        s.rekey(&key(9)).await.unwrap();
        s.set("after", "rekey").unwrap();
        s.durable().await.unwrap();
    }
    assert!(matches!(o(key(1)).await, Err(LocalError::WrongKey)));
    let s = open(o, key(9)).await;
    assert_eq!(s.replica().op(op.id), Some(&op));
    assert_eq!(s.outbox_len().unwrap(), 1);
    assert_eq!(s.get("after").unwrap().as_deref(), Some("rekey"));
    assert_eq!(
        s.pending_photos().unwrap(),
        vec![("dd".to_string(), b"photo-bytes".to_vec())]
    );
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sqlcipher_engine_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let fresh = move |name: &str| -> Box<Opener> {
            let path = root.join(format!("{name}.db"));
            Box::new(move |k: [u8; 32]| {
                let path = path.clone();
                Box::pin(async move { LocalStore::open(&path, &k) })
            })
        };
        run_all(&fresh).await;
    }
}
