//! Photo metadata. The bytes live in files under the data directory (see `crate::photos`).

use super::{corrupt, ids_array, parse_id, parse_time};
use crate::store::{PhotoMeta, StoreError, Subjects};
use baoxue_shared::observation::Sha256;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashSet;

pub(super) fn present(c: &Connection, hashes: &[Sha256]) -> Result<HashSet<Sha256>, StoreError> {
    let mut st = c.prepare_cached("SELECT sha256 FROM photos WHERE sha256 IN rarray(?1)")?;
    let rows = st.query_map([ids_array(hashes.iter().map(|h| h.to_hex()))], |r| {
        r.get::<_, String>(0)
    })?;
    rows.map(|r| Sha256::parse(&r?).map_err(|e| corrupt("photo hash", e.en())))
        .collect()
}

pub(super) fn get(c: &Connection, sha: &Sha256) -> Result<Option<PhotoMeta>, StoreError> {
    let row = c
        .query_row(
            "SELECT bytes, width, height, mime, captured_at, lat, lon, phash, uploaded_by, uploaded_at
             FROM photos WHERE sha256 = ?1",
            [sha.to_hex()],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<f64>>(5)?,
                    r.get::<_, Option<f64>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                ))
            },
        )
        .optional()?;
    let Some((bytes, width, height, mime, captured, lat, lon, phash, by, at)) = row else {
        return Ok(None);
    };
    Ok(Some(PhotoMeta {
        sha256: *sha,
        bytes: bytes as u64,
        width: width as u32,
        height: height as u32,
        mime,
        captured_at: captured.map(|t| parse_time(&t)).transpose()?,
        lat,
        lon,
        phash,
        uploaded_by: parse_id(&by)?,
        uploaded_at: parse_time(&at)?,
    }))
}

pub(super) fn save(c: &Connection, m: &PhotoMeta) -> Result<(), StoreError> {
    c.execute(
        "INSERT OR IGNORE INTO photos(sha256, bytes, width, height, mime, captured_at, lat, lon, phash, uploaded_by, uploaded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        (
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
        ),
    )?;
    Ok(())
}

pub(super) fn citations(c: &Connection, sha: &Sha256) -> Result<Vec<Subjects>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT s.seq, s.student, s.household FROM photo_refs p JOIN op_subjects s ON s.seq = p.seq
         WHERE p.sha256 = ?1 ORDER BY s.seq",
    )?;
    let rows = st.query_map([sha.to_hex()], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out: Vec<(i64, Subjects)> = Vec::new();
    for r in rows {
        let (seq, s, h) = r?;
        if out.last().is_none_or(|(last, _)| *last != seq) {
            out.push((seq, Subjects::default()));
        }
        let e = &mut out.last_mut().expect("just pushed").1;
        if let Some(s) = s {
            e.students.push(parse_id(&s)?);
        }
        if let Some(h) = h {
            e.households.push(parse_id(&h)?);
        }
    }
    Ok(out.into_iter().map(|(_, s)| s).collect())
}
