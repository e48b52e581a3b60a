//! Photo pipeline on one core: a real-looking 4000×3000 camera JPEG (noise and texture, EXIF
//! time, GPS and a sideways orientation) → upright 1600 px JPEG + thumbnail + hash. Prints the
//! median time of 7 runs and the bytes out. Targets: ≤ 300 KB, < 400 ms.
//!
//! Run: `cargo bench -p baoxue-app --bench photo`.

use baoxue_app::core::photo::{camera_like, process};
use baoxue_shared::exif::PhotoFacts;
use baoxue_shared::location::GeoPoint;
use chrono::Utc;
use std::time::Instant;

fn main() {
    let facts = PhotoFacts {
        captured_at: Some(Utc::now()),
        gps: Some(GeoPoint::new(25.75, 108.91).unwrap()),
        orientation: Some(6),
    };
    let original = camera_like(4000, 3000, &facts, 7);
    let mut times = Vec::new();
    let mut out = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let p = process(&original).expect("processes");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        out = p.jpeg.len();
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "photo 4000x3000 ({} KB in) -> 1600 px: median {:.0} ms over 7 runs (min {:.0}, max {:.0}); {} KB out",
        original.len() / 1024,
        times[3],
        times[0],
        times[6],
        out / 1024
    );
}
