//! What a photo's EXIF says about when and where it was taken, and how to turn it upright.
//! Evidence, not proof: photos forwarded through WeChat lose their EXIF, and a phone's clock may
//! be wrong — the console's checks weigh it. Reading never fails: a photo without EXIF simply
//! has no facts.

use crate::location::GeoPoint;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use exif::{Field, In, Rational, Tag, Value};

/// The facts a photo carries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhotoFacts {
    /// DateTimeOriginal, in its recorded offset or, without one, China time.
    pub captured_at: Option<DateTime<Utc>>,
    pub gps: Option<GeoPoint>,
    /// EXIF orientation 1–8 (1 = upright).
    pub orientation: Option<u16>,
}

/// Read the facts from a JPEG, PNG, WebP or HEIF file's bytes. Tolerant: phones, editors and
/// messaging apps write EXIF in slightly wrong ways (piexif leaves out the next-IFD offset after
/// the Exif sub-IFD), so whatever parses is kept and the rest is ignored.
pub fn read_facts(bytes: &[u8]) -> PhotoFacts {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let read = reader
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .or_else(|e| e.distill_partial_result(|_errors| {}));
    let Ok(exif) = read else {
        return PhotoFacts::default();
    };
    let ascii = |tag| match exif.get_field(tag, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(v)) => v
            .first()
            .map(|s| String::from_utf8_lossy(s).trim().to_string()),
        _ => None,
    };
    let captured_at = ascii(Tag::DateTimeOriginal)
        .or_else(|| ascii(Tag::DateTime))
        .and_then(|s| NaiveDateTime::parse_from_str(&s, "%Y:%m:%d %H:%M:%S").ok())
        .and_then(
            |naive| match ascii(Tag::OffsetTimeOriginal).and_then(|o| parse_offset(&o)) {
                Some(off) => off
                    .from_local_datetime(&naive)
                    .single()
                    .map(|t| t.with_timezone(&Utc)),
                None => Shanghai
                    .from_local_datetime(&naive)
                    .single()
                    .map(|t| t.with_timezone(&Utc)),
            },
        );
    let coord = |tag, ref_tag, negative: u8| -> Option<f64> {
        let Value::Rational(r) = &exif.get_field(tag, In::PRIMARY)?.value else {
            return None;
        };
        if r.len() < 3 || r.iter().any(|x| x.denom == 0) {
            return None;
        }
        let deg = r[0].to_f64() + r[1].to_f64() / 60.0 + r[2].to_f64() / 3600.0;
        let sign = match &exif.get_field(ref_tag, In::PRIMARY)?.value {
            Value::Ascii(v) if v.first().and_then(|s| s.first()) == Some(&negative) => -1.0,
            _ => 1.0,
        };
        Some(sign * deg)
    };
    let gps = match (
        coord(Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S'),
        coord(Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W'),
    ) {
        (Some(lat), Some(lon)) => GeoPoint::new(lat, lon).ok(),
        _ => None,
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .map(|v| v as u16);
    PhotoFacts {
        captured_at,
        gps,
        orientation,
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    FixedOffset::east_opt(sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60))
}

/// A JPEG with an EXIF block saying `facts` (capture time written in China time). For sample
/// data and tests: real cameras write their own.
pub fn with_exif(jpeg: &[u8], facts: &PhotoFacts) -> Vec<u8> {
    let mut fields = Vec::new();
    if let Some(t) = facts.captured_at {
        let local = t
            .with_timezone(&Shanghai)
            .format("%Y:%m:%d %H:%M:%S")
            .to_string();
        fields.push(Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![local.into_bytes()]),
        });
        fields.push(Field {
            tag: Tag::OffsetTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"+08:00".to_vec()]),
        });
    }
    if let Some(o) = facts.orientation {
        fields.push(Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![o]),
        });
    }
    if let Some(p) = facts.gps {
        let dms = |v: f64| {
            let v = v.abs();
            let d = v.trunc();
            let m = ((v - d) * 60.0).trunc();
            let s = ((v - d) * 60.0 - m) * 60.0;
            vec![
                Rational {
                    num: d as u32,
                    denom: 1,
                },
                Rational {
                    num: m as u32,
                    denom: 1,
                },
                Rational {
                    num: (s * 1000.0).round() as u32,
                    denom: 1000,
                },
            ]
        };
        let lat_ref = if p.lat() < 0.0 { b"S" } else { b"N" };
        let lon_ref = if p.lon() < 0.0 { b"W" } else { b"E" };
        fields.push(Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![lat_ref.to_vec()]),
        });
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(p.lat())),
        });
        fields.push(Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![lon_ref.to_vec()]),
        });
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(p.lon())),
        });
    }
    let mut w = exif::experimental::Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    if w.write(&mut tiff, false).is_err() || jpeg.len() < 2 || jpeg[..2] != [0xFF, 0xD8] {
        return jpeg.to_vec();
    }
    let tiff = tiff.into_inner();
    let mut out = Vec::with_capacity(jpeg.len() + tiff.len() + 10);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The smallest JPEG: SOI, then EOI. EXIF parsing needs only the markers.
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xD9];

    #[test]
    fn facts_written_are_facts_read() {
        let facts = PhotoFacts {
            captured_at: Some(Utc.with_ymd_and_hms(2026, 11, 20, 2, 15, 30).unwrap()),
            gps: Some(GeoPoint::new(25.7512, 108.9123).unwrap()),
            orientation: Some(6),
        };
        let read = read_facts(&with_exif(JPEG, &facts));
        assert_eq!(read.captured_at, facts.captured_at);
        assert_eq!(read.orientation, Some(6));
        let g = read.gps.unwrap();
        assert!(g.distance_m(&facts.gps.unwrap()) < 1.0, "{g:?}");
    }

    #[test]
    fn a_photo_without_exif_has_no_facts() {
        assert_eq!(read_facts(JPEG), PhotoFacts::default());
        assert_eq!(read_facts(b"not an image at all"), PhotoFacts::default());
    }

    #[test]
    fn a_capture_time_without_offset_is_china_time() {
        let mut w = exif::experimental::Writer::new();
        let f = Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:11:20 10:15:30".to_vec()]),
        };
        w.push_field(&f);
        let mut tiff = std::io::Cursor::new(Vec::new());
        w.write(&mut tiff, false).unwrap();
        let tiff = tiff.into_inner();
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
        jpeg.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
        jpeg.extend_from_slice(b"Exif\0\0");
        jpeg.extend_from_slice(&tiff);
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(
            read_facts(&jpeg).captured_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 20, 2, 15, 30).unwrap())
        );
    }
}
