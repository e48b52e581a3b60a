//! Photo processing on the phone: turn a camera original (often 12 MP, 3–5 MB, sideways) into
//! the evidence that travels — upright, 1600 px on the long side, JPEG of at most ~300 KB, a
//! 320 px thumbnail, its SHA-256, and the EXIF capture time and GPS kept both as record fields
//! and inside the JPEG (so the server can check them against the visit).
//!
//! Pure Rust (image + fast_image_resize), so the same code builds for Android and iOS.

use baoxue_shared::exif::{PhotoFacts, read_facts, with_exif};
use baoxue_shared::observation::{PhotoRef, Sha256};
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, IntoImageView, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageReader, RgbImage};
use thiserror::Error;

/// Long side of the photo that is kept and sent.
pub const LONG_SIDE: u32 = 1600;
/// Long side of the thumbnail.
pub const THUMB_SIDE: u32 = 320;
/// The JPEG quality a photo is sent at when it fits [`MAX_BYTES`] (most do).
pub const QUALITY: u8 = 80;
/// The most bytes one photo may take: a day's photos must go over a weak signal.
pub const MAX_BYTES: usize = 300 * 1024;

/// Why a picked file could not be used.
#[derive(Debug, Error)]
pub enum PhotoError {
    #[error("not a photo this app can read: {0}")]
    Unreadable(String),
}

impl PhotoError {
    /// The reason in Chinese.
    pub fn zh(&self) -> &'static str {
        "无法读取这张照片，请重新拍摄或选择JPEG/PNG照片"
    }
}

/// A photo ready to save and upload.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    pub jpeg: Vec<u8>,
    pub thumb: Vec<u8>,
    pub reference: PhotoRef,
}

fn resize(src: &RgbImage, long_side: u32) -> Result<RgbImage, PhotoError> {
    let (w, h) = src.dimensions();
    let scale = long_side as f64 / w.max(h) as f64;
    if scale >= 1.0 {
        return Ok(src.clone());
    }
    let (dw, dh) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    let mut dst = Image::new(dw, dh, PixelType::U8x3);
    let view = DynamicImage::ImageRgb8(src.clone());
    debug_assert!(view.pixel_type().is_some());
    Resizer::new()
        .resize(
            &view,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom)),
        )
        .map_err(|e| PhotoError::Unreadable(e.to_string()))?;
    RgbImage::from_raw(dw, dh, dst.into_vec())
        .ok_or_else(|| PhotoError::Unreadable("resize".into()))
}

/// JPEG with 4:2:0 chroma subsampling, as cameras write it: about a third smaller than the
/// 4:4:4 the `image` crate's encoder produces, with no visible loss in a photo.
fn jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    let (w, h) = (u16::try_from(img.width()), u16::try_from(img.height()));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(PhotoError::Unreadable("too large".into()));
    };
    enc.encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PhotoError::Unreadable(e.to_string()))?;
    Ok(out)
}

/// Decode a JPEG at the smallest DCT scale (1/8 … 1) that still covers `long_side`: decoding a
/// 12 MP photo at half size is several times faster than decoding it whole and resizing.
fn decode_jpeg_scaled(bytes: &[u8], long_side: u32) -> Option<DynamicImage> {
    let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    d.read_info().ok()?;
    let info = d.info()?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let scale = (long_side as f64 / w.max(h) as f64).min(1.0);
    let (rw, rh) = (
        (w as f64 * scale).ceil() as u16,
        (h as f64 * scale).ceil() as u16,
    );
    let (sw, sh) = d.scale(rw.max(1), rh.max(1)).ok()?;
    let pixels = d.decode().ok()?;
    match d.info()?.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            RgbImage::from_raw(u32::from(sw), u32::from(sh), pixels).map(DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L8 => {
            image::GrayImage::from_raw(u32::from(sw), u32::from(sh), pixels)
                .map(DynamicImage::ImageLuma8)
        }
        _ => None,
    }
}

/// The photo as JPEG within [`MAX_BYTES`], at the best quality that fits. A busy scene
/// (foliage, a crowded room) is searched down by halves — each try costs one encode, so at
/// most four.
fn fit(img: &RgbImage, facts: &PhotoFacts) -> Result<Vec<u8>, PhotoError> {
    let encode = |q: u8| -> Result<Vec<u8>, PhotoError> { Ok(with_exif(&jpeg(img, q)?, facts)) };
    let first = encode(QUALITY)?;
    if first.len() <= MAX_BYTES {
        return Ok(first);
    }
    let (mut lo, mut hi) = (30u8, QUALITY);
    let mut best = None;
    for _ in 0..3 {
        let mid = (lo + hi) / 2;
        let out = encode(mid)?;
        if out.len() <= MAX_BYTES {
            lo = mid;
            best = Some(out);
        } else {
            hi = mid;
        }
    }
    match best {
        Some(b) => Ok(b),
        None => encode(30),
    }
}

/// Process a camera original or a picked file.
pub fn process(original: &[u8]) -> Result<ProcessedPhoto, PhotoError> {
    let facts = read_facts(original);
    let decoded = match image::guess_format(original) {
        Ok(image::ImageFormat::Jpeg) => decode_jpeg_scaled(original, LONG_SIDE),
        _ => None,
    };
    let mut img = match decoded {
        Some(img) => img,
        None => ImageReader::new(std::io::Cursor::new(original))
            .with_guessed_format()
            .map_err(|e| PhotoError::Unreadable(e.to_string()))?
            .decode()
            .map_err(|e| PhotoError::Unreadable(e.to_string()))?,
    };
    if let Some(o) = facts
        .orientation
        .and_then(|o| image::metadata::Orientation::from_exif(o as u8))
    {
        img.apply_orientation(o);
    }
    let rgb = img.to_rgb8();
    drop(img);
    let sized = resize(&rgb, LONG_SIDE)?;
    drop(rgb);
    let thumb = jpeg(&resize(&sized, THUMB_SIDE)?, 75)?;
    // Keep the evidence inside the file too; the image is upright now.
    let kept = PhotoFacts {
        orientation: Some(1),
        ..facts
    };
    let body = fit(&sized, &kept)?;
    let reference = PhotoRef {
        sha256: Sha256::of(&body),
        bytes: body.len() as u64,
        width: sized.width(),
        height: sized.height(),
        captured_at: facts.captured_at,
        gps: facts.gps,
    };
    Ok(ProcessedPhoto {
        jpeg: body,
        thumb,
        reference,
    })
}

/// A camera-like test photo: `w`×`h` with texture and noise (smooth synthetic images compress
/// unrealistically well), taken at `facts`, at JPEG quality 92 like a phone camera.
pub fn camera_like(w: u32, h: u32, facts: &PhotoFacts, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let img = RgbImage::from_fn(w, h, |x, y| {
        let n = rng.u8(..12);
        let band = ((x / 37 + y / 53) % 7) as u8 * 18;
        image::Rgb([
            ((x * 255 / w) as u8).wrapping_add(n).wrapping_add(band),
            ((y * 255 / h) as u8).wrapping_add(n / 2),
            (((x + y) % 256) as u8).wrapping_add(band / 2),
        ])
    });
    let raw = jpeg(&img, 92).expect("encoding a generated image works");
    with_exif(&raw, facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use baoxue_shared::location::GeoPoint;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_sideways_camera_photo_comes_out_upright_small_and_with_its_evidence() {
        let facts = PhotoFacts {
            captured_at: Some(Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()),
            gps: Some(GeoPoint::new(25.75, 108.91).unwrap()),
            orientation: Some(6), // rotated 90°: the camera held upright
        };
        let original = camera_like(2000, 1500, &facts, 1);
        let p = process(&original).unwrap();
        assert_eq!(
            (p.reference.width, p.reference.height),
            (1200, 1600),
            "upright: portrait"
        );
        assert_eq!(p.reference.sha256, Sha256::of(&p.jpeg));
        assert_eq!(p.reference.captured_at, facts.captured_at);
        let inside = read_facts(&p.jpeg);
        assert_eq!(
            inside.captured_at, facts.captured_at,
            "the evidence travels inside the file"
        );
        assert_eq!(inside.orientation, Some(1));
        assert!(p.jpeg.len() <= MAX_BYTES, "{} bytes", p.jpeg.len());
        let thumb = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!(thumb.height(), THUMB_SIDE);
    }

    #[test]
    fn a_text_file_is_refused_with_a_reason() {
        let e = process(b"not a photo").unwrap_err();
        assert!(e.zh().contains("无法读取"));
    }
}
