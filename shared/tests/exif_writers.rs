//! EXIF as common tools write it (`scripts/exif-fixtures.py` made these files with piexif,
//! Pillow, exiftool and ImageMagick). Each says: taken 2026-11-18 09:12 China time at
//! 25.7512 N, 108.9123 E. A writer that bends the format (piexif leaves out the next-IFD offset
//! after the Exif sub-IFD) must not cost the review its evidence.

use baoxue_shared::exif::read_facts;
use chrono::{TimeZone, Utc};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/exif/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn capture_time_and_place_are_read_whichever_tool_wrote_them() {
    // 09:12 in China is 01:12 UTC.
    let taken = Utc.with_ymd_and_hms(2026, 11, 18, 1, 12, 0).unwrap();
    for name in [
        "piexif.jpg",
        "pillow.jpg",
        "exiftool.jpg",
        "imagemagick.jpg",
    ] {
        let facts = read_facts(&fixture(name));
        assert_eq!(facts.captured_at, Some(taken), "{name}: capture time");
        let gps = facts.gps.unwrap_or_else(|| panic!("{name}: no GPS read"));
        assert!(
            (gps.lat() - 25.7512).abs() < 1e-4 && (gps.lon() - 108.9123).abs() < 1e-4,
            "{name}: {gps:?}"
        );
    }
}

#[test]
fn a_photo_without_exif_has_no_facts_and_damaged_bytes_never_panic() {
    let facts = read_facts(&fixture("none.jpg"));
    assert_eq!((facts.captured_at, facts.gps), (None, None));
    let whole = fixture("piexif.jpg");
    for cut in (0..whole.len()).step_by(7) {
        let _ = read_facts(&whole[..cut]);
    }
}
