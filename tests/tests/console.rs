//! The supervisors' console over real HTTP against a real server: a faked-looking visit is
//! flagged with its reason, the reviewer's request reaches the teacher's phone as due work,
//! and a filed monthly report keeps its figures while later records show as amendments.

use baoxue_shared::file::{DueWork, FileContext, StudentFile};
use baoxue_shared::ids::RecordId;
use baoxue_shared::location::{GeoPoint, Location, LocationSource};
use baoxue_shared::observation::{Sha256, Visit, VisitKind};
use baoxue_shared::op::{ReviewAction, StudentField, Target};
use baoxue_shared::people::{Household, Role, Student};
use baoxue_shared::sample;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::{ReportMonth, TermCalendar};
use baoxue_tests::{Browser, Phone, Seeder, TestServer, report_figure};
use chrono::{Duration, Utc};

/// A household with `n` students, their teacher (logged in on a phone that has pulled) and a
/// county supervisor, on a running server.
async fn county_with_teacher(
    dir: &std::path::Path,
    rng: &mut fastrand::Rng,
    n: usize,
) -> (Household, Vec<Student>, TestServer, Phone) {
    let mut seeder = Seeder::open(dir);
    let (h, students) = seeder.household_with_students(rng, n);
    seeder.teacher("teacher", &students);
    seeder.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    seeder.close();
    let server = TestServer::start(dir).await;
    let mut phone = Phone::login(&server, "teacher").await;
    phone.pull().await;
    (h, students, server, phone)
}

#[tokio::test]
async fn a_far_visit_is_flagged_and_the_request_for_evidence_reaches_the_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(5);
    let (h, students, server, mut phone) = county_with_teacher(dir.path(), &mut rng, 1).await;

    // The teacher logs a home visit 3 km from the registered house.
    let home = h.location.expect("sample households are located");
    let at = Utc::now() - Duration::hours(3);
    let visit = Visit {
        location: Some(Location {
            point: GeoPoint::new(home.lat() + 0.027, home.lon()).unwrap(),
            accuracy_m: Some(12.0),
            source: LocationSource::Device,
        }),
        photos: vec![],
        notes: "家访".into(),
        ..sample::visit(
            &mut rng,
            VisitKind::HomeVisit,
            phone.author.user,
            students[0].id,
            &h,
            at,
        )
    };
    let record: RecordId = visit.id;
    let op = phone.make(|a, _| a.record(visit, at + Duration::minutes(20)));
    phone.push(vec![op]).await.expect("pushed");

    // A teacher cannot use the console.
    let r = Browser::attempt_login(&server, "teacher").await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("手机应用"));

    let b = Browser::login(&server, "county").await;
    let (status, page) = b.get("/console/queue?flag=far_from_home").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&record.to_string()),
        "the far visit is listed"
    );
    assert!(
        page.contains("走访定位距该户登记位置 3.0 公里，超过 500 米的允许范围"),
        "the flag explains itself"
    );
    let (_, other) = b.get("/console/queue?flag=photo_reused").await;
    assert!(!other.contains(&record.to_string()), "filters filter");

    // A request without saying what is needed is refused beside the field, nothing stored.
    let path = format!("/console/visits/{record}/review");
    let (status, page) = b
        .post(&path, &[("decision", "request_evidence"), ("comment", " ")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("field-error"), "{page}");
    let (status, _) = b
        .post(
            &path,
            &[
                ("decision", "request_evidence"),
                ("comment", "请补拍与家长在家门口的合影"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = b.get(&format!("/console/visits/{record}")).await;
    assert!(page.contains("待补充证据"));
    assert!(page.contains("请补拍与家长在家门口的合影"));

    // The teacher's next sync brings the request as due work on the student.
    phone.pull().await;
    let terms = TermCalendar::typical(2025..=2027);
    let all = |_: &Sha256| true;
    let file = StudentFile::build(
        &phone.replica,
        students[0].id,
        &FileContext {
            now: Utc::now(),
            terms: &terms,
            photo_present: &all,
        },
    );
    let asked = file.due.iter().find_map(|d| match d {
        DueWork::ReviewRequest { record: r, note } if *r == record => Some(note.clone()),
        _ => None,
    });
    let note = asked.expect("the request is due work on the phone");
    assert_eq!(note.action, ReviewAction::RequestEvidence);
    assert_eq!(note.comment, "请补拍与家长在家门口的合影");

    // Field workers may not review: the server refuses a review op from a phone.
    let op = phone.make(|a, _| a.review(record, ReviewAction::Approve, "", Utc::now()));
    let refused = phone.push(vec![op]).await.unwrap_err();
    assert_eq!(refused.status, 403);

    // The student's file in the browser shows the request and the map.
    let (status, page) = b
        .get(&format!("/console/students/{}", students[0].id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("督导补充证据：请补拍与家长在家门口的合影"));
    assert!(page.contains("<svg"), "a map of the visits");

    // …and as a PDF for the paper archive, with the Chinese font embedded.
    let (status, pdf) = b
        .get_bytes(&format!("/console/students/{}/file.pdf", students[0].id))
        .await;
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("NotoSansCJK"), "the CJK font is embedded");
    assert!(
        text.contains("/ToUnicode"),
        "the text can be searched and copied"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_filed_report_keeps_its_figures_and_later_records_show_as_amendments() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(8);
    let (_, students, server, mut phone) = county_with_teacher(dir.path(), &mut rng, 2).await;
    let now = Utc::now();
    let month = ReportMonth::containing(now);
    let mk = format!("{:04}-{:02}", month.0.year(), month.0.month());
    let drop_out = |phone: &mut Phone, i: usize| {
        let id = students[i].id;
        [
            EnrolmentStatus::SuspectedDropout,
            EnrolmentStatus::DroppedOut,
        ]
        .into_iter()
        .map(|s| {
            phone.make(|a, r| {
                a.set(
                    r,
                    Target::Student {
                        id,
                        set: StudentField::Status(s),
                    },
                    Utc::now(),
                )
            })
        })
        .collect::<Vec<_>>()
    };
    let ops = drop_out(&mut phone, 0);
    phone.push(ops).await.expect("pushed");

    let b = Browser::login(&server, "county").await;
    let report = format!("/console/reports?scope=county&month={mk}");
    let figure = report_figure;
    let (status, draft) = b.get(&report).await;
    assert_eq!(status, 200);
    assert!(draft.contains("草稿"));
    assert_eq!(figure(&draft, "本月新确认辍学"), 1);
    assert_eq!(figure(&draft, "月末仍未返校"), 1);
    assert_eq!(figure(&draft, "6–15周岁在籍学生数"), 2);
    let (_, again) = b.get(&report).await;
    assert_eq!(
        figure(&again, "本月新确认辍学"),
        figure(&draft, "本月新确认辍学"),
        "the same month asked twice gives the same figures"
    );

    let (status, _) = b
        .post(
            "/console/reports/file",
            &[("scope", "county"), ("month", &mk)],
        )
        .await;
    assert_eq!(status, 303);
    // Filing is once: a second filing keeps the first.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    // A late record: the second child dropped out inside the month, synced after filing.
    let ops = drop_out(&mut phone, 1);
    phone.push(ops).await.expect("pushed");
    let (_, filed) = b.get(&report).await;
    assert!(filed.contains("由 county 报送"), "says who filed it");
    assert_eq!(
        figure(&filed, "本月新确认辍学"),
        1,
        "the filed figure does not change silently"
    );
    assert!(filed.contains("报送后的更正"));
    let amendments = &filed[filed.find("id=\"amendments\"").expect("amendments table")..];
    assert!(amendments.contains("本月新确认辍学"));
    assert!(
        filed.contains("学籍状态改为“辍学”"),
        "the late record is named"
    );

    // The Excel file carries the filed figures and the amendments sheet.
    let (status, bytes) = b
        .get_bytes(&format!(
            "/console/exports/monthly.xlsx?scope=county&month={mk}"
        ))
        .await;
    assert_eq!(status, 200);
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("a real .xlsx");
    let sheet = wb.worksheet_range("月报表").expect("report sheet");
    let row = sheet
        .rows()
        .find(|r| r.iter().any(|c| *c == "本月新确认辍学"))
        .expect("the dropouts row");
    assert_eq!(row[2].to_string(), "1");
    assert_eq!(
        sheet.get_value((0, 0)).map(|c| c.to_string()).as_deref(),
        Some("控辍保学月报表")
    );
    let am = wb.worksheet_range("更正说明").expect("amendments sheet");
    let row = am
        .rows()
        .find(|r| r.iter().any(|c| *c == "本月新确认辍学"))
        .expect("the amended figure");
    assert_eq!(
        (row[1].to_string(), row[2].to_string()),
        ("1".into(), "2".into())
    );

    // The dropout ledger lists both children with their status.
    let (status, bytes) = b
        .get_bytes(&format!(
            "/console/exports/dropouts.xlsx?scope=county&month={mk}"
        ))
        .await;
    assert_eq!(status, 200);
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = wb.worksheet_range("辍学台账").unwrap();
    let names: Vec<String> = sheet.rows().skip(3).map(|r| r[0].to_string()).collect();
    let mut expected: Vec<String> = students.iter().map(|s| s.name.clone()).collect();
    let mut got = names.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    server.stop().await;
}

#[tokio::test]
async fn a_reviewer_settles_a_status_conflict_and_both_values_stay_in_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(13);
    let (_, students, server, mut phone_a) = county_with_teacher(dir.path(), &mut rng, 1).await;
    let id = students[0].id;
    let status = |s| Target::Student {
        id,
        set: StudentField::Status(s),
    };
    // The student dropped out; both of the teacher's phones know it.
    let op = phone_a.make(|a, r| a.set(r, status(EnrolmentStatus::SuspectedDropout), Utc::now()));
    phone_a.push(vec![op]).await.unwrap();
    let op = phone_a.make(|a, r| a.set(r, status(EnrolmentStatus::DroppedOut), Utc::now()));
    phone_a.push(vec![op]).await.unwrap();
    let mut phone_b = Phone::login(&server, "teacher").await;
    phone_b.pull().await;
    // Offline, one phone records that persuasion has begun, the other that the child is back.
    // Choosing 劝返中 is not a legal move from 已返校 — but settling is a choice, not a move.
    let persuading = phone_a.make(|a, r| a.set(r, status(EnrolmentStatus::Persuading), Utc::now()));
    let back = phone_b.make(|a, r| a.set(r, status(EnrolmentStatus::Returned), Utc::now()));
    let chosen = persuading.id;
    phone_a.push(vec![persuading]).await.unwrap();
    phone_b.push(vec![back]).await.unwrap();

    let b = Browser::login(&server, "county").await;
    let page_path = format!("/console/students/{id}");
    let (_, page) = b.get(&page_path).await;
    assert!(page.contains("待核实的冲突"), "{page}");
    assert!(
        page.contains("已返校") && page.contains("劝返中"),
        "both values shown"
    );

    let (status_code, _) = b
        .post(
            &format!("{page_path}/resolve"),
            &[("choose", &chosen.to_string())],
        )
        .await;
    assert_eq!(status_code, 303);
    let (_, page) = b.get(&page_path).await;
    assert!(!page.contains("待核实的冲突"), "settled");
    // Settling again is refused: the candidates are gone.
    let (status_code, page) = b
        .post(
            &format!("{page_path}/resolve"),
            &[("choose", &chosen.to_string())],
        )
        .await;
    assert_eq!(status_code, 409, "{page}");

    // The phones learn the decision; both concurrent values stay in the field's history.
    phone_b.pull().await;
    let s = phone_b.replica.student(id).unwrap();
    assert_eq!(s.status, EnrolmentStatus::Persuading);
    let key = baoxue_shared::op::FieldKey {
        entity: baoxue_shared::op::EntityRef::Student(id),
        field: "status",
    };
    let reg = phone_b.replica.register(&key).unwrap();
    assert!(!reg.is_conflicted());
    assert!(
        reg.history().count() >= 5,
        "every value ever written is kept"
    );
    server.stop().await;
}

/// A photo as a common tool writes its EXIF (piexif: no next-IFD offset after the Exif
/// sub-IFD), taken on 18 November at 25.7512 N, 108.9123 E (`shared/tests/fixtures/exif`).
fn piexif_photo() -> Vec<u8> {
    // Looked up when the test runs: a binary built from a clone elsewhere (a shared target
    // directory) would carry that clone's path.
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
    std::fs::read(format!("{dir}/../shared/tests/fixtures/exif/piexif.jpg")).unwrap()
}

#[tokio::test]
async fn a_photo_taken_days_earlier_elsewhere_is_flagged_whatever_the_phone_claims() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(5);
    let (h, students, server, mut phone) = county_with_teacher(dir.path(), &mut rng, 1).await;
    let home = h.location.expect("sample households are located");
    let bytes = piexif_photo();
    let taken_at = GeoPoint::new(25.7512, 108.9123).unwrap();
    let km = home.distance_m(&taken_at) / 1000.0;
    assert!(
        km > 1.0,
        "the photo was taken away from this house ({km:.1} km)"
    );

    // A photo cut short on the way is refused, saying so.
    let cut = &bytes[..bytes.len() - 2];
    let r = phone
        .http
        .put(server.url(&format!("/api/photos/{}", Sha256::of(cut))))
        .bearer_auth(&phone.token)
        .body(cut.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "photo_incomplete", "{body}");

    let sha = Sha256::of(&bytes);
    let r = phone
        .http
        .put(server.url(&format!("/api/photos/{sha}")))
        .bearer_auth(&phone.token)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The visit claims a fresh photo taken at the house, on a visit logged at the house.
    let at = Utc::now() - Duration::hours(1);
    let visit = Visit {
        location: Some(Location {
            point: home,
            accuracy_m: Some(10.0),
            source: LocationSource::Device,
        }),
        photos: vec![baoxue_shared::observation::PhotoRef {
            sha256: sha,
            bytes: bytes.len() as u64,
            width: 96,
            height: 64,
            captured_at: Some(at),
            gps: Some(home),
        }],
        ..sample::visit(
            &mut rng,
            VisitKind::HomeVisit,
            phone.author.user,
            students[0].id,
            &h,
            at,
        )
    };
    let record = visit.id;
    let op = phone.make(|a, _| a.record(visit, at + Duration::minutes(20)));
    phone.push(vec![op]).await.expect("pushed");

    let b = Browser::login(&server, "county").await;
    let (status, page) = b.get(&format!("/console/visits/{record}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("照片拍摄时间比走访时间早") && page.contains(" 天"),
        "the photo's own time, days before the visit: {page}"
    );
    assert!(
        page.contains(&format!("照片拍摄位置距该户登记位置 {km:.1} 公里")),
        "the photo's own place, away from the house: {page}"
    );
    let (_, queue) = b.get("/console/queue?flag=photo_place_far").await;
    assert!(queue.contains(&record.to_string()), "filterable");
    server.stop().await;
}

/// The record ids a queue page lists, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("data-record=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

/// A link on the page by its id, `&amp;` undone.
fn link(page: &str, id: &str) -> Option<String> {
    let at = page.find(&format!("id=\"{id}\""))?;
    let tag_start = page[..at].rfind('<')?;
    let tag = &page[tag_start..page[at..].find('>')? + at];
    let href = tag.split("href=\"").nth(1)?.split('"').next()?;
    Some(href.replace("&amp;", "&"))
}

#[tokio::test]
async fn the_queue_comes_a_page_at_a_time_with_its_counts_and_new_records_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(8);
    let (h, students, server, mut phone) = county_with_teacher(dir.path(), &mut rng, 2).await;
    // 70 phone calls (nothing to flag) over the last weeks, in two pushes.
    let start = Utc::now() - Duration::days(30);
    let mut ops = Vec::new();
    for i in 0..70 {
        let at = start + Duration::hours(i * 7);
        let v = sample::visit(
            &mut rng,
            VisitKind::PhoneCall,
            phone.author.user,
            students[i as usize % 2].id,
            &h,
            at,
        );
        ops.push(phone.make(|a, _| a.record(v, at + Duration::minutes(30))));
    }
    let rest = ops.split_off(40);
    phone.push(ops).await.expect("pushed");
    phone.push(rest).await.expect("pushed");

    let b = Browser::login(&server, "county").await;
    let (status, first) = b.get("/console/queue?kind=phone_call").await;
    assert_eq!(status, 200);
    let page1 = listed(&first);
    assert_eq!(page1.len(), 50, "one page of 50");
    assert!(
        first.contains("共 70 条走访记录；当前筛选 70 条，其中待审核 70 条、有证据提示 0 条"),
        "the counts are of the whole queue"
    );
    assert!(
        link(&first, "prev-page").is_none(),
        "nothing before the first page"
    );
    let next = link(&first, "next-page").expect("a next page");
    assert!(
        next.contains("kind=phone_call"),
        "the filter carries over: {next}"
    );
    let (_, second) = b.get(&next).await;
    let page2 = listed(&second);
    assert_eq!(page2.len(), 20, "the rest");
    assert!(page1.iter().all(|r| !page2.contains(r)), "no row twice");
    assert!(
        link(&second, "next-page").is_none(),
        "nothing after the last page"
    );
    let (_, back) = b
        .get(&link(&second, "prev-page").expect("a previous page"))
        .await;
    assert_eq!(listed(&back), page1, "back to the first page");

    // Newest first among the unreviewed: the first row is the last call.
    let newest = sample::visit(
        &mut rng,
        VisitKind::PhoneCall,
        phone.author.user,
        students[0].id,
        &h,
        Utc::now() - Duration::minutes(40),
    );
    let id = newest.id.to_string();
    let op = phone.make(|a, _| a.record(newest, Utc::now()));
    phone.push(vec![op]).await.expect("pushed");
    // The very next page load lists it (no waiting for a background refresh).
    let (_, now) = b.get("/console/queue?kind=phone_call").await;
    assert_eq!(listed(&now).first(), Some(&id), "the new call is first");
    assert!(now.contains("共 71 条走访记录"));
    // A page key that is not one is refused naming the parameter.
    let (status, bad) = b.get("/console/queue?after=garbage").await;
    assert_eq!(status, 400);
    assert!(bad.contains("after"), "{bad}");
    server.stop().await;
}

#[tokio::test]
async fn a_visit_outside_the_reviewers_care_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(9);
    let mut seeder = Seeder::open(dir.path());
    let (h, students) = seeder.household_with_students(&mut rng, 1);
    seeder.teacher("teacher", &students);
    seeder.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    // A township supervisor whose township is not this child's: nothing in their care.
    seeder.user("elsewhere", Role::TownshipSupervisor, vec![]);
    seeder.close();
    let server = TestServer::start(dir.path()).await;
    let mut phone = Phone::login(&server, "teacher").await;
    phone.pull().await;
    let at = Utc::now() - Duration::hours(2);
    let v = sample::visit(
        &mut rng,
        VisitKind::HomeVisit,
        phone.author.user,
        students[0].id,
        &h,
        at,
    );
    let record = v.id;
    let op = phone.make(|a, _| a.record(v, at + Duration::minutes(30)));
    phone.push(vec![op]).await.expect("pushed");

    let path = format!("/console/visits/{record}");
    let (status, page) = Browser::login(&server, "county").await.get(&path).await;
    assert_eq!(status, 200);
    assert!(page.contains(&students[0].name), "the county sees it");
    let other = Browser::login(&server, "elsewhere").await;
    let (status, page) = other.get(&path).await;
    assert_eq!(status, 404, "not told apart from no record");
    assert!(!page.contains(&students[0].name), "{page}");
    let (_, queue) = other.get("/console/queue").await;
    assert!(!queue.contains(&record.to_string()), "nor in their queue");
    server.stop().await;
}

/// The student ids a student-list page lists, in order.
fn students_listed(page: &str) -> Vec<String> {
    page.split("data-student=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_student_list_comes_a_page_at_a_time_in_name_order_and_follows_new_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(21);
    let mut seeder = baoxue_tests::Seeder::open(dir.path());
    let mut all: Vec<Student> = Vec::new();
    for _ in 0..20 {
        let (_, kids) = seeder.household_with_students(&mut rng, 3);
        all.extend(kids);
    }
    seeder.teacher("teacher", &all);
    seeder.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    seeder.close();
    let server = TestServer::start(dir.path()).await;
    let b = Browser::login(&server, "county").await;

    let (status, first) = b.get("/console/students").await;
    assert_eq!(status, 200);
    assert!(
        first.contains("共 60 名学生；当前筛选 60 名"),
        "the counts are of the whole list"
    );
    let page1 = students_listed(&first);
    assert_eq!(page1.len(), 50, "one page of 50");
    let (_, second) = b
        .get(&link(&first, "next-page").expect("a next page"))
        .await;
    let page2 = students_listed(&second);
    assert_eq!(page2.len(), 10, "the rest");
    assert!(link(&second, "next-page").is_none());
    // In name order across the pages, each student once.
    let mut by_name: Vec<&Student> = all.iter().collect();
    by_name.sort_by(|a, b| (&a.name, a.id.to_string()).cmp(&(&b.name, b.id.to_string())));
    let want: Vec<String> = by_name.iter().map(|s| s.id.to_string()).collect();
    let got: Vec<String> = page1.iter().chain(&page2).cloned().collect();
    assert_eq!(got, want);
    let (_, back) = b
        .get(&link(&second, "prev-page").expect("a previous page"))
        .await;
    assert_eq!(students_listed(&back), page1, "back to the first page");

    // A teacher reports a dropout; the very next list filtered by that status shows the child.
    let mut phone = Phone::login(&server, "teacher").await;
    phone.pull().await;
    let child = &by_name[55];
    let op = phone.make(|a, r| {
        a.set(
            r,
            Target::Student {
                id: child.id,
                set: StudentField::Status(EnrolmentStatus::DroppedOut),
            },
            Utc::now(),
        )
    });
    phone.push(vec![op]).await.expect("pushed");
    let (_, dropped) = b.get("/console/students?status=dropped_out").await;
    assert_eq!(students_listed(&dropped), vec![child.id.to_string()]);
    assert!(dropped.contains("当前筛选 1 名"), "{dropped}");
    // Owing work: a dropout owes a persuasion visit.
    let (_, owing) = b
        .get("/console/students?owing=due&status=dropped_out")
        .await;
    assert_eq!(students_listed(&owing).len(), 1);
    // A filter value that names nothing is refused naming the parameter.
    let (status, bad) = b.get("/console/students?owing=soon").await;
    assert_eq!(status, 400);
    assert!(bad.contains("owing"), "{bad}");
    server.stop().await;
}

/// The table `id` of a console page, as text.
fn table<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let rest = &page[at..];
    &rest[..rest.find("</table>").expect("the table ends")]
}

#[tokio::test]
async fn the_report_page_counts_each_teachers_visits_and_each_poor_households_device_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(3);
    let (h, students, server, mut phone) = county_with_teacher(dir.path(), &mut rng, 2).await;
    assert!(
        h.registered_poor,
        "the seed gives a registered-poor household"
    );
    let b = Browser::login(&server, "county").await;
    let (status, before) = b.get("/console/reports").await;
    assert_eq!(status, 200);
    let rhythm = table(&before, "three-ones");
    assert!(rhythm.contains("（teacher）"), "{rhythm}");
    assert!(
        rhythm.contains("0 / 2"),
        "two children owed a visit and a call, none made: {rhythm}"
    );
    let coverage = table(&before, "coverage");
    assert!(
        coverage.contains("<td class=\"num\">1</td><td class=\"num\">0</td>"),
        "one poor household, not checked: {coverage}"
    );

    // A home visit to the first child with a device check: a visit this term, a contact this
    // month, the household checked.
    let visit = loop {
        let v = sample::visit(
            &mut rng,
            VisitKind::HomeVisit,
            phone.author.user,
            students[0].id,
            &h,
            Utc::now() - Duration::minutes(30),
        );
        if v.device_check.is_some() {
            break v;
        }
    };
    let at = visit.started_at;
    let op = phone.make(|a, _| a.record(visit, at + Duration::minutes(20)));
    phone.push(vec![op]).await.expect("pushed");

    let (_, after) = b.get("/console/reports").await;
    let rhythm = table(&after, "three-ones");
    assert_eq!(
        rhythm.matches("1 / 2").count(),
        2,
        "one of two home visits and one of two calls: {rhythm}"
    );
    let coverage = table(&after, "coverage");
    assert!(
        coverage.contains("<td class=\"num\">1</td><td class=\"num\">1</td>"),
        "the household checked: {coverage}"
    );
    server.stop().await;
}

/// The cells of an .xlsx sheet below its three heading rows.
fn sheet_rows(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a real .xlsx");
    let range = wb.worksheet_range(sheet).expect("the sheet");
    range
        .rows()
        .skip(3)
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn the_ledgers_come_a_page_at_a_time_and_download_whole_with_each_childs_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(8);
    let mut seeder = Seeder::open(dir.path());
    let mut all: Vec<(Household, Student)> = Vec::new();
    for _ in 0..20 {
        let (h, kids) = seeder.household_with_students(&mut rng, 3);
        all.extend(kids.into_iter().map(|k| (h.clone(), k)));
    }
    let students: Vec<Student> = all.iter().map(|(_, s)| s.clone()).collect();
    seeder.teacher("teacher", &students);
    seeder.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    seeder.close();
    let server = TestServer::start(dir.path()).await;
    let mut phone = Phone::login(&server, "teacher").await;
    phone.pull().await;
    let b = Browser::login(&server, "county").await;

    // Nobody is out of school yet: the dropout ledger is empty.
    let (status, empty) = b.get("/console/ledgers/dropouts?scope=county").await;
    assert_eq!(status, 200);
    assert!(empty.contains("共 0 人"), "{empty}");

    // Every child but one is reported a suspected dropout; the one left stays in school.
    let out: Vec<&Student> = students.iter().skip(1).collect();
    let ops: Vec<_> = out
        .iter()
        .map(|s| {
            phone.make(|a, r| {
                a.set(
                    r,
                    Target::Student {
                        id: s.id,
                        set: StudentField::Status(EnrolmentStatus::SuspectedDropout),
                    },
                    Utc::now() - Duration::days(3),
                )
            })
        })
        .collect();
    phone.push(ops).await.expect("pushed");
    // Two persuasion visits to one child, the later one by administrative means.
    let (home, child) = all[5].clone();
    let mut methods = Vec::new();
    for days in [2, 1] {
        let mut v = sample::visit(
            &mut rng,
            VisitKind::Persuasion,
            phone.author.user,
            child.id,
            &home,
            Utc::now() - Duration::days(days),
        );
        let p = v.persuasion.as_mut().expect("a persuasion attempt");
        p.method = if days == 1 {
            baoxue_shared::observation::MethodLevel::Administrative
        } else {
            baoxue_shared::observation::MethodLevel::Reasoning
        };
        methods.push(p.method);
        let at = v.started_at;
        let op = phone.make(|a, _| a.record(v, at + Duration::minutes(30)));
        phone.push(vec![op]).await.expect("pushed");
    }

    // 59 lines: 50 on the first page, 9 on the next, in name order, each child once.
    let (_, first) = b.get("/console/ledgers/dropouts?scope=county").await;
    assert!(first.contains("共 59 人"), "{first}");
    let page1 = students_listed(&first);
    assert_eq!(page1.len(), 50);
    let (_, second) = b
        .get(&link(&first, "next-page").expect("a next page"))
        .await;
    let page2 = students_listed(&second);
    assert_eq!(page2.len(), 9);
    let mut by_name: Vec<&&Student> = out.iter().collect();
    by_name.sort_by(|a, b| (&a.name, a.id.to_string()).cmp(&(&b.name, b.id.to_string())));
    let want: Vec<String> = by_name.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(
        page1.iter().chain(&page2).cloned().collect::<Vec<_>>(),
        want
    );
    let (_, back) = b
        .get(&link(&second, "prev-page").expect("a previous page"))
        .await;
    assert_eq!(students_listed(&back), page1);
    // The persuaded child's line: two attempts, the latest by administrative means.
    let line = |page: &str| -> String {
        let at = page
            .find(&format!("data-student=\"{}\"", child.id))
            .expect("the child's line");
        page[at..at + page[at..].find("</tr>").unwrap()].to_string()
    };
    let shown = if page1.contains(&child.id.to_string()) {
        line(&first)
    } else {
        line(&second)
    };
    assert!(shown.contains("<td class=\"num\">2</td>"), "{shown}");
    assert!(shown.contains(methods[1].zh()), "{shown}");
    assert!(
        shown.contains(EnrolmentStatus::SuspectedDropout.zh()),
        "{shown}"
    );

    // The download holds the whole ledger, the same lines in the same order.
    let (status, bytes) = b
        .get_bytes("/console/exports/dropouts.xlsx?scope=county")
        .await;
    assert_eq!(status, 200);
    let rows = sheet_rows(&bytes, "辍学台账");
    let want_names: Vec<String> = by_name.iter().map(|s| s.name.clone()).collect();
    assert_eq!(
        rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        want_names
    );
    let row = rows
        .iter()
        .zip(&by_name)
        .find(|(_, s)| s.id == child.id)
        .map(|(r, _)| r)
        .expect("the child's row");
    assert_eq!(row[11], "2", "attempts, as a number: {row:?}");
    assert_eq!(row[12], methods[1].zh());
    assert_eq!(row[14], EnrolmentStatus::SuspectedDropout.zh());

    // The registered-poor children's ledger: one of them checked this morning.
    let poor: Vec<&(Household, Student)> = all.iter().filter(|(h, _)| h.registered_poor).collect();
    assert!(
        !poor.is_empty(),
        "the seed gives registered-poor households"
    );
    let (h, checked) = poor[0].clone();
    let visit = loop {
        let v = sample::visit(
            &mut rng,
            VisitKind::HomeVisit,
            phone.author.user,
            checked.id,
            &h,
            Utc::now() - Duration::minutes(90),
        );
        if v.device_check.is_some() {
            break v;
        }
    };
    let works = visit.device_check.as_ref().unwrap().device_works;
    let at = visit.started_at;
    let op = phone.make(|a, _| a.record(visit, at + Duration::minutes(20)));
    phone.push(vec![op]).await.expect("pushed");
    let (_, page) = b.get("/console/ledgers/poor?scope=county").await;
    assert!(
        page.contains(&format!("共 {} 人", poor.len())),
        "every registered-poor child: {page}"
    );
    assert_eq!(students_listed(&page).len(), poor.len());
    let (_, bytes) = b.get_bytes("/console/exports/poor.xlsx?scope=county").await;
    let rows = sheet_rows(&bytes, "建档立卡学生台账");
    assert_eq!(rows.len(), poor.len());
    // Under the title, this term's coverage: every poor household, the one checked.
    let households: std::collections::BTreeSet<_> = poor.iter().map(|(h, _)| h.id).collect();
    let subtitle = {
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
        let range = wb.worksheet_range("建档立卡学生台账").unwrap();
        range
            .get_value((1, 0))
            .map(|c| c.to_string())
            .unwrap_or_default()
    };
    assert!(
        subtitle.contains(&format!(
            "建档立卡户 {} 户，本学期已检查学习设备 1 户",
            households.len()
        )),
        "{subtitle}"
    );
    let row = rows
        .iter()
        .find(|r| r[0] == checked.name && r[3] == h.head)
        .expect("the checked child's row");
    assert_eq!(
        row[5],
        baoxue_shared::time::china_date(at).to_string(),
        "{row:?}"
    );
    assert_eq!(
        row[6],
        if works == baoxue_shared::observation::Answer::Yes {
            "是"
        } else {
            "否"
        }
    );
    let unchecked = rows.iter().filter(|r| r[5] == "未检查").count();
    assert!(unchecked > 0 && unchecked < rows.len(), "{rows:?}");

    // A ledger there is not is not found.
    // A key that names no student is refused naming the parameter.
    let (status, bad) = b
        .get("/console/ledgers/poor?scope=county&after=garbage")
        .await;
    assert_eq!(status, 400);
    assert!(bad.contains("after"), "{bad}");
    for path in ["nothing", "poor.xlsx"] {
        let (status, _) = b
            .get(&format!("/console/ledgers/{path}?scope=county"))
            .await;
        assert_eq!(status, 404, "{path}");
    }
    server.stop().await;
}
