//! Excel files laid out like the ledgers township offices keep: a title row, a line saying
//! whose and which period, bold bordered headers, text cells for IDs and phone numbers (so
//! Excel never turns them into floats), numbers as numbers, CJK-aware column widths, frozen
//! headers, landscape printing on one page wide.

use super::ledgers::{DROPOUT_HEADERS, POOR_HEADERS};
use super::monthly::{Amendment, Figures, LateRecord, period_zh};
use crate::roster::display_width;
use crate::store::Ledger;
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

/// A titled table being written row by row: a title row, a subtitle, bold headers, then the
/// rows — in order, so a sheet in constant-memory mode takes it (a ledger of a whole county).
struct Table {
    next: u32,
    widths: Vec<usize>,
    cell: Format,
}

impl Table {
    fn start(
        ws: &mut Worksheet,
        title: &str,
        subtitle: &str,
        headers: &[&str],
    ) -> Result<Self, XlsxError> {
        let title_fmt = Format::new()
            .set_bold()
            .set_font_size(16)
            .set_align(FormatAlign::Center);
        let head = Format::new()
            .set_bold()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
            .set_text_wrap();
        let last_col = headers.len().saturating_sub(1) as u16;
        if last_col > 0 {
            ws.merge_range(0, 0, 0, last_col, title, &title_fmt)?;
            ws.merge_range(1, 0, 1, last_col, subtitle, &Format::new())?;
        } else {
            ws.write_string_with_format(0, 0, title, &title_fmt)?;
            ws.write_string(1, 0, subtitle)?;
        }
        for (i, h) in headers.iter().enumerate() {
            ws.write_string_with_format(2, i as u16, *h, &head)?;
        }
        Ok(Table {
            next: 3,
            widths: headers.iter().map(|h| display_width(h)).collect(),
            cell: Format::new().set_border(FormatBorder::Thin),
        })
    }

    fn row(&mut self, ws: &mut Worksheet, row: &[Cell]) -> Result<(), XlsxError> {
        let r = self.next;
        for (i, c) in row.iter().enumerate() {
            match c {
                Cell::Text(s) => {
                    ws.write_string_with_format(r, i as u16, s, &self.cell)?;
                    if let Some(w) = self.widths.get_mut(i) {
                        *w = (*w).max(display_width(s));
                    }
                }
                Cell::Number(n) => {
                    ws.write_number_with_format(r, i as u16, *n, &self.cell)?;
                }
            }
        }
        self.next += 1;
        Ok(())
    }

    /// Column widths from the widest cell, frozen headers, landscape one page wide; returns
    /// the next free row.
    fn finish(self, ws: &mut Worksheet) -> Result<u32, XlsxError> {
        for (i, w) in self.widths.iter().enumerate() {
            ws.set_column_width(i as u16, (*w as f64 + 2.0).clamp(6.0, 60.0))?;
        }
        ws.set_freeze_panes(3, 0)?;
        ws.set_landscape();
        ws.set_print_fit_to_pages(1, 0);
        ws.set_repeat_rows(2, 2)?;
        Ok(self.next)
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
    let mut t = Table::start(ws, title, subtitle, headers)?;
    for row in rows {
        t.row(ws, row)?;
    }
    t.finish(ws)
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

/// One of the two ledgers as an Excel file, written a row at a time: the sheet keeps only
/// the row being written in memory (the rest goes to a temporary file), so a county's ledger
/// costs no more memory than a school's.
pub struct LedgerBook {
    wb: Workbook,
    table: Table,
}

impl LedgerBook {
    /// `title` is the unit's name; `summary` a line under it (the poor ledger's coverage).
    pub fn new(ledger: Ledger, title: &str, summary: &str) -> Result<Self, XlsxError> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet_with_constant_memory()?;
        let (sheet, heading, headers): (_, _, &[&str]) = match ledger {
            Ledger::Dropouts => ("辍学台账", "控辍保学辍学学生台账", &DROPOUT_HEADERS),
            Ledger::Poor => ("建档立卡学生台账", "建档立卡家庭学生台账", &POOR_HEADERS),
        };
        ws.set_name(sheet)?;
        let subtitle = format!(
            "单位：{title}　　导出时间：{}{}",
            format_zh(chrono::Utc::now()),
            if summary.is_empty() {
                String::new()
            } else {
                format!("　　{summary}")
            }
        );
        let table = Table::start(ws, heading, &subtitle, headers)?;
        Ok(LedgerBook { wb, table })
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<(), XlsxError> {
        let ws = self.wb.worksheet_from_index(0)?;
        self.table.row(ws, cells)
    }

    /// Finish the sheet and write the file.
    pub fn save<W: std::io::Write + std::io::Seek + Send>(
        mut self,
        out: W,
    ) -> Result<(), XlsxError> {
        let ws = self.wb.worksheet_from_index(0)?;
        self.table.finish(ws)?;
        self.wb.save_to_writer(out)
    }
}
