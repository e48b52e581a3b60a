//! Validation errors that name the field and the reason, as a stable machine code plus zh-CN
//! and English text, so the app can show them beside the field and the server can return them
//! in a 4xx body. Every rule is written once, here; neither the app nor the server re-implements
//! one. The individual rules live next to the type they protect (`resident_id`, `phone`,
//! `location`, ...); this module holds the error shape and the small generic rules.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was refused. Each reason has a stable snake_case code for machines and a
/// sentence in Chinese and English for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A required value is missing or blank.
    Required,
    /// Text longer than the field allows (counted in characters, not bytes).
    TooLong { max: usize, actual: usize },
    /// Resident ID is not 17 digits followed by a digit or X.
    ResidentIdFormat,
    /// Resident ID's first two digits are no province code.
    ResidentIdProvince,
    /// Resident ID's birth-date digits are not a real date, or lie in the future.
    ResidentIdBirthDate,
    /// Resident ID's check character does not match the GB 11643 checksum.
    ResidentIdChecksum { expected: char, actual: char },
    /// The birth date encoded in the resident ID differs from the record's birth date.
    ResidentIdBirthMismatch { encoded: NaiveDate },
    /// The sex encoded in the resident ID differs from the record's sex.
    ResidentIdSexMismatch,
    /// Not a mainland mobile number.
    MobileFormat,
    /// Age outside the range the rule allows.
    AgeOutOfRange { age: i32, min: i32, max: i32 },
    /// Latitude outside -90..=90 or not a number.
    LatitudeRange,
    /// Longitude outside -180..=180 or not a number.
    LongitudeRange,
    /// A GPS accuracy that is negative, not a number, or absurdly large.
    AccuracyRange,
    /// A time further in the future than clock error can explain.
    InFuture { limit_minutes: i64 },
    /// An end time before the start time.
    EndBeforeStart,
    /// A number outside its allowed range.
    OutOfRange { min: i64, max: i64 },
    /// The enrolment status cannot move from one value to the other.
    IllegalTransition {
        from: &'static str,
        to: &'static str,
    },
    /// The section does not belong to this kind of record.
    NotAllowedHere,
    /// A code that is not a GB/T 2260 administrative division code.
    AreaCode,
    /// A SHA-256 hash that is not 64 hexadecimal characters.
    HashFormat,
    /// A visit whose visitors do not include the user who entered it.
    AuthorNotVisitor,
    /// A time so far from now that no calendar arithmetic on it is meaningful.
    TimeOutOfRange,
}

impl Reason {
    /// The stable machine code, e.g. `resident_id_checksum`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Required => "required",
            Reason::TooLong { .. } => "too_long",
            Reason::ResidentIdFormat => "resident_id_format",
            Reason::ResidentIdProvince => "resident_id_province",
            Reason::ResidentIdBirthDate => "resident_id_birth_date",
            Reason::ResidentIdChecksum { .. } => "resident_id_checksum",
            Reason::ResidentIdBirthMismatch { .. } => "resident_id_birth_mismatch",
            Reason::ResidentIdSexMismatch => "resident_id_sex_mismatch",
            Reason::MobileFormat => "mobile_format",
            Reason::AgeOutOfRange { .. } => "age_out_of_range",
            Reason::LatitudeRange => "latitude_range",
            Reason::LongitudeRange => "longitude_range",
            Reason::AccuracyRange => "accuracy_range",
            Reason::InFuture { .. } => "in_future",
            Reason::EndBeforeStart => "end_before_start",
            Reason::OutOfRange { .. } => "out_of_range",
            Reason::IllegalTransition { .. } => "illegal_transition",
            Reason::NotAllowedHere => "not_allowed_here",
            Reason::AreaCode => "area_code",
            Reason::HashFormat => "hash_format",
            Reason::AuthorNotVisitor => "author_not_visitor",
            Reason::TimeOutOfRange => "time_out_of_range",
        }
    }

    /// The reason in Chinese, as shown to a teacher beside the field.
    pub fn zh(&self) -> String {
        match self {
            Reason::Required => "必填".into(),
            Reason::TooLong { max, actual } => format!("最多{max}个字，现有{actual}个字"),
            Reason::ResidentIdFormat => "身份证号应为17位数字加1位数字或X".into(),
            Reason::ResidentIdProvince => "身份证号前两位不是有效的省级代码".into(),
            Reason::ResidentIdBirthDate => "身份证号中的出生日期无效".into(),
            Reason::ResidentIdChecksum { expected, actual } => {
                format!("身份证号校验位错误：应为{expected}，实为{actual}")
            }
            Reason::ResidentIdBirthMismatch { encoded } => {
                format!(
                    "身份证号中的出生日期（{}）与填写的出生日期不一致",
                    encoded.format("%Y年%m月%d日")
                )
            }
            Reason::ResidentIdSexMismatch => "身份证号中的性别与填写的性别不一致".into(),
            Reason::MobileFormat => "不是有效的手机号码（11位，1开头）".into(),
            Reason::AgeOutOfRange { age, min, max } => {
                format!("年龄{age}岁，不在{min}至{max}岁范围内")
            }
            Reason::LatitudeRange => "纬度应在-90至90之间".into(),
            Reason::LongitudeRange => "经度应在-180至180之间".into(),
            Reason::AccuracyRange => "定位精度数值无效".into(),
            Reason::InFuture { limit_minutes } => {
                format!("时间晚于当前时间超过{limit_minutes}分钟，请检查手机时间")
            }
            Reason::EndBeforeStart => "结束时间早于开始时间".into(),
            Reason::OutOfRange { min, max } => format!("应在{min}至{max}之间"),
            Reason::IllegalTransition { from, to } => {
                format!("学籍状态不能从“{from}”直接变为“{to}”")
            }
            Reason::NotAllowedHere => "此类记录不能填写该部分".into(),
            Reason::AreaCode => "不是有效的行政区划代码".into(),
            Reason::HashFormat => "照片哈希应为64位十六进制字符".into(),
            Reason::AuthorNotVisitor => "走访人中须有录入本记录的本人；同行的同事列为同行人".into(),
            Reason::TimeOutOfRange => "时间超出有效范围，请检查手机时间".into(),
        }
    }

    /// The reason in English.
    pub fn en(&self) -> String {
        match self {
            Reason::Required => "required".into(),
            Reason::TooLong { max, actual } => {
                format!("at most {max} characters, got {actual}")
            }
            Reason::ResidentIdFormat => {
                "a resident ID is 17 digits followed by a digit or X".into()
            }
            Reason::ResidentIdProvince => "the first two digits are not a province code".into(),
            Reason::ResidentIdBirthDate => "the birth date in the resident ID is not valid".into(),
            Reason::ResidentIdChecksum { expected, actual } => {
                format!("wrong check character: expected {expected}, got {actual}")
            }
            Reason::ResidentIdBirthMismatch { encoded } => {
                format!(
                    "the resident ID encodes birth date {encoded}, which differs from the record"
                )
            }
            Reason::ResidentIdSexMismatch => {
                "the resident ID encodes a different sex from the record".into()
            }
            Reason::MobileFormat => {
                "not a mainland mobile number (11 digits starting with 1)".into()
            }
            Reason::AgeOutOfRange { age, min, max } => {
                format!("age {age} is outside {min} to {max}")
            }
            Reason::LatitudeRange => "latitude must be between -90 and 90".into(),
            Reason::LongitudeRange => "longitude must be between -180 and 180".into(),
            Reason::AccuracyRange => "the location accuracy is not a valid number".into(),
            Reason::InFuture { limit_minutes } => {
                format!("more than {limit_minutes} minutes in the future; check the phone's clock")
            }
            Reason::EndBeforeStart => "the end time is before the start time".into(),
            Reason::OutOfRange { min, max } => format!("must be between {min} and {max}"),
            Reason::IllegalTransition { from, to } => {
                format!("enrolment status cannot change from {from} to {to}")
            }
            Reason::NotAllowedHere => "this section does not belong to this kind of record".into(),
            Reason::AreaCode => "not an administrative division code (GB/T 2260)".into(),
            Reason::HashFormat => "a photo hash is 64 hexadecimal characters".into(),
            Reason::AuthorNotVisitor => {
                "the visitors must include the user who entered the visit; colleagues go with them"
                    .into()
            }
            Reason::TimeOutOfRange => "the time is outside the range of valid dates".into(),
        }
    }
}

/// One refused value: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `guardian.phone` or `photos[2].sha256`.
    pub field: String,
    /// Why it was refused.
    pub reason: Reason,
}

impl FieldError {
    /// A refusal of `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }

    /// The same error for a field nested under `prefix` (`device_check` + `problems` →
    /// `device_check.problems`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.field,
            self.reason.en(),
            self.reason.code()
        )
    }
}

impl std::error::Error for FieldError {}

/// The serialized shape of a [`FieldError`]: what an HTTP body or the app's log carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrorBody {
    pub field: String,
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl From<&FieldError> for FieldErrorBody {
    fn from(e: &FieldError) -> Self {
        Self {
            field: e.field.clone(),
            code: e.reason.code().to_string(),
            zh: e.reason.zh(),
            en: e.reason.en(),
        }
    }
}

impl Serialize for FieldError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FieldErrorBody::from(self).serialize(s)
    }
}

/// All the refusals for one record, so a form can mark every bad field at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record the error of `result`, if any.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Record several errors, nested under `prefix`.
    pub fn extend_under(&mut self, prefix: &str, other: FieldErrors) {
        self.0.extend(other.0.into_iter().map(|e| e.under(prefix)));
    }

    /// Record one error.
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// `Ok(())` when nothing was refused.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The error for `field`, if one was recorded.
    pub fn for_field(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// Limits on free text, in characters. A village teacher's note is rarely long; a megabyte
/// "note" is an attack or a bug, and it would travel over a weak signal.
pub mod limits {
    /// A person's name.
    pub const NAME: usize = 50;
    /// A short label: class name, notice number, device model.
    pub const SHORT: usize = 100;
    /// An address.
    pub const ADDRESS: usize = 200;
    /// Notes and descriptions.
    pub const NOTES: usize = 4000;
    /// A reason given by a supervisor (void, flag).
    pub const REASON: usize = 1000;
    /// Most list-valued fields (visitors, problems, photos).
    pub const LIST: usize = 50;
}

/// Refuse text that is blank (after trimming) when `required`, or longer than `max` characters.
pub fn text(field: &str, value: &str, max: usize, required: bool) -> Result<(), FieldError> {
    if required && value.trim().is_empty() {
        return Err(FieldError::new(field, Reason::Required));
    }
    let actual = value.chars().count();
    if actual > max {
        return Err(FieldError::new(field, Reason::TooLong { max, actual }));
    }
    Ok(())
}

/// Refuse a list longer than `max` items.
pub fn list_len<T>(field: &str, items: &[T], max: usize) -> Result<(), FieldError> {
    if items.len() > max {
        return Err(FieldError::new(
            field,
            Reason::TooLong {
                max,
                actual: items.len(),
            },
        ));
    }
    Ok(())
}

/// How far in the future a device's time may be before it is refused: phones drift, but a
/// visit cannot end next week.
pub const FUTURE_TOLERANCE_MINUTES: i64 = 10;

/// The earliest and latest instants any input may carry (the years `YearMonth` accepts). A wrong
/// phone clock can be years off and is kept and flagged; a time outside these bounds is no
/// clock error but garbage, and calendar arithmetic near chrono's own limits would overflow.
pub fn time_bounds() -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |y| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .expect("a valid date")
    };
    (at(1900), at(9000))
}

/// Refuse an instant outside [`time_bounds`].
pub fn plausible_time(field: &str, at: DateTime<Utc>) -> Result<(), FieldError> {
    let (first, last) = time_bounds();
    if at < first || at >= last {
        return Err(FieldError::new(field, Reason::TimeOutOfRange));
    }
    Ok(())
}

/// Refuse a date outside [`time_bounds`].
pub fn plausible_date(field: &str, on: NaiveDate) -> Result<(), FieldError> {
    let (first, last) = time_bounds();
    if on < first.date_naive() || on >= last.date_naive() {
        return Err(FieldError::new(field, Reason::TimeOutOfRange));
    }
    Ok(())
}

/// Refuse a time more than [`FUTURE_TOLERANCE_MINUTES`] after `now`.
pub fn not_in_future(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), FieldError> {
    // Checked: `now` comes from a phone and may sit at the end of the calendar.
    let limit = now
        .checked_add_signed(Duration::minutes(FUTURE_TOLERANCE_MINUTES))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if at > limit {
        return Err(FieldError::new(
            field,
            Reason::InFuture {
                limit_minutes: FUTURE_TOLERANCE_MINUTES,
            },
        ));
    }
    Ok(())
}

/// Age in whole years on `on` of someone born on `birth`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    use chrono::Datelike;
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Compulsory-education age (义务教育适龄): 6 to 15 inclusive.
pub const COMPULSORY_AGES: std::ops::RangeInclusive<i32> = 6..=15;

/// Refuse a birth date whose holder is not of compulsory-education age (6–15) on `on`.
pub fn compulsory_age(field: &str, birth: NaiveDate, on: NaiveDate) -> Result<(), FieldError> {
    let age = age_on(birth, on);
    if COMPULSORY_AGES.contains(&age) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            Reason::AgeOutOfRange {
                age,
                min: *COMPULSORY_AGES.start(),
                max: *COMPULSORY_AGES.end(),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_counts_characters_not_bytes() {
        // 50 Chinese characters are 150 bytes but fit a 50-character name.
        let name = "张".repeat(50);
        assert!(text("name", &name, limits::NAME, true).is_ok());
        let err = text("name", &"张".repeat(51), limits::NAME, true).unwrap_err();
        assert_eq!(err.field, "name");
        assert_eq!(
            err.reason,
            Reason::TooLong {
                max: 50,
                actual: 51
            }
        );
        assert_eq!(err.reason.zh(), "最多50个字，现有51个字");
    }

    #[test]
    fn blank_required_text_is_refused() {
        let err = text("notes", "   ", 10, true).unwrap_err();
        assert_eq!(err.reason.code(), "required");
        assert!(text("notes", "", 10, false).is_ok());
    }

    #[test]
    fn times_slightly_ahead_pass_but_next_week_does_not() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap();
        assert!(not_in_future("started_at", now + Duration::minutes(5), now).is_ok());
        let err = not_in_future("started_at", now + Duration::days(7), now).unwrap_err();
        assert_eq!(err.reason.code(), "in_future");
        assert!(err.reason.zh().contains("手机时间"));
    }

    #[test]
    fn compulsory_age_is_six_to_fifteen() {
        let on = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let six = NaiveDate::from_ymd_opt(2020, 9, 1).unwrap();
        let five = NaiveDate::from_ymd_opt(2020, 9, 2).unwrap();
        let fifteen = NaiveDate::from_ymd_opt(2010, 9, 2).unwrap();
        let sixteen = NaiveDate::from_ymd_opt(2010, 9, 1).unwrap();
        assert!(compulsory_age("birth_date", six, on).is_ok());
        assert!(compulsory_age("birth_date", fifteen, on).is_ok());
        assert!(compulsory_age("birth_date", five, on).is_err());
        let err = compulsory_age("birth_date", sixteen, on).unwrap_err();
        assert_eq!(
            err.reason,
            Reason::AgeOutOfRange {
                age: 16,
                min: 6,
                max: 15
            }
        );
    }

    #[test]
    fn errors_serialize_with_field_code_and_both_languages() {
        let e = FieldError::new("phone", Reason::MobileFormat).under("guardian");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["field"], "guardian.phone");
        assert_eq!(json["code"], "mobile_format");
        assert!(json["zh"].as_str().unwrap().contains("手机号码"));
        assert!(json["en"].as_str().unwrap().contains("mobile"));
    }
}
