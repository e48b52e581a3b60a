//! A small map drawn as SVG from coordinates: the registered household location, a ring at the
//! review distance, and the numbered visit locations. There are no map tiles offline; what a
//! reviewer needs is how far, and in which direction.

use baoxue_shared::location::GeoPoint;
use maud::{Markup, html};

const SIZE: f64 = 360.0;
const MARGIN: f64 = 30.0;

/// Metres east and north of `origin` (an equirectangular projection: exact enough over the few
/// kilometres a village spans).
fn offset_m(origin: GeoPoint, p: GeoPoint) -> (f64, f64) {
    let east = (p.lon() - origin.lon()) * origin.lat().to_radians().cos() * 111_320.0;
    let north = (p.lat() - origin.lat()) * 110_540.0;
    (east, north)
}

/// A round scale-bar length not longer than `max_m`.
fn nice_length(max_m: f64) -> f64 {
    let mut best = 10.0;
    for base in [
        10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0,
        50_000.0,
    ] {
        if base <= max_m {
            best = base;
        }
    }
    best
}

fn length_zh(m: f64) -> String {
    if m >= 1000.0 {
        format!("{} 公里", m / 1000.0)
    } else {
        format!("{m} 米")
    }
}

/// The map: `home` (if registered) with a ring of `ring_m`, and each visit `(number, point,
/// label)` that has a location.
pub fn visit_map(
    home: Option<GeoPoint>,
    visits: &[(usize, Option<GeoPoint>, String)],
    ring_m: f64,
) -> Markup {
    let located: Vec<(usize, GeoPoint, &str)> = visits
        .iter()
        .filter_map(|(n, p, l)| p.map(|p| (*n, p, l.as_str())))
        .collect();
    let Some(origin) = home.or_else(|| located.first().map(|(_, p, _)| *p)) else {
        return html! { p.muted { "没有可画的位置。" } };
    };
    let offsets: Vec<(usize, f64, f64, &str)> = located
        .iter()
        .map(|(n, p, l)| {
            let (e, no) = offset_m(origin, *p);
            (*n, e, no, *l)
        })
        .collect();
    let extent = offsets
        .iter()
        .map(|(_, e, n, _)| e.abs().max(n.abs()))
        .fold(if home.is_some() { ring_m * 1.2 } else { 100.0 }, f64::max);
    let scale = (SIZE / 2.0 - MARGIN) / extent;
    let c = SIZE / 2.0;
    let xy = |e: f64, n: f64| (c + e * scale, c - n * scale);
    let bar = nice_length(extent);
    html! {
        svg.map xmlns="http://www.w3.org/2000/svg" width=(SIZE) height=(SIZE)
            viewBox=(format!("0 0 {SIZE} {SIZE}")) role="img" aria-label="走访位置图" {
            rect x="0" y="0" width=(SIZE) height=(SIZE) fill="#f7f5ef" stroke="#ccc" {}
            text x="8" y="18" font-size="12" fill="#555" { "北 ↑" }
            @if home.is_some() {
                circle.ring cx=(c) cy=(c) r=(format!("{:.1}", ring_m * scale)) fill="none" stroke="#2a7" stroke-dasharray="4 3" {}
                rect.home x=(c - 6.0) y=(c - 6.0) width="12" height="12" fill="#2a7" {}
                text x=(c + 9.0) y=(c + 4.0) font-size="12" fill="#2a7" { "登记住址" }
                text x=(c + 9.0) y=(format!("{:.1}", c - ring_m * scale - 4.0)) font-size="11" fill="#2a7" { (length_zh(ring_m)) }
            }
            @for (n, e, no, label) in &offsets {
                @let (x, y) = xy(*e, *no);
                circle.visit cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="9" fill="#b22" {}
                text x=(format!("{x:.1}")) y=(format!("{:.1}", y + 4.0)) font-size="11" fill="#fff" text-anchor="middle" { (n) }
                text x=(format!("{:.1}", x + 12.0)) y=(format!("{:.1}", y + 4.0)) font-size="11" fill="#b22" { (label) }
            }
            line x1="10" y1=(SIZE - 12.0) x2=(format!("{:.1}", 10.0 + bar * scale)) y2=(SIZE - 12.0) stroke="#333" stroke-width="2" {}
            text x="10" y=(SIZE - 16.0) font-size="11" fill="#333" { (length_zh(bar)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visit_north_of_the_house_is_drawn_above_it_at_scale() {
        let home = GeoPoint::new(25.75, 108.90).unwrap();
        // ~1.1 km north.
        let north = GeoPoint::new(25.76, 108.90).unwrap();
        let svg = visit_map(Some(home), &[(1, Some(north), "11-03".into())], 500.0).into_string();
        assert!(svg.contains("登记住址"));
        assert!(svg.contains(r#"class="visit""#));
        // The visit's circle is above the centre (smaller y) and inside the box.
        let cy: f64 = svg
            .split(r#"class="visit" cx=""#)
            .nth(1)
            .and_then(|s| s.split("cy=\"").nth(1))
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        assert!(cy < SIZE / 2.0 - 50.0 && cy > 0.0, "{cy}");
        // The 500 m ring is smaller than the distance to the visit.
        let r: f64 = svg
            .split(r#"class="ring""#)
            .nth(1)
            .and_then(|s| s.split("r=\"").nth(1))
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        assert!(
            r < SIZE / 2.0 - cy,
            "ring {r} vs offset {}",
            SIZE / 2.0 - cy
        );
    }

    #[test]
    fn nothing_to_draw_says_so() {
        let svg = visit_map(None, &[(1, None, String::new())], 500.0).into_string();
        assert!(svg.contains("没有可画的位置"));
    }
}
