//! Nothing on input may panic: every time a phone can send — the whole of chrono's range — goes
//! through every validator and the clock rules, and comes back as a value or a field error.

use baoxue_shared::hlc::{self, Clock, ClockSkew, Hlc};
use baoxue_shared::ids::*;
use baoxue_shared::observation::*;
use baoxue_shared::op::*;
use baoxue_shared::wire::{Batch, PROTOCOL_VERSION, decode_batch};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

/// Any instant chrono holds, weighted towards its two ends and the bounds of plausibility.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let (min, max) = (
        DateTime::<Utc>::MIN_UTC.timestamp_millis(),
        DateTime::<Utc>::MAX_UTC.timestamp_millis(),
    );
    prop_oneof![
        (0i64..100_000_000).prop_map(move |d| min + d),
        (0i64..100_000_000).prop_map(move |d| max - d),
        (-100_000_000i64..100_000_000).prop_map(|d| 7_258_118_400_000 + d), // 2200
        (-100_000_000i64..100_000_000).prop_map(|d| 221_845_392_000_000 + d), // 9000
        min..=max,
    ]
    .prop_map(|ms| DateTime::from_timestamp_millis(ms).expect("in chrono's range"))
}

fn date() -> impl Strategy<Value = NaiveDate> {
    instant().prop_map(|t| t.date_naive())
}

fn sane() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn op(device_time: DateTime<Utc>, hlc: Hlc, body: OpBody) -> Op {
    Op {
        id: OpId::new(),
        hlc,
        device: DeviceId::new(),
        author: UserId::new(),
        device_time,
        received_at: None,
        body,
    }
}

fn visit(author: UserId, times: &[DateTime<Utc>; 3], dates: &[NaiveDate; 3]) -> Visit {
    Visit {
        id: RecordId::new(),
        corrects: None,
        kind: VisitKind::Persuasion,
        visitors: vec![author],
        companions: vec![],
        students: vec![StudentId::new()],
        household: None,
        guardians_met: vec![],
        started_at: times[0],
        ended_at: Some(times[1]),
        location: None,
        notes: String::new(),
        photos: vec![PhotoRef {
            sha256: Sha256::of(b"x"),
            bytes: 1,
            width: 1,
            height: 1,
            captured_at: Some(times[2]),
            gps: None,
        }],
        device_check: None,
        persuasion: Some(PersuasionAttempt {
            reason: DropoutReason::WorkingAway,
            method: MethodLevel::Administrative,
            notice: Some(Notice {
                kind: NoticeKind::DeadlineToReturn,
                number: "从教限〔2026〕1号".into(),
                issued_on: dates[0],
                deadline: Some(dates[1]),
            }),
            outcome: PersuasionOutcome::NotReturned,
            next_follow_up: Some(dates[2]),
        }),
        subsidy: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn extreme_times_are_refused_or_accepted_never_a_panic(
        device_time in instant(),
        stamp in instant(),
        received in instant(),
        t0 in instant(), t1 in instant(), t2 in instant(),
        d0 in date(), d1 in date(), d2 in date(),
    ) {
        let hlc = Hlc::at(stamp);
        let mut o = op(device_time, hlc, OpBody::Set(FieldWrite {
            target: Target::Student { id: StudentId::new(), set: StudentField::BirthDate(d0) },
            prev: vec![],
        }));
        let birth_ok = o.validate().is_ok();
        o.body = OpBody::Record(Box::new(visit(o.author, &[t0, t1, t2], &[d0, d1, d2])));
        let verdict = o.validate();
        // A time outside the plausible years is named as such; only a fully plausible op passes.
        let (first, last) = baoxue_shared::validation::time_bounds();
        if device_time < first || device_time >= last {
            let errs = verdict.clone().unwrap_err();
            prop_assert_eq!(errs.for_field("device_time").unwrap().reason.code(), "time_out_of_range");
        }
        if t0 >= last {
            prop_assert!(verdict.is_err());
        }
        if birth_ok {
            prop_assert!(d0 >= first.date_naive() && d0 < last.date_naive());
        }
        // The wire decoder answers with a refusal or a batch, whatever the times.
        let batch = Batch { v: PROTOCOL_VERSION, batch: BatchId::new(), device: o.device, ops: vec![o.clone()] };
        let decoded = decode_batch(&batch.encode());
        prop_assert_eq!(decoded.is_ok(), verdict.is_ok());
        // The clock rules take any stamps.
        let _ = ClockSkew::judge(device_time, hlc, Some(received));
        let _ = hlc::effective(hlc, Some(received));
        let mut clock = Clock::new();
        clock.observe(hlc, device_time);
        let _ = clock.tick(device_time);
        let mut received_op = o;
        received_op.received_at = Some(received);
        let _ = received_op.skew();
        let _ = received_op.order_key();
    }

    #[test]
    fn a_sane_visit_with_one_extreme_time_names_that_field(slot in 0usize..3, t in instant()) {
        let mut times = [sane(), sane() + chrono::Duration::minutes(30), sane()];
        times[slot] = t;
        let d = sane().date_naive();
        let o = op(sane() + chrono::Duration::hours(1), Hlc::at(sane()), OpBody::Record(Box::new(Visit {
            persuasion: None,
            kind: VisitKind::HomeVisit,
            ..visit(UserId::new(), &times, &[d, d, d])
        })));
        let mut o = o;
        if let OpBody::Record(v) = &mut o.body {
            v.visitors = vec![o.author];
        }
        let field = ["visit.started_at", "visit.ended_at", "visit.photos[0].captured_at"][slot];
        let (first, last) = baoxue_shared::validation::time_bounds();
        if t < first || t >= last {
            let errs = o.validate().unwrap_err();
            prop_assert_eq!(errs.for_field(field).unwrap().reason.code(), "time_out_of_range");
        }
    }
}
