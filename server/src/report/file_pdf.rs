//! A student's file (一生一案) as a PDF for the paper archive: A4, Noto Sans CJK SC embedded
//! (subset by krilla, every character the file uses — names like 堃 喆 玥 included), page
//! numbers and the print time on every page. Layout is line by line: a file is headings,
//! labelled lines and paragraphs, so a full typesetting engine is not needed.

use baoxue_shared::file::{Event, StudentFile};
use baoxue_shared::ids::UserId;
use baoxue_shared::time::{china_date, format_zh};
use baoxue_shared::validation::age_on;
use chrono::{DateTime, Utc};
use krilla::Document;
use krilla::geom::Point;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use std::sync::{Arc, OnceLock};
use thiserror::Error;

/// Where Debian's `fonts-noto-cjk` puts the Sans CJK collection; face 2 is Simplified Chinese.
const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
];
const SC_FACE: u32 = 2;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// Why no PDF could be made.
#[derive(Debug, Error)]
pub enum PdfError {
    #[error(
        "no CJK font: install Debian's fonts-noto-cjk (or set BAOXUE_CJK_FONT to a .ttc/.otf with Chinese)"
    )]
    NoFont,
    #[error("writing the PDF failed: {0}")]
    Write(String),
}

fn font() -> Result<Font, PdfError> {
    // Only a found font is kept: installing fonts-noto-cjk later works without a restart.
    static FONT: OnceLock<Font> = OnceLock::new();
    if let Some(f) = FONT.get() {
        return Ok(f.clone());
    }
    let custom = std::env::var("BAOXUE_CJK_FONT").ok();
    let (paths, face): (Vec<String>, u32) = match custom {
        Some(p) => (vec![p], 0),
        None => (FONT_PATHS.iter().map(|p| p.to_string()).collect(), SC_FACE),
    };
    let found = paths
        .iter()
        .find_map(|p| Font::new(Arc::new(std::fs::read(p).ok()?).into(), face))
        .ok_or(PdfError::NoFont)?;
    Ok(FONT.get_or_init(|| found).clone())
}

/// One line to set.
struct Line {
    text: String,
    size: f32,
    indent: f32,
    /// Extra space above.
    gap: f32,
}

/// Lines as they will be set, long text wrapped to the page width.
#[derive(Default)]
struct Lines(Vec<Line>);

impl Lines {
    fn heading(&mut self, text: &str) {
        self.0.push(Line {
            text: text.into(),
            size: 13.0,
            indent: 0.0,
            gap: 10.0,
        });
    }

    fn text(&mut self, text: &str, indent: f32) {
        let size = 10.5;
        let width = PAGE_W - 2.0 * MARGIN - indent;
        for (i, piece) in wrap(text, size, width).into_iter().enumerate() {
            self.0.push(Line {
                text: piece,
                size,
                // Continuation lines hang under the text, not the label.
                indent: if i == 0 { indent } else { indent + size },
                gap: 0.0,
            });
        }
    }
}

/// Approximate advance: CJK and full-width characters are one em, the rest about half.
fn advance(c: char, size: f32) -> f32 {
    if (c as u32) >= 0x2E80 {
        size
    } else {
        size * 0.55
    }
}

/// Break `text` into pieces no wider than `width` (Chinese breaks anywhere; good enough for
/// notes, which are mostly Chinese).
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0.0;
        for c in para.chars() {
            let a = advance(c, size);
            if w + a > width && !line.is_empty() {
                out.push(std::mem::take(&mut line));
                w = 0.0;
            }
            line.push(c);
            w += a;
        }
        out.push(line);
    }
    out
}

/// The file as a PDF. `name_of` names users; `school` names the student's school.
pub fn student_file_pdf(
    file: &StudentFile,
    name_of: &dyn Fn(UserId) -> String,
    school: &str,
    printed_at: DateTime<Utc>,
) -> Result<Vec<u8>, PdfError> {
    let font = font()?;
    let mut l = Lines::default();
    let title = file
        .current
        .as_ref()
        .map(|s| format!("{} · 一生一案", s.name))
        .unwrap_or_else(|| "一生一案".into());
    l.0.push(Line {
        text: title.clone(),
        size: 18.0,
        indent: 0.0,
        gap: 0.0,
    });
    if let Some(s) = &file.current {
        let today = china_date(printed_at);
        l.text(
            &format!(
                "性别：{}　出生日期：{}（{}岁）　身份证号：{}",
                s.sex.zh(),
                s.birth_date,
                age_on(s.birth_date, today),
                file.resident_id_masked.clone().unwrap_or_default()
            ),
            0.0,
        );
        l.text(
            &format!(
                "学籍状态：{}　学校：{}　年级：{}",
                s.status.zh(),
                school,
                s.grade.map(|g| g.zh()).unwrap_or_default()
            ),
            0.0,
        );
    }
    if let Some(h) = &file.household {
        l.text(
            &format!(
                "家庭：{}户，{}{}{}{} {}{}",
                h.head,
                h.area.county.name,
                h.area.township.name,
                h.area.village.name,
                h.area.group.clone().unwrap_or_default(),
                h.address,
                if h.registered_poor {
                    "（建档立卡户）"
                } else {
                    ""
                }
            ),
            0.0,
        );
    }
    for g in &file.guardians {
        l.text(
            &format!(
                "监护人：{}（{}）{}",
                g.name,
                g.relation.zh(),
                g.phone
                    .as_ref()
                    .map(|p| format!(" 电话 {}", p.as_str()))
                    .unwrap_or_default()
            ),
            0.0,
        );
    }
    if !file.conflicts.is_empty() {
        l.heading("待核实的冲突");
        for c in &file.conflicts {
            for cand in &c.candidates {
                l.text(
                    &format!(
                        "学籍状态“{}”—— {}，{}",
                        cand.value.zh(),
                        name_of(cand.by),
                        format_zh(cand.at)
                    ),
                    10.0,
                );
            }
        }
    }
    l.heading("学籍状态变化");
    for e in &file.timeline {
        if let Event::StatusChange { from, to, .. } = &e.event {
            l.text(
                &format!(
                    "{}　{} → {}　{}",
                    format_zh(e.at),
                    from.map(|f| f.zh()).unwrap_or("—"),
                    to.zh(),
                    name_of(e.by)
                ),
                10.0,
            );
        }
    }
    l.heading("走访与联系记录");
    let mut n = 0;
    for e in &file.timeline {
        let Event::Visit {
            visit,
            voided,
            reviews,
            ..
        } = &e.event
        else {
            continue;
        };
        n += 1;
        let with: Vec<String> = visit.colleagues(e.by).map(&name_of).collect();
        let who = if with.is_empty() {
            vec![name_of(e.by)]
        } else {
            vec![format!("{}（同行：{}）", name_of(e.by), with.join("、"))]
        };
        l.text(
            &format!(
                "{n}. {}　{}　{}{}",
                format_zh(e.at),
                visit.kind.zh(),
                who.join("、"),
                if visit.photos.is_empty() {
                    String::new()
                } else {
                    format!("　照片 {} 张", visit.photos.len())
                }
            ),
            10.0,
        );
        if !visit.notes.is_empty() {
            l.text(&visit.notes, 24.0);
        }
        if let Some(v) = voided {
            l.text(&format!("已作废：{}（{}）", v.reason, name_of(v.by)), 24.0);
        }
        for r in reviews {
            l.text(
                &format!("督导{}：{}（{}）", r.action.zh(), r.comment, name_of(r.by)),
                24.0,
            );
        }
    }

    // Paginate.
    let footer = format!("{title}　打印时间 {}", format_zh(printed_at));
    let mut pages: Vec<Vec<(f32, &Line)>> = vec![vec![]];
    let mut y = MARGIN;
    for line in &l.0 {
        let step = line.gap + line.size * 1.6;
        if y + step > PAGE_H - MARGIN - 20.0 {
            pages.push(vec![]);
            y = MARGIN;
        }
        y += step;
        pages.last_mut().expect("non-empty").push((y, line));
    }
    let total = pages.len();
    let mut doc = Document::new();
    for (i, lines) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| PdfError::Write("page size".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        for (y, line) in lines {
            surface.draw_text(
                Point::from_xy(MARGIN + line.indent, *y),
                font.clone(),
                line.size,
                &line.text,
                false,
                TextDirection::Auto,
            );
        }
        surface.draw_text(
            Point::from_xy(MARGIN, PAGE_H - MARGIN / 2.0),
            font.clone(),
            8.0,
            &format!("{footer}　第 {} 页 / 共 {total} 页", i + 1),
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_chinese_notes_wrap_inside_the_page() {
        let text = "与家长".repeat(60);
        let lines = wrap(&text, 10.0, 200.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= 20));
        assert_eq!(lines.concat(), text, "nothing lost in wrapping");
    }
}
