//! Sealing values for a store that does not encrypt by itself (the browser's IndexedDB): each
//! value is encrypted and authenticated with XChaCha20-Poly1305 under the key derived from the
//! password, with a fresh random nonce, and bound to the slot it is stored in (its store and
//! key are the associated data), so a value copied into another slot does not open there.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use thiserror::Error;

const NONCE: usize = 24;

/// Why a value did not open.
#[derive(Debug, Error, PartialEq)]
pub enum SealError {
    /// Another key sealed it, or it was changed, or it belongs to another slot.
    #[error("the value does not open with this key in this place")]
    Refused,
    #[error("no randomness for a nonce: {0}")]
    Random(String),
}

/// A key for sealing.
#[derive(Clone)]
pub struct Sealer(XChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

fn aad(store: &str, key: &str) -> Vec<u8> {
    format!("baoxue/{store}/{key}").into_bytes()
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer(XChaCha20Poly1305::new(key.into()))
    }

    /// `value` sealed for the slot `store`/`key`: nonce, then ciphertext and tag.
    pub fn seal(&self, store: &str, key: &str, value: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value,
                    aad: &aad(store, key),
                },
            )
            .map_err(|_| SealError::Refused)?;
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The value sealed for `store`/`key`, if this key sealed it there and nothing changed it.
    pub fn open(&self, store: &str, key: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE {
            return Err(SealError::Refused);
        }
        let (nonce, body) = sealed.split_at(NONCE);
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad(store, key),
                },
            )
            .map_err(|_| SealError::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_in_its_slot_and_hides_its_text() {
        let s = Sealer::new(&[1; 32]);
        let text = "张三 身份证 522633201001011234 家访记录".as_bytes();
        let sealed = s.seal("ops", "op-1", text).unwrap();
        assert!(!sealed.windows(6).any(|w| w == &"张三".as_bytes()[..6]));
        assert_eq!(s.open("ops", "op-1", &sealed).unwrap(), text);
        // Same value twice: different bytes (fresh nonce).
        assert_ne!(sealed, s.seal("ops", "op-1", text).unwrap());
        assert_eq!(
            Sealer::new(&[2; 32]).open("ops", "op-1", &sealed),
            Err(SealError::Refused)
        );
        assert_eq!(s.open("ops", "op-2", &sealed), Err(SealError::Refused));
        assert_eq!(s.open("kv", "op-1", &sealed), Err(SealError::Refused));
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert_eq!(s.open("ops", "op-1", &changed), Err(SealError::Refused));
    }
}
