//! The phone's camera and positioning through the page's own JavaScript (`document::eval`):
//! the one path the web app and the Android webview share. Dioxus 0.7 intercepts file inputs
//! inside its tree on Android and iOS (they return no files), so the camera input is made
//! outside the tree, on `document.body`; its bytes come back in base64 pieces. The position
//! comes from `navigator.geolocation` (WGS-84, with its accuracy); Android's WebView falls back
//! to the platform's LocationManager on phones without Google services.

use crate::core::location::{LocateError, from_device};
use baoxue_shared::location::Location;
use base64::Engine as _;
use dioxus::document;
use serde::Deserialize;

/// Where the camera input lives while it is open (also how a WebDriver test finds it).
pub const CAMERA_INPUT_ID: &str = "baoxue-camera";

/// One piece of a photo, in base64, at most this many bytes before encoding.
const PIECE: usize = 256 * 1024;

const CAMERA_JS: &str = r#"
const PIECE = __PIECE__;
// An input left from an earlier tap (cancelled, or never answered: headless browsers answer a
// chooser with 'cancel' at once) ends that pick with no photos; this one takes its place.
let input = document.getElementById('__ID__');
if (input) { input.endPick(); input.remove(); }
input = document.createElement('input');
input.type = 'file';
input.accept = 'image/*';
input.multiple = true;
input.setAttribute('capture', 'environment');
input.id = '__ID__';
input.style.cssText = 'position:fixed;left:0;bottom:0;width:1px;height:1px;opacity:0';
document.body.appendChild(input);
input.endPick = () => dioxus.send(0);
input.addEventListener('change', async () => {
  const files = Array.from(input.files || []);
  dioxus.send(files.length);
  for (const f of files) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    const n = Math.ceil(bytes.length / PIECE);
    dioxus.send(n);
    for (let i = 0; i < n; i++) {
      const part = bytes.subarray(i * PIECE, (i + 1) * PIECE);
      let s = '';
      for (let j = 0; j < part.length; j += 8192) {
        s += String.fromCharCode.apply(null, part.subarray(j, j + 8192));
      }
      dioxus.send(btoa(s));
    }
  }
  input.remove();
}, { once: true });
input.click();
"#;

/// Why the page gave nothing back (no photo, no download).
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PageError {
    /// This renderer runs no JavaScript (a test's virtual DOM).
    #[error("this screen runs no JavaScript")]
    Unavailable,
    /// The bytes did not arrive whole.
    #[error("the page's answer broke off: {0}")]
    Broken(String),
}

/// Open the camera (or the gallery) and hand each chosen photo's bytes to `taken`, in order.
/// Returns how many came: 0 when the pick was replaced by a later tap (after a cancel, the
/// input waits until then, since a cancelled chooser does not always say so).
pub async fn pick_photos(mut taken: impl FnMut(Vec<u8>)) -> Result<usize, PageError> {
    let js = CAMERA_JS
        .replace("__PIECE__", &PIECE.to_string())
        .replace("__ID__", CAMERA_INPUT_ID);
    let mut eval = document::eval(&js);
    let broken = |e: document::EvalError| match e {
        document::EvalError::Unsupported => PageError::Unavailable,
        e => PageError::Broken(e.to_string()),
    };
    let files: usize = eval.recv().await.map_err(broken)?;
    for _ in 0..files {
        let pieces: usize = eval.recv().await.map_err(broken)?;
        let mut bytes = Vec::new();
        for _ in 0..pieces {
            let piece: String = eval.recv().await.map_err(broken)?;
            bytes.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(piece)
                    .map_err(|e| PageError::Broken(e.to_string()))?,
            );
        }
        taken(bytes);
    }
    Ok(files)
}

const LOCATE_JS: &str = r#"
if (!navigator.geolocation) {
  dioxus.send({ error: 'unavailable' });
} else {
  navigator.geolocation.getCurrentPosition(
    (p) => dioxus.send({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy }),
    (e) => dioxus.send({ error: e.code === 1 ? 'denied' : e.code === 3 ? 'timeout' : 'unavailable' }),
    { enableHighAccuracy: true, timeout: 30000, maximumAge: 60000 });
}
"#;

#[derive(Deserialize)]
struct Fix {
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy: Option<f64>,
    error: Option<String>,
}

/// Where the phone is now, by its own positioning.
pub async fn locate() -> Result<Location, LocateError> {
    let mut eval = document::eval(LOCATE_JS);
    let fix: Fix = eval.recv().await.map_err(|_| LocateError::Unavailable)?;
    match (fix.error.as_deref(), fix.lat, fix.lon) {
        (Some("denied"), ..) => Err(LocateError::Denied),
        (Some("timeout"), ..) => Err(LocateError::TimedOut),
        (None, Some(lat), Some(lon)) => from_device(lat, lon, fix.accuracy),
        _ => Err(LocateError::Unavailable),
    }
}

const DOWNLOAD_JS: &str = r#"
const name = await dioxus.recv();
const b64 = await dioxus.recv();
const text = atob(b64);
const bytes = new Uint8Array(text.length);
for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
const url = URL.createObjectURL(new Blob([bytes], { type: 'application/json' }));
const a = document.createElement('a');
a.href = url;
a.download = name;
a.style.display = 'none';
document.body.appendChild(a);
a.click();
a.remove();
setTimeout(() => URL.revokeObjectURL(url), 60000);
dioxus.send(true);
"#;

/// Hand a file to the user as the browser's download (it lands in the phone's 下载 folder),
/// for shells that have no folder of their own to write into.
pub async fn download(name: &str, bytes: &[u8]) -> Result<(), PageError> {
    let broken = |e: document::EvalError| match e {
        document::EvalError::Unsupported => PageError::Unavailable,
        e => PageError::Broken(e.to_string()),
    };
    let mut eval = document::eval(DOWNLOAD_JS);
    eval.send(name).map_err(broken)?;
    eval.send(base64::engine::general_purpose::STANDARD.encode(bytes))
        .map_err(broken)?;
    let _: bool = eval.recv().await.map_err(broken)?;
    Ok(())
}
