//! Benchmarks of the shared core, printed as figures (median of several runs):
//! merge 1,000,000 ops into a replica; build a student file from 500 records; encode/decode a
//! teacher's day as a batch, and its size in the candidate encodings.
//!
//! Run: `cargo bench -p baoxue-shared --bench core` (release profile).

use baoxue_shared::author::Author;
use baoxue_shared::file::{FileContext, StudentFile};
use baoxue_shared::ids::{DeviceId, UserId};
use baoxue_shared::observation::{Sha256, VisitKind};
use baoxue_shared::op::{Op, StudentField, Target};
use baoxue_shared::replica::Replica;
use baoxue_shared::sample;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::TermCalendar;
use baoxue_shared::wire::{Batch, decode_batch};
use chrono::{Duration, TimeZone, Utc};
use std::io::Write;
use std::time::{Duration as StdDuration, Instant};

fn median(mut v: Vec<StdDuration>) -> StdDuration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> StdDuration {
    let mut ts = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(f());
        ts.push(start.elapsed());
    }
    median(ts)
}

/// A county's worth of ops: 1,000,000 in all, from 200 devices over a school year — roster
/// writes, status changes, guardian phone changes and visits (about a quarter of the ops).
fn county_ops(n: usize) -> Vec<Op> {
    let mut rng = fastrand::Rng::with_seed(7);
    let t0 = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap();
    let mut authors: Vec<Author> = (0..200)
        .map(|_| Author::new(UserId::new(), DeviceId::new()))
        .collect();
    let seen = Replica::new();
    let mut ops = Vec::with_capacity(n);
    let mut students = Vec::new();
    while ops.len() < n {
        let a = &mut authors[rng.usize(..200)];
        let now = t0 + Duration::seconds(ops.len() as i64 * 25);
        match rng.u8(..100) {
            0..=39 => {
                // A new household and student on the roster (10 + 5 writes).
                let h = sample::household(&mut rng);
                let s = sample::student(&mut rng, &h, now.date_naive());
                ops.extend(a.household_ops(&seen, &h, now));
                ops.extend(a.student_ops(&seen, &s, now));
                students.push((s.id, h));
            }
            40..=64 if !students.is_empty() => {
                let (id, _) = &students[rng.usize(..students.len())];
                let status = EnrolmentStatus::ALL[rng.usize(..EnrolmentStatus::ALL.len())];
                ops.push(a.set(
                    &seen,
                    Target::Student {
                        id: *id,
                        set: StudentField::Status(status),
                    },
                    now,
                ));
            }
            _ if !students.is_empty() => {
                let (id, h) = &students[rng.usize(..students.len())];
                let kind = [
                    VisitKind::HomeVisit,
                    VisitKind::HouseholdVisit,
                    VisitKind::Persuasion,
                    VisitKind::PhoneCall,
                ][rng.usize(..4)];
                let v = sample::visit(&mut rng, kind, a.user, *id, h, now);
                let saved = v.ended_at.unwrap_or(now) + Duration::minutes(1);
                ops.push(a.record(v, saved));
            }
            _ => {}
        }
    }
    ops.truncate(n);
    ops
}

fn bench_merge() {
    let n = 1_000_000;
    let t = Instant::now();
    let ops = county_ops(n);
    println!(
        "merge: generated {n} ops in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut runs = Vec::new();
    for _ in 0..3 {
        let input = ops.clone();
        let start = Instant::now();
        let mut r = Replica::new();
        for op in input {
            r.apply(op).expect("generated ops merge");
        }
        runs.push(start.elapsed());
        std::hint::black_box(&r);
    }
    let m = median(runs);
    println!(
        "merge 1,000,000 ops into an empty replica: median {:.2} s over 3 runs ({:.0} ops/s)",
        m.as_secs_f64(),
        n as f64 / m.as_secs_f64()
    );
    // Re-delivering everything (every op a duplicate) — what a repeated pull costs.
    let mut r = Replica::new();
    r.apply_all(ops.iter().cloned()).unwrap();
    let again = time(3, || r.clone().apply_all(ops.iter().cloned()).unwrap());
    println!(
        "re-merge the same 1,000,000 ops (all duplicates, incl. clone of replica): median {:.2} s",
        again.as_secs_f64()
    );
}

fn bench_file() {
    let mut rng = fastrand::Rng::with_seed(11);
    let mut teacher = Author::new(UserId::new(), DeviceId::new());
    let t0 = Utc.with_ymd_and_hms(2020, 9, 1, 0, 0, 0).unwrap();
    let h = sample::household(&mut rng);
    let s = sample::student(&mut rng, &h, t0.date_naive());
    let mut r = Replica::new();
    let seed = r.clone();
    r.apply_all(teacher.household_ops(&seed, &h, t0)).unwrap();
    let seed = r.clone();
    r.apply_all(teacher.student_ops(&seed, &s, t0)).unwrap();
    let mut records = 15;
    while records < 500 {
        let now = t0 + Duration::days(records as i64 * 4);
        if records % 5 == 0 {
            let status = [
                EnrolmentStatus::SuspectedDropout,
                EnrolmentStatus::DroppedOut,
                EnrolmentStatus::Persuading,
                EnrolmentStatus::Returned,
                EnrolmentStatus::InSchool,
            ][records % 25 / 5];
            let op = teacher.set(
                &r,
                Target::Student {
                    id: s.id,
                    set: StudentField::Status(status),
                },
                now,
            );
            r.apply(op).unwrap();
        } else {
            let kind = [
                VisitKind::HomeVisit,
                VisitKind::HouseholdVisit,
                VisitKind::Persuasion,
                VisitKind::SubsidyVerification,
            ][records % 4];
            let v = sample::visit(&mut rng, kind, teacher.user, s.id, &h, now);
            let saved = v.ended_at.unwrap_or(now) + Duration::minutes(1);
            r.apply(teacher.record(v, saved)).unwrap();
        }
        records += 1;
    }
    let terms = TermCalendar::typical(2020..=2026);
    let present = |_: &Sha256| true;
    let cx = FileContext {
        now: t0 + Duration::days(2100),
        terms: &terms,
        photo_present: &present,
    };
    let f = StudentFile::build(&r, s.id, &cx);
    let m = time(101, || StudentFile::build(&r, s.id, &cx));
    println!(
        "build a student file from 500 records ({} timeline entries): median {:.3} ms over 101 runs",
        f.timeline.len(),
        m.as_secs_f64() * 1e3
    );
}

fn bench_wire() {
    let mut rng = fastrand::Rng::with_seed(3);
    let mut teacher = Author::new(UserId::new(), DeviceId::new());
    let day = Utc.with_ymd_and_hms(2026, 11, 20, 0, 30, 0).unwrap();
    let ops = sample::teacher_day(&mut rng, &mut teacher, day);
    let batch = Batch::new(teacher.device, ops);
    let json = batch.encode();
    let enc = time(201, || batch.encode());
    let dec = time(201, || decode_batch(&json).unwrap());
    let gzip = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&json).unwrap();
        e.finish().unwrap()
    };
    let zstd3 = zstd::encode_all(&json[..], 3).unwrap();
    let zstd_t = time(201, || zstd::encode_all(&json[..], 3).unwrap());
    let gzip_t = time(201, || {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&json).unwrap();
        e.finish().unwrap()
    });
    let mut cbor = Vec::new();
    ciborium::into_writer(&batch, &mut cbor).unwrap();
    let cbor_z = zstd::encode_all(&cbor[..], 3).unwrap();
    println!(
        "a teacher's day: {} ops (20 visits with device checks, persuasion attempts, status changes)",
        batch.ops.len()
    );
    println!(
        "  encode JSON: median {:.1} µs; decode + validate: median {:.1} µs (201 runs)",
        enc.as_secs_f64() * 1e6,
        dec.as_secs_f64() * 1e6
    );
    println!(
        "  bytes: JSON {} | JSON+gzip-6 {} ({:.0} µs) | JSON+zstd-3 {} ({:.0} µs) | CBOR {} | CBOR+zstd-3 {}",
        json.len(),
        gzip.len(),
        gzip_t.as_secs_f64() * 1e6,
        zstd3.len(),
        zstd_t.as_secs_f64() * 1e6,
        cbor.len(),
        cbor_z.len()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter word selects one part.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if want("wire") {
        bench_wire();
    }
    if want("file") {
        bench_file();
    }
    if want("merge") {
        bench_merge();
    }
}
