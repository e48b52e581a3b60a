//! Excel files laid out like the ledgers township offices keep: a title row, a line saying
//! whose and which period, bold bordered headers, text cells for IDs and phone numbers (so
//! Excel never turns them into floats), numbers as numbers, CJK-aware column widths, frozen
//! headers, landscape printing on one page wide.

use super::compliance::DeviceCoverage;
use super::monthly::{Amendment, Figures, LateRecord, period_zh};
use crate::review::ScopeView;
use crate::roster::display_width;
use baoxue_shared::file::{Event, StudentFile};
use baoxue_shared::observation::{Answer, VisitKind};
use baoxue_shared::time::{ReportMonth, format_zh};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

/// One cell.
pub enum Cell {
    Text(String),
    Number(f64),
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Self {
        Cell::Number(n as f64)
    }
}

/// Write a titled table on a new sheet; returns the next free row.
fn table(
    ws: &mut Worksheet,
    title: &str,
    subtitle: &str,
    headers: &[&str],
    rows: &[Vec<Cell>],
) -> Result<u32, XlsxError> {
    let title_fmt = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_text_wrap();
    let cell = Format::new().set_border(FormatBorder::Thin);
    let last_col = headers.len().saturating_sub(1) as u16;
    if last_col > 0 {
        ws.merge_range(0, 0, 0, last_col, title, &title_fmt)?;
        ws.merge_range(1, 0, 1, last_col, subtitle, &Format::new())?;
    } else {
        ws.write_string_with_format(0, 0, title, &title_fmt)?;
        ws.write_string(1, 0, subtitle)?;
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for (i, h) in headers.iter().enumerate() {
        ws.write_string_with_format(2, i as u16, *h, &head)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 3;
        for (i, c) in row.iter().enumerate() {
            match c {
                Cell::Text(s) => {
                    ws.write_string_with_format(r, i as u16, s, &cell)?;
                    if let Some(w) = widths.get_mut(i) {
                        *w = (*w).max(display_width(s));
                    }
                }
                Cell::Number(n) => {
                    ws.write_number_with_format(r, i as u16, *n, &cell)?;
                }
            }
        }
    }
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, (*w as f64 + 2.0).clamp(6.0, 60.0))?;
    }
    ws.set_freeze_panes(3, 0)?;
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(2, 2)?;
    Ok(rows.len() as u32 + 3)
}

/// The monthly report: the figures in the form's order, the typical cases, and — when the
/// report was filed and data arrived since — the amendments on their own sheet.
#[allow(clippy::too_many_arguments)]
pub fn monthly_report(
    title: &str,
    month: ReportMonth,
    figures: &Figures,
    filed: Option<&str>,
    amendments: &[Amendment],
    late: &[LateRecord],
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let subtitle = format!(
        "填报单位：{title}　　统计期间：{}　　报送截止：{}　　{}",
        period_zh(month),
        month.due_date().format("%Y年%-m月%-d日"),
        filed.unwrap_or("草稿（未报送）")
    );
    let ws = wb.add_worksheet();
    ws.set_name("月报表")?;
    let rows: Vec<Vec<Cell>> = figures
        .rows()
        .iter()
        .enumerate()
        .map(|(i, (label, n))| vec![Cell::from(i as u32 + 1), (*label).into(), (*n).into()])
        .collect();
    table(
        ws,
        "控辍保学月报表",
        &subtitle,
        &["序号", "项目", "人数"],
        &rows,
    )?;
    let ws = wb.add_worksheet();
    ws.set_name("典型案例")?;
    let rows: Vec<Vec<Cell>> = figures
        .cases
        .iter()
        .map(|c| {
            vec![
                c.name.clone().into(),
                c.school.clone().into(),
                c.village.clone().into(),
                c.placed.clone().into(),
                c.attempts.into(),
                c.how.clone().into(),
            ]
        })
        .collect();
    table(
        ws,
        "本月劝返典型案例",
        &subtitle,
        &["姓名", "学校", "村", "安置方式", "劝返次数", "劝返做法"],
        &rows,
    )?;
    if filed.is_some() {
        let ws = wb.add_worksheet();
        ws.set_name("更正说明")?;
        let mut rows: Vec<Vec<Cell>> = amendments
            .iter()
            .map(|a| {
                vec![
                    a.label.into(),
                    a.filed.into(),
                    a.now.into(),
                    "".into(),
                    "".into(),
                ]
            })
            .collect();
        rows.extend(late.iter().map(|l| {
            vec![
                "".into(),
                "".into(),
                "".into(),
                format!("{}：{}（{}）", l.student, l.what, format_zh(l.at)).into(),
                format_zh(l.received_at).into(),
            ]
        }));
        table(
            ws,
            "报送后的更正",
            &subtitle,
            &["项目", "报送数", "现数", "迟到记录", "收到时间"],
            &rows,
        )?;
    }
    wb.save_to_buffer()
}

/// 辍学台账: every student who is or was out of school, with the persuasion history.
pub fn dropout_ledger(
    view: &ScopeView,
    files: &[StudentFile],
    title: &str,
) -> Result<Vec<u8>, XlsxError> {
    let mut rows = Vec::new();
    for f in files {
        let Some(s) = &f.current else { continue };
        let moves: Vec<_> = f
            .timeline
            .iter()
            .filter_map(|e| match &e.event {
                Event::StatusChange { to, .. } => Some((e.at, *to)),
                _ => None,
            })
            .collect();
        let ever_out =
            s.status.needs_persuasion() || moves.iter().any(|(_, t)| t.needs_persuasion());
        if !ever_out {
            continue;
        }
        let dropped = moves
            .iter()
            .filter(|(_, t)| t.needs_persuasion())
            .map(|(at, _)| *at)
            .min();
        let attempts: Vec<&baoxue_shared::observation::Visit> = f
            .live_visits()
            .filter(|v| v.kind == VisitKind::Persuasion)
            .collect();
        let last = attempts.first();
        let g = f.guardians.first();
        rows.push(vec![
            Cell::from(s.name.clone()),
            s.sex.zh().into(),
            s.birth_date.format("%Y-%m-%d").to_string().into(),
            f.resident_id_masked.clone().unwrap_or_default().into(),
            view.school_name(s.school).into(),
            s.grade.map(|g| g.zh()).unwrap_or_default().into(),
            f.household
                .as_ref()
                .map(|h| format!("{}{}", h.area.township.name, h.area.village.name))
                .unwrap_or_default()
                .into(),
            g.map(|g| g.name.clone()).unwrap_or_default().into(),
            g.and_then(|g| g.phone.as_ref().map(|p| p.as_str().to_string()))
                .unwrap_or_default()
                .into(),
            dropped
                .map(|t| baoxue_shared::time::china_date(t).to_string())
                .unwrap_or_default()
                .into(),
            last.and_then(|v| v.persuasion.as_ref().map(|p| p.reason.zh()))
                .unwrap_or_default()
                .into(),
            (attempts.len() as u32).into(),
            last.and_then(|v| v.persuasion.as_ref().map(|p| p.method.zh()))
                .unwrap_or_default()
                .into(),
            last.map(|v| baoxue_shared::time::china_date(v.started_at).to_string())
                .unwrap_or_default()
                .into(),
            s.status.zh().into(),
        ]);
    }
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("辍学台账")?;
    table(
        ws,
        "控辍保学辍学学生台账",
        &format!(
            "单位：{title}　　导出时间：{}",
            format_zh(chrono::Utc::now())
        ),
        &[
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
        ],
        &rows,
    )?;
    wb.save_to_buffer()
}

/// 建档立卡学生台账: registered-poor students with their device check and subsidy this term.
pub fn poor_ledger(
    view: &ScopeView,
    files: &[StudentFile],
    coverage: &DeviceCoverage,
    title: &str,
) -> Result<Vec<u8>, XlsxError> {
    let yes_no = |a: Answer| match a {
        Answer::Yes => "是",
        Answer::No => "否",
        Answer::Unknown => "未问",
    };
    let mut rows = Vec::new();
    for f in files {
        let (Some(s), Some(h)) = (&f.current, &f.household) else {
            continue;
        };
        if !h.registered_poor {
            continue;
        }
        let visits: Vec<&baoxue_shared::observation::Visit> = f.live_visits().collect();
        let check = visits.iter().find(|v| v.device_check.is_some());
        let dc = check.and_then(|v| v.device_check.as_ref());
        let subsidy = visits.iter().find_map(|v| v.subsidy.as_ref());
        rows.push(vec![
            Cell::from(s.name.clone()),
            view.school_name(s.school).into(),
            s.grade.map(|g| g.zh()).unwrap_or_default().into(),
            h.head.clone().into(),
            format!("{}{}", h.area.township.name, h.area.village.name).into(),
            check
                .map(|v| baoxue_shared::time::china_date(v.started_at).to_string())
                .unwrap_or_else(|| "未检查".into())
                .into(),
            dc.map(|d| yes_no(d.device_works))
                .unwrap_or_default()
                .into(),
            dc.map(|d| yes_no(d.can_get_online))
                .unwrap_or_default()
                .into(),
            dc.map(|d| {
                d.open_problems()
                    .map(|p| p.kind.zh())
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default()
            .into(),
            subsidy
                .map(|s| format!("{}：{}", s.programme, yes_no(s.received)))
                .unwrap_or_else(|| "未核实".into())
                .into(),
        ]);
    }
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("建档立卡学生台账")?;
    table(
        ws,
        "建档立卡家庭学生台账",
        &format!(
            "单位：{title}　　建档立卡户 {} 户，本学期已检查学习设备 {} 户（{}%），设备可用 {} 户，未解决问题 {} 个",
            coverage.households,
            coverage.checked,
            coverage.coverage_rate(),
            coverage.working,
            coverage.problems_open
        ),
        &[
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
        ],
        &rows,
    )?;
    wb.save_to_buffer()
}
