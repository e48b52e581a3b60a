//! What the screens call: one user's work on one phone. It stamps every change with the
//! user, the device and the device's clock, validates it with the shared rules before saving,
//! saves it locally at once, and builds the caseload and student files with the shared
//! function — the same file the supervisor sees in the browser.

use super::local::{LocalError, LocalStore, SetAside};
use super::sync::{SyncEngine, SyncError, SyncReport};
use baoxue_shared::author::Author;
use baoxue_shared::file::{DueWork, FileContext, StudentFile};
use baoxue_shared::ids::{OpId, StudentId};
use baoxue_shared::observation::{PhotoRef, Sha256, Visit};
use baoxue_shared::op::{Op, OpBody, StudentField, Target};
use baoxue_shared::people::Student;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::TermCalendar;
use baoxue_shared::validation::FieldErrors;
use chrono::{DateTime, Datelike, Utc};
use thiserror::Error;

/// Why an edit was not saved.
#[derive(Debug, Error)]
pub enum EditError {
    /// Bad input: each error names its field, to show beside it.
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Local(#[from] LocalError),
}

/// Why a photo could not be taken.
#[derive(Debug, Error)]
pub enum PhotoTakeError {
    #[error(transparent)]
    Photo(#[from] super::photo::PhotoError),
    #[error(transparent)]
    Local(#[from] LocalError),
}

impl PhotoTakeError {
    /// The reason in Chinese, shown beside the photo picker.
    pub fn zh(&self) -> &'static str {
        match self {
            PhotoTakeError::Photo(e) => e.zh(),
            PhotoTakeError::Local(_) => "手机存储出错，照片未保存",
        }
    }
}

/// A file the app hands the user: its name and contents, and how many records it holds.
#[derive(Debug, Clone)]
pub struct ExportFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub records: usize,
}

/// Why refused records could not be written out.
#[derive(Debug, Error)]
pub enum ExportError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error("the file cannot be written: {0}")]
    Io(#[from] std::io::Error),
    #[error("this app has no folder to export into")]
    NoFolder,
}

/// Why logging out did not happen.
#[derive(Debug, Error)]
pub enum LogoutError {
    /// Records would be lost; ask, showing the number.
    #[error("{0} records are not synced yet")]
    Unsynced(usize),
    #[error(transparent)]
    Local(#[from] LocalError),
}

/// One student on the caseload screen.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseloadItem {
    pub student: Student,
    pub village: Option<String>,
    pub due: Vec<DueWork>,
    pub has_conflict: bool,
}

/// One user's field work on this phone.
pub struct FieldApp {
    store: LocalStore,
    author: Author,
    terms: TermCalendar,
    sync: SyncEngine,
    /// Where exported files go, when the shell gave a folder.
    export_dir: Option<std::path::PathBuf>,
}

impl FieldApp {
    /// The app for a logged-in session over an opened local store.
    pub fn new(store: LocalStore, sync: SyncEngine) -> Result<FieldApp, LocalError> {
        let clock = store.clock()?;
        let author = Author {
            user: sync.session.user.id,
            device: sync.session.device,
            clock,
        };
        let year = baoxue_shared::time::today_in_china().year();
        Ok(FieldApp {
            store,
            author,
            terms: TermCalendar::typical(year - 2..=year),
            sync,
            export_dir: None,
        })
    }

    /// Where exported files go (the app's folder on the phone).
    pub fn with_export_dir(mut self, dir: &std::path::Path) -> Self {
        self.export_dir = Some(dir.to_path_buf());
        self
    }

    /// Whether this shell gave the app a folder to write files into (the desktop and Android
    /// shells do; in the browser a file is handed over as a download instead).
    pub fn has_export_dir(&self) -> bool {
        self.export_dir.is_some()
    }

    /// The refused records as a file for the school admin, named by the time: a batch in the
    /// sync format (what the phone would have pushed), which `baoxue-server ops import` takes.
    pub fn set_aside_file(&self, now: DateTime<Utc>) -> Result<ExportFile, LocalError> {
        let ops: Vec<Op> = self.set_aside()?.into_iter().map(|s| s.op).collect();
        let records = ops.len();
        let batch = baoxue_shared::wire::Batch::new(self.author.device, ops);
        Ok(ExportFile {
            name: format!(
                "未上传记录-{}.json",
                baoxue_shared::time::in_china(now).format("%Y%m%d-%H%M%S")
            ),
            bytes: batch.encode(),
            records,
        })
    }

    /// Export the refused records into the app's folder, named by the time; the file's path.
    pub fn export_set_aside_here(
        &self,
        now: DateTime<Utc>,
    ) -> Result<std::path::PathBuf, ExportError> {
        let dir = self.export_dir.clone().ok_or(ExportError::NoFolder)?;
        let file = self.set_aside_file(now)?;
        let path = dir.join(&file.name);
        std::fs::write(&path, &file.bytes)?;
        Ok(path)
    }

    /// The local store (read-only access for screens that list settings and storage).
    pub fn store(&self) -> &LocalStore {
        &self.store
    }

    /// Completes once everything saved so far is durable; a screen says 已保存 only then.
    pub fn durable(&self) -> super::rows::Durable {
        self.store.durable()
    }

    /// Who is working.
    pub fn author(&self) -> &Author {
        &self.author
    }

    fn save(&mut self, op: Op) -> Result<(), EditError> {
        op.validate().map_err(EditError::Invalid)?;
        if let OpBody::Set(w) = &op.body {
            self.store
                .replica()
                .check_write(w)
                .map_err(EditError::Invalid)?;
        }
        self.store.save_own(op, &self.author.clock)?;
        Ok(())
    }

    /// Record a visit (saved locally at once, marked not yet synced). Errors name the field.
    pub fn record_visit(&mut self, visit: Visit, now: DateTime<Utc>) -> Result<(), EditError> {
        let op = self.author.record(visit, now);
        self.save(op)
    }

    /// Change a student's enrolment status. An illegal move is refused with the reason.
    pub fn set_status(
        &mut self,
        student: StudentId,
        status: EnrolmentStatus,
        now: DateTime<Utc>,
    ) -> Result<(), EditError> {
        let op = self.author.set(
            self.store.replica(),
            Target::Student {
                id: student,
                set: StudentField::Status(status),
            },
            now,
        );
        self.save(op)
    }

    /// Write any field (a guardian's phone, a household's location ...).
    pub fn set_field(&mut self, target: Target, now: DateTime<Utc>) -> Result<(), EditError> {
        let op = self.author.set(self.store.replica(), target, now);
        self.save(op)
    }

    /// Take a camera original or a picked file: make the evidence photo (upright, 1600 px,
    /// ≤ 300 KB, EXIF kept) and its thumbnail, keep them for upload after the record, and
    /// return the reference to put in the visit.
    pub fn take_photo(&mut self, original: &[u8]) -> Result<PhotoRef, PhotoTakeError> {
        let p = super::photo::process(original)?;
        self.store
            .save_photo(&p.reference.sha256.to_hex(), &p.jpeg, Some(&p.thumb))?;
        Ok(p.reference)
    }

    /// A student's file, built as the server builds it; photos are present if this phone
    /// holds them. A storage failure is said as one, never shown as photos missing.
    pub fn student_file(
        &self,
        student: StudentId,
        now: DateTime<Utc>,
    ) -> Result<StudentFile, LocalError> {
        let held = self.store.held_photos()?;
        Ok(self.build_file(student, now, &|h: &Sha256| held.contains(&h.to_hex())))
    }

    fn build_file(
        &self,
        student: StudentId,
        now: DateTime<Utc>,
        photo_present: &dyn Fn(&Sha256) -> bool,
    ) -> StudentFile {
        StudentFile::build(
            self.store.replica(),
            student,
            &FileContext {
                now,
                terms: &self.terms,
                photo_present,
            },
        )
    }

    /// The students on this phone, overdue work first.
    pub fn caseload(&self, now: DateTime<Utc>) -> Vec<CaseloadItem> {
        let r = self.store.replica();
        let mut items: Vec<CaseloadItem> = r
            .student_ids()
            .into_iter()
            .filter_map(|id| {
                let student = r.student(id)?;
                // Due work and conflicts do not depend on which photos the phone holds.
                let file = self.build_file(id, now, &|_| true);
                let village = file.household.as_ref().map(|h| h.area.village.name.clone());
                Some(CaseloadItem {
                    student,
                    village,
                    due: file.due,
                    has_conflict: !file.conflicts.is_empty(),
                })
            })
            .collect();
        items.sort_by_key(|i| {
            (
                !i.due.iter().any(|d| d.is_overdue()),
                i.due.is_empty(),
                i.student.name.clone(),
            )
        });
        items
    }

    /// Storage on the phone: (bytes used, photos kept, photos awaiting upload).
    pub fn usage(&self) -> Result<(u64, usize, usize), LocalError> {
        self.store.usage()
    }

    /// Records the server refused, kept on the phone with the reason.
    pub fn set_aside(&self) -> Result<Vec<SetAside>, LocalError> {
        self.store.set_aside_ops()
    }

    /// What a set-aside record is, in a line for the teacher ("张三：家访记录（12月1日）").
    pub fn describe(&self, op: &Op) -> String {
        let r = self.store.replica();
        let name = |id: StudentId| r.student(id).map(|s| s.name).unwrap_or_default();
        match &op.body {
            OpBody::Record(v) => {
                let who: Vec<String> = v.students.iter().map(|s| name(*s)).collect();
                format!(
                    "{}：{}记录（{}）",
                    who.join("、"),
                    v.kind.zh(),
                    baoxue_shared::time::china_date(v.started_at).format("%-m月%-d日")
                )
            }
            OpBody::Set(w) => match &w.target {
                Target::Student {
                    id,
                    set: StudentField::Status(s),
                } => format!("{}：学籍状态改为{}", name(*id), s.zh()),
                Target::Student { id, .. } => format!("{}：学生信息修改", name(*id)),
                Target::Household { .. } => "家庭信息修改".into(),
                Target::Guardian { .. } => "监护人信息修改".into(),
            },
            OpBody::Void { .. } => "作废记录".into(),
            OpBody::Review { .. } => "审核意见".into(),
        }
    }

    /// Whether `op` is about `student` (names them, or is a write to them).
    pub fn concerns(op: &Op, student: StudentId) -> bool {
        match &op.body {
            OpBody::Record(v) => v.students.contains(&student),
            OpBody::Set(w) => matches!(w.target, Target::Student { id, .. } if id == student),
            _ => false,
        }
    }

    /// Put a refused record back in line for the next sync (after its scope was fixed).
    pub fn retry_set_aside(&mut self, op: OpId) -> Result<(), LocalError> {
        self.store.retry(op)
    }

    /// Write the refused records to `path` (see `set_aside_file`). Returns how many.
    pub fn export_set_aside(&self, path: &std::path::Path) -> Result<usize, ExportError> {
        let file = self.set_aside_file(Utc::now())?;
        std::fs::write(path, &file.bytes)?;
        Ok(file.records)
    }

    /// How many records a sync would push now (refused ones wait for a retry).
    pub fn pushable(&self) -> Result<usize, LocalError> {
        self.store.pushable_len()
    }

    /// How many records would be lost by logging out now.
    pub fn unsynced(&self) -> Result<usize, LocalError> {
        self.store.outbox_len()
    }

    /// Log out and forget this user's data on the phone (a shared phone must not show the next
    /// user someone else's children). With unsynced records, refuses unless `confirmed_loss`
    /// equals their number — the count the confirmation showed.
    pub fn log_out(&mut self, confirmed_loss: Option<usize>) -> Result<(), LogoutError> {
        let n = self.unsynced()?;
        if n > 0 && confirmed_loss != Some(n) {
            return Err(LogoutError::Unsynced(n));
        }
        self.store.wipe()?;
        Ok(())
    }

    /// The sync engine of this session (cheap to clone: a screen runs syncs with it).
    pub fn engine(&self) -> SyncEngine {
        self.sync.clone()
    }

    /// Whether the server session has expired: the phone still works, but syncing needs a
    /// fresh login over the network.
    pub fn needs_login(&self, now: DateTime<Utc>) -> bool {
        self.sync.session.expires_at <= now
    }

    /// When the last sync finished, if ever.
    pub fn last_sync(&self) -> Option<DateTime<Utc>> {
        self.store
            .get("last_sync")
            .ok()
            .flatten()
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// Sync now, holding the app for the whole sync (tests, background jobs). Screens use
    /// `sync::run` over a shared handle instead, so they can redraw meanwhile.
    pub async fn sync(&mut self) -> Result<SyncReport, SyncError> {
        let engine = self.sync.clone();
        let host = std::cell::RefCell::new(self);
        super::sync::run(&host, &engine, |_| {}).await
    }
}

impl super::sync::SyncHost for std::cell::RefCell<&mut FieldApp> {
    fn with_store<R>(
        &self,
        f: impl FnOnce(&mut LocalStore, &mut baoxue_shared::hlc::Clock) -> R,
    ) -> R {
        let mut app = self.borrow_mut();
        let app = &mut **app;
        f(&mut app.store, &mut app.author.clock)
    }
}

impl super::sync::SyncHost for std::cell::RefCell<FieldApp> {
    fn with_store<R>(
        &self,
        f: impl FnOnce(&mut LocalStore, &mut baoxue_shared::hlc::Clock) -> R,
    ) -> R {
        let mut app = self.borrow_mut();
        let app = &mut *app;
        f(&mut app.store, &mut app.author.clock)
    }
}
