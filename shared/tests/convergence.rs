//! The merge's promises, property-tested: random operation sets from several devices with
//! wrong clocks, partial knowledge of each other, corrections and voids — delivered in random
//! orders, duplicated and delayed, with and without server receipts — to several replicas.
//! Every replica ends in the same state, and no value ever written is missing from history.

use baoxue_shared::author::Author;
use baoxue_shared::file::{FileContext, StudentFile};
use baoxue_shared::ids::{DeviceId, GuardianId, RecordId, StudentId, UserId};
use baoxue_shared::observation::{Sha256, Visit, VisitKind};
use baoxue_shared::op::{GuardianField, Op, OpBody, ReviewAction, StudentField, Target};
use baoxue_shared::people::Relation;
use baoxue_shared::phone::MobileNumber;
use baoxue_shared::replica::Replica;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::TermCalendar;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

/// One step of the simulated field week.
#[derive(Debug, Clone)]
enum Step {
    /// Device `d` sets student `s`'s status to `ALL[v]`.
    Status { d: usize, s: usize, v: usize },
    /// Device `d` sets student `s`'s name.
    Name { d: usize, s: usize, n: u8 },
    /// Device `d` sets the guardian's phone.
    Phone { d: usize, s: usize, n: u8 },
    /// Device `d` records a visit to student `s`.
    Visit { d: usize, s: usize },
    /// Device `d` corrects the `k`-th visit it knows.
    Correct { d: usize, k: usize },
    /// Device `d` voids the `k`-th visit it knows.
    Void { d: usize, k: usize },
    /// Device `d` reviews the `k`-th visit it knows with `ReviewAction::ALL[a]`.
    Review { d: usize, k: usize, a: usize },
    /// Device `d` learns everything device `from` knows (a sync through the server).
    Sync { d: usize, from: usize },
    /// Time passes on every device.
    Wait { minutes: u16 },
}

const DEVICES: usize = 3;
const STUDENTS: usize = 2;

fn step() -> impl Strategy<Value = Step> {
    let d = 0..DEVICES;
    let s = 0..STUDENTS;
    prop_oneof![
        (d.clone(), s.clone(), 0..EnrolmentStatus::ALL.len()).prop_map(|(d, s, v)| Step::Status {
            d,
            s,
            v
        }),
        (d.clone(), s.clone(), any::<u8>()).prop_map(|(d, s, n)| Step::Name { d, s, n }),
        (d.clone(), s.clone(), any::<u8>()).prop_map(|(d, s, n)| Step::Phone { d, s, n }),
        (d.clone(), s.clone()).prop_map(|(d, s)| Step::Visit { d, s }),
        (d.clone(), 0usize..8).prop_map(|(d, k)| Step::Correct { d, k }),
        (d.clone(), 0usize..8).prop_map(|(d, k)| Step::Void { d, k }),
        (d.clone(), 0usize..8, 0..ReviewAction::ALL.len()).prop_map(|(d, k, a)| Step::Review {
            d,
            k,
            a
        }),
        (d.clone(), d.clone()).prop_map(|(d, from)| Step::Sync { d, from }),
        (1u16..600).prop_map(|minutes| Step::Wait { minutes }),
    ]
}

/// A device's clock error in minutes: mostly small, sometimes days either way.
fn skew() -> impl Strategy<Value = i64> {
    prop_oneof![3 => -5i64..5, 1 => Just(3 * 24 * 60), 1 => Just(-400 * 24 * 60)]
}

/// Makes one op with the device's author, its view of the world, and its (skewed) clock.
type MakeOp = Box<dyn FnOnce(&mut Author, &Replica, DateTime<Utc>) -> Op>;

struct Device {
    author: Author,
    seen: Replica,
    skew: i64,
    visits: Vec<Visit>,
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap()
}

/// Run the steps; return every op made (in creation order) and the real time at the end.
fn simulate(steps: &[Step], skews: &[i64]) -> (Vec<Op>, Vec<StudentId>, DateTime<Utc>) {
    let students: Vec<StudentId> = (0..STUDENTS).map(|_| StudentId::new()).collect();
    let guardians: Vec<GuardianId> = (0..STUDENTS).map(|_| GuardianId::new()).collect();
    let mut devices: Vec<Device> = skews
        .iter()
        .map(|&skew| Device {
            author: Author::new(UserId::new(), DeviceId::new()),
            seen: Replica::new(),
            skew,
            visits: vec![],
        })
        .collect();
    let mut all = Vec::new();
    let mut now = base();
    for (i, st) in steps.iter().enumerate() {
        now += Duration::seconds(7);
        let make = |dev: &mut Device, body: MakeOp| {
            let local = now + Duration::minutes(dev.skew);
            let op = body(&mut dev.author, &dev.seen, local);
            dev.seen.apply(op.clone()).unwrap();
            op
        };
        let op = match st.clone() {
            Step::Status { d, s, v } => {
                let id = students[s];
                Some(make(
                    &mut devices[d],
                    Box::new(move |a, seen, t| {
                        a.set(
                            seen,
                            Target::Student {
                                id,
                                set: StudentField::Status(EnrolmentStatus::ALL[v]),
                            },
                            t,
                        )
                    }),
                ))
            }
            Step::Name { d, s, n } => {
                let id = students[s];
                Some(make(
                    &mut devices[d],
                    Box::new(move |a, seen, t| {
                        a.set(
                            seen,
                            Target::Student {
                                id,
                                set: StudentField::Name(format!("学生{n}")),
                            },
                            t,
                        )
                    }),
                ))
            }
            Step::Phone { d, s, n } => {
                let (id, student) = (guardians[s], students[s]);
                let dev = &mut devices[d];
                if dev
                    .seen
                    .heads(baoxue_shared::op::EntityRef::Guardian(id), "student")
                    .is_empty()
                {
                    let o = make(
                        dev,
                        Box::new(move |a, seen, t| {
                            a.set(
                                seen,
                                Target::Guardian {
                                    id,
                                    set: GuardianField::Student(student),
                                },
                                t,
                            )
                        }),
                    );
                    all.push(o);
                    let o = make(
                        dev,
                        Box::new(move |a, seen, t| {
                            a.set(
                                seen,
                                Target::Guardian {
                                    id,
                                    set: GuardianField::Relation(Relation::Mother),
                                },
                                t,
                            )
                        }),
                    );
                    all.push(o);
                }
                let phone = MobileNumber::parse(&format!("139{:08}", n)).unwrap();
                Some(make(
                    dev,
                    Box::new(move |a, seen, t| {
                        a.set(
                            seen,
                            Target::Guardian {
                                id,
                                set: GuardianField::Phone(Some(phone)),
                            },
                            t,
                        )
                    }),
                ))
            }
            Step::Visit { d, s } => {
                let dev = &mut devices[d];
                let v = Visit {
                    id: RecordId::new(),
                    corrects: None,
                    kind: VisitKind::HomeVisit,
                    visitors: vec![dev.author.user],
                    companions: vec![],
                    students: vec![students[s]],
                    household: None,
                    guardians_met: vec![],
                    started_at: now + Duration::minutes(dev.skew),
                    ended_at: None,
                    location: None,
                    notes: format!("第{i}步"),
                    photos: vec![],
                    device_check: None,
                    persuasion: None,
                    subsidy: None,
                };
                dev.visits.push(v.clone());
                Some(make(dev, Box::new(move |a, _, t| a.record(v, t))))
            }
            Step::Correct { d, k } => {
                let dev = &mut devices[d];
                if dev.visits.is_empty() {
                    None
                } else {
                    let orig = dev.visits[k % dev.visits.len()].clone();
                    let mut v = orig.clone();
                    v.id = RecordId::new();
                    v.corrects = Some(orig.id);
                    v.notes = format!("更正{i}");
                    dev.visits.push(v.clone());
                    Some(make(dev, Box::new(move |a, _, t| a.record(v, t))))
                }
            }
            Step::Void { d, k } => {
                let dev = &mut devices[d];
                if dev.visits.is_empty() {
                    None
                } else {
                    let rid = dev.visits[k % dev.visits.len()].id;
                    Some(make(
                        dev,
                        Box::new(move |a, _, t| a.void(rid, "核查不实", t)),
                    ))
                }
            }
            Step::Review { d, k, a } => {
                let dev = &mut devices[d];
                if dev.visits.is_empty() {
                    None
                } else {
                    let rid = dev.visits[k % dev.visits.len()].id;
                    let action = ReviewAction::ALL[a];
                    Some(make(
                        dev,
                        Box::new(move |au, _, t| au.review(rid, action, "请补充照片", t)),
                    ))
                }
            }
            Step::Sync { d, from } => {
                if d != from {
                    let theirs: Vec<Op> = devices[from].seen.ops().cloned().collect();
                    let their_visits = devices[from].visits.clone();
                    let dev = &mut devices[d];
                    let local = now + Duration::minutes(dev.skew);
                    for o in theirs {
                        dev.author.clock.observe(o.hlc, local);
                        dev.seen.apply(o).unwrap();
                    }
                    for v in their_visits {
                        if !dev.visits.iter().any(|x| x.id == v.id) {
                            dev.visits.push(v);
                        }
                    }
                }
                None
            }
            Step::Wait { minutes } => {
                now += Duration::minutes(i64::from(minutes));
                None
            }
        };
        all.extend(op);
    }
    (all, students, now)
}

/// A deterministic shuffle (xorshift), so a failing case replays from its seed.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_delivery(
        steps in proptest::collection::vec(step(), 1..60),
        skews in proptest::collection::vec(skew(), DEVICES),
        seeds in proptest::collection::vec(any::<u64>(), 3),
        receipted in proptest::collection::vec(any::<bool>(), 60),
        dup_every in 1usize..5,
    ) {
        let (ops, students, end) = simulate(&steps, &skews);
        // The server stamps some ops with their receipt time; those reach replicas both
        // without a receipt (device to device) and with one (through the server).
        let mut deliveries: Vec<Op> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            deliveries.push(op.clone());
            if receipted[i % receipted.len()] {
                let mut r = op.clone();
                r.received_at = Some(end - Duration::minutes(i as i64));
                deliveries.push(r);
            }
            if i % dup_every == 0 {
                deliveries.push(op.clone());
            }
        }
        let mut replicas = Vec::new();
        for seed in &seeds {
            let mut order = deliveries.clone();
            shuffle(&mut order, *seed);
            let mut r = Replica::new();
            for op in order {
                r.apply(op).unwrap();
            }
            replicas.push(r);
        }
        let first = replicas[0].snapshot();
        for r in &replicas[1..] {
            prop_assert_eq!(&r.snapshot(), &first);
        }
        // No value written disappears: every field write is in its register's history.
        for op in &ops {
            if let OpBody::Set(w) = &op.body {
                let hist: Vec<_> = replicas[0].register(&w.target.key()).unwrap().history().collect();
                prop_assert!(hist.contains(&op.id));
            }
            if let OpBody::Record(v) = &op.body {
                prop_assert!(replicas[0].record(v.id).is_some());
            }
        }
        // And the files built from them agree, to the letter.
        let terms = TermCalendar::typical(2026..=2026);
        let present = |_: &Sha256| true;
        let cx = FileContext { now: end, terms: &terms, photo_present: &present };
        for s in students {
            let f0 = StudentFile::build(&replicas[0], s, &cx);
            for r in &replicas[1..] {
                prop_assert_eq!(&StudentFile::build(r, s, &cx), &f0);
            }
        }
    }

    #[test]
    fn merging_is_associative_over_partial_replicas(
        steps in proptest::collection::vec(step(), 1..40),
        skews in proptest::collection::vec(skew(), DEVICES),
        split in 0usize..40,
    ) {
        // (A ∪ B) ∪ C == A ∪ (B ∪ C), with each part merged into its own replica first.
        let (ops, _, _) = simulate(&steps, &skews);
        let cut = split.min(ops.len());
        let (a, rest) = ops.split_at(cut);
        let (b, c) = rest.split_at(rest.len() / 2);
        let merge = |parts: &[&[Op]]| {
            let mut r = Replica::new();
            for p in parts { r.apply_all(p.iter().cloned()).unwrap(); }
            r
        };
        let ab = merge(&[a, b]);
        let left = { let mut r = ab.clone(); r.apply_all(c.iter().cloned()).unwrap(); r };
        let bc = merge(&[b, c]);
        let right = { let mut r = merge(&[a]); r.apply_all(bc.ops().cloned()).unwrap(); r };
        prop_assert_eq!(left.snapshot(), right.snapshot());
    }
}

#[test]
fn a_conflicting_duplicate_is_refused_and_the_first_kept() {
    let mut a = Author::new(UserId::new(), DeviceId::new());
    let mut r = Replica::new();
    let op = a.void(RecordId::new(), "重复", base());
    r.apply(op.clone()).unwrap();
    let mut forged = op.clone();
    forged.body = OpBody::Void {
        record: RecordId::new(),
        reason: "篡改".into(),
    };
    assert!(r.apply(forged).is_err());
    assert_eq!(r.op(op.id).unwrap(), &op);
}

#[test]
fn a_phone_days_ahead_does_not_win_forever() {
    let student = StudentId::new();
    let mut fast = Author::new(UserId::new(), DeviceId::new());
    let mut good = Author::new(UserId::new(), DeviceId::new());
    let mut server = Replica::new();
    let t = base();
    // The fast phone (3 days ahead) and a good phone write concurrently, unaware of each other.
    let mut a = fast.set(
        &server,
        Target::Student {
            id: student,
            set: StudentField::Status(EnrolmentStatus::DroppedOut),
        },
        t + Duration::days(3),
    );
    let mut b = good.set(
        &server,
        Target::Student {
            id: student,
            set: StudentField::Status(EnrolmentStatus::InSchool),
        },
        t + Duration::hours(1),
    );
    // Both reach the server within the hour; receipt bounds the fast stamp.
    a.received_at = Some(t + Duration::minutes(5));
    b.received_at = Some(t + Duration::hours(1) + Duration::minutes(1));
    server.apply(a.clone()).unwrap();
    server.apply(b.clone()).unwrap();
    let key = baoxue_shared::op::FieldKey {
        entity: baoxue_shared::op::EntityRef::Student(student),
        field: "status",
    };
    assert_eq!(
        server.register(&key).unwrap().winner(),
        Some(b.id),
        "the later real write shows"
    );
    assert!(a.skew().is_some(), "and the fast phone is flagged");
}
