//! Console benchmark: what a county supervisor waits for. Seeds the demo county, optionally
//! grown with more students (each with a household, a home visit and a device check), then
//! times — median of several runs — loading the supervisor's scope, building every file, the
//! review queue with its evidence checks, the monthly report, the dropout ledger as .xlsx and
//! one student's PDF.
//!
//! Run: `cargo bench -p baoxue-server --bench console`. `BAOXUE_BENCH_EXTRA_STUDENTS` (default
//! 4,500) adds students beyond the demo's 500; `BAOXUE_BENCH_DATABASE=postgres://…` measures
//! the PostgreSQL engine (the database is emptied first).

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
    let dir = tempfile::tempdir().expect("tempdir");
    let database = std::env::var("BAOXUE_BENCH_DATABASE")
        .ok()
        .filter(|s| !s.is_empty());
    if let Some(url) = &database {
        baoxue_server::store::postgres::PostgresStore::wipe(url).expect("an empty database");
    }
    let (store, state) = baoxue_server::open_with(dir.path(), database.as_deref()).expect("open");
    let now = Utc::now();
    baoxue_server::demo::seed(store.as_ref(), &state.photos, now)
        .expect("seed")
        .expect("empty store");
    // Grow the county: more households and students, a home visit and a device check each.
    let mut rng = fastrand::Rng::with_seed(99);
    let mut admin = Author::new(UserId::new(), DeviceId::new());
    let mut worker = Author::new(UserId::new(), DeviceId::new());
    let world = Replica::new();
    let today = baoxue_shared::time::china_date(now);
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
    let county = store
        .account("county")
        .unwrap()
        .expect("demo supervisor")
        .user;
    let terms = TermCalendar::typical(2024..=2027);
    let runs = 5;

    let (load_ms, view) = time(runs, || ScopeView::load(store.as_ref(), &county).unwrap());
    // What the console does: a cache per reviewer, refreshed by pulling only what is new.
    let cache = review::ScopeCache::default();
    cache.get(store.as_ref(), &county).unwrap();
    let (warm_ms, _) = time(runs, || cache.get(store.as_ref(), &county).unwrap());
    // A teacher's day arriving: 20 visits to the `n`th student, `ago` minutes back.
    let mut day = |n: usize, ago: i64| {
        let s = &view.students[n % view.students.len()];
        let h = view
            .replica
            .student(*s)
            .and_then(|st| st.household)
            .and_then(|h| view.replica.household(h))
            .expect("household");
        let batch: Vec<_> = (0..20)
            .map(|k| {
                let at = now - Duration::minutes(ago + k);
                let v = sample::visit(&mut rng, VisitKind::HomeVisit, worker.user, *s, &h, at);
                worker.record(v, at)
            })
            .collect();
        push_trusted(store.as_ref(), worker.user, worker.device, batch, now).unwrap();
    };
    let mut new_ms = Vec::new();
    for r in 0..runs {
        day(r * 7, 30);
        let t = Instant::now();
        cache.get(store.as_ref(), &county).unwrap();
        new_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let new_ms = median(new_ms);
    let (files_ms, files) = time(runs, || view.files(&view.replica, &terms, now));
    let settings = review::evidence::EvidenceSettings::default();
    let (queue_ms, queue) = time(runs, || {
        review::queue(&view, &files, &settings, &QueueFilter::default())
    });
    let month = ReportMonth::containing(now);
    let (report_ms, figures) = time(runs, || {
        monthly::figures(&view, &monthly::ReportScope::County, month, now, &terms)
    });
    let (compliance_ms, _) = time(runs, || {
        (
            compliance::three_ones(&view, &files, now),
            compliance::device_coverage(&files, &terms, now),
        )
    });
    let (ledger_ms, ledger) = time(runs, || {
        xlsx::dropout_ledger(&view, &files, "从江县").unwrap()
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
    println!("median of {runs} runs (ms):");
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

    // The read model (`baoxue_server::readmodel`): the queue page the console serves now.
    let (rebuild_ms, rows) = time(1, || {
        baoxue_server::readmodel::rebuild(store.as_ref(), &settings, &terms).unwrap()
    });
    // The supervisor's students, as each request asks for them.
    let care = || -> Vec<_> {
        store
            .caseload(&county)
            .unwrap()
            .students
            .into_keys()
            .collect()
    };
    let students = care();
    let page = |flag: Option<&str>| QueuePageQuery {
        flag: flag.map(str::to_string),
        ..QueuePageQuery::everything(students.clone(), 50)
    };
    let (page_ms, first) = time(runs, || store.queue_page(&page(None)).unwrap());
    let (flagged_ms, _) = time(runs, || store.queue_page(&page(Some("any"))).unwrap());
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
        (row, care(), store.users().unwrap())
    });
    let mut push_ms = Vec::new();
    for r in 0..runs {
        day(r * 11 + 3, 60);
        let t = Instant::now();
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap();
        push_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // What `/console/reports` does for the figures of a draft: catch up, the reviewer's care,
    // the read models' counts.
    let (report_rm_ms, rm_figures) = time(runs, || {
        baoxue_server::readmodel::catch_up(store.as_ref(), &settings, &terms).unwrap();
        monthly::figures_now(
            store.as_ref(),
            monthly::unit(care(), &monthly::ReportScope::County),
            month,
        )
        .unwrap()
    });
    println!("read model:");
    println!("  rebuild from the op log ({rows} visits):      {rebuild_ms:.1}");
    println!(
        "  queue page, 50 of {} rows, warm:              {page_ms:.1}",
        first.matching
    );
    println!("  queue page filtered to flagged, warm:         {flagged_ms:.1}");
    println!("  queue page as served (catch-up, care, page):  {served_ms:.1}");
    println!("  one visit's page as served:                   {visit_ms:.1}");
    println!(
        "  keeping it current after a 20-visit push:     {:.1}",
        median(push_ms)
    );
    println!(
        "  monthly report figures as served:             {report_rm_ms:.1} (the same figures as from the scope: {})",
        rm_figures == figures
    );
    store.close();
}
