//! Places on the government line (政府线): county → township → village → village group. Codes
//! follow GB/T 2260 (6 digits for a county) extended by the statistics bureau's urban-rural
//! division codes (9 digits for a township, 12 for a village). Codes are optional because many
//! rosters carry only names; where both are present the code decides containment.

use crate::validation::{FieldError, Reason, limits, text};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An administrative division code: 6 (county), 9 (township) or 12 (village) digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

impl AreaCode {
    /// Parse a code; trailing zero padding of the 12-digit form is kept as typed.
    pub fn parse(s: &str) -> Result<Self, Reason> {
        let s = s.trim();
        if matches!(s.len(), 2 | 4 | 6 | 9 | 12) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_string()))
        } else {
            Err(Reason::AreaCode)
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` lies inside this division (or is it). A county code `520322` contains
    /// the village `520322105201`. Zero padding is ignored, so `520322000000` contains it too.
    pub fn contains(&self, other: &AreaCode) -> bool {
        let mine = self.0.trim_end_matches('0');
        other.0.starts_with(mine) || other.0.trim_end_matches('0') == mine
    }
}

impl TryFrom<String> for AreaCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|r| r.en())
    }
}

impl From<AreaCode> for String {
    fn from(c: AreaCode) -> String {
        c.0
    }
}

impl fmt::Debug for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AreaCode({})", self.0)
    }
}

/// One named division with its code when known.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Division {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<AreaCode>,
}

impl Division {
    /// A division known only by name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            code: None,
        }
    }

    /// A division with its code.
    pub fn coded(name: impl Into<String>, code: &str) -> Result<Self, Reason> {
        Ok(Self {
            name: name.into(),
            code: Some(AreaCode::parse(code)?),
        })
    }
}

/// Where a household is registered, down to the village group (组).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AdminArea {
    pub county: Division,
    pub township: Division,
    pub village: Division,
    /// Village group (村民小组), usually a number like "3组".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl AdminArea {
    /// Refuse blank or overlong names.
    pub fn validate(&self) -> Result<(), FieldError> {
        text("county", &self.county.name, limits::SHORT, true)?;
        text("township", &self.township.name, limits::SHORT, true)?;
        text("village", &self.village.name, limits::SHORT, true)?;
        if let Some(g) = &self.group {
            text("group", g, limits::SHORT, false)?;
        }
        Ok(())
    }

    /// "某县某镇某村3组", as written on a form.
    pub fn display_zh(&self) -> String {
        let mut s = format!(
            "{}{}{}",
            self.county.name, self.township.name, self.village.name
        );
        if let Some(g) = &self.group {
            s.push_str(g);
        }
        s
    }

    /// Whether this area lies within `scope`, by code where both sides have one at that level,
    /// by name otherwise.
    pub fn within(&self, scope: &AreaScope) -> bool {
        fn same(a: &Division, b: &Division) -> bool {
            match (&a.code, &b.code) {
                (Some(x), Some(y)) => x == y,
                _ => a.name == b.name,
            }
        }
        match scope {
            AreaScope::County(c) => same(&self.county, c),
            AreaScope::Township { county, township } => {
                same(&self.county, county) && same(&self.township, township)
            }
            AreaScope::Village {
                county,
                township,
                village,
            } => {
                same(&self.county, county)
                    && same(&self.township, township)
                    && same(&self.village, village)
            }
        }
    }
}

/// The part of the government line a supervisor answers for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum AreaScope {
    County(Division),
    Township {
        county: Division,
        township: Division,
    },
    Village {
        county: Division,
        township: Division,
        village: Division,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area() -> AdminArea {
        AdminArea {
            county: Division::coded("从江县", "522633").unwrap(),
            township: Division::coded("加勉乡", "522633213").unwrap(),
            village: Division::coded("党扭村", "522633213201").unwrap(),
            group: Some("3组".into()),
        }
    }

    #[test]
    fn codes_nest_by_prefix() {
        let county = AreaCode::parse("522633").unwrap();
        let village = AreaCode::parse("522633213201").unwrap();
        assert!(county.contains(&village));
        assert!(!village.contains(&county));
        assert!(AreaCode::parse("522633000000").unwrap().contains(&village));
        assert!(!AreaCode::parse("522632").unwrap().contains(&village));
        assert_eq!(AreaCode::parse("52263"), Err(Reason::AreaCode));
        assert_eq!(AreaCode::parse("52263a"), Err(Reason::AreaCode));
    }

    #[test]
    fn households_fall_within_their_township_not_the_neighbours() {
        let a = area();
        assert_eq!(a.display_zh(), "从江县加勉乡党扭村3组");
        let mine = AreaScope::Township {
            county: a.county.clone(),
            township: a.township.clone(),
        };
        assert!(a.within(&mine));
        let other = AreaScope::Township {
            county: a.county.clone(),
            township: Division::coded("加鸠镇", "522633105").unwrap(),
        };
        assert!(!a.within(&other));
        // A roster without codes still matches by name.
        let by_name = AreaScope::County(Division::named("从江县"));
        assert!(a.within(&by_name));
    }
}
