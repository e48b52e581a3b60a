//! The two ledgers township offices keep beside the monthly report — 辍学台账 (every child who
//! is or was out of school, with the persuasion history) and 建档立卡学生台账 (registered-poor
//! children with their device check and subsidy). A child's line is read off their file when
//! the file changes and kept in the read models (`rm_students`); the console shows a ledger a
//! page at a time and the download streams it whole, both in name order, both with these cells.

use super::xlsx::{Cell, LedgerBook};
use crate::store::{
    DropoutLine, Ledger, LedgerLine, LedgerQuery, LedgerRow, PoorLine, ReportUnit, Store,
    StoreError, StudentFrom,
};
use baoxue_shared::file::{Event, StudentFile};
use baoxue_shared::ids::SchoolId;
use baoxue_shared::observation::{Answer, VisitKind};
use baoxue_shared::time::china_date;
use rust_xlsxwriter::XlsxError;

/// The child's line in the 辍学台账, when their status is or ever was one that needs
/// persuasion.
pub fn dropout_line(f: &StudentFile) -> Option<DropoutLine> {
    let s = f.current.as_ref()?;
    let out_since: Vec<_> = f
        .timeline
        .iter()
        .filter_map(|e| match &e.event {
            Event::StatusChange { to, .. } if to.needs_persuasion() => Some(e.at),
            _ => None,
        })
        .collect();
    if !s.status.needs_persuasion() && out_since.is_empty() {
        return None;
    }
    let attempts: Vec<_> = f
        .live_visits()
        .filter(|v| v.kind == VisitKind::Persuasion)
        .collect();
    // Live visits come newest first.
    let last = attempts.first();
    let persuasion = last.and_then(|v| v.persuasion.as_ref());
    let g = f.guardians.first();
    Some(DropoutLine {
        sex: s.sex,
        birth_date: s.birth_date,
        resident_id_masked: f.resident_id_masked.clone(),
        grade: s.grade,
        township: f
            .household
            .as_ref()
            .map(|h| h.area.township.name.clone())
            .unwrap_or_default(),
        village: f
            .household
            .as_ref()
            .map(|h| h.area.village.name.clone())
            .unwrap_or_default(),
        guardian: g.map(|g| g.name.clone()),
        guardian_phone: g.and_then(|g| g.phone.as_ref().map(|p| p.as_str().to_string())),
        dropped_on: out_since.into_iter().min().map(china_date),
        attempts: attempts.len() as u32,
        last_reason: persuasion.map(|p| p.reason),
        last_method: persuasion.map(|p| p.method),
        last_attempt_on: last.map(|v| china_date(v.started_at)),
        status: s.status,
    })
}

/// The child's line in the 建档立卡学生台账, when their household is registered poor.
pub fn poor_line(f: &StudentFile) -> Option<PoorLine> {
    let (Some(s), Some(h)) = (&f.current, &f.household) else {
        return None;
    };
    if !h.registered_poor {
        return None;
    }
    let check = f.live_visits().find(|v| v.device_check.is_some());
    let dc = check.and_then(|v| v.device_check.as_ref());
    Some(PoorLine {
        grade: s.grade,
        head: h.head.clone(),
        township: h.area.township.name.clone(),
        village: h.area.village.name.clone(),
        checked_on: check.map(|v| china_date(v.started_at)),
        device_works: dc.map(|d| d.device_works),
        can_get_online: dc.map(|d| d.can_get_online),
        open_problems: dc
            .map(|d| d.open_problems().map(|p| p.kind).collect())
            .unwrap_or_default(),
        subsidy: f
            .live_visits()
            .find_map(|v| v.subsidy.as_ref())
            .map(|s| (s.programme.clone(), s.received)),
    })
}

pub const DROPOUT_HEADERS: [&str; 15] = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "学校",
    "年级",
    "乡镇村",
    "监护人",
    "联系电话",
    "辍学时间",
    "辍学原因",
    "劝返次数",
    "劝返方式（四个一批）",
    "最近劝返日期",
    "目前状态",
];

pub const POOR_HEADERS: [&str; 10] = [
    "姓名",
    "学校",
    "年级",
    "户主",
    "乡镇村",
    "设备检查日期",
    "设备能用",
    "能上网课",
    "未解决问题",
    "资助核实",
];

fn yes_no(a: Answer) -> &'static str {
    match a {
        Answer::Yes => "是",
        Answer::No => "否",
        Answer::Unknown => "未问",
    }
}

fn day(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// A line's cells, in the order of its ledger's headers; `school` is the school's name.
pub fn cells(row: &LedgerRow, school: &str) -> Vec<Cell> {
    match &row.line {
        LedgerLine::Dropout(l) => vec![
            row.name.as_str().into(),
            l.sex.zh().into(),
            l.birth_date.format("%Y-%m-%d").to_string().into(),
            l.resident_id_masked.clone().unwrap_or_default().into(),
            school.into(),
            l.grade.map(|g| g.zh()).unwrap_or_default().into(),
            format!("{}{}", l.township, l.village).into(),
            l.guardian.clone().unwrap_or_default().into(),
            l.guardian_phone.clone().unwrap_or_default().into(),
            day(l.dropped_on).into(),
            l.last_reason.map(|r| r.zh()).unwrap_or_default().into(),
            l.attempts.into(),
            l.last_method.map(|m| m.zh()).unwrap_or_default().into(),
            day(l.last_attempt_on).into(),
            l.status.zh().into(),
        ],
        LedgerLine::Poor(l) => vec![
            row.name.as_str().into(),
            school.into(),
            l.grade.map(|g| g.zh()).unwrap_or_default().into(),
            l.head.as_str().into(),
            format!("{}{}", l.township, l.village).into(),
            l.checked_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "未检查".into())
                .into(),
            l.device_works.map(yes_no).unwrap_or_default().into(),
            l.can_get_online.map(yes_no).unwrap_or_default().into(),
            l.open_problems
                .iter()
                .map(|p| p.zh())
                .collect::<Vec<_>>()
                .join("、")
                .into(),
            l.subsidy
                .as_ref()
                .map(|(programme, got)| format!("{programme}：{}", yes_no(*got)))
                .unwrap_or_else(|| "未核实".into())
                .into(),
        ],
    }
}

/// Lines read from the store at a time while writing a ledger's file.
const CHUNK: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Xlsx(#[from] XlsxError),
}

/// Write the unit's whole ledger as an Excel file to `out`, reading the read models a chunk
/// at a time: memory stays that of a chunk, whatever the county's size. Returns the lines.
pub fn write_xlsx<W: std::io::Write + std::io::Seek + Send>(
    store: &dyn Store,
    unit: &ReportUnit,
    ledger: Ledger,
    title: &str,
    summary: &str,
    school: &dyn Fn(Option<SchoolId>) -> String,
    out: W,
) -> Result<u64, LedgerError> {
    let mut book = LedgerBook::new(ledger, title, summary)?;
    let mut from = StudentFrom::Start;
    let mut lines = 0;
    loop {
        let page = store.ledger_page(&LedgerQuery {
            unit: unit.clone(),
            ledger,
            from,
            limit: CHUNK,
            with_total: false,
        })?;
        for r in &page.rows {
            book.row(&cells(r, &school(r.school)))?;
        }
        lines += page.rows.len() as u64;
        match page.rows.last() {
            Some(last) if page.more_after => from = StudentFrom::After(last.student),
            _ => break,
        }
    }
    book.save(out)?;
    Ok(lines)
}
