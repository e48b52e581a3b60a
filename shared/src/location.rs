//! Where a visit happened, how sure we are, and where that came from. Phone GPS is WGS-84;
//! distances are geodesic (the `geo` crate), because a supervisor's 500 m threshold is about
//! real metres on a mountain, not degrees.

use crate::validation::{FieldError, Reason};
use geo::{Distance, Geodesic, Point};
use serde::{Deserialize, Serialize};

/// A WGS-84 coordinate. Constructed only through [`GeoPoint::new`], so it is always in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPoint", into = "RawPoint")]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

#[derive(Serialize, Deserialize)]
struct RawPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    /// A point, refusing NaN and out-of-range values (field names `lat`, `lon`).
    pub fn new(lat: f64, lon: f64) -> Result<Self, FieldError> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(FieldError::new("lat", Reason::LatitudeRange));
        }
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(FieldError::new("lon", Reason::LongitudeRange));
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Geodesic distance in metres (WGS-84 ellipsoid).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        Geodesic.distance(self.as_geo(), other.as_geo())
    }

    fn as_geo(&self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }
}

impl TryFrom<RawPoint> for GeoPoint {
    type Error = String;
    fn try_from(r: RawPoint) -> Result<Self, String> {
        Self::new(r.lat, r.lon).map_err(|e| e.to_string())
    }
}

impl From<GeoPoint> for RawPoint {
    fn from(p: GeoPoint) -> Self {
        Self {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

crate::coded_enum! {
    /// Where a location reading came from; a supervisor trusts them differently.
    pub enum LocationSource {
        /// The phone's positioning at the time of the visit.
        Device = "device", "手机定位", "phone positioning";
        /// GPS written into a photo's EXIF by the camera.
        PhotoExif = "photo_exif", "照片位置信息", "photo GPS";
        /// Typed or picked by the user: the weakest evidence.
        Manual = "manual", "手动填写", "typed by hand";
    }
}

/// A location reading: the point, its accuracy radius in metres when known, and its source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    #[serde(flatten)]
    pub point: GeoPoint,
    /// 68% confidence radius reported by the positioning, in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    pub source: LocationSource,
}

/// The largest accuracy radius accepted at all (a reading worse than 50 km is no reading).
pub const MAX_ACCURACY_M: f64 = 50_000.0;

impl Location {
    /// Refuse a bad accuracy value.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(a) = self.accuracy_m
            && !(a.is_finite() && (0.0..=MAX_ACCURACY_M).contains(&a))
        {
            return Err(FieldError::new("accuracy_m", Reason::AccuracyRange));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_metres_on_the_ground() {
        // Two points in Congjiang county about 1.1 km apart north–south (0.01° of latitude).
        let a = GeoPoint::new(25.75, 108.90).unwrap();
        let b = GeoPoint::new(25.76, 108.90).unwrap();
        let d = a.distance_m(&b);
        assert!((1100.0..1115.0).contains(&d), "{d}");
        assert_eq!(a.distance_m(&a), 0.0);
    }

    #[test]
    fn out_of_range_and_nan_are_refused_with_the_field() {
        assert_eq!(GeoPoint::new(91.0, 0.0).unwrap_err().field, "lat");
        assert_eq!(GeoPoint::new(0.0, f64::NAN).unwrap_err().field, "lon");
        assert!(serde_json::from_str::<GeoPoint>(r#"{"lat":100,"lon":0}"#).is_err());
        let loc = Location {
            point: GeoPoint::new(25.0, 108.0).unwrap(),
            accuracy_m: Some(-3.0),
            source: LocationSource::Device,
        };
        assert_eq!(loc.validate().unwrap_err().reason, Reason::AccuracyRange);
    }

    proptest::proptest! {
        // Replicas compare ops for equality after a JSON round trip (a duplicate with different
        // content is refused): every coordinate must come back bit for bit.
        #[test]
        fn coordinates_survive_json_exactly(lat in -90.0f64..90.0, lon in -180.0f64..180.0, acc in 0.0f64..5000.0) {
            let loc = Location { point: GeoPoint::new(lat, lon).unwrap(), accuracy_m: Some(acc), source: LocationSource::Device };
            let back: Location = serde_json::from_str(&serde_json::to_string(&loc).unwrap()).unwrap();
            proptest::prop_assert_eq!(back, loc);
        }
    }

    #[test]
    fn location_json_is_flat() {
        let loc = Location {
            point: GeoPoint::new(25.5, 108.5).unwrap(),
            accuracy_m: Some(12.0),
            source: LocationSource::PhotoExif,
        };
        let v = serde_json::to_value(loc).unwrap();
        assert_eq!(v["lat"], 25.5);
        assert_eq!(v["source"], "photo_exif");
        assert_eq!(serde_json::from_value::<Location>(v).unwrap(), loc);
    }
}
