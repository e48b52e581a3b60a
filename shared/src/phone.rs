//! Mainland mobile numbers (手机号). Guardians' numbers are typed by teachers on a small
//! keyboard, often copied from a WeChat message with spaces, dashes or a +86 prefix: those are
//! stripped; what remains must be eleven digits starting 13–19.

use crate::validation::{FieldError, Reason};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A mainland mobile number, stored as its eleven digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MobileNumber(String);

impl MobileNumber {
    /// Parse a number as typed or pasted.
    pub fn parse(input: &str) -> Result<Self, Reason> {
        let digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}' | '(' | ')'))
            .collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .or_else(|| {
                if digits.len() == 13 {
                    digits.strip_prefix("86")
                } else {
                    None
                }
            })
            .unwrap_or(&digits);
        let b = digits.as_bytes();
        if b.len() == 11
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
            && b.iter().all(u8::is_ascii_digit)
        {
            Ok(Self(digits.to_string()))
        } else {
            Err(Reason::MobileFormat)
        }
    }

    /// Parse, naming `field` in the error.
    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        Self::parse(input).map_err(|r| FieldError::new(field, r))
    }

    /// The eleven digits, for a `tel:` link.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Grouped 3-4-4 the way people read numbers aloud: `138 0013 8000`.
    pub fn display_grouped(&self) -> String {
        format!("{} {} {}", &self.0[..3], &self.0[3..7], &self.0[7..])
    }
}

impl TryFrom<String> for MobileNumber {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|r| r.en())
    }
}

impl From<MobileNumber> for String {
    fn from(m: MobileNumber) -> String {
        m.0
    }
}

impl fmt::Debug for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobileNumber({}****{})", &self.0[..3], &self.0[7..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_forms_are_normalised() {
        for input in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "8613800138000",
        ] {
            assert_eq!(
                MobileNumber::parse(input).unwrap().as_str(),
                "13800138000",
                "{input}"
            );
        }
        assert_eq!(
            MobileNumber::parse("13800138000")
                .unwrap()
                .display_grouped(),
            "138 0013 8000"
        );
    }

    #[test]
    fn landlines_short_numbers_and_letters_are_refused() {
        for input in [
            "0851-8888888",
            "1380013800",
            "12800138000",
            "1380013800a",
            "",
            "138001380001",
        ] {
            assert_eq!(
                MobileNumber::parse(input),
                Err(Reason::MobileFormat),
                "{input}"
            );
        }
        let e = MobileNumber::parse_field("guardian.phone", "123").unwrap_err();
        assert_eq!(e.field, "guardian.phone");
    }
}
