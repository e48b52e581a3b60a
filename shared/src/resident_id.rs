//! The resident identity number (居民身份证号码, GB 11643-1999): 18 characters, a region code,
//! the birth date, a sequence whose last digit encodes sex, and a check character. The number
//! is sensitive personal information of a minor: it is shown masked ([`ResidentId::masked`])
//! everywhere but the one screen that needs it in full.

use crate::people::Sex;
use crate::validation::{FieldError, Reason};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Province-level codes in use (and retired ones still printed on valid cards). Unknown
/// six-digit county codes are *not* refused: codes are renumbered and old cards stay valid.
fn is_province_code(code: u32) -> bool {
    matches!(code, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

/// A resident ID that passed [`ResidentId::parse`]: format, province, birth date and check
/// character. Stored upper-case (a trailing `x` becomes `X`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentId(String);

impl ResidentId {
    /// Parse and check an ID as typed (surrounding spaces ignored). `today` bounds the birth
    /// date: an ID cannot encode a birth in the future.
    pub fn parse_on(input: &str, today: NaiveDate) -> Result<Self, Reason> {
        let id = input.trim().to_ascii_uppercase();
        let bytes = id.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(Reason::ResidentIdFormat);
        }
        let province: u32 = id[..2].parse().map_err(|_| Reason::ResidentIdFormat)?;
        if !is_province_code(province) {
            return Err(Reason::ResidentIdProvince);
        }
        let birth = NaiveDate::parse_from_str(&id[6..14], "%Y%m%d")
            .map_err(|_| Reason::ResidentIdBirthDate)?;
        if birth > today || birth < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid constant") {
            return Err(Reason::ResidentIdBirthDate);
        }
        let sum: u32 = bytes[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let expected = CHECK_CHARS[(sum % 11) as usize] as char;
        let actual = bytes[17] as char;
        if expected != actual {
            return Err(Reason::ResidentIdChecksum { expected, actual });
        }
        Ok(Self(id))
    }

    /// [`ResidentId::parse_on`] with today's date in China.
    pub fn parse(input: &str) -> Result<Self, Reason> {
        Self::parse_on(input, crate::time::today_in_china())
    }

    /// Parse, naming `field` in the error.
    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        Self::parse(input).map_err(|r| FieldError::new(field, r))
    }

    /// The birth date the ID encodes.
    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked at parse")
    }

    /// The sex the ID encodes: the 17th digit is odd for male.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The six-digit region code of the registering office (GB/T 2260).
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }

    /// The full number. Only for the screens and exports entitled to it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form shown in lists and ordinary exports: region and last four kept, birth hidden
    /// (`520101********123X`).
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// Check that the ID agrees with the record's birth date and sex.
    pub fn check_against(
        &self,
        field: &str,
        birth_date: NaiveDate,
        sex: Sex,
    ) -> Result<(), FieldError> {
        if self.birth_date() != birth_date {
            return Err(FieldError::new(
                field,
                Reason::ResidentIdBirthMismatch {
                    encoded: self.birth_date(),
                },
            ));
        }
        if self.sex() != sex {
            return Err(FieldError::new(field, Reason::ResidentIdSexMismatch));
        }
        Ok(())
    }
}

impl TryFrom<String> for ResidentId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // Decoding from the wire or a database uses a far-future "today" so that a record
        // accepted yesterday never fails to load because of a clock; typed input goes through
        // `parse`, which uses the real date.
        let far = NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid constant");
        Self::parse_on(&s, far).map_err(|r| r.en())
    }
}

impl From<ResidentId> for String {
    fn from(id: ResidentId) -> String {
        id.0
    }
}

impl fmt::Debug for ResidentId {
    // Masked even in debug output: logs must not carry children's ID numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

/// Make a valid ID from its first 17 digits by appending the check character. For tests,
/// demo data and benchmarks.
pub fn with_check_char(first17: &str) -> String {
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{first17}{}", CHECK_CHARS[(sum % 11) as usize] as char)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_published_sample_id_passes_and_decodes() {
        // The sample number from GB 11643's own worked example.
        let id = ResidentId::parse_on("11010519491231002X", day(2026, 1, 1)).unwrap();
        assert_eq!(id.birth_date(), day(1949, 12, 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.masked(), "110105********002X");
    }

    #[test]
    fn lower_case_x_and_spaces_are_accepted() {
        let id = ResidentId::parse_on(" 11010519491231002x ", day(2026, 1, 1)).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn each_kind_of_bad_id_gets_its_own_reason() {
        let today = day(2026, 1, 1);
        assert_eq!(
            ResidentId::parse_on("1101051949123100", today),
            Err(Reason::ResidentIdFormat)
        );
        assert_eq!(
            ResidentId::parse_on("99010519491231002X", today),
            Err(Reason::ResidentIdProvince)
        );
        let bad_date = with_check_char("11010520190230002");
        assert_eq!(
            ResidentId::parse_on(&bad_date, today),
            Err(Reason::ResidentIdBirthDate)
        );
        let future = with_check_char("11010520300101002");
        assert_eq!(
            ResidentId::parse_on(&future, today),
            Err(Reason::ResidentIdBirthDate)
        );
        assert_eq!(
            ResidentId::parse_on("110105194912310021", today),
            Err(Reason::ResidentIdChecksum {
                expected: 'X',
                actual: '1'
            })
        );
    }

    #[test]
    fn the_id_must_agree_with_the_record() {
        let id =
            ResidentId::parse_on(&with_check_char("52263120150304001"), day(2026, 1, 1)).unwrap();
        assert_eq!(id.sex(), Sex::Male);
        assert!(
            id.check_against("resident_id", day(2015, 3, 4), Sex::Male)
                .is_ok()
        );
        let e = id
            .check_against("resident_id", day(2015, 3, 5), Sex::Male)
            .unwrap_err();
        assert_eq!(e.reason.code(), "resident_id_birth_mismatch");
        let e = id
            .check_against("resident_id", day(2015, 3, 4), Sex::Female)
            .unwrap_err();
        assert_eq!(e.reason.code(), "resident_id_sex_mismatch");
    }

    #[test]
    fn debug_output_is_masked() {
        let id = ResidentId::parse_on("11010519491231002X", day(2026, 1, 1)).unwrap();
        assert!(!format!("{id:?}").contains("19491231"));
    }

    #[test]
    fn json_refuses_an_invalid_id() {
        assert!(serde_json::from_str::<ResidentId>("\"11010519491231002X\"").is_ok());
        assert!(serde_json::from_str::<ResidentId>("\"110105194912310021\"").is_err());
    }

    proptest! {
        #[test]
        fn any_single_digit_change_is_caught(pos in 0usize..17, delta in 1u8..10) {
            let good = "11010519491231002X";
            let mut b = good.as_bytes().to_vec();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let s = String::from_utf8(b).unwrap();
            prop_assert!(ResidentId::parse_on(&s, day(2026, 1, 1)).is_err());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = ResidentId::parse_on(&s, day(2026, 1, 1));
        }
    }
}
