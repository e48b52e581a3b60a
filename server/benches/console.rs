//! Console benchmark: what a county supervisor waits for. Seeds the demo county, optionally
//! grown with more students (each with a household, a home visit and a device check), then
//! times — median of several runs — loading the supervisor's scope, building every file, the
//! review queue with its evidence checks, the monthly report, the dropout ledger as .xlsx and
//! one student's PDF.
//!
//! Run: `cargo bench -p baoxue-server --bench console`. `BAOXUE_BENCH_EXTRA_STUDENTS` (default
//! 4,500) adds students beyond the demo's 500; `BAOXUE_BENCH_DATABASE=postgres://…` measures
//! the PostgreSQL engine (the database is emptied first). The scope-in-memory path the
//! console used before the read models is measured too unless `BAOXUE_BENCH_LEGACY=0` (at
//! 100,000 students it takes minutes and gigabytes). Peak memory is the process's resident
//! peak (VmHWM) while the read-model pages are served, reset after seeding.

use baoxue_server::report::{compliance, file_pdf, monthly, xlsx};
use baoxue_server::review::{self, QueueFilter, ScopeView};
use baoxue_server::store::QueuePageQuery;
use baoxue_server::sync::push_trusted;
use baoxue_shared::author::Author;
use baoxue_shared::ids::{DeviceId, UserId};
use baoxue_shared::observation::VisitKind;
use baoxue_shared::replica::Replica;
use baoxue_shared::sample;
use baoxue_shared::time::{ReportMonth, TermCalendar};
use chrono::{Duration, Utc};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut ms = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (median(ms), last.expect("runs > 0"))
}

fn main() {
    let extra: usize = std::env::var("BAOXUE_BENCH_EXTRA_STUDENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_500);
    // `BAOXUE_BENCH_DIR`: a directory kept between runs; a county seeded there once is measured
    // again without seeding it again (at 100,000 students seeding takes a quarter of an hour).
    let kept = std::env::var("BAOXUE_BENCH_DIR")
        .ok()
        .filter(|s| !s.is_empty());
    let temp = tempfile::tempdir().expect("tempdir");
    let dir_path = kept
        .as_ref()
        .map_or(temp.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir_path).expect("the bench directory");
    let homes_file = dir_path.join("bench-homes.json");
    let database = std::env::var("BAOXUE_BENCH_DATABASE")
        .ok()
        .filter(|s| !s.is_empty());
    let reuse = kept.is_some() && homes_file.exists();
    if let (Some(url), false) = (&database, reuse) {
        baoxue_server::store::postgres::PostgresStore::wipe(url).expect("an empty database");
    }
    let (store, state) = baoxue_server::open_with(&dir_path, database.as_deref()).expect("open");
    let now = Utc::now();
    let mut rng = fastrand::Rng::with_seed(99);
    let mut admin = Author::new(UserId::new(), DeviceId::new());
    let mut worker = Author::new(UserId::new(), DeviceId::new());
    let world = Replica::new();
    let today = baoxue_shared::time::china_date(now);
    let mut homes: Vec<(
        baoxue_shared::ids::StudentId,
        baoxue_shared::people::Household,
    )> = Vec::new();
    if reuse {
        homes = serde_json::from_slice(&std::fs::read(&homes_file).expect("homes"))
            .expect("the kept homes");
        println!("reusing the county seeded in {}", dir_path.display());
    } else {
        baoxue_server::demo::seed(store.as_ref(), &state.photos, now)
            .expect("seed")
            .expect("empty store");
        // Grow the county: more households and students, a home visit and a device check each.
        let mut ops = Vec::new();
        let mut visits = Vec::new();
        for i in 0..extra {
            let h = sample::household(&mut rng);
            let s = sample::student(&mut rng, &h, today);
            ops.extend(admin.household_ops(&world, &h, now - Duration::days(90)));
            ops.extend(admin.student_ops(&world, &s, now - Duration::days(90)));
            for (k, kind) in [VisitKind::HomeVisit, VisitKind::HouseholdVisit]
                .into_iter()
                .enumerate()
            {
                let at = now - Duration::days(60) + Duration::hours((i * 2 + k) as i64);
                let v = sample::visit(&mut rng, kind, worker.user, s.id, &h, at);
                visits.push(worker.record(v, at + Duration::minutes(30)));
            }
            homes.push((s.id, h));
        }
        for chunk in ops.chunks(5_000) {
            push_trusted(
                store.as_ref(),
                admin.user,
                admin.device,
                chunk.to_vec(),
                now,
            )
            .unwrap();
        }
        for chunk in visits.chunks(5_000) {
            push_trusted(
                store.as_ref(),
                worker.user,
                worker.device,
                chunk.to_vec(),
                now,
            )
            .unwrap();
        }
        if kept.is_some() {
            std::fs::write(&homes_file, serde_json::to_vec(&homes).expect("homes"))
                .expect("keep the homes");
        }
    }
    let seeded = Instant::now();
    let county = store
        .account("county")
        .unwrap()
        .expect("demo supervisor")
        .user;
    let terms = TermCalendar::typical(2024..=2027);
    let runs = 5;
    let legacy = std::env::var("BAOXUE_BENCH_LEGACY").map_or(true, |v| v != "0");
    let settings = review::evidence::EvidenceSettings::default();
    let month = ReportMonth::containing(now);

    // A teacher's day arriving: 20 visits to the `n`th seeded student, `ago` minutes back.
    let mut day = |n: usize, ago: i64| {
        let (s, h) = &homes[n % homes.len()];
        let batch: Vec<_> = (0..20)
            .map(|k| {
                let at = now - Duration::minutes(ago + k);
                let v = sample::visit(&mut rng, VisitKind::HomeVisit, worker.user, *s, h, at);
                worker.record(v, at)
            })
            .collect();
        push_trusted(store.as_ref(), worker.user, worker.device, batch, now).unwrap();
    };

    let mut legacy_figures = None;
    if legacy {
        let (load_ms, view) = time(runs, || ScopeView::load(store.as_ref(), &county).unwrap());
        // What the console did: a cache per reviewer, refreshed by pulling only what is new.
        let cache = review::ScopeCache::default();
        cache.get(store.as_ref(), &county).unwrap();
        let (warm_ms, _) = time(runs, || cache.get(store.as_ref(), &county).unwrap());
        let mut new_ms = Vec::new();
        for r in 0..runs {
            day(r * 7, 30);
            let t = Instant::now();
            cache.get(store.as_ref(), &county).unwrap();
            new_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let new_ms = median(new_ms);
        let (files_ms, files) = time(runs, || view.files(&view.replica, &terms, now));
        let (queue_ms, queue) = time(runs, || {
            review::queue(&view, &files, &settings, &QueueFilter::default())
        });
        let (report_ms, figures) = time(runs, || {
            monthly::figures(&view, &monthly::ReportScope::County, month, now, &terms)
        });
        let (compliance_ms, _) = time(runs, || {
            (
                compliance::three_ones(&view, &files, now),
                compliance::device_coverage(&files, &terms, now),
            )
        });
        // The dropout ledger as it was made then: every file's line, written to memory.
        let (ledger_ms, ledger) = time(runs, || {
            use baoxue_server::report::ledgers::{cells, dropout_line};
            use baoxue_server::store::{Ledger, LedgerLine, LedgerRow};
            let mut book = xlsx::LedgerBook::new(Ledger::Dropouts, "从江县", "").unwrap();
            for f in &files {
                if let (Some(line), Some(s)) = (dropout_line(f), &f.current) {
                    let row = LedgerRow {
                        student: f.student,
                        name: s.name.clone(),
                        school: s.school,
                        line: LedgerLine::Dropout(line),
                    };
                    book.row(&cells(&row, &view.school_name(s.school))).unwrap();
                }
            }
            let mut out = std::io::Cursor::new(Vec::new());
            book.save(&mut out).unwrap();
            out.into_inner()
        });
        let busiest = files
            .iter()
            .max_by_key(|f| f.timeline.len())
            .expect("files");
        let (pdf_ms, pdf) = time(runs, || {
            file_pdf::student_file_pdf(busiest, &|u| u.to_string(), "学校", now).unwrap()
        });
        println!(
            "county scope: {} students, {} ops, {} visits in the queue ({} flagged)",
            view.students.len(),
            view.replica.len(),
            queue.len(),
            queue.iter().filter(|q| !q.flags.is_empty()).count()
        );
        println!("the scope in memory (before the read models), median of {runs} runs (ms):");
        println!("  load scope (pull + merge + photo metadata): {load_ms:.1}");
        println!("  cached scope, nothing new:                  {warm_ms:.1}");
        println!("  cached scope after a 20-visit push:         {new_ms:.1}");
        println!("  build every student file:                   {files_ms:.1}");
        println!("  review queue with evidence checks:          {queue_ms:.1}");
        println!(
            "  monthly report figures (enrolled {}):      {report_ms:.1}",
            figures.enrolled
        );
        println!("  三个一 + device coverage:                   {compliance_ms:.1}");
        println!(
            "  dropout ledger .xlsx ({} bytes):          {ledger_ms:.1}",
            ledger.len()
        );
        println!(
            "  one file as PDF ({} events, {} bytes):     {pdf_ms:.1}",
            busiest.timeline.len(),
            pdf.len()
        );
        println!(
            "  a queue page, first visit (load + files + queue): {:.1}",
            load_ms + files_ms + queue_ms
        );
        println!(
            "  a queue page, cached scope after new records:     {:.1}",
            new_ms + files_ms + queue_ms
        );
        legacy_figures = Some(figures);
    }

    // The read models (`baoxue_server::readmodel`): what the console serves now. The first
    // catch-up after seeding builds them (as after a restart on a new database).
    let (build_ms, _) = time(1, || {
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap()
    });
    // `BAOXUE_BENCH_REBUILD=0` leaves the rebuild out (it is the longest part at 100,000).
    let (rebuild_ms, rows) = if std::env::var("BAOXUE_BENCH_REBUILD").map_or(true, |v| v != "0") {
        time(1, || {
            baoxue_server::readmodel::rebuild(store.as_ref(), &settings, &terms).unwrap()
        })
    } else {
        (f64::NAN, 0)
    };
    reset_peak_memory();
    let base_kb = memory_kb("VmRSS");
    // The supervisor's care, as each request asks for it; and their students.
    let care = || store.care(&county).unwrap();
    let students: Vec<_> = store
        .caseload(&county)
        .unwrap()
        .students
        .into_keys()
        .collect();
    let page = |flag: Option<&str>| QueuePageQuery {
        flag: flag.map(str::to_string),
        ..QueuePageQuery::everything(care(), 50)
    };
    // The first page after a restart: a fresh store over the same database.
    let reopen = || {
        let (s, _) = baoxue_server::open_with(&dir_path, database.as_deref()).expect("reopen");
        s
    };
    let mut first_ms = Vec::new();
    if database.is_none() {
        for _ in 0..3 {
            let fresh = reopen();
            let t = Instant::now();
            baoxue_server::readmodel::catch_up(fresh.as_ref(), &settings, &terms).unwrap();
            let care = fresh.care(&county).unwrap();
            fresh
                .queue_page(&QueuePageQuery::everything(care, 50))
                .unwrap();
            first_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            fresh.close();
        }
    }
    let (page_ms, first) = time(runs, || store.queue_page(&page(None)).unwrap());
    let (flagged_ms, _) = time(runs, || store.queue_page(&page(Some("any"))).unwrap());
    let (care_ms, _) = time(runs, || store.caseload(&county).unwrap());
    // What `/console/queue` does per request: catch up, the reviewer's care, the page, people.
    let (served_ms, _) = time(runs, || {
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap();
        let p = store
            .queue_page(&QueuePageQuery::everything(care(), 50))
            .unwrap();
        (p, store.users().unwrap(), store.schools().unwrap())
    });
    // What `/console/visits/{id}` does: catch up, the row, the reviewer's care, names, photos.
    let one = first.rows[0].0.record;
    let (visit_ms, _) = time(runs, || {
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap();
        let row = store.visit_rows(&[one]).unwrap();
        let seen = store.students_in_care(&care(), &row[0].students).unwrap();
        (row, seen, store.users().unwrap())
    });
    // What `/console/students` does: catch up, care, a page of summaries, schools.
    let (students_ms, listed) = time(runs, || {
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap();
        let p = store
            .student_page(&baoxue_server::store::StudentPageQuery {
                students: care(),
                limit: 50,
                ..Default::default()
            })
            .unwrap();
        (p, store.schools().unwrap())
    });
    // What `/console/students/{id}` does for one file: its ops, merged, the file built.
    let someone = homes[homes.len() / 2].0;
    let (file_ms, _) = time(runs, || {
        baoxue_server::files::build(store.as_ref(), someone, &terms, now).unwrap()
    });
    let mut push_ms = Vec::new();
    for r in 0..runs {
        day(r * 11 + 3, 60);
        let t = Instant::now();
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap();
        push_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // What `/console/reports` does for a draft: catch up, the reviewer's care, the read
    // models' counts, the 三个一 and device-coverage tables, the townships, people and schools.
    let (report_rm_ms, rm_figures) = time(runs, || {
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap();
        let unit = monthly::unit(care(), &monthly::ReportScope::County);
        let figures = monthly::figures_now(store.as_ref(), unit.clone(), month).unwrap();
        let term = terms
            .current_or_last(baoxue_shared::time::china_date(now))
            .map(|t| t.period());
        let month_now = compliance::month_code(baoxue_shared::time::YearMonth::of(now));
        let counts = store
            .three_ones(&unit, &month_now, &compliance::owing_contact())
            .unwrap();
        let users = store.users().unwrap();
        let rhythm = compliance::three_ones_from(users.iter(), &counts);
        let coverage = store.device_coverage(&unit, term, 30).unwrap();
        let townships = store.townships_in_care(&care()).unwrap();
        let _ = (rhythm, coverage, townships, store.schools().unwrap());
        figures
    });
    // The report page's two parts on their own: the figures, and the 三个一 and coverage tables.
    let report_unit = monthly::unit(care(), &monthly::ReportScope::County);
    let (report_figures_ms, _) = time(runs, || {
        monthly::figures_now(store.as_ref(), report_unit.clone(), month).unwrap()
    });
    let (report_tables_ms, _) = time(runs, || {
        let term = terms
            .current_or_last(baoxue_shared::time::china_date(now))
            .map(|t| t.period());
        let month_now = compliance::month_code(baoxue_shared::time::YearMonth::of(now));
        let counts = store
            .three_ones(&report_unit, &month_now, &compliance::owing_contact())
            .unwrap();
        let users = store.users().unwrap();
        (
            compliance::three_ones_from(users.iter(), &counts),
            store.device_coverage(&report_unit, term, 30).unwrap(),
        )
    });
    // What `/console/ledgers/poor` does: catch up, care, a page of 50 and the total.
    use baoxue_server::store::{Ledger, LedgerQuery, StudentFrom};
    let ledger_unit = || monthly::unit(care(), &monthly::ReportScope::County);
    let (ledger_ms, ledger_page) = time(runs, || {
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap();
        let unit = ledger_unit();
        store
            .ledger_page(&LedgerQuery {
                unit,
                ledger: Ledger::Poor,
                from: StudentFrom::Start,
                limit: 50,
                with_total: true,
            })
            .unwrap()
    });
    // The downloads: each whole ledger written to a file as `/console/exports/…` does.
    let export = |ledger| {
        time(3, || {
            let mut f = tempfile::tempfile().unwrap();
            let n = baoxue_server::report::ledgers::write_xlsx(
                store.as_ref(),
                &ledger_unit(),
                ledger,
                "县",
                "",
                &|_| String::new(),
                &mut f,
            )
            .unwrap();
            (n, f.metadata().unwrap().len())
        })
    };
    let (poor_export_ms, (poor_lines, poor_bytes)) = export(Ledger::Poor);
    let (dropout_export_ms, (dropout_lines, dropout_bytes)) = export(Ledger::Dropouts);
    let peak_kb = memory_kb("VmHWM");
    println!(
        "read model, {} students in the supervisor's care, median of {runs} runs (ms):",
        students.len()
    );
    println!("  built after seeding (first catch-up):         {build_ms:.1}");
    println!("  rebuild from the op log ({rows} visits):      {rebuild_ms:.1}");
    if !first_ms.is_empty() {
        println!(
            "  queue page, first after a restart:            {:.1}",
            median(first_ms)
        );
    }
    println!(
        "  queue page, 50 of {} rows, warm:              {page_ms:.1}",
        first.matching
    );
    println!("  queue page filtered to flagged, warm:         {flagged_ms:.1}");
    println!("  the reviewer's caseload (as a pull reads it): {care_ms:.1}");
    println!("  queue page as served (catch-up, care, page):  {served_ms:.1}");
    println!("  one visit's page as served:                   {visit_ms:.1}");
    println!(
        "  student list page as served ({} of {}):      {students_ms:.1}",
        listed.0.rows.len(),
        listed.0.in_scope
    );
    println!("  one student's file (ops, merge, file):        {file_ms:.1}");
    println!(
        "  keeping it current after a 20-visit push:     {:.1}",
        median(push_ms)
    );
    println!(
        "  monthly report page as served:                {report_rm_ms:.1} (enrolled {}{})",
        rm_figures.enrolled,
        match &legacy_figures {
            Some(f) => format!(", the same figures as from the scope: {}", *f == rm_figures),
            None => String::new(),
        }
    );
    println!(
        "    of which the figures {report_figures_ms:.1}, the 三个一 and coverage tables {report_tables_ms:.1}"
    );
    println!(
        "  poor ledger page as served (50 of {}):        {ledger_ms:.1}",
        ledger_page.total
    );
    println!(
        "  poor ledger download, {poor_lines} lines ({} kB):      {poor_export_ms:.1}",
        poor_bytes / 1024
    );
    println!(
        "  dropout ledger download, {dropout_lines} lines ({} kB):   {dropout_export_ms:.1}",
        dropout_bytes / 1024
    );
    println!(
        "  resident memory: {} MB before the pages, peak {} MB while serving them",
        base_kb / 1024,
        peak_kb / 1024
    );
    if database.is_none() {
        ceilings(&dir_path.join("baoxue.sqlite3"), &care(), month, runs);
    }
    println!(
        "seeding and measuring took {:.0} s",
        seeded.elapsed().as_secs_f64()
    );
    store.close();
}

/// The kernel's count of this process's memory: `VmRSS` (now) or `VmHWM` (peak), in kB.
fn memory_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Start the peak (VmHWM) over from what is resident now (Linux: `clear_refs` 5).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The ceilings: the bare SQL that fetches the same rows from the same tables, on a
/// connection of its own, without the store around it. The county's care is its division on
/// each row (`care_county_*`), as the store tests it.
fn ceilings(
    db: &std::path::Path,
    care: &baoxue_server::store::Care,
    month: ReportMonth,
    runs: usize,
) {
    let Some(baoxue_shared::area::AreaScope::County(county)) = care.areas.first() else {
        println!("ceilings: the supervisor's care is not a county; not measured");
        return;
    };
    let c = rusqlite::Connection::open(db).expect("the database");
    let code = county.code.as_ref().map(|c| c.as_str().to_string());
    let name = county.name.clone();
    let count = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> usize {
        let mut st = c.prepare_cached(sql).expect("prepare");
        let mut rows = st.query(params).expect("query");
        let mut n = 0;
        while let Some(r) = rows.next().expect("row") {
            let _: rusqlite::types::Value = r.get(0).expect("a column");
            n += 1;
        }
        n
    };
    let care_sql = |t: &str| {
        format!(
            "(CASE WHEN {t}.care_county_code IS NOT NULL THEN {t}.care_county_code = ?1 ELSE {t}.care_county_name = ?2 END)"
        )
    };
    let (queue_ms, _) = time(runs, || {
        count(
            &format!(
                "SELECT DISTINCT q.rank, q.started_ms, q.record FROM rm_queue q WHERE {}
                 ORDER BY q.rank, q.started_ms DESC, q.record LIMIT 51",
                care_sql("q")
            ),
            &[&code, &name],
        ) + count(
            &format!(
                "SELECT SUM(q.n), SUM(q.n) FILTER (WHERE q.open = 1), SUM(q.n) FILTER (WHERE q.flags <> '')
                 FROM rm_queue_counts q WHERE {}",
                care_sql("q")
            ),
            &[&code, &name],
        ) + count(
            &format!(
                "SELECT count(DISTINCT q.record) FROM rm_queue q WHERE q.n > 1 AND {}",
                care_sql("q")
            ),
            &[&code, &name],
        ) + count(
            &format!(
                "SELECT DISTINCT q.township FROM rm_queue_counts q WHERE {} AND q.township <> '' ORDER BY 1",
                care_sql("q")
            ),
            &[&code, &name],
        )
    });
    let (students_ms, _) = time(runs, || {
        count(
            &format!(
                "SELECT * FROM rm_students s WHERE {} ORDER BY name, student LIMIT 51",
                care_sql("s")
            ),
            &[&code, &name],
        ) + count(
            &format!(
                "SELECT SUM(n), SUM(n) FILTER (WHERE owing >= 1), SUM(n) FILTER (WHERE owing = 2)
                 FROM rm_student_counts s WHERE {}",
                care_sql("s")
            ),
            &[&code, &name],
        ) + count(
            &format!(
                "SELECT DISTINCT s.township FROM rm_student_counts s WHERE {} AND s.township <> '' ORDER BY 1",
                care_sql("s")
            ),
            &[&code, &name],
        )
    });
    let (_, end) = month.period();
    let key = format!("{:04}-{:02}", month.0.year(), month.0.month());
    let (report_ms, _) = time(runs, || {
        count(
            &format!(
                "SELECT count(*) FILTER (WHERE active = 1), count(*) FILTER (WHERE still_out = 1)
                 FROM rm_report_spans r WHERE {} AND from_ms < ?3 AND to_ms >= ?3",
                care_sql("r")
            ),
            &[&code, &name, &end.timestamp_millis()],
        ) + count(
            &format!(
                "SELECT count(*) FROM rm_report_months r WHERE {} AND month = ?3",
                care_sql("r")
            ),
            &[&code, &name, &key],
        ) + count(
            &format!(
                "SELECT count(DISTINCT record) FROM rm_report_visits r WHERE {} AND month = ?3",
                care_sql("r")
            ),
            &[&code, &name, &key],
        )
    });
    println!("ceilings, the bare SQL alone (ms):");
    println!("  queue page and its counts:                    {queue_ms:.1}");
    println!("  student list page and its counts:             {students_ms:.1}");
    println!("  monthly report counts:                        {report_ms:.1}");
}
