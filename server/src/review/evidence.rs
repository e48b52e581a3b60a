//! Evidence checks: what makes a visit record look faked or thin, each flag explaining itself
//! in a sentence a township supervisor can act on. Pure functions over the records of a scope;
//! the queue (`review`) gathers the inputs from the store.

use baoxue_shared::ids::{HouseholdId, RecordId, UserId};
use baoxue_shared::location::{GeoPoint, LocationSource};
use baoxue_shared::observation::{Sha256, Visit};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Thresholds; the defaults are what a county office would start from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvidenceSettings {
    /// A visit further than this from the household's registered location is flagged.
    pub max_distance_m: f64,
    /// A location whose accuracy radius is worse than this is flagged as poor.
    pub poor_accuracy_m: f64,
    /// A photo taken further than this from the visit's start is flagged.
    pub max_photo_gap: Duration,
    /// Faster than this between one worker's consecutive visits is impossible on village roads.
    pub max_speed_kmh: f64,
    /// Jumps shorter than this are positioning noise, not travel.
    pub min_jump_m: f64,
    /// Perceptual hashes this many bits apart or closer are the same picture.
    pub same_picture_bits: u32,
    /// The same picture in two visits to one household more than this apart is a reused photo.
    pub reuse_gap: Duration,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        Self {
            max_distance_m: 500.0,
            poor_accuracy_m: 100.0,
            max_photo_gap: Duration::hours(2),
            max_speed_kmh: 120.0,
            min_jump_m: 2_000.0,
            same_picture_bits: 4,
            reuse_gap: Duration::hours(12),
        }
    }
}

/// A photo as the checks see it: what the record says, and what the server read from the
/// stored bytes (which wins where both exist: the server read it itself).
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoEvidence {
    pub sha256: Sha256,
    pub captured_at: Option<DateTime<Utc>>,
    /// Where the photo says it was taken (its EXIF GPS).
    pub gps: Option<GeoPoint>,
    /// The perceptual hash's bytes; `None` until the photo's bytes arrive.
    pub phash: Option<Vec<u8>>,
}

/// One visit (its latest live revision) with what the checks need about it.
#[derive(Debug, Clone)]
pub struct VisitFacts<'a> {
    pub record: RecordId,
    pub visit: &'a Visit,
    pub household_location: Option<GeoPoint>,
    pub photos: Vec<PhotoEvidence>,
}

/// One reason to look twice at a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Flag {
    FarFromHome {
        distance_m: f64,
        threshold_m: f64,
    },
    PoorAccuracy {
        accuracy_m: f64,
    },
    ManualLocation,
    NoLocation,
    PhotoTimeFar {
        sha256: Sha256,
        /// Photo time minus visit start, in minutes (negative: taken before).
        gap_minutes: i64,
    },
    PhotoTimeMissing {
        sha256: Sha256,
    },
    /// The photo's own GPS disagrees with the household's registered place, the visit's
    /// location, or both (each distance given where there is something to compare with).
    PhotoPlaceFar {
        sha256: Sha256,
        from_home_m: Option<f64>,
        from_visit_m: Option<f64>,
        threshold_m: f64,
    },
    PhotoReused {
        sha256: Sha256,
        other: RecordId,
        other_household: Option<HouseholdId>,
        other_at: DateTime<Utc>,
        same_household: bool,
    },
    ImpossibleTravel {
        worker: UserId,
        previous: RecordId,
        distance_km: f64,
        minutes: i64,
    },
    PhotoRequired,
}

impl Flag {
    /// A stable code for filters and exports.
    pub fn code(&self) -> &'static str {
        match self {
            Flag::FarFromHome { .. } => "far_from_home",
            Flag::PoorAccuracy { .. } => "poor_accuracy",
            Flag::ManualLocation => "manual_location",
            Flag::NoLocation => "no_location",
            Flag::PhotoTimeFar { .. } => "photo_time_far",
            Flag::PhotoTimeMissing { .. } => "photo_time_missing",
            Flag::PhotoPlaceFar { .. } => "photo_place_far",
            Flag::PhotoReused { .. } => "photo_reused",
            Flag::ImpossibleTravel { .. } => "impossible_travel",
            Flag::PhotoRequired => "photo_required",
        }
    }

    /// Every code with its short Chinese name, for the filter.
    pub const KINDS: [(&'static str, &'static str); 10] = [
        ("far_from_home", "距住址过远"),
        ("poor_accuracy", "定位精度差"),
        ("manual_location", "手动定位"),
        ("no_location", "无定位"),
        ("photo_time_far", "照片时间不符"),
        ("photo_time_missing", "照片无拍摄时间"),
        ("photo_place_far", "照片位置不符"),
        ("photo_reused", "照片重复使用"),
        ("impossible_travel", "行程不可能"),
        ("photo_required", "缺少照片"),
    ];

    /// The flag explained in one Chinese sentence.
    pub fn zh(&self) -> String {
        match self {
            Flag::FarFromHome {
                distance_m,
                threshold_m,
            } => format!(
                "走访定位距该户登记位置 {}，超过 {:.0} 米的允许范围。",
                distance_zh(*distance_m),
                threshold_m
            ),
            Flag::PoorAccuracy { accuracy_m } => {
                format!("定位精度仅 {accuracy_m:.0} 米，无法确认是否到户。")
            }
            Flag::ManualLocation => "位置为手动填写，不是手机定位或照片位置。".into(),
            Flag::NoLocation => "到户走访没有定位信息。".into(),
            Flag::PhotoTimeFar { gap_minutes, .. } => {
                let when = if *gap_minutes < 0 { "早" } else { "晚" };
                format!(
                    "照片拍摄时间比走访时间{when} {}，可能不是本次走访所拍。",
                    minutes_zh(gap_minutes.unsigned_abs())
                )
            }
            Flag::PhotoTimeMissing { .. } => {
                "照片没有拍摄时间（可能是从相册选取或经微信转发的图片）。".into()
            }
            Flag::PhotoPlaceFar {
                from_home_m,
                from_visit_m,
                threshold_m,
                ..
            } => {
                let far = |d: &Option<f64>| d.is_some_and(|d| d > *threshold_m);
                match (far(from_home_m), far(from_visit_m)) {
                    (true, true) => format!(
                        "照片拍摄位置距该户登记位置 {}、距本次走访定位 {}，都超过 {threshold_m:.0} 米，照片可能不是在该户拍摄。",
                        distance_zh(from_home_m.unwrap_or_default()),
                        distance_zh(from_visit_m.unwrap_or_default()),
                    ),
                    (true, false) => format!(
                        "照片拍摄位置距该户登记位置 {}，超过 {threshold_m:.0} 米{}，照片可能不是在该户拍摄。",
                        distance_zh(from_home_m.unwrap_or_default()),
                        if from_visit_m.is_some() {
                            "（与走访定位相符）"
                        } else {
                            ""
                        },
                    ),
                    _ => format!(
                        "照片拍摄位置距本次走访定位 {}，超过 {threshold_m:.0} 米{}，照片可能不是本次走访所拍。",
                        distance_zh(from_visit_m.unwrap_or_default()),
                        if from_home_m.is_some() {
                            "（而与该户登记位置相符）"
                        } else {
                            ""
                        },
                    ),
                }
            }
            Flag::PhotoReused {
                other_at,
                same_household,
                ..
            } => {
                let when = baoxue_shared::time::format_zh(*other_at);
                if *same_household {
                    format!("同一张照片也用于该户 {when} 的另一次走访。")
                } else {
                    format!("同一张照片也出现在另一户 {when} 的走访记录中。")
                }
            }
            Flag::ImpossibleTravel {
                distance_km,
                minutes,
                ..
            } if *minutes <= 0 => format!(
                "与该工作人员另一次走访时间相同，两地却相距 {distance_km:.1} 公里，不可能同时在场。"
            ),
            Flag::ImpossibleTravel {
                distance_km,
                minutes,
                ..
            } => format!(
                "与该工作人员上一次走访相距 {distance_km:.1} 公里，仅隔 {}，时速约 {:.0} 公里，不可能到达。",
                minutes_zh(*minutes as u64),
                distance_km / (*minutes as f64 / 60.0)
            ),
            Flag::PhotoRequired => "设备检查或劝返走访必须附照片，本记录没有。".into(),
        }
    }
}

fn distance_zh(m: f64) -> String {
    if m >= 1000.0 {
        format!("{:.1} 公里", m / 1000.0)
    } else {
        format!("{m:.0} 米")
    }
}

fn minutes_zh(m: u64) -> String {
    match m {
        m if m < 120 => format!("{m} 分钟"),
        m if m < 48 * 60 => format!("{} 小时", m / 60),
        m => format!("{} 天", m / (24 * 60)),
    }
}

fn hamming(a: &[u8], b: &[u8]) -> u32 {
    if a.len() != b.len() {
        return u32::MAX;
    }
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Flags for every visit, keyed by record. Visits without flags are absent.
pub fn check(visits: &[VisitFacts<'_>], s: &EvidenceSettings) -> HashMap<RecordId, Vec<Flag>> {
    let mut out: HashMap<RecordId, Vec<Flag>> = HashMap::new();
    for f in visits {
        let flags = out.entry(f.record).or_default();
        check_location(f, s, flags);
        check_photo_times(f, s, flags);
        check_photo_places(f, s, flags);
        if f.visit.lacks_required_photo() {
            flags.push(Flag::PhotoRequired);
        }
    }
    check_reuse(visits, s, &mut out);
    check_travel(visits, s, &mut out);
    out.retain(|_, v| !v.is_empty());
    out
}

fn check_location(f: &VisitFacts, s: &EvidenceSettings, flags: &mut Vec<Flag>) {
    if !f.visit.kind.is_on_site() {
        return;
    }
    let Some(loc) = f.visit.location else {
        flags.push(Flag::NoLocation);
        return;
    };
    if loc.source == LocationSource::Manual {
        flags.push(Flag::ManualLocation);
    }
    if let Some(a) = loc.accuracy_m
        && a > s.poor_accuracy_m
    {
        flags.push(Flag::PoorAccuracy { accuracy_m: a });
    }
    if let Some(home) = f.household_location {
        let d = loc.point.distance_m(&home);
        if d > s.max_distance_m {
            flags.push(Flag::FarFromHome {
                distance_m: d,
                threshold_m: s.max_distance_m,
            });
        }
    }
}

fn check_photo_times(f: &VisitFacts, s: &EvidenceSettings, flags: &mut Vec<Flag>) {
    for p in &f.photos {
        match p.captured_at {
            None => flags.push(Flag::PhotoTimeMissing { sha256: p.sha256 }),
            Some(t) => {
                let gap = t - f.visit.started_at;
                if gap.abs() > s.max_photo_gap {
                    flags.push(Flag::PhotoTimeFar {
                        sha256: p.sha256,
                        gap_minutes: gap.num_minutes(),
                    });
                }
            }
        }
    }
}

/// A photo's own GPS against the household's registered place and the visit's location: a
/// photo taken kilometres away is not evidence of this visit, wherever the phone said it was.
fn check_photo_places(f: &VisitFacts, s: &EvidenceSettings, flags: &mut Vec<Flag>) {
    if !f.visit.kind.is_on_site() {
        return;
    }
    for p in &f.photos {
        let Some(at) = p.gps else { continue };
        let from_home_m = f.household_location.map(|h| at.distance_m(&h));
        let from_visit_m = f.visit.location.map(|l| at.distance_m(&l.point));
        let far = |d: Option<f64>| d.is_some_and(|d| d > s.max_distance_m);
        if far(from_home_m) || far(from_visit_m) {
            flags.push(Flag::PhotoPlaceFar {
                sha256: p.sha256,
                from_home_m,
                from_visit_m,
                threshold_m: s.max_distance_m,
            });
        }
    }
}

/// The same picture (same bytes, or perceptual hashes within a few bits) in two visits to
/// different households, or to one household far apart in time.
fn check_reuse(
    visits: &[VisitFacts<'_>],
    s: &EvidenceSettings,
    out: &mut HashMap<RecordId, Vec<Flag>>,
) {
    struct Seen<'a> {
        visit: &'a VisitFacts<'a>,
        photo: &'a PhotoEvidence,
    }
    let all: Vec<Seen> = visits
        .iter()
        .flat_map(|v| v.photos.iter().map(move |p| Seen { visit: v, photo: p }))
        .collect();
    // Quadratic over photos of one scope: a county's term is a few thousand photos, and a
    // 64-bit XOR is cheap; an index (BK-tree) can come when a county outgrows it.
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if a.visit.record == b.visit.record {
                continue;
            }
            let same = a.photo.sha256 == b.photo.sha256
                || matches!((&a.photo.phash, &b.photo.phash), (Some(x), Some(y)) if hamming(x, y) <= s.same_picture_bits);
            if !same {
                continue;
            }
            let same_household = a.visit.visit.household.is_some()
                && a.visit.visit.household == b.visit.visit.household;
            let apart = (a.visit.visit.started_at - b.visit.visit.started_at).abs();
            if same_household && apart <= s.reuse_gap {
                continue;
            }
            for (x, y) in [(a, b), (b, a)] {
                out.entry(x.visit.record)
                    .or_default()
                    .push(Flag::PhotoReused {
                        sha256: x.photo.sha256,
                        other: y.visit.record,
                        other_household: y.visit.visit.household,
                        other_at: y.visit.visit.started_at,
                        same_household,
                    });
            }
        }
    }
}

/// One worker cannot be at two places further apart than a car could drive in the time
/// between the visits.
fn check_travel(
    visits: &[VisitFacts<'_>],
    s: &EvidenceSettings,
    out: &mut HashMap<RecordId, Vec<Flag>>,
) {
    let mut by_worker: HashMap<UserId, Vec<&VisitFacts>> = HashMap::new();
    for v in visits {
        if v.visit.location.is_some() && v.visit.kind.is_on_site() {
            for w in &v.visit.visitors {
                by_worker.entry(*w).or_default().push(v);
            }
        }
    }
    for (worker, mut vs) in by_worker {
        vs.sort_by_key(|v| (v.visit.started_at, v.record));
        for pair in vs.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (Some(la), Some(lb)) = (a.visit.location, b.visit.location) else {
                continue;
            };
            let d = la.point.distance_m(&lb.point);
            if d < s.min_jump_m {
                continue;
            }
            let gap = b.visit.started_at - a.visit.started_at;
            let hours = gap.num_seconds() as f64 / 3600.0;
            if hours <= 0.0 || (d / 1000.0) / hours > s.max_speed_kmh {
                out.entry(b.record)
                    .or_default()
                    .push(Flag::ImpossibleTravel {
                        worker,
                        previous: a.record,
                        distance_km: d / 1000.0,
                        minutes: gap.num_minutes(),
                    });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baoxue_shared::ids::StudentId;
    use baoxue_shared::location::Location;
    use baoxue_shared::observation::VisitKind;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 10, h, m, 0).unwrap()
    }

    fn home() -> GeoPoint {
        GeoPoint::new(25.75, 108.90).unwrap()
    }

    fn visit(worker: UserId, kind: VisitKind, when: DateTime<Utc>, where_: GeoPoint) -> Visit {
        Visit {
            id: RecordId::new(),
            corrects: None,
            kind,
            visitors: vec![worker],
            companions: vec![],
            students: vec![StudentId::new()],
            household: Some(HouseholdId::new()),
            guardians_met: vec![],
            started_at: when,
            ended_at: None,
            location: Some(Location {
                point: where_,
                accuracy_m: Some(10.0),
                source: LocationSource::Device,
            }),
            notes: String::new(),
            photos: vec![],
            device_check: None,
            persuasion: None,
            subsidy: None,
        }
    }

    fn facts(v: &Visit, photos: Vec<PhotoEvidence>) -> VisitFacts<'_> {
        VisitFacts {
            record: v.id,
            visit: v,
            household_location: Some(home()),
            photos,
        }
    }

    fn codes(flags: &HashMap<RecordId, Vec<Flag>>, r: RecordId) -> Vec<&'static str> {
        flags
            .get(&r)
            .map(|f| f.iter().map(Flag::code).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_visit_at_the_house_with_a_fresh_photo_passes() {
        let w = UserId::new();
        let v = visit(w, VisitKind::HomeVisit, at(2, 0), home());
        let p = PhotoEvidence {
            sha256: Sha256::of(b"a"),
            gps: None,
            captured_at: Some(at(2, 10)),
            phash: Some(vec![0, 0, 0, 0, 0, 0, 0, 0]),
        };
        let flags = check(&[facts(&v, vec![p])], &EvidenceSettings::default());
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn far_inaccurate_manual_and_missing_locations_are_explained() {
        let w = UserId::new();
        // ~3.3 km north of the house.
        let far = visit(
            w,
            VisitKind::HomeVisit,
            at(2, 0),
            GeoPoint::new(25.78, 108.90).unwrap(),
        );
        let mut vague = visit(w, VisitKind::HomeVisit, at(5, 0), home());
        vague.location = Some(Location {
            point: home(),
            accuracy_m: Some(800.0),
            source: LocationSource::Manual,
        });
        let mut none = visit(w, VisitKind::HouseholdVisit, at(7, 0), home());
        none.location = None;
        let mut phone = visit(w, VisitKind::PhoneCall, at(8, 0), home());
        phone.location = None;
        let all = [
            facts(&far, vec![]),
            facts(&vague, vec![]),
            facts(&none, vec![]),
            facts(&phone, vec![]),
        ];
        let flags = check(&all, &EvidenceSettings::default());
        assert_eq!(codes(&flags, far.id), ["far_from_home"]);
        let sentence = flags[&far.id][0].zh();
        assert!(sentence.contains("3.3 公里"), "{sentence}");
        assert!(sentence.contains("500 米"), "{sentence}");
        assert_eq!(
            codes(&flags, vague.id),
            ["manual_location", "poor_accuracy"]
        );
        assert_eq!(codes(&flags, none.id), ["no_location"]);
        assert!(
            codes(&flags, phone.id).is_empty(),
            "a phone call needs no location"
        );
        // A wider threshold clears the far visit.
        let wide = EvidenceSettings {
            max_distance_m: 5_000.0,
            ..Default::default()
        };
        assert!(codes(&check(&all, &wide), far.id).is_empty());
    }

    #[test]
    fn gallery_photos_and_photos_from_another_day_are_flagged() {
        let w = UserId::new();
        let v = visit(w, VisitKind::HomeVisit, at(6, 0), home());
        let old = PhotoEvidence {
            sha256: Sha256::of(b"old"),
            gps: None,
            captured_at: Some(at(6, 0) - Duration::days(3)),
            phash: None,
        };
        let forwarded = PhotoEvidence {
            sha256: Sha256::of(b"wechat"),
            gps: None,
            captured_at: None,
            phash: None,
        };
        let flags = check(
            &[facts(&v, vec![old, forwarded])],
            &EvidenceSettings::default(),
        );
        assert_eq!(
            codes(&flags, v.id),
            ["photo_time_far", "photo_time_missing"]
        );
        assert!(flags[&v.id][0].zh().contains("早 3 天"));
    }

    #[test]
    fn a_photo_taken_kilometres_away_says_whether_the_house_or_the_visit_disagrees() {
        let w = UserId::new();
        // The phone says the visit was at the house; the photo's own GPS is ~3.3 km north.
        let v = visit(w, VisitKind::HomeVisit, at(6, 0), home());
        let photo = |gps| PhotoEvidence {
            sha256: Sha256::of(b"elsewhere"),
            captured_at: Some(at(6, 5)),
            gps: Some(gps),
            phash: None,
        };
        let elsewhere = GeoPoint::new(25.78, 108.90).unwrap();
        let flags = check(
            &[facts(&v, vec![photo(elsewhere)])],
            &EvidenceSettings::default(),
        );
        assert_eq!(codes(&flags, v.id), ["photo_place_far"]);
        let said = flags[&v.id][0].zh();
        assert!(
            said.contains("距该户登记位置 3.3 公里") && said.contains("距本次走访定位 3.3 公里"),
            "{said}"
        );
        // A visit logged where the photo was (far from the house): the house disagrees, the
        // visit's location does not.
        let there = visit(w, VisitKind::HomeVisit, at(6, 0), elsewhere);
        let flags = check(
            &[facts(&there, vec![photo(elsewhere)])],
            &EvidenceSettings::default(),
        );
        let said = flags[&there.id]
            .iter()
            .find(|f| f.code() == "photo_place_far")
            .expect("the photo is flagged")
            .zh();
        assert!(
            said.contains("距该户登记位置 3.3 公里") && said.contains("与走访定位相符"),
            "{said}"
        );
        // A photo taken at the house passes.
        let flags = check(
            &[facts(&v, vec![photo(home())])],
            &EvidenceSettings::default(),
        );
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn one_picture_in_two_households_is_flagged_on_both() {
        let w = UserId::new();
        let a = visit(w, VisitKind::HouseholdVisit, at(2, 0), home());
        let b = visit(w, VisitKind::HouseholdVisit, at(4, 0), home());
        let photo = |bytes: &[u8], phash: Vec<u8>, t| PhotoEvidence {
            sha256: Sha256::of(bytes),
            gps: None,
            captured_at: Some(t),
            phash: Some(phash),
        };
        // Different files (re-saved), perceptual hashes one bit apart.
        let pa = photo(b"x", vec![0b1010_1010, 0, 0, 0, 0, 0, 0, 1], at(2, 5));
        let pb = photo(b"y", vec![0b1010_1010, 0, 0, 0, 0, 0, 0, 0], at(4, 5));
        let flags = check(
            &[facts(&a, vec![pa]), facts(&b, vec![pb])],
            &EvidenceSettings::default(),
        );
        assert_eq!(codes(&flags, a.id), ["photo_reused"]);
        assert_eq!(codes(&flags, b.id), ["photo_reused"]);
        assert!(flags[&a.id][0].zh().contains("另一户"));

        // Very different pictures are not the same.
        let pc = photo(b"z", vec![0xff; 8], at(4, 5));
        let pa = photo(b"x", vec![0; 8], at(2, 5));
        let flags = check(
            &[facts(&a, vec![pa]), facts(&b, vec![pc])],
            &EvidenceSettings::default(),
        );
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn forty_kilometres_in_ten_minutes_is_impossible() {
        // 0.36° of latitude north: 39.9 km on the WGS-84 ellipsoid.
        let w = UserId::new();
        let a = visit(w, VisitKind::HomeVisit, at(2, 0), home());
        let mut b = visit(
            w,
            VisitKind::HomeVisit,
            at(2, 10),
            GeoPoint::new(26.11, 108.90).unwrap(),
        );
        b.household = a.household;
        let fa = facts(&a, vec![]);
        let mut fb = facts(&b, vec![]);
        fb.household_location = None;
        let flags = check(&[fa, fb], &EvidenceSettings::default());
        assert_eq!(codes(&flags, b.id), ["impossible_travel"]);
        let s = flags[&b.id][0].zh();
        assert!(s.contains("39.9 公里") && s.contains("10 分钟"), "{s}");
        assert!(codes(&flags, a.id).is_empty());

        // Three hours later it is a long but possible drive.
        b.started_at = at(5, 10);
        let flags = check(
            &[facts(&a, vec![]), {
                let mut f = facts(&b, vec![]);
                f.household_location = None;
                f
            }],
            &EvidenceSettings::default(),
        );
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn a_persuasion_visit_without_a_photo_is_flagged() {
        let w = UserId::new();
        let v = visit(w, VisitKind::Persuasion, at(2, 0), home());
        let flags = check(&[facts(&v, vec![])], &EvidenceSettings::default());
        assert_eq!(codes(&flags, v.id), ["photo_required"]);
    }
}
