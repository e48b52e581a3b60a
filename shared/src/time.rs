//! Time as the work counts it. Instants are stored in UTC (`DateTime<Utc>`); everything a
//! person sees or a report buckets — days, weeks, months, the report due on the 22nd, school
//! terms — is computed in Asia/Shanghai, the one time zone of the whole country.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Shanghai;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The instant in China's time zone.
pub fn in_china(at: DateTime<Utc>) -> DateTime<Tz> {
    at.with_timezone(&Shanghai)
}

/// The calendar day in China on which `at` falls.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    in_china(at).date_naive()
}

/// Today in China, from this machine's clock.
pub fn today_in_china() -> NaiveDate {
    china_date(Utc::now())
}

/// Midnight starting `day` in China, as an instant.
pub fn start_of_china_day(day: NaiveDate) -> DateTime<Utc> {
    // China has had no daylight saving since 1991, so midnight always exists exactly once.
    Shanghai
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("Asia/Shanghai has no DST gaps")
        .with_timezone(&Utc)
}

/// "2026年11月22日 14:05", as shown to a user.
pub fn format_zh(at: DateTime<Utc>) -> String {
    in_china(at).format("%Y年%m月%d日 %H:%M").to_string()
}

/// A calendar month. Always valid: built by [`YearMonth::new`] or [`YearMonth::of`], and a
/// month number outside 1–12 (say, in a report request) is refused when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawYearMonth")]
pub struct YearMonth {
    year: i32,
    /// 1–12.
    month: u32,
}

#[derive(Deserialize)]
struct RawYearMonth {
    year: i32,
    month: u32,
}

impl TryFrom<RawYearMonth> for YearMonth {
    type Error = String;
    fn try_from(r: RawYearMonth) -> Result<Self, String> {
        YearMonth::new(r.year, r.month).ok_or_else(|| {
            format!(
                "{}-{} is not a month (1–12, years 1900–9000)",
                r.year, r.month
            )
        })
    }
}

impl YearMonth {
    /// The month, refusing a month number outside 1–12 or a year outside 1900–9000 (no
    /// school record is older; beyond that date arithmetic would overflow).
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (1900..=9000).contains(&year)).then_some(Self { year, month })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The month in China containing `at`.
    pub fn of(at: DateTime<Utc>) -> Self {
        let d = china_date(at);
        Self {
            year: d.year(),
            month: d.month(),
        }
    }

    /// The first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month")
    }

    /// The month before.
    pub fn prev(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month after.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Day `d` of this month.
    pub fn day(self, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, d).expect("day exists in every month")
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}年{}月", self.year, self.month)
    }
}

/// The nominal day of the month on which schools send the month's dropout-control report
/// (控辍保学月报表): "每月22日（遇双休日自行提前）".
pub const REPORT_DAY: u32 = 22;

/// The monthly report of one month. It covers the days from the previous report's nominal
/// cut-off (the 22nd, 00:00 China time) up to this month's, so consecutive reports neither
/// overlap nor leave a gap, whatever weekday the 22nd falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReportMonth(pub YearMonth);

impl ReportMonth {
    /// The report whose period contains `at`.
    pub fn containing(at: DateTime<Utc>) -> Self {
        let d = china_date(at);
        let ym = YearMonth {
            year: d.year(),
            month: d.month(),
        };
        if d.day() >= REPORT_DAY {
            Self(ym.next())
        } else {
            Self(ym)
        }
    }

    /// The half-open period `[start, end)` the report counts.
    pub fn period(self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            start_of_china_day(self.0.prev().day(REPORT_DAY)),
            start_of_china_day(self.0.day(REPORT_DAY)),
        )
    }

    /// The day it is due: the 22nd, brought forward to Friday when it falls on a weekend.
    pub fn due_date(self) -> NaiveDate {
        let d = self.0.day(REPORT_DAY);
        match d.weekday() {
            Weekday::Sat => d - Duration::days(1),
            Weekday::Sun => d - Duration::days(2),
            _ => d,
        }
    }
}

/// Which half of the school year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermKind {
    /// 秋季学期: September to January.
    Autumn,
    /// 春季学期: February/March to July.
    Spring,
}

/// One school term with its first and last day. Counties set their own dates, so terms are
/// data (a [`TermCalendar`]), not a rule in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Term {
    /// The year the school year starts (the 2026–2027 school year is 2026, both terms).
    pub school_year: i32,
    pub kind: TermKind,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

impl Term {
    /// Whether `day` is inside the term.
    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.first_day..=self.last_day).contains(&day)
    }

    /// "2026学年秋季学期".
    pub fn zh(&self) -> String {
        let k = match self.kind {
            TermKind::Autumn => "秋季学期",
            TermKind::Spring => "春季学期",
        };
        format!("{}学年{k}", self.school_year)
    }

    /// "2026–27 autumn term".
    pub fn en(&self) -> String {
        let k = match self.kind {
            TermKind::Autumn => "autumn",
            TermKind::Spring => "spring",
        };
        format!(
            "{}–{:02} {k} term",
            self.school_year,
            (self.school_year + 1) % 100
        )
    }

    /// The half-open instant range `[start, end)` of the term in China time.
    pub fn period(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            start_of_china_day(self.first_day),
            start_of_china_day(self.last_day + Duration::days(1)),
        )
    }
}

/// A county's school terms. Due work (the semester home visit, the subsidy check) is counted
/// against these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermCalendar {
    pub terms: Vec<Term>,
}

impl TermCalendar {
    /// The usual national pattern for the given school years — autumn 1 September to 20
    /// January, spring 20 February to 10 July — until a county enters its own dates.
    pub fn typical(years: impl IntoIterator<Item = i32>) -> Self {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("valid constant date");
        let mut terms = Vec::new();
        for y in years {
            terms.push(Term {
                school_year: y,
                kind: TermKind::Autumn,
                first_day: d(y, 9, 1),
                last_day: d(y + 1, 1, 20),
            });
            terms.push(Term {
                school_year: y,
                kind: TermKind::Spring,
                first_day: d(y + 1, 2, 20),
                last_day: d(y + 1, 7, 10),
            });
        }
        terms.sort();
        Self { terms }
    }

    /// The term in session on `day`, if any (none during the holidays).
    pub fn term_on(&self, day: NaiveDate) -> Option<&Term> {
        self.terms.iter().find(|t| t.contains(day))
    }

    /// The term in session on `day`, or the most recent one before it during a holiday: due
    /// work of a term is still owed in the holiday after it.
    pub fn current_or_last(&self, day: NaiveDate) -> Option<&Term> {
        self.term_on(day).or_else(|| {
            self.terms
                .iter()
                .filter(|t| t.last_day < day)
                .max_by_key(|t| t.last_day)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
    }

    #[test]
    fn an_evening_visit_in_utc_is_the_next_day_in_china() {
        // 17:30 UTC on 31 October is 01:30 on 1 November in China.
        let at = utc(2026, 10, 31, 17, 30);
        assert_eq!(
            china_date(at),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert_eq!(
            YearMonth::of(at),
            YearMonth {
                year: 2026,
                month: 11
            }
        );
        assert_eq!(format_zh(at), "2026年11月01日 01:30");
    }

    #[test]
    fn a_month_thirteen_is_refused_when_decoding() {
        assert!(serde_json::from_str::<YearMonth>(r#"{"year":2026,"month":13}"#).is_err());
        assert!(serde_json::from_str::<YearMonth>(r#"{"year":2026,"month":0}"#).is_err());
        let ok: YearMonth = serde_json::from_str(r#"{"year":2026,"month":11}"#).unwrap();
        assert_eq!((ok.year(), ok.month()), (2026, 11));
        assert!(YearMonth::new(i32::MAX, 1).is_none());
    }

    #[test]
    fn report_periods_meet_at_the_22nd_in_china_time() {
        let nov = ReportMonth(YearMonth::new(2026, 11).unwrap());
        let (start, end) = nov.period();
        assert_eq!(format_zh(start), "2026年10月22日 00:00");
        assert_eq!(format_zh(end), "2026年11月22日 00:00");
        assert_eq!(
            ReportMonth(YearMonth::new(2026, 12).unwrap()).period().0,
            end
        );
        // 23:59 on the 21st in China belongs to November's report, 00:00 on the 22nd to December's.
        assert_eq!(ReportMonth::containing(end - Duration::minutes(1)), nov);
        assert_eq!(
            ReportMonth::containing(end).0,
            YearMonth::new(2026, 12).unwrap()
        );
        // January's period starts in December of the year before.
        let jan = ReportMonth(YearMonth::new(2027, 1).unwrap());
        assert_eq!(format_zh(jan.period().0), "2026年12月22日 00:00");
    }

    #[test]
    fn a_report_due_on_a_weekend_is_due_the_friday_before() {
        // 22 November 2026 is a Sunday.
        let nov = ReportMonth(YearMonth::new(2026, 11).unwrap());
        assert_eq!(
            nov.due_date(),
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
        // 22 December 2026 is a Tuesday.
        let dec = ReportMonth(YearMonth::new(2026, 12).unwrap());
        assert_eq!(
            dec.due_date(),
            NaiveDate::from_ymd_opt(2026, 12, 22).unwrap()
        );
    }

    #[test]
    fn holiday_work_counts_against_the_term_just_ended() {
        let cal = TermCalendar::typical(2025..=2026);
        let in_term = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let t = cal.term_on(in_term).unwrap();
        assert_eq!((t.school_year, t.kind), (2026, TermKind::Autumn));
        assert_eq!(t.zh(), "2026学年秋季学期");
        let summer = NaiveDate::from_ymd_opt(2026, 8, 1).unwrap();
        assert!(cal.term_on(summer).is_none());
        let last = cal.current_or_last(summer).unwrap();
        assert_eq!((last.school_year, last.kind), (2025, TermKind::Spring));
    }
}
