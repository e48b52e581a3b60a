//! Where a visit happened. Three sources: the device's own positioning (`navigator.geolocation`
//! through the page, `ui::device::locate`, in the browser and the Android webview alike; a fix
//! becomes a location here, [`from_device`]), a photo's EXIF GPS, and manual entry. The record
//! keeps the source and the accuracy, so a supervisor knows how much to trust it.

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
    #[error("no position within the time allowed")]
    TimedOut,
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
            LocateError::Denied => {
                "未允许定位：请在浏览器或手机设置中允许本网站（应用）使用位置信息，或用照片位置、手动填写"
            }
            LocateError::TimedOut => "定位超时：请到开阔处再试，或用照片位置、手动填写",
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

/// A fix from the device's positioning (WGS-84, as phones report it; Chinese map apps show
/// GCJ-02, so households are kept in WGS-84 too), with its accuracy in metres when given.
pub fn from_device(lat: f64, lon: f64, accuracy_m: Option<f64>) -> Result<Location, LocateError> {
    Ok(Location {
        point: GeoPoint::new(lat, lon)?,
        accuracy_m: accuracy_m.filter(|a| a.is_finite() && *a >= 0.0),
        source: LocationSource::Device,
    })
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
        let fix = from_device(25.7512, 108.9123, Some(12.5)).unwrap();
        assert_eq!(
            (fix.source, fix.accuracy_m),
            (LocationSource::Device, Some(12.5))
        );
        assert!(matches!(
            from_device(91.0, 0.0, None),
            Err(LocateError::Invalid(_))
        ));
        assert!(LocateError::NoGps.zh().contains("微信"));
    }
}
