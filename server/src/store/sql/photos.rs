//! Photo metadata. The bytes live in files under the data directory (see `crate::photos`).

use super::db::{Db, V, p};
use super::{corrupt, parse_id, parse_time};
use crate::store::{PhotoMeta, StoreError, Subjects};
use baoxue_shared::observation::Sha256;
use std::collections::{HashMap, HashSet};

pub(super) fn present(c: &dyn Db, hashes: &[Sha256]) -> Result<HashSet<Sha256>, StoreError> {
    c.query(
        "SELECT sha256 FROM photos WHERE sha256 = ANY($1)",
        &[V::list(hashes.iter().map(|h| h.to_hex()))],
    )?
    .into_iter()
    .map(|r| Sha256::parse(&r.text(0)?).map_err(|e| corrupt("photo hash", e.en())))
    .collect()
}

pub(super) fn get(c: &dyn Db, sha: &Sha256) -> Result<Option<PhotoMeta>, StoreError> {
    Ok(get_many(c, std::slice::from_ref(sha))?.remove(sha))
}

/// The metadata of those of `hashes` whose bytes have arrived, in one query.
pub(super) fn get_many(
    c: &dyn Db,
    hashes: &[Sha256],
) -> Result<HashMap<Sha256, PhotoMeta>, StoreError> {
    let mut out = HashMap::new();
    if hashes.is_empty() {
        return Ok(out);
    }
    for r in c.query(
        "SELECT sha256, bytes, width, height, mime, captured_at, lat, lon, phash, uploaded_by, uploaded_at
         FROM photos WHERE sha256 = ANY($1)",
        &[V::list(hashes.iter().map(Sha256::to_hex))],
    )? {
        let sha256 = Sha256::parse(&r.text(0)?).map_err(|e| corrupt("photo hash", e.en()))?;
        out.insert(
            sha256,
            PhotoMeta {
                sha256,
                bytes: r.int(1)? as u64,
                width: r.int(2)? as u32,
                height: r.int(3)? as u32,
                mime: r.text(4)?,
                captured_at: r.opt_text(5)?.map(|t| parse_time(&t)).transpose()?,
                lat: r.opt_real(6)?,
                lon: r.opt_real(7)?,
                phash: r.text(8)?,
                uploaded_by: parse_id(&r.text(9)?)?,
                uploaded_at: parse_time(&r.text(10)?)?,
            },
        );
    }
    Ok(out)
}

pub(super) fn save(c: &dyn Db, m: &PhotoMeta) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO photos(sha256, bytes, width, height, mime, captured_at, lat, lon, phash, uploaded_by, uploaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
        p![
            m.sha256.to_hex(),
            m.bytes as i64,
            m.width as i64,
            m.height as i64,
            &m.mime,
            m.captured_at.map(|t| t.to_rfc3339()),
            m.lat,
            m.lon,
            &m.phash,
            m.uploaded_by.to_string(),
            m.uploaded_at.to_rfc3339(),
        ],
    )?;
    Ok(())
}

pub(super) fn citations(c: &dyn Db, sha: &Sha256) -> Result<Vec<Subjects>, StoreError> {
    let mut out: Vec<(i64, Subjects)> = Vec::new();
    for r in c.query(
        "SELECT s.seq, s.student, s.household FROM photo_refs p JOIN op_subjects s ON s.seq = p.seq
         WHERE p.sha256 = $1 ORDER BY s.seq",
        p![sha.to_hex()],
    )? {
        let seq = r.int(0)?;
        if out.last().is_none_or(|(last, _)| *last != seq) {
            out.push((seq, Subjects::default()));
        }
        let e = &mut out.last_mut().expect("just pushed").1;
        if let Some(s) = r.opt_text(1)? {
            e.students.push(parse_id(&s)?);
        }
        if let Some(h) = r.opt_text(2)? {
            e.households.push(parse_id(&h)?);
        }
    }
    Ok(out.into_iter().map(|(_, s)| s).collect())
}
