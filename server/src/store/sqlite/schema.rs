//! The database schema as numbered migrations, applied at start. Migrations are only ever
//! added, never edited: a database in the field was made by one of them. The schema version is
//! SQLite's `user_version`; a database newer than this build is refused, not guessed at.

use crate::store::StoreError;
use rusqlite::Connection;

/// Each entry moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, the op log with its indexes and projections, photos, audit chain.
    r#"
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE assignments (
        user TEXT NOT NULL REFERENCES users(id),
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (user, kind, target)
    );
    CREATE TABLE tokens (
        hash BLOB PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(id),
        device TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX tokens_user ON tokens(user);
    CREATE TABLE login_failures (account TEXT NOT NULL, at TEXT NOT NULL);
    CREATE INDEX login_failures_account ON login_failures(account, at);

    -- The op log: every op ever accepted, as received (JSON, with received_at set).
    CREATE TABLE ops (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        batch TEXT NOT NULL,
        author TEXT NOT NULL,
        device TEXT NOT NULL,
        -- the entity a field write targets (student, household or guardian id)
        entity TEXT,
        received_at TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX ops_entity ON ops(entity) WHERE entity IS NOT NULL;
    -- What each op concerns, for scoped pulls and per-student files.
    CREATE TABLE op_subjects (
        seq INTEGER NOT NULL REFERENCES ops(seq),
        student TEXT,
        household TEXT
    );
    CREATE INDEX op_subjects_student ON op_subjects(student, seq) WHERE student IS NOT NULL;
    CREATE INDEX op_subjects_household ON op_subjects(household, seq) WHERE household IS NOT NULL;
    CREATE INDEX op_subjects_seq ON op_subjects(seq);
    CREATE TABLE records (id TEXT PRIMARY KEY, seq INTEGER NOT NULL REFERENCES ops(seq));
    -- Which records cite which photo, so a photo is shown only to those who may see a record.
    CREATE TABLE photo_refs (sha256 TEXT NOT NULL, seq INTEGER NOT NULL REFERENCES ops(seq));
    CREATE INDEX photo_refs_sha ON photo_refs(sha256);
    -- Accepted batches: idempotency and the audit log (who, which device, when, counts).
    CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        device TEXT NOT NULL,
        received_at TEXT NOT NULL,
        op_count INTEGER NOT NULL,
        new_count INTEGER NOT NULL,
        receipt TEXT NOT NULL
    );

    -- Projections of merged fields, rebuilt from the op log by the shared merge; used for
    -- scoping and lists only, never as the truth.
    CREATE TABLE students (
        id TEXT PRIMARY KEY,
        name TEXT,
        resident_id TEXT,
        status TEXT,
        school TEXT,
        household TEXT,
        grade INTEGER,
        focus TEXT,
        scope_version INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX students_household ON students(household);
    CREATE INDEX students_school ON students(school);
    CREATE INDEX students_resident_id ON students(resident_id) WHERE resident_id IS NOT NULL;
    CREATE TABLE households (
        id TEXT PRIMARY KEY,
        head TEXT,
        area TEXT,
        village TEXT,
        registered_poor INTEGER,
        scope_version INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE guardians (id TEXT PRIMARY KEY, student TEXT);
    CREATE TABLE schools (id TEXT PRIMARY KEY, name TEXT NOT NULL, area TEXT NOT NULL);
    CREATE INDEX guardians_student ON guardians(student);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);

    CREATE TABLE photos (
        sha256 TEXT PRIMARY KEY,
        bytes INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        mime TEXT NOT NULL,
        captured_at TEXT,
        lat REAL,
        lon REAL,
        phash TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        uploaded_at TEXT NOT NULL
    );

    -- Per-student hash chain over accepted ops: hash = SHA-256(prev hash || seq || body).
    CREATE TABLE chain (
        student TEXT NOT NULL,
        position INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (student, position)
    );
    "#,
    // 2: monthly reports as filed: the figures and the receipt cut they were computed at, so
    // the same month asked again gives the same figures and later edits show as amendments.
    r#"
    CREATE TABLE report_filings (
        scope TEXT NOT NULL,
        month TEXT NOT NULL,
        cut TEXT NOT NULL,
        filed_by TEXT NOT NULL,
        figures TEXT NOT NULL,
        PRIMARY KEY (scope, month)
    );
    "#,
    // 3: failed logins counted under a keyed hash of the account as typed (a password typed
    // into the account field must not be kept in clear), and the server's own secrets.
    r#"
    DROP TABLE login_failures;
    CREATE TABLE login_failures (key BLOB NOT NULL, at TEXT NOT NULL);
    CREATE INDEX login_failures_key ON login_failures(key, at);
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    "#,
    // 4: the access log — every view of a child's file and every ledger taken — hash-chained
    // like the op log (hash = SHA-256(prev hash || the entry's columns)).
    r#"
    CREATE TABLE access_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user TEXT NOT NULL,
        device TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        hash BLOB NOT NULL
    );
    CREATE INDEX access_log_subject ON access_log(subject, seq);
    CREATE INDEX access_log_user ON access_log(user, seq);
    "#,
    // 5: each county's known divisions (townships and villages, with codes), one JSON document
    // per county, for placing registry addresses.
    r#"
    CREATE TABLE divisions (county TEXT PRIMARY KEY, doc TEXT NOT NULL);
    "#,
    // 6: the review queue's read model (`crate::readmodel`): one row per visit, kept current
    // by following the op log and photo uploads (`read_cursor`), never the truth.
    r#"
    CREATE TABLE rm_visits (
        record TEXT PRIMARY KEY,
        started_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        school TEXT,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        state TEXT NOT NULL,
        flags TEXT NOT NULL,
        open INTEGER NOT NULL,
        -- 0 open and flagged, 1 open, 2 the rest: the queue's first sort key
        rank INTEGER NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX rm_visits_order ON rm_visits(rank, started_ms DESC, record);
    CREATE TABLE rm_visit_students (record TEXT NOT NULL, student TEXT NOT NULL);
    CREATE INDEX rm_visit_students_record ON rm_visit_students(record);
    CREATE INDEX rm_visit_students_student ON rm_visit_students(student, record);
    CREATE TABLE rm_visit_visitors (
        record TEXT NOT NULL,
        worker TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        travel INTEGER NOT NULL
    );
    CREATE INDEX rm_visit_visitors_record ON rm_visit_visitors(record);
    CREATE INDEX rm_visit_visitors_travel ON rm_visit_visitors(worker, started_ms, record) WHERE travel = 1;
    CREATE TABLE rm_visit_photos (record TEXT NOT NULL, photo INTEGER NOT NULL, sha256 TEXT NOT NULL);
    CREATE INDEX rm_visit_photos_record ON rm_visit_photos(record);
    CREATE INDEX rm_visit_photos_sha ON rm_visit_photos(sha256);
    CREATE TABLE rm_photo_bands (
        record TEXT NOT NULL,
        photo INTEGER NOT NULL,
        band INTEGER NOT NULL,
        value INTEGER NOT NULL
    );
    CREATE INDEX rm_photo_bands_record ON rm_photo_bands(record);
    CREATE INDEX rm_photo_bands_value ON rm_photo_bands(band, value);
    CREATE TABLE rm_cursor (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    "#,
    // 7: the monthly report's read models (`crate::report::rows`); the cursor is rewound so the
    // next catch-up builds every read model from the log.
    r#"
    CREATE TABLE rm_report_spans (
        student TEXT NOT NULL,
        from_ms INTEGER NOT NULL,
        to_ms INTEGER NOT NULL,
        active INTEGER NOT NULL,
        still_out INTEGER NOT NULL,
        birth TEXT NOT NULL,
        name TEXT NOT NULL,
        school TEXT,
        township TEXT
    );
    CREATE INDEX rm_report_spans_student ON rm_report_spans(student);
    CREATE INDEX rm_report_spans_at ON rm_report_spans(to_ms, from_ms);
    CREATE TABLE rm_report_months (
        student TEXT NOT NULL,
        month TEXT NOT NULL,
        school TEXT,
        township TEXT,
        suspected INTEGER NOT NULL,
        dropped INTEGER NOT NULL,
        placed TEXT,
        name TEXT,
        village TEXT,
        attempts INTEGER,
        how TEXT
    );
    CREATE INDEX rm_report_months_student ON rm_report_months(student);
    CREATE INDEX rm_report_months_month ON rm_report_months(month);
    CREATE TABLE rm_report_visits (
        student TEXT NOT NULL,
        month TEXT NOT NULL,
        record TEXT NOT NULL,
        school TEXT,
        township TEXT
    );
    CREATE INDEX rm_report_visits_student ON rm_report_visits(student);
    CREATE INDEX rm_report_visits_month ON rm_report_visits(month);
    CREATE TABLE rm_report_events (
        student TEXT NOT NULL,
        op TEXT NOT NULL,
        received_ms INTEGER NOT NULL,
        event_ms INTEGER NOT NULL
    );
    CREATE INDEX rm_report_events_student ON rm_report_events(student);
    CREATE INDEX rm_report_events_received ON rm_report_events(received_ms);
    ALTER TABLE households ADD COLUMN county_code TEXT;
    ALTER TABLE households ADD COLUMN county_name TEXT;
    ALTER TABLE households ADD COLUMN township_code TEXT;
    ALTER TABLE households ADD COLUMN township_name TEXT;
    ALTER TABLE households ADD COLUMN village_code TEXT;
    ALTER TABLE households ADD COLUMN village_name TEXT;
    UPDATE households SET county_code = json_extract(area, '$.county.code'), county_name = json_extract(area, '$.county.name'), township_code = json_extract(area, '$.township.code'), township_name = json_extract(area, '$.township.name'), village_code = json_extract(area, '$.village.code'), village_name = json_extract(area, '$.village.name') WHERE area IS NOT NULL;
    CREATE INDEX households_county ON households(county_name, county_code);
    CREATE TABLE rm_students (
        student TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT,
        school TEXT,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        due INTEGER NOT NULL,
        overdue INTEGER NOT NULL,
        conflicts INTEGER NOT NULL,
        missing INTEGER NOT NULL,
        last_visit_ms INTEGER,
        recheck TEXT
    );
    CREATE INDEX rm_students_name ON rm_students(name, student);
    CREATE INDEX rm_students_recheck ON rm_students(recheck);
    DELETE FROM rm_cursor;
    "#,
    // 8: who may see each read-model row, on the row: the student's household, school and
    // divisions (`care_*`, from `students` and `households`), so a reviewer's care is a test of
    // the row's own columns instead of a join per page; the queue's paging columns in
    // `rm_queue`, one row per visit and student, without the visit's detail. Filled from the
    // tables as they are, without a rebuild.
    r#"
    CREATE TABLE rm_queue (
        record TEXT NOT NULL,
        student TEXT NOT NULL,
        -- how many students the visit concerns: rows of a visit with more than one are
        -- counted once
        n INTEGER NOT NULL,
        rank INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        open INTEGER NOT NULL,
        flags TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        school TEXT,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        care_household TEXT,
        care_school TEXT,
        care_county_code TEXT,
        care_county_name TEXT,
        care_township_code TEXT,
        care_township_name TEXT,
        care_village_code TEXT,
        care_village_name TEXT
    );
    CREATE INDEX rm_queue_order ON rm_queue(rank, started_ms DESC, record);
    CREATE INDEX rm_queue_record ON rm_queue(record);
    CREATE INDEX rm_queue_student ON rm_queue(student);
    CREATE INDEX rm_queue_township ON rm_queue(township, care_county_code, care_county_name);
    INSERT INTO rm_queue(record, student, n, rank, started_ms, open, flags, kind, state, school, township, village)
        SELECT vs.record, vs.student, (SELECT count(*) FROM rm_visit_students x WHERE x.record = vs.record),
            v.rank, v.started_ms, v.open, v.flags, v.kind, v.state, v.school, v.township, v.village
        FROM rm_visit_students vs JOIN rm_visits v ON v.record = vs.record;
    UPDATE rm_queue SET care_household = c.household, care_school = c.school, care_county_code = c.county_code, care_county_name = c.county_name, care_township_code = c.township_code, care_township_name = c.township_name, care_village_code = c.village_code, care_village_name = c.village_name FROM (SELECT s.id, s.household, s.school, h.county_code, h.county_name, h.township_code, h.township_name, h.village_code, h.village_name FROM students s LEFT JOIN households h ON h.id = s.household) AS c WHERE c.id = rm_queue.student;
    ALTER TABLE rm_students ADD COLUMN care_household TEXT;
    ALTER TABLE rm_students ADD COLUMN care_school TEXT;
    ALTER TABLE rm_students ADD COLUMN care_county_code TEXT;
    ALTER TABLE rm_students ADD COLUMN care_county_name TEXT;
    ALTER TABLE rm_students ADD COLUMN care_township_code TEXT;
    ALTER TABLE rm_students ADD COLUMN care_township_name TEXT;
    ALTER TABLE rm_students ADD COLUMN care_village_code TEXT;
    ALTER TABLE rm_students ADD COLUMN care_village_name TEXT;
    UPDATE rm_students SET care_household = c.household, care_school = c.school, care_county_code = c.county_code, care_county_name = c.county_name, care_township_code = c.township_code, care_township_name = c.township_name, care_village_code = c.village_code, care_village_name = c.village_name FROM (SELECT s.id, s.household, s.school, h.county_code, h.county_name, h.township_code, h.township_name, h.village_code, h.village_name FROM students s LEFT JOIN households h ON h.id = s.household) AS c WHERE c.id = rm_students.student;
    ALTER TABLE rm_report_spans ADD COLUMN care_household TEXT;
    ALTER TABLE rm_report_spans ADD COLUMN care_school TEXT;
    ALTER TABLE rm_report_spans ADD COLUMN care_county_code TEXT;
    ALTER TABLE rm_report_spans ADD COLUMN care_county_name TEXT;
    ALTER TABLE rm_report_spans ADD COLUMN care_township_code TEXT;
    ALTER TABLE rm_report_spans ADD COLUMN care_township_name TEXT;
    ALTER TABLE rm_report_spans ADD COLUMN care_village_code TEXT;
    ALTER TABLE rm_report_spans ADD COLUMN care_village_name TEXT;
    UPDATE rm_report_spans SET care_household = c.household, care_school = c.school, care_county_code = c.county_code, care_county_name = c.county_name, care_township_code = c.township_code, care_township_name = c.township_name, care_village_code = c.village_code, care_village_name = c.village_name FROM (SELECT s.id, s.household, s.school, h.county_code, h.county_name, h.township_code, h.township_name, h.village_code, h.village_name FROM students s LEFT JOIN households h ON h.id = s.household) AS c WHERE c.id = rm_report_spans.student;
    ALTER TABLE rm_report_months ADD COLUMN care_household TEXT;
    ALTER TABLE rm_report_months ADD COLUMN care_school TEXT;
    ALTER TABLE rm_report_months ADD COLUMN care_county_code TEXT;
    ALTER TABLE rm_report_months ADD COLUMN care_county_name TEXT;
    ALTER TABLE rm_report_months ADD COLUMN care_township_code TEXT;
    ALTER TABLE rm_report_months ADD COLUMN care_township_name TEXT;
    ALTER TABLE rm_report_months ADD COLUMN care_village_code TEXT;
    ALTER TABLE rm_report_months ADD COLUMN care_village_name TEXT;
    UPDATE rm_report_months SET care_household = c.household, care_school = c.school, care_county_code = c.county_code, care_county_name = c.county_name, care_township_code = c.township_code, care_township_name = c.township_name, care_village_code = c.village_code, care_village_name = c.village_name FROM (SELECT s.id, s.household, s.school, h.county_code, h.county_name, h.township_code, h.township_name, h.village_code, h.village_name FROM students s LEFT JOIN households h ON h.id = s.household) AS c WHERE c.id = rm_report_months.student;
    ALTER TABLE rm_report_visits ADD COLUMN care_household TEXT;
    ALTER TABLE rm_report_visits ADD COLUMN care_school TEXT;
    ALTER TABLE rm_report_visits ADD COLUMN care_county_code TEXT;
    ALTER TABLE rm_report_visits ADD COLUMN care_county_name TEXT;
    ALTER TABLE rm_report_visits ADD COLUMN care_township_code TEXT;
    ALTER TABLE rm_report_visits ADD COLUMN care_township_name TEXT;
    ALTER TABLE rm_report_visits ADD COLUMN care_village_code TEXT;
    ALTER TABLE rm_report_visits ADD COLUMN care_village_name TEXT;
    UPDATE rm_report_visits SET care_household = c.household, care_school = c.school, care_county_code = c.county_code, care_county_name = c.county_name, care_township_code = c.township_code, care_township_name = c.township_name, care_village_code = c.village_code, care_village_name = c.village_name FROM (SELECT s.id, s.household, s.school, h.county_code, h.county_name, h.township_code, h.township_name, h.village_code, h.village_name FROM students s LEFT JOIN households h ON h.id = s.household) AS c WHERE c.id = rm_report_visits.student;
    "#,
    // 9: what the report page's 三个一 and device-coverage tables need, kept per child
    // (`rm_students`) and per device check in force (`rm_device_checks`); the cursor is rewound
    // so the next catch-up fills them.
    r#"
    ALTER TABLE rm_students ADD COLUMN home_visit_owed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rm_students ADD COLUMN call_months TEXT NOT NULL DEFAULT '';
    ALTER TABLE rm_students ADD COLUMN poor_household TEXT;
    ALTER TABLE rm_students ADD COLUMN household_head TEXT NOT NULL DEFAULT '';
    ALTER TABLE rm_students ADD COLUMN household_village TEXT NOT NULL DEFAULT '';
    CREATE TABLE rm_device_checks (
        student TEXT NOT NULL,
        record TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        working INTEGER NOT NULL,
        open_problems INTEGER NOT NULL,
        fixed_problems INTEGER NOT NULL
    );
    CREATE INDEX rm_device_checks_student ON rm_device_checks(student);
    DELETE FROM rm_cursor;
    "#,
    // 10: the townships of a reviewer's children (the report page's unit chooser) read from an
    // index holding the county's columns too.
    r#"
    CREATE INDEX rm_students_township ON rm_students(township, care_county_code, care_county_name);
    "#,
    // 11: each child's line in the two ledgers (辍学台账, 建档立卡学生台账), JSON, absent when
    // the child is in neither; each ledger pages in name order over its own index. The cursor
    // is rewound so the next catch-up fills them.
    r#"
    ALTER TABLE rm_students ADD COLUMN dropout_line TEXT;
    ALTER TABLE rm_students ADD COLUMN poor_line TEXT;
    CREATE INDEX rm_students_dropouts ON rm_students(name, student) WHERE dropout_line IS NOT NULL;
    CREATE INDEX rm_students_poor ON rm_students(name, student) WHERE poor_line IS NOT NULL;
    DELETE FROM rm_cursor;
    "#,
    // 12: the student list's counts by group (`store::sql::summaries`): children counted per
    // care columns, filter columns, owing work (0 none, 1 due, 2 overdue) and conflicts, kept
    // with each write of `rm_students`, so a county's totals sum groups instead of children.
    // `gkey` is the group's columns in one value (NULLs included), the key an upsert finds.
    r#"
    CREATE TABLE rm_student_counts (
        gkey TEXT PRIMARY KEY,
        care_county_code TEXT,
        care_county_name TEXT,
        care_township_code TEXT,
        care_township_name TEXT,
        care_village_code TEXT,
        care_village_name TEXT,
        care_school TEXT,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        school TEXT,
        status TEXT,
        owing INTEGER NOT NULL,
        conflicted INTEGER NOT NULL,
        n INTEGER NOT NULL
    );
    INSERT INTO rm_student_counts(gkey, care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, status, owing, conflicted, n)
    SELECT COALESCE(care_county_code, '∅') || '|' || COALESCE(care_county_name, '∅') || '|' || COALESCE(care_township_code, '∅') || '|' || COALESCE(care_township_name, '∅') || '|' || COALESCE(care_village_code, '∅') || '|' || COALESCE(care_village_name, '∅') || '|' || COALESCE(care_school, '∅') || '|' || COALESCE(township, '∅') || '|' || COALESCE(village, '∅') || '|' || COALESCE(school, '∅') || '|' || COALESCE(status, '∅') || '|' || CAST(owing AS TEXT) || '|' || CAST(conflicted AS TEXT), care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, status, owing, conflicted, count(*)
    FROM (SELECT care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, status,
                 CASE WHEN overdue > 0 THEN 2 WHEN due > 0 THEN 1 ELSE 0 END AS owing,
                 CASE WHEN conflicts > 0 THEN 1 ELSE 0 END AS conflicted
          FROM rm_students) g
    GROUP BY care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, status, owing, conflicted;
    "#,
    // 13: the queue's counts by group (`store::sql::read_model`), as the student list's: rows
    // of visits about one student by care columns, filter columns and whether open; visits
    // about several students are counted from their rows, found by their own index.
    r#"
    CREATE TABLE rm_queue_counts (
        gkey TEXT PRIMARY KEY,
        care_county_code TEXT,
        care_county_name TEXT,
        care_township_code TEXT,
        care_township_name TEXT,
        care_village_code TEXT,
        care_village_name TEXT,
        care_school TEXT,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        school TEXT,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        flags TEXT NOT NULL,
        open INTEGER NOT NULL,
        n INTEGER NOT NULL
    );
    INSERT INTO rm_queue_counts(gkey, care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, kind, state, flags, open, n)
    SELECT COALESCE(care_county_code, '∅') || '|' || COALESCE(care_county_name, '∅') || '|' || COALESCE(care_township_code, '∅') || '|' || COALESCE(care_township_name, '∅') || '|' || COALESCE(care_village_code, '∅') || '|' || COALESCE(care_village_name, '∅') || '|' || COALESCE(care_school, '∅') || '|' || COALESCE(township, '∅') || '|' || COALESCE(village, '∅') || '|' || COALESCE(school, '∅') || '|' || COALESCE(kind, '∅') || '|' || COALESCE(state, '∅') || '|' || COALESCE(flags, '∅') || '|' || CAST(open AS TEXT), care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, kind, state, flags, open, count(*)
    FROM rm_queue WHERE n = 1
    GROUP BY care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, kind, state, flags, open;
    CREATE INDEX rm_queue_multi ON rm_queue(record) WHERE n > 1;
    "#,
    // 14: the flagged visits' own index (the queue filtered to flagged pages through it), and
    // the student counts by whether the child has a line in each ledger (a ledger's total sums
    // groups).
    r#"
    CREATE INDEX rm_queue_flagged ON rm_queue(rank, started_ms DESC, record) WHERE flags <> '';
    DROP TABLE rm_student_counts;
    CREATE TABLE rm_student_counts (
        gkey TEXT PRIMARY KEY,
        care_county_code TEXT,
        care_county_name TEXT,
        care_township_code TEXT,
        care_township_name TEXT,
        care_village_code TEXT,
        care_village_name TEXT,
        care_school TEXT,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        school TEXT,
        status TEXT,
        owing INTEGER NOT NULL,
        conflicted INTEGER NOT NULL,
        dropout INTEGER NOT NULL,
        poor INTEGER NOT NULL,
        n INTEGER NOT NULL
    );
    INSERT INTO rm_student_counts(gkey, care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, status, owing, conflicted, dropout, poor, n)
    SELECT COALESCE(care_county_code, '∅') || '|' || COALESCE(care_county_name, '∅') || '|' || COALESCE(care_township_code, '∅') || '|' || COALESCE(care_township_name, '∅') || '|' || COALESCE(care_village_code, '∅') || '|' || COALESCE(care_village_name, '∅') || '|' || COALESCE(care_school, '∅') || '|' || COALESCE(township, '∅') || '|' || COALESCE(village, '∅') || '|' || COALESCE(school, '∅') || '|' || COALESCE(status, '∅') || '|' || CAST(owing AS TEXT) || '|' || CAST(conflicted AS TEXT) || '|' || CAST(dropout AS TEXT) || '|' || CAST(poor AS TEXT), care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, status, owing, conflicted, dropout, poor, count(*)
    FROM (SELECT care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, status,
                 CASE WHEN overdue > 0 THEN 2 WHEN due > 0 THEN 1 ELSE 0 END AS owing,
                 CASE WHEN conflicts > 0 THEN 1 ELSE 0 END AS conflicted,
                 CASE WHEN dropout_line IS NOT NULL THEN 1 ELSE 0 END AS dropout,
                 CASE WHEN poor_line IS NOT NULL THEN 1 ELSE 0 END AS poor
          FROM rm_students) g
    GROUP BY care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name, care_school, township, village, school, status, owing, conflicted, dropout, poor;
    "#,
    // 15: the report page's device coverage reads the registered-poor children from their own
    // narrow index holding every column its unit filter and its household grouping read, not
    // from the wide rows (each carries its ledger lines); and the checks of those children are
    // found from them.
    r#"
    CREATE INDEX rm_students_poor_households ON rm_students(poor_household, student, household_head, household_village, school, township, care_household, care_school, care_county_code, care_county_name, care_township_code, care_township_name, care_village_code, care_village_name)
        WHERE poor_household IS NOT NULL;
    "#,
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// Bring the database to [`CURRENT`], each migration in its own transaction; refuse a newer one.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT {
        return Err(StoreError::SchemaTooNew {
            found,
            known: CURRENT,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_database_reaches_the_current_version_and_stays_there() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, CURRENT);
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused_with_both_versions() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", CURRENT + 1).unwrap();
        let e = migrate(&mut c).unwrap_err();
        assert!(
            matches!(e, StoreError::SchemaTooNew { found, known } if found == CURRENT + 1 && known == CURRENT)
        );
        assert!(e.to_string().contains("upgrade the server"));
    }
}
