//! The demo county: what the README's run command shows on a fresh machine. A few townships
//! and villages of a real county, schools, about 500 students aged 6–15 with households and
//! guardians, teachers paired with students, liaisons with registered-poor households,
//! supervisors, dropouts with persuasion histories, device checks with photos — with realistic
//! Chinese names, places and dates. Seeded only into an empty database.

use crate::auth::hash_password;
use crate::photos::PhotoFiles;
use crate::store::{Store, StoreError};
use crate::sync::{SyncError, push_trusted};
use baoxue_shared::area::{AreaScope, Division};
use baoxue_shared::author::Author;
use baoxue_shared::exif::{PhotoFacts, with_exif};
use baoxue_shared::ids::{DeviceId, SchoolId, StudentId, UserId};
use baoxue_shared::location::GeoPoint;
use baoxue_shared::observation::{PhotoRef, Sha256, Visit, VisitKind};
use baoxue_shared::op::{Op, StudentField, Target};
use baoxue_shared::people::{Assignment, Household, Role, School, Student, User};
use baoxue_shared::replica::Replica;
use baoxue_shared::sample;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::ReportMonth;
use chrono::{DateTime, Duration, Utc};
use std::fmt;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "baoxue2026";

/// What was seeded.
#[derive(Debug, Default)]
pub struct Summary {
    pub students: usize,
    pub households: usize,
    pub teachers: usize,
    pub liaisons: usize,
    pub dropouts: usize,
    pub photos: usize,
    pub ops: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "演示数据已生成 demo county seeded:")?;
        writeln!(
            f,
            "  学生 {} 名，户 {} 户，帮扶教师 {} 名，联络员 {} 名，辍学/劝返 {} 名，照片 {} 张，操作 {} 条",
            self.students,
            self.households,
            self.teachers,
            self.liaisons,
            self.dropouts,
            self.photos,
            self.ops
        )?;
        writeln!(f, "  账号 accounts (密码 password: {DEMO_PASSWORD}):")?;
        writeln!(f, "    county        县级督导 (从江县)")?;
        writeln!(f, "    township1     乡镇督导 (丙妹镇)")?;
        writeln!(f, "    school1       学校管理员")?;
        writeln!(f, "    teacher01..   帮扶教师")?;
        write!(f, "    liaison01..   教育扶贫联络员")
    }
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Photo(#[from] crate::photos::PhotoError),
}

struct Worker {
    user: User,
    author: Author,
    ops: Vec<Op>,
}

impl Worker {
    fn new(account: String, name: String, role: Role) -> Self {
        let user = User {
            id: UserId::new(),
            account,
            name,
            role,
            assignments: vec![],
        };
        let author = Author::new(user.id, DeviceId::new());
        Self {
            user,
            author,
            ops: vec![],
        }
    }

    /// Save a visit as the phone does, a couple of minutes after it ended; when it was saved.
    fn record(&mut self, v: Visit) -> DateTime<Utc> {
        let saved = v.ended_at.unwrap_or(v.started_at) + Duration::minutes(2);
        self.ops.push(self.author.record(v, saved));
        saved
    }

    /// A persuasion visit with a photo of it, saved.
    #[allow(clippy::too_many_arguments)]
    fn persuade(
        &mut self,
        store: &dyn Store,
        photos: &PhotoFiles,
        rng: &mut fastrand::Rng,
        student: &Student,
        h: &Household,
        at: DateTime<Utc>,
        summary: &mut Summary,
    ) -> Result<DateTime<Utc>, DemoError> {
        let mut v = sample::visit(rng, VisitKind::Persuasion, self.user.id, student.id, h, at);
        v.photos = vec![make_photo(
            store,
            photos,
            rng,
            self.user.id,
            at,
            h,
            summary,
        )?];
        Ok(self.record(v))
    }

    /// Set a student's status at `at`, superseding what `world` holds.
    fn set_status(
        &mut self,
        world: &mut Replica,
        student: StudentId,
        status: EnrolmentStatus,
        at: DateTime<Utc>,
    ) {
        let w = self.author.set(
            world,
            Target::Student {
                id: student,
                set: StudentField::Status(status),
            },
            at,
        );
        world.apply(w.clone()).ok();
        self.ops.push(w);
    }
}

/// Seed the demo county into an empty store; `None` if it already holds accounts.
pub fn seed(
    store: &dyn Store,
    photos: &PhotoFiles,
    now: DateTime<Utc>,
) -> Result<Option<Summary>, DemoError> {
    if store.has_accounts()? {
        return Ok(None);
    }
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut summary = Summary::default();
    let hash = hash_password(DEMO_PASSWORD)?;
    let today = baoxue_shared::time::china_date(now);
    let term_start = now - Duration::days(80);
    let county = Division::coded(sample::COUNTY.0, sample::COUNTY.1).expect("valid constant");
    // The county's townships and villages, so a registry export's addresses can be placed.
    store.save_divisions(&sample::county_divisions())?;

    // Schools: a central primary and a junior middle school per township.
    let mut schools = Vec::new();
    for (tn, tc, _) in sample::TOWNSHIPS {
        for (suffix, junior) in [("中心小学", false), ("中学", true)] {
            let area = baoxue_shared::area::AdminArea {
                county: county.clone(),
                township: Division::coded(*tn, tc).expect("valid constant"),
                village: Division::named(format!("{tn}政府驻地")),
                group: None,
            };
            let school = School {
                id: SchoolId::new(),
                name: format!("从江县{tn}{suffix}"),
                area,
            };
            store.save_school(&school)?;
            schools.push((school, junior));
        }
    }

    let mut admin = Worker::new("admin".into(), "系统管理员".into(), Role::SystemAdmin);
    let mut county_sup = Worker::new("county".into(), "潘督学".into(), Role::CountySupervisor);
    county_sup.user.assignments.push(Assignment::Area {
        area: AreaScope::County(county.clone()),
    });
    let (t1n, t1c, _) = sample::TOWNSHIPS[0];
    let mut town_sup = Worker::new(
        "township1".into(),
        "龙主任".into(),
        Role::TownshipSupervisor,
    );
    town_sup.user.assignments.push(Assignment::Area {
        area: AreaScope::Township {
            county: county.clone(),
            township: Division::coded(t1n, t1c).expect("valid"),
        },
    });
    let mut school_admin = Worker::new("school1".into(), "吴校长".into(), Role::SchoolAdmin);
    school_admin.user.assignments.push(Assignment::School {
        school: schools[0].0.id,
    });

    let mut teachers: Vec<Worker> = (1..=25)
        .map(|i| {
            Worker::new(
                format!("teacher{i:02}"),
                sample::name(
                    &mut rng,
                    if i % 3 == 0 {
                        baoxue_shared::people::Sex::Male
                    } else {
                        baoxue_shared::people::Sex::Female
                    },
                ),
                Role::Teacher,
            )
        })
        .collect();
    let mut liaisons: Vec<Worker> = (1..=10)
        .map(|i| {
            Worker::new(
                format!("liaison{i:02}"),
                sample::name(&mut rng, baoxue_shared::people::Sex::Male),
                Role::Liaison,
            )
        })
        .collect();

    // Households and students, put on the roster by the admin.
    // Everything written so far, so each status change names what it supersedes.
    let mut world = Replica::new();
    let mut kids: Vec<(Student, Household)> = Vec::new();
    while kids.len() < 500 {
        let h = sample::household(&mut rng);
        for op in admin.author.household_ops(&world, &h, term_start) {
            world.apply(op.clone()).ok();
            admin.ops.push(op);
        }
        summary.households += 1;
        for _ in 0..rng.usize(1..=2) {
            let mut s = sample::student(&mut rng, &h, today);
            let junior = s.grade.is_some_and(|g| g.number() >= 7);
            let township = &h.area.township.name;
            s.school = schools
                .iter()
                .find(|(sc, j)| *j == junior && sc.area.township.name == *township)
                .map(|(sc, _)| sc.id);
            let g = sample::guardian(&mut rng, s.id);
            let mut ops = admin.author.student_ops(&world, &s, term_start);
            ops.extend(admin.author.guardian_ops(&world, &g, term_start));
            for op in ops {
                world.apply(op.clone()).ok();
                admin.ops.push(op);
            }
            kids.push((s, h.clone()));
        }
    }
    summary.students = kids.len();

    // Pair teachers with students (20 each) and liaisons with registered-poor households.
    for (i, (s, _)) in kids.iter().enumerate() {
        let n = teachers.len();
        teachers[i % n]
            .user
            .assignments
            .push(Assignment::Student { student: s.id });
    }
    let mut seen = std::collections::HashSet::new();
    let poor: Vec<&Household> = kids
        .iter()
        .map(|(_, h)| h)
        .filter(|h| h.registered_poor && seen.insert(h.id))
        .collect();
    for (i, h) in poor.iter().enumerate() {
        let n = liaisons.len();
        liaisons[i % n]
            .user
            .assignments
            .push(Assignment::Household { household: h.id });
    }

    // The term's work: home visits for most students, device checks for poor households,
    // persuasion for some dropouts.
    for (i, (s, h)) in kids.iter().enumerate() {
        let t = &mut teachers[i % 25];
        if rng.u8(..10) < 6 {
            // One home visit a day at most: a teacher's paired students live townships apart.
            let day = 5 + 3 * (i / 25) as i64;
            let at = term_start + Duration::days(day) + Duration::hours(rng.i64(0..8));
            let v = sample::visit(&mut rng, VisitKind::HomeVisit, t.user.id, s.id, h, at);
            t.record(v);
        }
        if i % 33 == 5 {
            summary.dropouts += 1;
            let mut at = term_start + Duration::days(rng.i64(5..30));
            for st in [
                EnrolmentStatus::SuspectedDropout,
                EnrolmentStatus::DroppedOut,
                EnrolmentStatus::Persuading,
            ] {
                at += Duration::days(rng.i64(2..6));
                t.set_status(&mut world, s.id, st, at);
            }
            for attempt in 0..rng.usize(1..=3) {
                at += Duration::days(rng.i64(5..12));
                let saved = t.persuade(store, photos, &mut rng, s, h, at, &mut summary)?;
                if attempt == 2 {
                    t.set_status(&mut world, s.id, EnrolmentStatus::Returned, saved);
                }
            }
        }
    }
    for (i, h) in poor.iter().enumerate() {
        let n = liaisons.len();
        let l = &mut liaisons[i % n];
        let Some((s, _)) = kids.iter().find(|(_, kh)| kh.id == h.id) else {
            continue;
        };
        let at = term_start + Duration::days(rng.i64(10..70)) + Duration::hours(rng.i64(0..8));
        let mut v = sample::visit(&mut rng, VisitKind::HouseholdVisit, l.user.id, s.id, h, at);
        // Every liaison visit checks the learning device (the sample draws one half the time).
        while v.device_check.is_none() {
            v = sample::visit(&mut rng, VisitKind::HouseholdVisit, l.user.id, s.id, h, at);
        }
        if !v.photos.is_empty() {
            v.photos = vec![make_photo(
                store,
                photos,
                &mut rng,
                l.user.id,
                at,
                h,
                &mut summary,
            )?];
        }
        l.record(v);
    }

    // The month being reported: a few children found out of school and brought back, so the
    // monthly report has figures and typical cases.
    let (month_start, month_end) = ReportMonth::containing(now - Duration::days(7)).period();
    let month_span = (month_end.min(now) - month_start).num_minutes().max(60);
    let in_month = |frac: f64| month_start + Duration::minutes((month_span as f64 * frac) as i64);
    let placements = [
        EnrolmentStatus::Returned,
        EnrolmentStatus::VocationalClass,
        EnrolmentStatus::RemoteTeaching,
    ];
    for (n, (i, (s, h))) in kids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 47 == 11 && i % 33 != 5)
        .take(5)
        .enumerate()
    {
        let t = &mut teachers[i % 25];
        let mut steps = vec![
            (EnrolmentStatus::SuspectedDropout, 0.05),
            (EnrolmentStatus::DroppedOut, 0.15),
            (EnrolmentStatus::Persuading, 0.25),
        ];
        if n < placements.len() {
            steps.push((placements[n], 0.8));
        }
        for (k, (st, frac)) in steps.into_iter().enumerate() {
            if k == 3 {
                let at = in_month(0.6);
                t.persuade(store, photos, &mut rng, s, h, at, &mut summary)?;
            }
            t.set_status(&mut world, s.id, st, in_month(frac));
        }
        summary.dropouts += 1;
    }

    // Visits a reviewer should question, so the queue's evidence checks have work: a home
    // visit logged 3 km from the house; one photo used for two different households; a photo
    // taken three days before the visit; a second visit 10 minutes after the first, tens of
    // kilometres away.
    let recent = |d: i64| now - Duration::days(d);
    {
        let (s, h) = &kids[1];
        let t = &mut teachers[1];
        let mut v = sample::visit(
            &mut rng,
            VisitKind::HomeVisit,
            t.user.id,
            s.id,
            h,
            recent(4),
        );
        if let (Some(loc), Some(home)) = (v.location.as_mut(), h.location) {
            loc.point = GeoPoint::new(home.lat() + 0.027, home.lon()).expect("in range");
        }
        v.notes = "到户家访，与家长交流学生学习情况。".into();
        t.record(v);
    }
    if poor.len() >= 3 {
        let l = &mut liaisons[0];
        let shared_photo = {
            let h = poor[0];
            make_photo(
                store,
                photos,
                &mut rng,
                l.user.id,
                recent(5),
                h,
                &mut summary,
            )?
        };
        for (k, h) in poor[..2].iter().enumerate() {
            let Some((s, _)) = kids.iter().find(|(_, kh)| kh.id == h.id) else {
                continue;
            };
            let at = recent(5) + Duration::hours(2 * k as i64);
            let mut v = sample::visit(&mut rng, VisitKind::HouseholdVisit, l.user.id, s.id, h, at);
            v.photos = vec![shared_photo.clone()];
            l.record(v);
        }
        let h = poor[2];
        if let Some((s, _)) = kids.iter().find(|(_, kh)| kh.id == h.id) {
            let at = recent(3);
            let mut v = sample::visit(&mut rng, VisitKind::HouseholdVisit, l.user.id, s.id, h, at);
            v.photos = vec![make_photo(
                store,
                photos,
                &mut rng,
                l.user.id,
                at - Duration::days(3),
                h,
                &mut summary,
            )?];
            l.record(v);
        }
    }
    {
        let t = &mut teachers[2];
        let mine: Vec<&(Student, Household)> = kids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 25 == 2)
            .map(|(_, k)| k)
            .collect();
        let far_pair = mine.iter().enumerate().find_map(|(a, x)| {
            mine[a + 1..].iter().find(|y| {
                matches!((x.1.location, y.1.location), (Some(p), Some(q)) if p.distance_m(&q) > 10_000.0)
            }).map(|y| (*x, *y))
        });
        if let Some(((s1, h1), (s2, h2))) = far_pair {
            for (k, (s, h)) in [(s1, h1), (s2, h2)].into_iter().enumerate() {
                let at = recent(2) + Duration::minutes(10 * k as i64);
                let v = sample::visit(&mut rng, VisitKind::HomeVisit, t.user.id, s.id, h, at);
                let saved = at + Duration::minutes(5);
                t.ops.push(t.author.record(v, saved));
            }
        }
    }

    // Accounts first (scopes need them), then the roster, then each worker's field work.
    for w in [&admin, &county_sup, &town_sup, &school_admin]
        .into_iter()
        .chain(teachers.iter())
        .chain(liaisons.iter())
    {
        store.add_account(&w.user, &hash)?;
    }
    summary.teachers = teachers.len();
    summary.liaisons = liaisons.len();
    for chunk in std::mem::take(&mut admin.ops).chunks(2000) {
        summary.ops += chunk.len();
        push_trusted(
            store,
            admin.user.id,
            admin.author.device,
            chunk.to_vec(),
            term_start,
        )?;
    }
    for w in teachers.iter_mut().chain(liaisons.iter_mut()) {
        let ops = std::mem::take(&mut w.ops);
        summary.ops += ops.len();
        if !ops.is_empty() {
            push_trusted(store, w.user.id, w.author.device, ops, now)?;
        }
    }
    Ok(Some(summary))
}

/// A photo of the visit: a small real JPEG with EXIF time and GPS near the house, stored.
fn make_photo(
    store: &dyn Store,
    files: &PhotoFiles,
    rng: &mut fastrand::Rng,
    by: UserId,
    at: DateTime<Utc>,
    h: &Household,
    summary: &mut Summary,
) -> Result<PhotoRef, DemoError> {
    // Blocks of random size, place and brightness: every demo photo looks different to the
    // perceptual hash, as real photos of different houses do (a shared pattern would make the
    // review queue flag them all as one picture reused).
    let (w, ht) = (640u32, 480u32);
    let mut img =
        image::RgbImage::from_pixel(w, ht, image::Rgb([rng.u8(..), rng.u8(..), rng.u8(..)]));
    for _ in 0..rng.usize(6..12) {
        let (x0, y0) = (rng.u32(..w - 40), rng.u32(..ht - 40));
        let (bw, bh) = (rng.u32(40..=(w - x0)), rng.u32(40..=(ht - y0)));
        let c = image::Rgb([rng.u8(..), rng.u8(..), rng.u8(..)]);
        for y in y0..y0 + bh {
            for x in x0..x0 + bw {
                img.put_pixel(x, y, c);
            }
        }
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&img)
        .map_err(|e| crate::photos::PhotoError::Io(std::io::Error::other(e)))?;
    let captured = at + Duration::minutes(rng.i64(1..15));
    let gps = h.location;
    let bytes = with_exif(
        &jpeg,
        &PhotoFacts {
            captured_at: Some(captured),
            gps,
            orientation: Some(1),
        },
    );
    let sha = Sha256::of(&bytes);
    let meta = files.ingest(&sha, &bytes, by, at)?;
    store.save_photo(&meta)?;
    summary.photos += 1;
    Ok(PhotoRef {
        sha256: sha,
        bytes: bytes.len() as u64,
        width: w,
        height: ht,
        captured_at: Some(captured),
        gps,
    })
}
