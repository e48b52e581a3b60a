//! Photo evidence on disk, content-addressed by SHA-256. An upload is accepted only if the
//! bytes hash to the name they were sent under and decode as a real JPEG, PNG or WebP (judged
//! by content, not extension), under a size limit. Uploads over a weak signal can be resumed:
//! bytes are appended at the offset the server reports, and the photo is checked when the last
//! byte arrives. Storing the same photo twice is a no-op.
//!
//! Kept beside each photo: a 320 px thumbnail, the EXIF capture time and GPS, and a perceptual
//! hash so the console can spot one picture reused for different visits.

use crate::store::PhotoMeta;
use baoxue_shared::exif::read_facts;
use baoxue_shared::ids::UserId;
use baoxue_shared::observation::Sha256;
use chrono::{DateTime, Utc};
use image::{ImageFormat, ImageReader};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The largest photo accepted. The app sends 1600 px JPEGs of about 300 KB; a 12 MP original
/// is still under this.
pub const MAX_PHOTO_BYTES: u64 = 15 * 1024 * 1024;

/// Long side of stored thumbnails, in pixels.
pub const THUMB_PX: u32 = 320;

/// Why a photo was refused.
#[derive(Debug, Error)]
pub enum PhotoError {
    #[error("the bytes hash to {actual}, not {claimed}")]
    HashMismatch { claimed: Sha256, actual: Sha256 },
    #[error("the bytes are not an image: {reason}")]
    NotAnImage { reason: String },
    #[error("{format} images are not accepted; send JPEG, PNG or WebP")]
    UnsupportedFormat { format: String },
    #[error("the photo is {size} bytes; the limit is {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error("the photo is incomplete: {reason}")]
    Incomplete { reason: &'static str },
    #[error("the upload is at byte {expected}, not {got}")]
    WrongOffset { expected: u64, got: u64 },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl PhotoError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::HashMismatch { .. } => "photo_hash_mismatch",
            PhotoError::NotAnImage { .. } => "photo_not_an_image",
            PhotoError::UnsupportedFormat { .. } => "photo_unsupported_format",
            PhotoError::TooLarge { .. } => "photo_too_large",
            PhotoError::Incomplete { .. } => "photo_incomplete",
            PhotoError::WrongOffset { .. } => "upload_wrong_offset",
            PhotoError::Io(_) => "io",
        }
    }
}

/// The photo directory.
#[derive(Debug, Clone)]
pub struct PhotoFiles {
    dir: PathBuf,
}

impl PhotoFiles {
    /// Photos under `data_dir/photos`.
    pub fn new(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join("photos");
        std::fs::create_dir_all(dir.join("partial"))?;
        std::fs::create_dir_all(dir.join("thumbs"))?;
        Ok(Self { dir })
    }

    /// Where a stored photo's bytes are.
    pub fn path(&self, sha: &Sha256) -> PathBuf {
        let hex = sha.to_hex();
        self.dir.join(&hex[..2]).join(hex)
    }

    /// Where a stored photo's thumbnail is.
    pub fn thumb_path(&self, sha: &Sha256) -> PathBuf {
        self.dir
            .join("thumbs")
            .join(format!("{}.jpg", sha.to_hex()))
    }

    fn partial_path(&self, sha: &Sha256) -> PathBuf {
        self.dir.join("partial").join(sha.to_hex())
    }

    /// How many bytes of an interrupted upload the server holds.
    pub fn offset(&self, sha: &Sha256) -> u64 {
        std::fs::metadata(self.partial_path(sha))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Append `chunk` at `offset` of the upload of `sha`, whose full size is `total`. Returns
    /// the complete bytes when the last chunk arrived, `None` while more are expected.
    pub fn append(
        &self,
        sha: &Sha256,
        offset: u64,
        total: u64,
        chunk: &[u8],
    ) -> Result<Option<Vec<u8>>, PhotoError> {
        if total > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge {
                size: total,
                limit: MAX_PHOTO_BYTES,
            });
        }
        let have = self.offset(sha);
        if offset != have {
            return Err(PhotoError::WrongOffset {
                expected: have,
                got: offset,
            });
        }
        if have + chunk.len() as u64 > total {
            return Err(PhotoError::TooLarge {
                size: have + chunk.len() as u64,
                limit: total,
            });
        }
        let path = self.partial_path(sha);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        f.write_all(chunk)?;
        f.sync_data()?;
        if have + chunk.len() as u64 == total {
            let bytes = std::fs::read(&path)?;
            Ok(Some(bytes))
        } else {
            Ok(None)
        }
    }

    /// Check a complete photo and store it with its thumbnail; returns its metadata for the
    /// store. Idempotent: storing the same bytes again rewrites nothing.
    pub fn ingest(
        &self,
        claimed: &Sha256,
        bytes: &[u8],
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<PhotoMeta, PhotoError> {
        let stored = self.check_and_store(claimed, bytes, by, now);
        // Refused means gone: a resumed upload starts again from nothing, and `HEAD` reports no
        // bytes of a photo that was turned away.
        let _ = std::fs::remove_file(self.partial_path(claimed));
        stored
    }

    fn check_and_store(
        &self,
        claimed: &Sha256,
        bytes: &[u8],
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<PhotoMeta, PhotoError> {
        let size = bytes.len() as u64;
        if size > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge {
                size,
                limit: MAX_PHOTO_BYTES,
            });
        }
        let actual = Sha256::of(bytes);
        if actual != *claimed {
            return Err(PhotoError::HashMismatch {
                claimed: *claimed,
                actual,
            });
        }
        let reader = ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| PhotoError::NotAnImage {
                reason: e.to_string(),
            })?;
        let format = reader.format().ok_or_else(|| PhotoError::NotAnImage {
            reason: "unknown format".into(),
        })?;
        let mime = match format {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::WebP => "image/webp",
            other => {
                return Err(PhotoError::UnsupportedFormat {
                    format: format!("{other:?}"),
                });
            }
        };
        // Decoders fill a file cut short with grey, or stop at the last pixel without reading
        // the end, and say nothing: a photo broken off by a dropped connection would be kept
        // as evidence. Each format's own end must be there.
        let complete = match format {
            ImageFormat::Jpeg => jpeg_is_complete(bytes),
            ImageFormat::Png => png_is_complete(bytes),
            _ => webp_is_complete(bytes),
        };
        if !complete {
            return Err(PhotoError::Incomplete {
                reason: "the file ends before the format's end marker",
            });
        }
        let img = reader.decode().map_err(|e| PhotoError::NotAnImage {
            reason: e.to_string(),
        })?;
        let facts = read_facts(bytes);
        let hasher = image_hasher::HasherConfig::new().to_hasher();
        let phash = hasher.hash_image(&img).to_base64();

        let path = self.path(claimed);
        if !path.exists() {
            std::fs::create_dir_all(path.parent().expect("photo paths have a parent"))?;
            write_atomically(&path, bytes)?;
        }
        let thumb_path = self.thumb_path(claimed);
        if !thumb_path.exists() {
            let thumb = img.thumbnail(THUMB_PX, THUMB_PX).to_rgb8();
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
                .encode_image(&thumb)
                .map_err(|e| PhotoError::Io(std::io::Error::other(e)))?;
            write_atomically(&thumb_path, &out)?;
        }
        Ok(PhotoMeta {
            sha256: *claimed,
            bytes: size,
            width: img.width(),
            height: img.height(),
            mime: mime.into(),
            captured_at: facts.captured_at,
            lat: facts.gps.map(|g| g.lat()),
            lon: facts.gps.map(|g| g.lon()),
            phash,
            uploaded_by: by,
            uploaded_at: now,
        })
    }
}

/// Whether a JPEG's bytes run to its end-of-image marker. Walks the marker segments to the
/// first scan (so an EXIF thumbnail's own end marker does not count), then looks for the end
/// marker: inside entropy-coded data a 0xFF byte is always followed by 0x00 or a restart
/// marker, so 0xFF 0xD9 there is the real end. Data after it (phone trailers) is allowed.
fn jpeg_is_complete(b: &[u8]) -> bool {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut i = 2;
    loop {
        while i + 1 < b.len() && b[i] == 0xFF && b[i + 1] == 0xFF {
            i += 1; // fill bytes
        }
        if i + 4 > b.len() || b[i] != 0xFF {
            return false;
        }
        match b[i + 1] {
            0xDA => break,
            0xD9 => return false,
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
                if len < 2 {
                    return false;
                }
                i += 2 + len;
            }
        }
    }
    b[i..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Whether a PNG runs to its IEND chunk with the chunk's checksum.
fn png_is_complete(b: &[u8]) -> bool {
    b.windows(4)
        .rposition(|w| w == b"IEND")
        .is_some_and(|at| b.len() >= at + 8)
}

/// Whether a WebP holds as many bytes as its RIFF header says.
fn webp_is_complete(b: &[u8]) -> bool {
    b.len() >= 8 && u64::from(u32::from_le_bytes([b[4], b[5], b[6], b[7]])) + 8 <= b.len() as u64
}

/// Write to a temporary file, sync, then rename: a killed server leaves either nothing or the
/// whole file, never half a photo under its final name. The temporary name is this writer's
/// own: servers sharing the photo directory may write the same photo at once.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}-{:016x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn a_real_jpeg_is_stored_with_thumbnail_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let files = PhotoFiles::new(dir.path()).unwrap();
        let bytes = jpeg(800, 600);
        let sha = Sha256::of(&bytes);
        let meta = files
            .ingest(&sha, &bytes, UserId::new(), Utc::now())
            .unwrap();
        assert_eq!(
            (meta.width, meta.height, meta.mime.as_str()),
            (800, 600, "image/jpeg")
        );
        assert!(files.path(&sha).exists());
        let thumb = image::open(files.thumb_path(&sha)).unwrap();
        assert_eq!(thumb.width(), THUMB_PX);
        // Again: nothing changes, no error.
        files
            .ingest(&sha, &bytes, UserId::new(), Utc::now())
            .unwrap();
    }

    #[test]
    fn a_photo_cut_short_is_refused_as_incomplete_and_nothing_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = PhotoFiles::new(dir.path()).unwrap();
        let whole = jpeg(800, 600);
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([x as u8, y as u8, (x ^ y) as u8])
        }))
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
        for (what, full) in [("jpeg", whole), ("png", png)] {
            for keep in [full.len() * 2 / 3, full.len() - 2] {
                let cut = &full[..keep];
                let sha = Sha256::of(cut);
                let e = files
                    .ingest(&sha, cut, UserId::new(), Utc::now())
                    .expect_err(what);
                assert!(
                    matches!(
                        e,
                        PhotoError::Incomplete { .. } | PhotoError::NotAnImage { .. }
                    ),
                    "{what} cut at {keep}: {e:?}"
                );
                assert!(!files.path(&sha).exists(), "{what}: nothing stored");
            }
        }
        // The JPEG cut just before its end marker says so in words a teacher can act on.
        let whole = jpeg(800, 600);
        let cut = &whole[..whole.len() - 2];
        let e = files
            .ingest(&Sha256::of(cut), cut, UserId::new(), Utc::now())
            .unwrap_err();
        assert_eq!(e.code(), "photo_incomplete", "{e}");
    }

    #[test]
    fn text_posing_as_a_jpeg_and_a_wrong_hash_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = PhotoFiles::new(dir.path()).unwrap();
        let text = b"this is a text file named photo.jpg".to_vec();
        let e = files
            .ingest(&Sha256::of(&text), &text, UserId::new(), Utc::now())
            .unwrap_err();
        assert_eq!(e.code(), "photo_not_an_image");
        let bytes = jpeg(10, 10);
        let e = files
            .ingest(&Sha256::of(b"other"), &bytes, UserId::new(), Utc::now())
            .unwrap_err();
        assert_eq!(e.code(), "photo_hash_mismatch");
    }

    #[test]
    fn a_resumed_upload_refused_as_not_an_image_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let files = PhotoFiles::new(dir.path()).unwrap();
        let text = "这不是照片，只是改了扩展名的文本文件。"
            .repeat(20)
            .into_bytes();
        let sha = Sha256::of(&text);
        let total = text.len() as u64;
        assert_eq!(files.append(&sha, 0, total, &text[..100]).unwrap(), None);
        let done = files
            .append(&sha, 100, total, &text[100..])
            .unwrap()
            .unwrap();
        let e = files
            .ingest(&sha, &done, UserId::new(), Utc::now())
            .unwrap_err();
        assert_eq!(e.code(), "photo_not_an_image");
        assert_eq!(files.offset(&sha), 0, "the refused bytes are gone");
        // The same photo id can be uploaded afresh from the start.
        assert_eq!(files.append(&sha, 0, total, &text[..100]).unwrap(), None);
    }

    #[test]
    fn an_interrupted_upload_resumes_at_the_servers_offset() {
        let dir = tempfile::tempdir().unwrap();
        let files = PhotoFiles::new(dir.path()).unwrap();
        let bytes = jpeg(200, 100);
        let sha = Sha256::of(&bytes);
        let total = bytes.len() as u64;
        assert_eq!(files.append(&sha, 0, total, &bytes[..100]).unwrap(), None);
        assert_eq!(files.offset(&sha), 100);
        // A retry of the first chunk is told where to continue.
        let e = files.append(&sha, 0, total, &bytes[..100]).unwrap_err();
        assert!(matches!(
            e,
            PhotoError::WrongOffset {
                expected: 100,
                got: 0
            }
        ));
        let done = files
            .append(&sha, 100, total, &bytes[100..])
            .unwrap()
            .unwrap();
        assert_eq!(done, bytes);
        files
            .ingest(&sha, &done, UserId::new(), Utc::now())
            .unwrap();
        assert_eq!(
            files.offset(&sha),
            0,
            "the partial file is gone once stored"
        );
    }
}
