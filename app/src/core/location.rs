//! Where a visit happened. One interface, three sources: the device's own positioning (on
//! Android through platform code, in the desktop shell through the webview's geolocation —
//! neither exists in a headless build), a photo's EXIF GPS, and manual entry. The record keeps
//! the source and the accuracy, so a supervisor knows how much to trust it.

use baoxue_shared::exif::PhotoFacts;
use baoxue_shared::location::{GeoPoint, Location, LocationSource};
use baoxue_shared::validation::FieldError;
use thiserror::Error;

/// Why no position could be had.
#[derive(Debug, Error, PartialEq)]
pub enum LocateError {
    #[error("positioning is not available on this device")]
    Unavailable,
    #[error("the user has not allowed location access")]
    Denied,
    #[error("the photo has no GPS in its EXIF")]
    NoGps,
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

impl LocateError {
    /// The reason in Chinese, shown beside the location field.
    pub fn zh(&self) -> &'static str {
        match self {
            LocateError::Unavailable => "此设备无法定位，请手动填写或用照片位置",
            LocateError::Denied => "未允许定位权限，请在手机设置中开启",
            LocateError::NoGps => "照片没有位置信息（微信转发的照片会丢失位置）",
            LocateError::Invalid(_) => "位置数值无效",
        }
    }
}

/// Something that can tell where the phone is.
pub trait Locator {
    /// The current position with its accuracy and source.
    fn locate(&self) -> Result<Location, LocateError>;
}

/// The position written into a photo by the camera.
pub struct FromPhoto(pub PhotoFacts);

impl Locator for FromPhoto {
    fn locate(&self) -> Result<Location, LocateError> {
        let point = self.0.gps.ok_or(LocateError::NoGps)?;
        Ok(Location {
            point,
            accuracy_m: None,
            source: LocationSource::PhotoExif,
        })
    }
}

/// A position typed or picked by the user: the weakest evidence, recorded as such.
pub struct Manual {
    pub lat: f64,
    pub lon: f64,
}

impl Locator for Manual {
    fn locate(&self) -> Result<Location, LocateError> {
        Ok(Location {
            point: GeoPoint::new(self.lat, self.lon)?,
            accuracy_m: None,
            source: LocationSource::Manual,
        })
    }
}

/// The device's own positioning. On Android this is where platform code (the
/// `LocationManager` through JNI) plugs in; it is compiled only there. Elsewhere it reports
/// [`LocateError::Unavailable`], and the screens offer the photo or manual entry.
pub struct Device;

impl Locator for Device {
    #[cfg(not(target_os = "android"))]
    fn locate(&self) -> Result<Location, LocateError> {
        Err(LocateError::Unavailable)
    }

    #[cfg(target_os = "android")]
    fn locate(&self) -> Result<Location, LocateError> {
        // Not built on these machines (no Android toolchain): see README, "Android".
        Err(LocateError::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_says_what_it_is() {
        let facts = PhotoFacts {
            gps: Some(GeoPoint::new(25.7, 108.9).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            FromPhoto(facts).locate().unwrap().source,
            LocationSource::PhotoExif
        );
        assert_eq!(
            FromPhoto(PhotoFacts::default()).locate(),
            Err(LocateError::NoGps)
        );
        assert_eq!(
            Manual {
                lat: 25.7,
                lon: 108.9
            }
            .locate()
            .unwrap()
            .source,
            LocationSource::Manual
        );
        let e = Manual {
            lat: 95.0,
            lon: 108.9,
        }
        .locate()
        .unwrap_err();
        assert!(matches!(e, LocateError::Invalid(ref f) if f.field == "lat"));
        assert_eq!(Device.locate(), Err(LocateError::Unavailable));
        assert!(LocateError::NoGps.zh().contains("微信"));
    }
}
