//! The browser's engine: one IndexedDB database per account, every value sealed
//! ([`super::seal`]) under the key derived from the password — keys (op ids, photo hashes,
//! setting names) stay in the clear, children's data does not. Each write is one readwrite
//! transaction with `durability: "strict"` (Chrome's default became "relaxed" in 121: committed
//! only to the OS cache), and [`Engine::durable`] completes when the browser says it committed.
//! A wrong password is refused by a check record sealed at creation.

use super::local::LocalError;
use super::rows::{Durable, Engine, OpRow, PhotoRow, SetAsideRow, Snapshot, Write};
use super::seal::Sealer;
use futures_channel::oneshot;
use js_sys::{Array, Uint8Array};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use std::task::Waker;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction};

const OPS: &str = "ops";
const KV: &str = "kv";
const PHOTO_STATE: &str = "photo_state";
const PHOTO_BYTES: &str = "photo_bytes";
const SET_ASIDE: &str = "set_aside";
const CHECK: &str = "check";
const STORES: [&str; 6] = [OPS, KV, PHOTO_STATE, PHOTO_BYTES, SET_ASIDE, CHECK];
/// What the check record holds, sealed.
const CHECK_TEXT: &[u8] = b"baoxue store v1";

/// The installation's own database: the device id and the key salt, in the clear.
const INSTALLATION: &str = "baoxue-installation";
const META: &str = "meta";

fn js(e: JsValue) -> LocalError {
    let text = e
        .dyn_ref::<web_sys::DomException>()
        .map(|d| format!("{}: {}", d.name(), d.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    LocalError::Database(text)
}

/// The outcome of one IndexedDB request.
async fn request(req: &IdbRequest) -> Result<JsValue, LocalError> {
    let (send, recv) = oneshot::channel::<Result<(), String>>();
    let send = Rc::new(RefCell::new(Some(send)));
    let ok = {
        let send = send.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = send.borrow_mut().take() {
                let _ = s.send(Ok(()));
            }
        })
    };
    let failed = {
        let req = req.clone();
        Closure::<dyn FnMut()>::new(move || {
            let why = match req.error() {
                Ok(Some(d)) => format!("{}: {}", d.name(), d.message()),
                _ => "request failed".into(),
            };
            if let Some(s) = send.borrow_mut().take() {
                let _ = s.send(Err(why));
            }
        })
    };
    req.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
    req.set_onerror(Some(failed.as_ref().unchecked_ref()));
    let outcome = recv
        .await
        .map_err(|_| LocalError::Database("the request was dropped".into()))?;
    req.set_onsuccess(None);
    req.set_onerror(None);
    drop((ok, failed));
    outcome.map_err(LocalError::Database)?;
    req.result().map_err(js)
}

/// Open `name` at version 1, creating `stores` on first open.
async fn open_database(
    name: &str,
    stores: &'static [&'static str],
) -> Result<IdbDatabase, LocalError> {
    let factory = web_sys::window()
        .ok_or_else(|| LocalError::Database("no window".into()))?
        .indexed_db()
        .map_err(js)?
        .ok_or_else(|| LocalError::Database("this browser has no IndexedDB".into()))?;
    let open: IdbOpenDbRequest = factory.open_with_u32(name, 1).map_err(js)?;
    let upgrade = {
        let open = open.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Ok(db) = open.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                for s in stores {
                    if !db.object_store_names().contains(s) {
                        let _ = db.create_object_store(s);
                    }
                }
            }
        })
    };
    open.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = request(&open).await?;
    open.set_onupgradeneeded(None);
    drop(upgrade);
    db.dyn_into::<IdbDatabase>().map_err(js)
}

/// A readwrite transaction over `stores` that the browser commits durably.
fn strict_transaction(db: &IdbDatabase, stores: &[&str]) -> Result<IdbTransaction, LocalError> {
    let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"durability".into(), &"strict".into()).map_err(js)?;
    // `transaction(names, mode, options)`; web-sys keeps the options argument behind an
    // unstable flag, so it is called by name.
    let f: js_sys::Function = js_sys::Reflect::get(db, &"transaction".into())
        .map_err(js)?
        .dyn_into()
        .map_err(js)?;
    f.call3(db, &names, &"readwrite".into(), &options)
        .map_err(js)?
        .dyn_into::<IdbTransaction>()
        .map_err(js)
}

/// Resolves when `tx` commits (or with why it did not).
fn committed(tx: &IdbTransaction) -> oneshot::Receiver<Result<(), String>> {
    let (send, recv) = oneshot::channel();
    let send = Rc::new(RefCell::new(Some(send)));
    let ok = {
        let send = send.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = send.borrow_mut().take() {
                let _ = s.send(Ok(()));
            }
        })
    };
    let failed = {
        let tx = tx.clone();
        Closure::<dyn FnMut()>::new(move || {
            let why = tx
                .error()
                .map(|d| format!("{}: {}", d.name(), d.message()))
                .unwrap_or_else(|| "the transaction was aborted".into());
            if let Some(s) = send.borrow_mut().take() {
                let _ = s.send(Err(why));
            }
        })
    };
    tx.set_oncomplete(Some(ok.as_ref().unchecked_ref()));
    tx.set_onerror(Some(failed.as_ref().unchecked_ref()));
    tx.set_onabort(Some(failed.as_ref().unchecked_ref()));
    // The callbacks live until the transaction ends, then are dropped outside of themselves.
    let (relay_send, relay_recv) = oneshot::channel();
    wasm_bindgen_futures::spawn_local(async move {
        let r = recv
            .await
            .unwrap_or(Err("the transaction was dropped".into()));
        drop((ok, failed));
        let _ = relay_send.send(r);
    });
    relay_recv
}

async fn all(db: &IdbDatabase, store: &str) -> Result<Vec<(String, Vec<u8>)>, LocalError> {
    let tx = db.transaction_with_str(store).map_err(js)?;
    let s = tx.object_store(store).map_err(js)?;
    let keys = request(&s.get_all_keys().map_err(js)?).await?;
    let values = request(&s.get_all().map_err(js)?).await?;
    let (keys, values) = (Array::from(&keys), Array::from(&values));
    Ok(keys
        .iter()
        .zip(values.iter())
        .filter_map(|(k, v)| Some((k.as_string()?, Uint8Array::new(&v).to_vec())))
        .collect())
}

async fn get(db: &IdbDatabase, store: &str, key: &str) -> Result<Option<Vec<u8>>, LocalError> {
    let tx = db.transaction_with_str(store).map_err(js)?;
    let s = tx.object_store(store).map_err(js)?;
    let v = request(&s.get(&key.into()).map_err(js)?).await?;
    Ok((!v.is_undefined()).then(|| Uint8Array::new(&v).to_vec()))
}

#[derive(Serialize, Deserialize)]
struct StoredOp {
    seq: u64,
    pending: bool,
    body: String,
}

#[derive(Serialize, Deserialize)]
struct StoredSetAside {
    code: String,
    reason: String,
    at: String,
}

#[derive(Serialize, Deserialize)]
struct StoredPhoto {
    uploaded: bool,
    size: u64,
}

/// How far the issued transactions got, shared with their completion callbacks.
#[derive(Default)]
struct Progress {
    issued: u64,
    committed: u64,
    failed: Option<String>,
    waiting: Vec<Waker>,
}

/// The IndexedDB engine.
pub struct IdbRows {
    db: IdbDatabase,
    sealer: Sealer,
    progress: Rc<RefCell<Progress>>,
    /// Sealed bytes held, by store and key (the size the phone is told about).
    sizes: std::collections::HashMap<(String, String), u64>,
}

impl IdbRows {
    /// Open (or create) the account's database `name` with `key` and read it.
    pub async fn open(name: &str, key: &[u8; 32]) -> Result<(IdbRows, Snapshot), LocalError> {
        let db = open_database(name, &STORES).await?;
        let sealer = Sealer::new(key);
        let mut rows = IdbRows {
            db,
            sealer,
            progress: Rc::default(),
            sizes: Default::default(),
        };
        match get(&rows.db, CHECK, CHECK).await? {
            Some(sealed) => {
                if rows.sealer.open(CHECK, CHECK, &sealed).ok().as_deref() != Some(CHECK_TEXT) {
                    return Err(LocalError::WrongKey);
                }
            }
            None => {
                if !all(&rows.db, OPS).await?.is_empty() {
                    return Err(LocalError::Corrupt("the check record is missing".into()));
                }
                let check = rows.seal(CHECK, CHECK, CHECK_TEXT)?;
                let tx = strict_transaction(&rows.db, &[CHECK])?;
                tx.object_store(CHECK)
                    .map_err(js)?
                    .put_with_key(&check, &CHECK.into())
                    .map_err(js)?;
                committed(&tx)
                    .await
                    .map_err(|_| LocalError::Database("dropped".into()))?
                    .map_err(LocalError::Database)?;
            }
        }
        let snapshot = rows.read_all().await?;
        Ok((rows, snapshot))
    }

    fn seal(&self, store: &str, key: &str, value: &[u8]) -> Result<Uint8Array, LocalError> {
        let sealed = self
            .sealer
            .seal(store, key, value)
            .map_err(|e| LocalError::Database(e.to_string()))?;
        Ok(Uint8Array::from(&sealed[..]))
    }

    fn unseal(&self, store: &str, key: &str, sealed: &[u8]) -> Result<Vec<u8>, LocalError> {
        self.sealer
            .open(store, key, sealed)
            .map_err(|_| LocalError::Corrupt(format!("{store}/{key} does not open")))
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        store: &str,
        key: &str,
        sealed: &[u8],
    ) -> Result<T, LocalError> {
        serde_json::from_slice(&self.unseal(store, key, sealed)?)
            .map_err(|e| LocalError::Corrupt(format!("{store}/{key}: {e}")))
    }

    async fn read_all(&mut self) -> Result<Snapshot, LocalError> {
        let mut s = Snapshot::default();
        for store in [OPS, KV, PHOTO_STATE, PHOTO_BYTES, SET_ASIDE] {
            for (k, v) in all(&self.db, store).await? {
                self.sizes.insert((store.into(), k.clone()), v.len() as u64);
                match store {
                    OPS => {
                        let o: StoredOp = self.json(OPS, &k, &v)?;
                        s.ops.push(OpRow {
                            seq: o.seq,
                            id: k
                                .parse()
                                .map_err(|_| LocalError::Corrupt(format!("op id {k}")))?,
                            body: o.body,
                            pending: o.pending,
                        });
                    }
                    KV => {
                        let value = String::from_utf8(self.unseal(KV, &k, &v)?)
                            .map_err(|e| LocalError::Corrupt(e.to_string()))?;
                        s.kv.push((k, value));
                    }
                    PHOTO_STATE => {
                        let p: StoredPhoto = self.json(PHOTO_STATE, &k, &v)?;
                        s.photos.push(PhotoRow {
                            sha256: k,
                            uploaded: p.uploaded,
                            bytes: None,
                        });
                    }
                    SET_ASIDE => {
                        let r: StoredSetAside = self.json(SET_ASIDE, &k, &v)?;
                        s.set_aside.push(SetAsideRow {
                            op_id: k
                                .parse()
                                .map_err(|_| LocalError::Corrupt(format!("set-aside id {k}")))?,
                            code: r.code,
                            reason: r.reason,
                            at: r.at,
                        });
                    }
                    _ => {}
                }
            }
        }
        s.ops.sort_by_key(|o| o.seq);
        s.photos.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        // Only the bytes a sync will send are read.
        for p in s.photos.iter_mut().filter(|p| !p.uploaded) {
            let sealed = get(&self.db, PHOTO_BYTES, &p.sha256)
                .await?
                .ok_or_else(|| LocalError::Corrupt(format!("photo {} has no bytes", p.sha256)))?;
            p.bytes = Some(self.unseal(PHOTO_BYTES, &p.sha256, &sealed)?);
        }
        Ok(s)
    }

    /// Seal every value under `key` from now on, in one transaction: the outbox goes along.
    pub async fn rekey(&mut self, key: &[u8; 32]) -> Result<(), LocalError> {
        self.durable().await?;
        let next = Sealer::new(key);
        let mut resealed = vec![];
        for store in [OPS, KV, PHOTO_STATE, PHOTO_BYTES, SET_ASIDE, CHECK] {
            for (k, v) in all(&self.db, store).await? {
                let plain = self.unseal(store, &k, &v)?;
                let sealed = next
                    .seal(store, &k, &plain)
                    .map_err(|e| LocalError::Database(e.to_string()))?;
                resealed.push((store, k, sealed));
            }
        }
        let tx = strict_transaction(&self.db, &STORES)?;
        for (store, k, sealed) in &resealed {
            tx.object_store(store)
                .map_err(js)?
                .put_with_key(&Uint8Array::from(&sealed[..]), &k.into())
                .map_err(js)?;
        }
        committed(&tx)
            .await
            .map_err(|_| LocalError::Database("dropped".into()))?
            .map_err(LocalError::Database)?;
        self.sealer = next;
        Ok(())
    }

    fn put(
        &mut self,
        tx: &IdbTransaction,
        store: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), LocalError> {
        let sealed = self.seal(store, key, value)?;
        self.sizes
            .insert((store.into(), key.into()), sealed.length() as u64);
        tx.object_store(store)
            .map_err(js)?
            .put_with_key(&sealed, &key.into())
            .map_err(js)?;
        Ok(())
    }

    fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
        serde_json::to_vec(value).expect("rows serialize")
    }
}

impl Engine for IdbRows {
    fn write(&mut self, writes: Vec<Write>) -> Result<(), LocalError> {
        if writes.is_empty() {
            return Ok(());
        }
        if let Some(why) = &self.progress.borrow().failed {
            return Err(LocalError::NotDurable(why.clone()));
        }
        let tx = strict_transaction(&self.db, &STORES)?;
        let result = (|| -> Result<(), LocalError> {
            for w in writes {
                match w {
                    Write::Op(o) => {
                        let v = Self::to_json(&StoredOp {
                            seq: o.seq,
                            pending: o.pending,
                            body: o.body,
                        });
                        self.put(&tx, OPS, &o.id.to_string(), &v)?;
                    }
                    Write::Kv { key, value } => self.put(&tx, KV, &key, value.as_bytes())?,
                    Write::Photo { sha256, bytes, .. } => {
                        let state = Self::to_json(&StoredPhoto {
                            uploaded: false,
                            size: bytes.len() as u64,
                        });
                        self.put(&tx, PHOTO_BYTES, &sha256, &bytes)?;
                        self.put(&tx, PHOTO_STATE, &sha256, &state)?;
                    }
                    Write::PhotoUploaded(sha256) => {
                        let size = self
                            .sizes
                            .get(&(PHOTO_BYTES.into(), sha256.clone()))
                            .copied()
                            .unwrap_or(0);
                        let state = Self::to_json(&StoredPhoto {
                            uploaded: true,
                            size,
                        });
                        self.put(&tx, PHOTO_STATE, &sha256, &state)?;
                    }
                    Write::SetAside(r) => {
                        let v = Self::to_json(&StoredSetAside {
                            code: r.code,
                            reason: r.reason,
                            at: r.at,
                        });
                        self.put(&tx, SET_ASIDE, &r.op_id.to_string(), &v)?;
                    }
                    Write::Unset(op) => {
                        let k = op.to_string();
                        self.sizes.remove(&(SET_ASIDE.into(), k.clone()));
                        tx.object_store(SET_ASIDE)
                            .map_err(js)?
                            .delete(&k.into())
                            .map_err(js)?;
                    }
                    Write::Wipe => {
                        for s in [OPS, KV, PHOTO_STATE, PHOTO_BYTES, SET_ASIDE] {
                            tx.object_store(s).map_err(js)?.clear().map_err(js)?;
                        }
                        self.sizes.clear();
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            // Nothing of a half-issued write may land.
            let _ = tx.abort();
            return Err(e);
        }
        let done = committed(&tx);
        let progress = self.progress.clone();
        progress.borrow_mut().issued += 1;
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = done
                .await
                .unwrap_or(Err("the transaction was dropped".into()));
            let mut p = progress.borrow_mut();
            match outcome {
                Ok(()) => p.committed += 1,
                Err(why) => {
                    p.failed.get_or_insert(why);
                }
            }
            for w in p.waiting.drain(..) {
                w.wake();
            }
        });
        Ok(())
    }

    fn durable(&self) -> Durable {
        let target = self.progress.borrow().issued;
        let progress = self.progress.clone();
        Durable::when(std::future::poll_fn(move |cx| {
            let mut p = progress.borrow_mut();
            if let Some(why) = &p.failed {
                return std::task::Poll::Ready(Err(LocalError::NotDurable(why.clone())));
            }
            if p.committed >= target {
                return std::task::Poll::Ready(Ok(()));
            }
            p.waiting.push(cx.waker().clone());
            std::task::Poll::Pending
        }))
    }

    fn size(&self) -> Result<u64, LocalError> {
        Ok(self.sizes.values().sum())
    }
}

/// Whether an account's store was ever created in this browser profile.
pub async fn store_exists(name: &str) -> Result<bool, LocalError> {
    let db = open_database(name, &STORES).await?;
    let found = get(&db, CHECK, CHECK).await?.is_some();
    db.close();
    Ok(found)
}

/// The installation's device id and key salt, made with `make_id` and `make_salt` on first use
/// and never replaced afterwards (a new salt would lock every store in the profile for good).
pub async fn installation_metadata(
    make_id: impl FnOnce() -> Vec<u8>,
    make_salt: impl FnOnce() -> Vec<u8>,
) -> Result<(Vec<u8>, Vec<u8>), LocalError> {
    let db = open_database(INSTALLATION, &[META]).await?;
    let (id, salt) = (
        get(&db, META, "device-id").await?,
        get(&db, META, "key-salt").await?,
    );
    let out = match (id, salt) {
        (Some(id), Some(salt)) => (id, salt),
        (None, None) => {
            let (id, salt) = (make_id(), make_salt());
            let tx = strict_transaction(&db, &[META])?;
            let meta = tx.object_store(META).map_err(js)?;
            meta.put_with_key(&Uint8Array::from(&id[..]), &"device-id".into())
                .map_err(js)?;
            meta.put_with_key(&Uint8Array::from(&salt[..]), &"key-salt".into())
                .map_err(js)?;
            committed(&tx)
                .await
                .map_err(|_| LocalError::Database("dropped".into()))?
                .map_err(LocalError::Database)?;
            (id, salt)
        }
        _ => {
            return Err(LocalError::Corrupt(
                "the installation has a device id or a key salt but not both".into(),
            ));
        }
    };
    db.close();
    Ok(out)
}

/// Every value of the account's database `name` exactly as the browser stores it, with its
/// store and key: what someone who copies the profile off a lost phone would read.
pub async fn raw_values(name: &str) -> Result<Vec<(String, String, Vec<u8>)>, LocalError> {
    let db = open_database(name, &STORES).await?;
    let mut out = vec![];
    for store in STORES {
        for (k, v) in all(&db, store).await? {
            out.push((store.to_string(), k, v));
        }
    }
    db.close();
    Ok(out)
}
