//! Roster import and export with the Chinese column headers a school's student-registry export
//! uses (学籍系统导出表). Import reports every bad row with its row number and reason, and
//! imports nothing unless every row is good — or the caller asks for the good rows only.
//! Importing the same roster again next term updates the students it already has (matched by
//! resident ID) instead of adding them twice; changed fields become new writes, so the old
//! values stay in history.

use crate::store::{Store, StoreError};
use crate::sync::{SyncError, import_trusted};
use baoxue_shared::area::{AdminArea, Division};
use baoxue_shared::author::Author;
use baoxue_shared::divisions::CountyDivisions;
use baoxue_shared::ids::{GuardianId, HouseholdId, SchoolId, StudentId};
use baoxue_shared::op::Op;
use baoxue_shared::people::{
    FocusGroup, Grade, Guardian, Household, Relation, School, Sex, Student,
};
use baoxue_shared::phone::MobileNumber;
use baoxue_shared::replica::Replica;
use baoxue_shared::resident_id::ResidentId;
use baoxue_shared::status::EnrolmentStatus;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use thiserror::Error;

/// The columns, each with the header names registry exports use for it. The first name is
/// the one Baoxue writes on export.
pub const COLUMNS: &[(Col, &[&str])] = &[
    (Col::Name, &["姓名", "学生姓名"]),
    (Col::Sex, &["性别"]),
    (Col::BirthDate, &["出生日期", "出生年月日"]),
    (
        Col::ResidentId,
        &["身份证号", "身份证件号", "公民身份号码", "身份证号码"],
    ),
    (Col::IdType, &["身份证件类型", "证件类型"]),
    (Col::School, &["学校", "学校名称"]),
    (Col::Grade, &["年级"]),
    (Col::Class, &["班级"]),
    (Col::Status, &["学籍状态", "在校状态", "就读状态"]),
    (Col::County, &["县", "县（区）", "县(区)", "区县"]),
    (Col::Township, &["乡镇", "乡（镇）", "乡(镇)"]),
    (Col::Village, &["村", "行政村", "村（社区）"]),
    (Col::Group, &["组", "村民小组"]),
    (Col::Address, &["家庭住址", "住址", "现住址"]),
    (Col::Head, &["户主", "户主姓名"]),
    (
        Col::RegisteredPoor,
        &[
            "建档立卡",
            "是否建档立卡",
            "建档立卡户",
            "是否建档立卡贫困户",
        ],
    ),
    (Col::LeftBehind, &["留守儿童", "是否留守儿童"]),
    (
        Col::Migrant,
        &["随迁子女", "是否随迁子女", "是否进城务工人员随迁子女"],
    ),
    (Col::Disabled, &["残疾", "是否残疾"]),
    (Col::GuardianName, &["监护人", "监护人姓名"]),
    (Col::GuardianRelation, &["监护人关系", "与学生关系"]),
    (
        Col::GuardianPhone,
        &["监护人电话", "监护人联系电话", "联系电话"],
    ),
];

/// A roster column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Col {
    Name,
    Sex,
    BirthDate,
    ResidentId,
    IdType,
    School,
    Grade,
    Class,
    Status,
    County,
    Township,
    Village,
    Group,
    Address,
    Head,
    RegisteredPoor,
    LeftBehind,
    Migrant,
    Disabled,
    GuardianName,
    GuardianRelation,
    GuardianPhone,
}

impl Col {
    fn header(self) -> &'static str {
        COLUMNS
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, h)| h[0])
            .unwrap_or("")
    }
}

/// Columns every roster has. Where a household lives comes either from 县/乡镇/村 columns or
/// from the address (现住址) placed in the county's known divisions.
const REQUIRED: &[Col] = &[Col::Name, Col::Sex, Col::BirthDate, Col::School];

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowError {
    /// The spreadsheet row number (the header is row 1).
    pub row: usize,
    /// The column header.
    pub column: String,
    pub reason: String,
}

/// Why an import failed as a whole.
#[derive(Debug, Error)]
pub enum RosterError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the sheet has no header row with 姓名")]
    NoHeader,
    #[error("required columns missing: {0}")]
    MissingColumns(String),
    /// The file gives addresses only, and no county's divisions are known to place them in.
    #[error(
        "the file gives the address as one string (现住址) and no county's townships and villages are known to place it: run `divisions import` first, or name the county with --county"
    )]
    NoDivisions,
    #[error("no divisions are known for the county {0}; run `divisions import` for it first")]
    UnknownCounty(String),
    #[error("{} bad rows; nothing was imported (use --partial to import the good rows)", .0.len())]
    BadRows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("cannot write {path}: {reason}")]
    Unwritable { path: String, reason: String },
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows refused (only with `partial`; otherwise they fail the import).
    pub refused: Vec<RowError>,
}

/// Read a roster file into rows of text cells: .xlsx/.xls/.ods through calamine, .csv as UTF-8
/// or GBK (what Excel on a Chinese Windows writes).
pub fn read_table(path: &Path) -> Result<Vec<Vec<String>>, RosterError> {
    let unreadable = |reason: String| RosterError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "csv" {
        let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t.trim_start_matches('\u{feff}').to_string(),
            Err(_) => encoding_rs::GBK.decode(&bytes).0.into_owned(),
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        return rdr
            .records()
            .map(|r| {
                r.map(|rec| rec.iter().map(|c| c.trim().to_string()).collect())
                    .map_err(|e| unreadable(e.to_string()))
            })
            .collect();
    }
    use calamine::{Data, Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(path).map_err(|e| unreadable(e.to_string()))?;
    let sheet = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| unreadable("no sheets".into()))?;
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| unreadable(e.to_string()))?;
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.trim().to_string(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                        format!("{}", *f as i64)
                    }
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map(|t| t.date().format("%Y-%m-%d").to_string())
                        .unwrap_or_default(),
                    Data::DateTimeIso(s) => s.chars().take(10).collect(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect())
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(d);
        }
    }
    None
}

fn parse_grade(s: &str) -> Option<Grade> {
    let s = s.trim();
    const NUMS: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
    if let Ok(n) = s.trim_end_matches("年级").parse::<u8>() {
        return Grade::new(n).ok();
    }
    for (i, n) in NUMS.iter().enumerate() {
        if s == format!("{n}年级") {
            return Grade::new(i as u8 + 1).ok();
        }
        if i < 3 && (s == format!("初{n}") || s == format!("初中{n}年级")) {
            return Grade::new(i as u8 + 7).ok();
        }
    }
    None
}

fn parse_yes(s: &str) -> Option<bool> {
    match s.trim() {
        "是" | "Y" | "y" | "yes" | "1" | "√" => Some(true),
        "否" | "N" | "n" | "no" | "0" | "" => Some(false),
        _ => None,
    }
}

fn parse_relation(s: &str) -> Option<Relation> {
    Some(match s.trim() {
        "父亲" | "父子" | "父女" | "父" => Relation::Father,
        "母亲" | "母子" | "母女" | "母" => Relation::Mother,
        "祖父" | "外祖父" | "爷爷" | "外公" => Relation::Grandfather,
        "祖母" | "外祖母" | "奶奶" | "外婆" => Relation::Grandmother,
        "兄弟姐妹" | "哥哥" | "姐姐" | "兄" | "姐" => Relation::Sibling,
        "其他亲属" | "叔叔" | "伯伯" | "姑姑" | "舅舅" | "阿姨" => {
            Relation::OtherRelative
        }
        "其他" => Relation::Other,
        _ => return None,
    })
}

/// One good row.
struct Row {
    student: Student,
    household: Household,
    school_name: String,
    guardian: Option<Guardian>,
}

/// The good rows (with their row numbers), the errors of the bad ones, and the header the
/// file gives the resident ID.
type Parsed = (Vec<(usize, Row)>, Vec<RowError>, String);

/// Parse every row; good rows and errors. `county` places addresses when the file has no
/// township and village columns (and gives the county when it has no county column).
fn parse_rows(
    table: &[Vec<String>],
    today: NaiveDate,
    county: Option<&CountyDivisions>,
) -> Result<Parsed, RosterError> {
    let header_at = table
        .iter()
        .position(|r| r.iter().any(|c| c == "姓名" || c == "学生姓名"))
        .ok_or(RosterError::NoHeader)?;
    let header = &table[header_at];
    let mut index: HashMap<Col, usize> = HashMap::new();
    for (col, names) in COLUMNS {
        if let Some(i) = header.iter().position(|h| names.contains(&h.trim())) {
            index.insert(*col, i);
        }
    }
    let mut missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|c| !index.contains_key(c))
        .map(|c| c.header())
        .collect();
    let has_place_columns = index.contains_key(&Col::Township) && index.contains_key(&Col::Village);
    if !has_place_columns {
        if !index.contains_key(&Col::Address) {
            missing.push("乡镇、村（或现住址）");
        } else if county.is_none() {
            return Err(RosterError::NoDivisions);
        }
    } else if !index.contains_key(&Col::County) && county.is_none() {
        missing.push(Col::County.header());
    }
    if !missing.is_empty() {
        return Err(RosterError::MissingColumns(missing.join("、")));
    }
    // A column is reported under the header the file gives it.
    let column_name = |c: Col| {
        index
            .get(&c)
            .and_then(|i| header.get(*i))
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|| c.header().to_string())
    };
    // Every resident ID read, with its row, to find one ID on two rows.
    let mut ids_seen: Vec<(usize, ResidentId)> = Vec::new();
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for (i, cells) in table.iter().enumerate().skip(header_at + 1) {
        let row_no = i + 1;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |c: Col| {
            index
                .get(&c)
                .and_then(|i| cells.get(*i))
                .map(|s| s.trim())
                .unwrap_or("")
        };
        let mut errs: Vec<RowError> = Vec::new();
        let mut err = |c: Col, reason: String| {
            errs.push(RowError {
                row: row_no,
                column: column_name(c),
                reason,
            })
        };
        for c in REQUIRED {
            if get(*c).is_empty() {
                err(*c, "必填".into());
            }
        }
        let sex = match get(Col::Sex) {
            "男" | "M" | "m" => Some(Sex::Male),
            "女" | "F" | "f" => Some(Sex::Female),
            "" => None,
            other => {
                err(Col::Sex, format!("“{other}”不是男或女"));
                None
            }
        };
        let birth = if get(Col::BirthDate).is_empty() {
            None
        } else {
            let d = parse_date(get(Col::BirthDate));
            if d.is_none() {
                err(
                    Col::BirthDate,
                    format!("“{}”不是日期（如2015-03-04）", get(Col::BirthDate)),
                );
            }
            d
        };
        // A passport or a Hong Kong, Macao or Taiwan permit is not a resident ID (GB 11643).
        let resident_id_given = matches!(get(Col::IdType), "" | "居民身份证" | "身份证");
        let rid = match get(Col::ResidentId) {
            "" => None,
            _ if !resident_id_given => None,
            s => match ResidentId::parse_on(s, today) {
                Ok(r) => {
                    ids_seen.push((row_no, r.clone()));
                    Some(r)
                }
                Err(reason) => {
                    err(Col::ResidentId, reason.zh());
                    None
                }
            },
        };
        let grade = match get(Col::Grade) {
            "" => None,
            s => {
                let g = parse_grade(s);
                if g.is_none() {
                    err(Col::Grade, format!("“{s}”不是一至九年级"));
                }
                g
            }
        };
        let status = match get(Col::Status) {
            "" | "在读" => EnrolmentStatus::InSchool,
            "转出" => EnrolmentStatus::TransferredOut,
            s => match EnrolmentStatus::ALL.iter().find(|x| x.zh() == s) {
                Some(x) => *x,
                None => {
                    err(Col::Status, format!("“{s}”不是学籍状态"));
                    EnrolmentStatus::InSchool
                }
            },
        };
        let mut flags = BTreeSet::new();
        for (col, group) in [
            (Col::RegisteredPoor, FocusGroup::RegisteredPoor),
            (Col::LeftBehind, FocusGroup::LeftBehind),
            (Col::Migrant, FocusGroup::Migrant),
            (Col::Disabled, FocusGroup::Disabled),
        ] {
            match parse_yes(get(col)) {
                Some(true) => {
                    flags.insert(group);
                }
                Some(false) => {}
                None => err(col, format!("“{}”应为是或否", get(col))),
            }
        }
        let phone = match get(Col::GuardianPhone) {
            "" => None,
            s => match MobileNumber::parse(s) {
                Ok(p) => Some(p),
                Err(r) => {
                    err(Col::GuardianPhone, r.zh());
                    None
                }
            },
        };
        let relation = match get(Col::GuardianRelation) {
            "" => Relation::Other,
            s => parse_relation(s).unwrap_or_else(|| {
                err(Col::GuardianRelation, format!("“{s}”不是监护关系"));
                Relation::Other
            }),
        };
        // Where the household lives: the place columns when the file has them filled, else
        // the address placed in the county's townships and villages.
        let area = if has_place_columns && !get(Col::Township).is_empty() {
            for c in [Col::Township, Col::Village] {
                if get(c).is_empty() {
                    err(c, "必填".into());
                }
            }
            let county_division = match get(Col::County) {
                "" => county.map(|c| c.county.clone()),
                name => Some(Division::named(name)),
            };
            if county_division.is_none() {
                err(Col::County, "必填".into());
            }
            county_division.map(|county| AdminArea {
                county,
                township: Division::named(get(Col::Township)),
                village: Division::named(get(Col::Village)),
                group: Some(get(Col::Group).to_string()).filter(|g| !g.is_empty()),
            })
        } else if let Some(c) = county {
            match c.place(get(Col::Address)) {
                Ok(p) => Some(p.area),
                Err(e) => {
                    err(Col::Address, e.zh());
                    None
                }
            }
        } else {
            for c in [Col::Township, Col::Village] {
                err(c, "必填".into());
            }
            None
        };
        let (Some(sex), Some(birth), Some(area)) = (sex, birth, area) else {
            errors.extend(errs);
            continue;
        };
        let household = Household {
            id: HouseholdId::new(),
            head: if get(Col::Head).is_empty() {
                get(Col::GuardianName).to_string()
            } else {
                get(Col::Head).to_string()
            },
            address: get(Col::Address).to_string(),
            area,
            registered_poor: flags.contains(&FocusGroup::RegisteredPoor),
            location: None,
        };
        let student = Student {
            id: StudentId::new(),
            name: get(Col::Name).to_string(),
            sex,
            birth_date: birth,
            resident_id: rid,
            school: None,
            grade,
            class: Some(get(Col::Class).to_string()).filter(|c| !c.is_empty()),
            status,
            focus_groups: flags,
            household: Some(household.id),
        };
        if let Err(fe) = student.validate(today) {
            for e in fe.0 {
                let col = match e.field.as_str() {
                    "name" => Col::Name,
                    "resident_id" => Col::ResidentId,
                    "birth_date" => Col::BirthDate,
                    "class" => Col::Class,
                    _ => Col::Name,
                };
                err(col, e.reason.zh());
            }
        }
        if household.head.is_empty() {
            err(Col::Head, "必填（或填写监护人）".into());
        }
        let guardian = (!get(Col::GuardianName).is_empty()).then(|| Guardian {
            id: GuardianId::new(),
            student: student.id,
            name: get(Col::GuardianName).to_string(),
            relation,
            phone,
        });
        if errs.is_empty() {
            good.push((
                row_no,
                Row {
                    student,
                    household,
                    school_name: get(Col::School).to_string(),
                    guardian,
                },
            ));
        } else {
            errors.extend(errs);
        }
    }
    // A resident ID is one child's: two rows with one ID are both refused, each naming the
    // other.
    let mut rows_of: HashMap<&ResidentId, Vec<usize>> = HashMap::new();
    for (row, id) in &ids_seen {
        rows_of.entry(id).or_default().push(*row);
    }
    let mut duplicated: BTreeSet<usize> = BTreeSet::new();
    for rows in rows_of.values().filter(|r| r.len() > 1) {
        for row in rows {
            let others: Vec<String> = rows
                .iter()
                .filter(|r| *r != row)
                .map(|r| format!("第{r}行"))
                .collect();
            errors.push(RowError {
                row: *row,
                column: column_name(Col::ResidentId),
                reason: format!(
                    "与{}的身份证件号相同，一个身份证件号只属于一名学生",
                    others.join("、")
                ),
            });
            duplicated.insert(*row);
        }
    }
    good.retain(|(row, _)| !duplicated.contains(row));
    Ok((good, tidy(errors), column_name(Col::ResidentId)))
}

/// Errors in row order, each reported once.
fn tidy(mut errors: Vec<RowError>) -> Vec<RowError> {
    errors.sort();
    errors.dedup();
    errors
}

/// The county whose divisions place a file's addresses: the one named (by name or code), or
/// the only one the server knows.
fn county_for(
    store: &dyn Store,
    named: Option<&str>,
) -> Result<Option<CountyDivisions>, RosterError> {
    let known = store.divisions()?;
    match named {
        Some(n) => {
            let n = n.trim();
            known
                .into_iter()
                .find(|c| {
                    c.county.name == n || c.county.code.as_ref().is_some_and(|x| x.as_str() == n)
                })
                .map(Some)
                .ok_or_else(|| RosterError::UnknownCounty(n.to_string()))
        }
        None if known.len() == 1 => Ok(known.into_iter().next()),
        None => Ok(None),
    }
}

/// Import a roster file on behalf of `author` (a system admin), its addresses placed in
/// `county`'s divisions (by name or code; the only county known when not named). See the
/// module docs.
pub fn import(
    store: &dyn Store,
    author: &mut Author,
    path: &Path,
    partial: bool,
    county: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ImportReport, RosterError> {
    let table = read_table(path)?;
    let today = baoxue_shared::time::china_date(now);
    let divisions = county_for(store, county)?;
    let (mut rows, mut errors, id_column) = parse_rows(&table, today, divisions.as_ref())?;
    let existing = store.students_by_resident_id(
        &rows
            .iter()
            .filter_map(|(_, r)| r.student.resident_id.clone())
            .collect::<Vec<_>>(),
    )?;
    // An ID the server holds for a child of another name is that child's: never overwritten.
    let mut taken = BTreeSet::new();
    for (row_no, row) in &rows {
        let Some(sid) = row
            .student
            .resident_id
            .as_ref()
            .and_then(|r| existing.get(r))
        else {
            continue;
        };
        let mut seen = Replica::new();
        seen.apply_all(store.ops_about_student(*sid)?)
            .map_err(StoreError::from)?;
        if let Some(held) = seen.student(*sid)
            && held.name != row.student.name
        {
            errors.push(RowError {
                row: *row_no,
                column: id_column.clone(),
                reason: format!(
                    "该身份证件号已属于另一名学生（{}），不能用于“{}”",
                    held.name, row.student.name
                ),
            });
            taken.insert(*row_no);
        }
    }
    rows.retain(|(row, _)| !taken.contains(row));
    let errors = tidy(errors);
    if !errors.is_empty() && !partial {
        return Err(RosterError::BadRows(errors));
    }
    let mut report = ImportReport {
        refused: errors,
        ..Default::default()
    };
    let mut schools: HashMap<String, SchoolId> = store
        .schools()?
        .into_iter()
        .map(|s| (s.name, s.id))
        .collect();
    // Households shared by siblings: same head, address and village within this file.
    let mut households: HashMap<(String, String, String), HouseholdId> = HashMap::new();
    let mut ops: Vec<Op> = Vec::new();
    let mut new_schools: Vec<School> = Vec::new();
    for (_, mut row) in rows {
        let school = match schools.get(&row.school_name) {
            Some(id) => *id,
            None => {
                let s = School {
                    id: SchoolId::new(),
                    name: row.school_name.clone(),
                    area: AdminArea {
                        group: None,
                        village: Division::named(""),
                        ..row.household.area.clone()
                    },
                };
                schools.insert(s.name.clone(), s.id);
                let id = s.id;
                new_schools.push(s);
                id
            }
        };
        row.student.school = Some(school);
        if let Some(sid) = row
            .student
            .resident_id
            .as_ref()
            .and_then(|r| existing.get(r))
        {
            // Known student: write only what changed, superseding what the server holds.
            let mut seen = Replica::new();
            seen.apply_all(store.ops_about_student(*sid)?)
                .map_err(StoreError::from)?;
            let Some(current) = seen.student(*sid) else {
                continue;
            };
            let hid = current.household.unwrap_or(row.household.id);
            let wanted = Student {
                id: *sid,
                household: Some(hid),
                ..row.student.clone()
            };
            let mut changed: Vec<Op> = author
                .student_ops(&seen, &wanted, now)
                .into_iter()
                .filter(|op| !same_value(&seen, op))
                .collect();
            if let Some(h) = seen.household(hid) {
                let wanted_h = Household {
                    id: hid,
                    location: h.location,
                    ..row.household.clone()
                };
                changed.extend(
                    author
                        .household_ops(&seen, &wanted_h, now)
                        .into_iter()
                        .filter(|op| !same_value(&seen, op)),
                );
            }
            if changed.is_empty() {
                report.unchanged += 1;
            } else {
                report.updated += 1;
                ops.extend(changed);
            }
            continue;
        }
        let key = (
            row.household.head.clone(),
            row.household.address.clone(),
            row.household.area.village.name.clone(),
        );
        let empty = Replica::new();
        match households.get(&key) {
            Some(h) => row.student.household = Some(*h),
            None => {
                households.insert(key, row.household.id);
                ops.extend(author.household_ops(&empty, &row.household, now));
            }
        }
        ops.extend(author.student_ops(&empty, &row.student, now));
        if let Some(g) = &row.guardian {
            ops.extend(author.guardian_ops(&empty, g, now));
        }
        report.added += 1;
    }
    // One transaction: a file imports whole or not at all, its new schools with it.
    if !ops.is_empty() || !new_schools.is_empty() {
        import_trusted(store, author.user, author.device, new_schools, ops, now)?;
    }
    Ok(report)
}

/// Whether a write would set the value the field already has.
fn same_value(seen: &Replica, op: &Op) -> bool {
    match &op.body {
        baoxue_shared::op::OpBody::Set(w) => {
            let k = w.target.key();
            seen.current(k.entity, k.field) == Some(&w.target)
        }
        _ => false,
    }
}

/// Export the roster of `students` to .xlsx with the import's headers (resident IDs masked
/// unless `full_ids`).
pub fn export(store: &dyn Store, path: &Path, full_ids: bool) -> Result<usize, RosterError> {
    use rust_xlsxwriter::{Format, Workbook};
    let unwritable = |e: rust_xlsxwriter::XlsxError| RosterError::Unwritable {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let schools: HashMap<SchoolId, String> = store
        .schools()?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let ids = store.all_student_ids()?;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("学生名册").map_err(unwritable)?;
    let bold = Format::new().set_bold();
    let cols = [
        Col::Name,
        Col::Sex,
        Col::BirthDate,
        Col::ResidentId,
        Col::School,
        Col::Grade,
        Col::Class,
        Col::Status,
        Col::County,
        Col::Township,
        Col::Village,
        Col::Group,
        Col::Address,
        Col::Head,
        Col::RegisteredPoor,
        Col::LeftBehind,
        Col::Disabled,
        Col::GuardianName,
        Col::GuardianRelation,
        Col::GuardianPhone,
    ];
    let mut widths: Vec<usize> = cols.iter().map(|c| display_width(c.header())).collect();
    for (i, c) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, c.header(), &bold)
            .map_err(unwritable)?;
    }
    let mut n = 0;
    for sid in ids {
        let mut r = Replica::new();
        r.apply_all(store.ops_about_student(sid)?)
            .map_err(StoreError::from)?;
        let Some(s) = r.student(sid) else { continue };
        let h = s.household.and_then(|h| r.household(h));
        let g = r.guardians_of(sid).into_iter().next();
        let yes = |b: bool| if b { "是" } else { "否" }.to_string();
        let cells: Vec<String> = vec![
            s.name.clone(),
            s.sex.zh().into(),
            s.birth_date.format("%Y-%m-%d").to_string(),
            s.resident_id
                .as_ref()
                .map(|r| {
                    if full_ids {
                        r.as_str().to_string()
                    } else {
                        r.masked()
                    }
                })
                .unwrap_or_default(),
            s.school
                .and_then(|id| schools.get(&id).cloned())
                .unwrap_or_default(),
            s.grade.map(|g| g.zh()).unwrap_or_default(),
            s.class.clone().unwrap_or_default(),
            s.status.zh().into(),
            h.as_ref()
                .map(|h| h.area.county.name.clone())
                .unwrap_or_default(),
            h.as_ref()
                .map(|h| h.area.township.name.clone())
                .unwrap_or_default(),
            h.as_ref()
                .map(|h| h.area.village.name.clone())
                .unwrap_or_default(),
            h.as_ref()
                .and_then(|h| h.area.group.clone())
                .unwrap_or_default(),
            h.as_ref().map(|h| h.address.clone()).unwrap_or_default(),
            h.as_ref().map(|h| h.head.clone()).unwrap_or_default(),
            yes(s.focus_groups.contains(&FocusGroup::RegisteredPoor)),
            yes(s.focus_groups.contains(&FocusGroup::LeftBehind)),
            yes(s.focus_groups.contains(&FocusGroup::Disabled)),
            g.as_ref().map(|g| g.name.clone()).unwrap_or_default(),
            g.as_ref()
                .map(|g| g.relation.zh().to_string())
                .unwrap_or_default(),
            g.as_ref()
                .and_then(|g| g.phone.as_ref().map(|p| p.as_str().to_string()))
                .unwrap_or_default(),
        ];
        n += 1;
        for (i, c) in cells.iter().enumerate() {
            // Everything as text: ID numbers and phone numbers must not become floats.
            ws.write_string(n, i as u16, c).map_err(unwritable)?;
            widths[i] = widths[i].max(display_width(c));
        }
    }
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, (*w as f64 + 2.0).min(60.0))
            .map_err(unwritable)?;
    }
    ws.set_freeze_panes(1, 0).map_err(unwritable)?;
    wb.save(path).map_err(unwritable)?;
    Ok(n as usize)
}

/// Width in Excel character units: a CJK character is as wide as two Latin ones (the reason
/// `autofit` makes Chinese columns too narrow).
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) > 0x2E80 { 2 } else { 1 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_style_values_parse() {
        assert_eq!(parse_grade("四年级").unwrap().number(), 4);
        assert_eq!(parse_grade("初二").unwrap().number(), 8);
        assert_eq!(parse_grade("7").unwrap().number(), 7);
        assert!(parse_grade("十年级").is_none());
        assert_eq!(parse_date("2015/3/4"), NaiveDate::from_ymd_opt(2015, 3, 4));
        assert_eq!(
            parse_date("2015年03月04日"),
            NaiveDate::from_ymd_opt(2015, 3, 4)
        );
        assert_eq!(parse_relation("奶奶"), Some(Relation::Grandmother));
        assert_eq!(display_width("从江县"), 6);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_number_and_column() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let h = |s: &str| s.to_string();
        let table = vec![
            vec![
                h("姓名"),
                h("性别"),
                h("出生日期"),
                h("身份证号"),
                h("学校名称"),
                h("年级"),
                h("县"),
                h("乡镇"),
                h("村"),
                h("户主"),
                h("监护人联系电话"),
            ],
            vec![
                h("杨玥"),
                h("女"),
                h("2014-05-06"),
                baoxue_shared::resident_id::with_check_char("52263320140506002"),
                h("加勉乡中心小学"),
                h("六年级"),
                h("从江县"),
                h("加勉乡"),
                h("党扭村"),
                h("杨老三"),
                h("13800138000"),
            ],
            vec![
                h("吴浩"),
                h("男"),
                h("2014-13-01"),
                h(""),
                h("加勉乡中心小学"),
                h("六年级"),
                h("从江县"),
                h("加勉乡"),
                h("党扭村"),
                h("吴二"),
                h("12345"),
            ],
            vec![
                h(""),
                h("女"),
                h("2015-01-01"),
                h("110105194912310021"),
                h("加勉乡中心小学"),
                h("十年级"),
                h("从江县"),
                h("加勉乡"),
                h("党扭村"),
                h("李四"),
                h(""),
            ],
        ];
        let (good, errors, _) = parse_rows(&table, today, None).unwrap();
        assert_eq!(good.len(), 1);
        let at = |row: usize, col: &str| {
            errors
                .iter()
                .find(|e| e.row == row && e.column == col)
                .map(|e| e.reason.clone())
        };
        assert!(at(3, "出生日期").unwrap().contains("2014-13-01"));
        assert!(at(3, "监护人联系电话").unwrap().contains("手机号码"));
        assert_eq!(at(4, "姓名").unwrap(), "必填");
        assert!(at(4, "身份证号").unwrap().contains("校验位"));
        assert!(at(4, "年级").is_some());
    }

    #[test]
    fn a_sheet_without_required_columns_is_refused_whole() {
        let table = vec![vec!["姓名".to_string(), "性别".to_string()]];
        let e = parse_rows(&table, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), None)
            .err()
            .unwrap();
        assert!(
            matches!(e, RosterError::MissingColumns(m) if m.contains("出生日期") && m.contains("学校"))
        );
    }
}
