//! Roster import and export through the server's own code on a real SQLite file, with the
//! Chinese headers and the file kinds schools actually have.

use baoxue_server::roster::{RosterError, export, import};
use baoxue_server::store::Store;
use baoxue_shared::author::Author;
use baoxue_shared::ids::DeviceId;
use baoxue_shared::op::{EntityRef, FieldKey};
use baoxue_shared::resident_id::with_check_char;
use baoxue_tests::Seeder;
use chrono::Utc;

const HEADERS: [&str; 14] = [
    "姓名",
    "性别",
    "出生日期",
    "身份证件号",
    "学校名称",
    "年级",
    "班级",
    "县（区）",
    "乡（镇）",
    "行政村",
    "户主姓名",
    "是否建档立卡",
    "监护人姓名",
    "监护人联系电话",
];

fn rows() -> Vec<[String; 14]> {
    let r = |a: [&str; 14]| a.map(String::from);
    vec![
        r([
            "杨玥",
            "女",
            "2014-05-06",
            &with_check_char("52263320140506002"),
            "从江县加勉乡中心小学",
            "六年级",
            "2班",
            "从江县",
            "加勉乡",
            "党扭村",
            "杨老三",
            "是",
            "杨奶奶",
            "13800138000",
        ]),
        r([
            "杨昇",
            "男",
            "2016-09-01",
            &with_check_char("52263320160901001"),
            "从江县加勉乡中心小学",
            "四年级",
            "1班",
            "从江县",
            "加勉乡",
            "党扭村",
            "杨老三",
            "是",
            "杨奶奶",
            "13800138000",
        ]),
        r([
            "吴堃",
            "男",
            "2012-02-29",
            "",
            "从江县加勉乡中学",
            "初二",
            "3班",
            "从江县",
            "加勉乡",
            "污扣村",
            "吴二",
            "否",
            "吴二",
            "139 8501 2345",
        ]),
    ]
}

fn write_xlsx(path: &std::path::Path, rows: &[[String; 14]]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

fn admin(s: &Seeder) -> Author {
    let u = s.store.account("admin").unwrap().unwrap().user;
    Author::new(u.id, DeviceId::new())
}

#[test]
fn a_registry_export_imports_and_a_second_import_updates_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let s = Seeder::open(&dir.path().join("data"));
    let mut author = admin(&s);
    let file = dir.path().join("名册.xlsx");
    write_xlsx(&file, &rows());
    let r = import(s.store.as_ref(), &mut author, &file, false, Utc::now()).unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (3, 0, 0));
    let ids = s.store.all_student_ids().unwrap();
    assert_eq!(ids.len(), 3);
    // Siblings share one household; schools were created from their names.
    let mut schools: Vec<String> = s
        .store
        .schools()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    schools.sort();
    assert_eq!(schools, ["从江县加勉乡中学", "从江县加勉乡中心小学"]);

    // Next term: 杨玥 moved up a class; the same file otherwise.
    let mut next = rows();
    next[0][6] = "3班".into();
    write_xlsx(&file, &next);
    let r = import(s.store.as_ref(), &mut author, &file, false, Utc::now()).unwrap();
    assert_eq!(
        (r.added, r.updated),
        (1, 1),
        "吴堃 has no ID, so cannot be matched and is added again; 杨玥 is updated"
    );
    let yue = s
        .store
        .students_by_resident_id(&[baoxue_shared::resident_id::ResidentId::parse(
            &with_check_char("52263320140506002"),
        )
        .unwrap()])
        .unwrap();
    let yue = *yue.values().next().unwrap();
    let mut replica = baoxue_shared::replica::Replica::new();
    replica
        .apply_all(s.store.ops_about_student(yue).unwrap())
        .unwrap();
    assert_eq!(replica.student(yue).unwrap().class.as_deref(), Some("3班"));
    let history = replica
        .register(&FieldKey {
            entity: EntityRef::Student(yue),
            field: "class",
        })
        .unwrap()
        .len();
    assert_eq!(history, 2, "the old class stays in history");
    assert_eq!(
        replica.guardians_of(yue).len(),
        1,
        "the guardian is not added twice"
    );

    // Export: Chinese headers, masked IDs by default, numbers kept as text.
    let out = dir.path().join("导出.xlsx");
    assert_eq!(export(s.store.as_ref(), &out, false).unwrap(), 4);
    use calamine::{Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(&out).unwrap();
    let range = wb.worksheet_range("学生名册").unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header[0], "姓名");
    assert_eq!(header[3], "身份证号");
    let yue_row: Vec<String> = range
        .rows()
        .find(|r| r[0] == "杨玥")
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        yue_row[3],
        "522633********002X".replace("002X", &with_check_char("52263320140506002")[14..])
    );
    assert_eq!(yue_row[6], "3班");
    assert_eq!(yue_row[19], "13800138000");
    s.close();
}

#[test]
fn bad_rows_are_all_reported_and_nothing_is_imported_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Seeder::open(&dir.path().join("data"));
    let mut author = admin(&s);
    let mut bad = rows();
    bad[1][2] = "2016-02-30".into();
    bad[2][13] = "12345".into();
    let file = dir.path().join("名册.xlsx");
    write_xlsx(&file, &bad);
    let e = import(s.store.as_ref(), &mut author, &file, false, Utc::now()).unwrap_err();
    let RosterError::BadRows(errors) = e else {
        panic!("{e}")
    };
    assert_eq!(errors.len(), 2);
    assert_eq!((errors[0].row, errors[0].column.as_str()), (3, "出生日期"));
    assert_eq!(
        (errors[1].row, errors[1].column.as_str()),
        (4, "监护人电话")
    );
    assert!(
        s.store.all_student_ids().unwrap().is_empty(),
        "nothing partial"
    );
    let r = import(s.store.as_ref(), &mut author, &file, true, Utc::now()).unwrap();
    assert_eq!((r.added, r.refused.len()), (1, 2));
    s.close();
}

#[test]
fn a_gbk_csv_from_excel_on_windows_imports() {
    let dir = tempfile::tempdir().unwrap();
    let s = Seeder::open(&dir.path().join("data"));
    let mut author = admin(&s);
    let mut text = HEADERS.join(",") + "\r\n";
    for r in rows() {
        text += &(r.join(",") + "\r\n");
    }
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    let file = dir.path().join("名册.csv");
    std::fs::write(&file, &gbk).unwrap();
    let r = import(s.store.as_ref(), &mut author, &file, false, Utc::now()).unwrap();
    assert_eq!(r.added, 3);
    let names: Vec<String> = s
        .store
        .student_rows(&s.store.all_student_ids().unwrap().into_iter().collect())
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(names.contains(&"吴堃".to_string()), "{names:?}");
    s.close();
}

#[test]
fn a_roster_import_is_seen_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Seeder::open(&data);
    let mut author = admin(&s);
    // 1,500 children of 1,500 households in two new schools: some 27,000 writes.
    let start = chrono::NaiveDate::from_ymd_opt(2012, 9, 1).unwrap();
    let rows: Vec<[String; 14]> = (0..1500)
        .map(|i| {
            let born = start + chrono::Duration::days(i);
            let id = with_check_char(&format!(
                "522633{}{:03}",
                born.format("%Y%m%d"),
                100 + i % 800
            ));
            [
                format!("学生{i}"),
                if i % 2 == 0 { "女" } else { "男" }.into(),
                born.to_string(),
                id,
                if i % 3 == 0 {
                    "从江县加勉乡中学"
                } else {
                    "从江县加勉乡中心小学"
                }
                .into(),
                "四年级".into(),
                "1班".into(),
                "从江县".into(),
                "加勉乡".into(),
                "党扭村".into(),
                format!("户主{i}"),
                "否".into(),
                format!("家长{i}"),
                "13800138000".into(),
            ]
        })
        .collect();
    let file = dir.path().join("名册.xlsx");
    write_xlsx(&file, &rows);
    let db = rusqlite::Connection::open(data.join("baoxue.sqlite3")).unwrap();
    let count = |table: &str| -> i64 {
        db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    let store = s.store.clone();
    let importer = std::thread::spawn(move || {
        import(store.as_ref(), &mut author, &file, false, Utc::now()).expect("imports")
    });
    // Watch from another connection, as the console would, while the import runs.
    let mut seen = std::collections::BTreeSet::new();
    while !importer.is_finished() {
        seen.insert((count("schools"), count("students")));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let report = importer.join().unwrap();
    assert_eq!(report.added, 1500);
    let done = (count("schools"), count("students"));
    seen.insert(done);
    assert_eq!(done, (2, 1500));
    assert!(
        seen.iter().all(|s| *s == (0, 0) || *s == done),
        "part of the import was visible: {seen:?}"
    );
}

#[test]
fn taking_the_roster_away_is_written_to_the_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Seeder::open(&data);
    let admin_id = admin(&s).user;
    s.close();
    let out = dir.path().join("全县名册.xlsx");
    baoxue_server::admin::roster(
        &data,
        baoxue_server::admin::RosterCommand::Export {
            file: out.clone(),
            full_ids: true,
            account: "admin".into(),
        },
    )
    .unwrap();
    assert!(out.exists());
    let (store, _) = baoxue_server::open(&data).unwrap();
    let log = store.access_log(None, None, 10).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].user, admin_id);
    assert!(
        log[0].subject.starts_with("roster.xlsx full_ids"),
        "{:?}",
        log[0]
    );
    store.close();
}
