//! The field app as a web app, served at `/app/` from the directory `scripts/build-web.sh`
//! fills (`serve --web-app DIR`). The page and the service worker are `no-cache`, so a phone
//! learns of a new version the next time it is online; everything else sits in a folder named
//! by the build's hash and is cached for good. The app is public: it holds no data until a
//! teacher logs in, and the data then stays in the phone's browser.
//!
//! Also the link a teacher scans from the office screen: [`install_link`], a QR code of this
//! server's `/app/` for the index page and the console's login page.

use crate::error::ApiError;
use crate::extract::AppPath;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// What the app's pages may do: run their own scripts and WebAssembly (`wasm-unsafe-eval`)
/// and the camera and positioning snippets the screens run through Dioxus's `eval`, which
/// builds them with `new Function` (`unsafe-eval`); talk to this server only.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(page))
        .route("/app/{*path}", get(file))
}

async fn page(State(s): State<AppState>) -> Result<Response, ApiError> {
    serve(&s, "index.html", false).await
}

async fn file(
    State(s): State<AppState>,
    headers: HeaderMap,
    AppPath(path): AppPath<String>,
) -> Result<Response, ApiError> {
    serve(&s, &path, accepts_gzip(&headers)).await
}

/// Whether the browser takes gzip (every browser does; a `q=0` refuses it).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The content type of a file the app is built from; anything else is not served.
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "css" => "text/css; charset=utf-8",
        _ => return None,
    })
}

/// Whether `path` names a file inside the app's folder (no `..`, no hidden files, no
/// absolute paths).
fn inside(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
}

/// Serve `path` from the built app. A build file is sent as its gzip twin (`build-web.sh`
/// writes one beside each large file) when the browser takes gzip: a teacher's first download
/// over a weak mobile signal is a third of the size.
async fn serve(s: &AppState, path: &str, gzip: bool) -> Result<Response, ApiError> {
    let Some(dir) = s.web_app.as_deref() else {
        return Err(not_built());
    };
    let (true, Some(kind)) = (inside(path), content_type(path)) else {
        return Err(ApiError::not_found("file"));
    };
    let versioned = path.contains('/');
    let compressed = if gzip && versioned {
        match tokio::fs::read(dir.join(format!("{path}.gz"))).await {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(ApiError::internal(e)),
        }
    } else {
        None
    };
    let is_gzip = compressed.is_some();
    let bytes = match compressed {
        Some(b) => b,
        None => match tokio::fs::read(dir.join(path)).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(if path == "index.html" {
                    not_built()
                } else {
                    ApiError::not_found("file")
                });
            }
            Err(e) => return Err(ApiError::internal(e)),
        },
    };
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(APP_CSP),
    );
    if versioned {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if is_gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok((h, bytes).into_response())
}

fn not_built() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "web_app_not_built",
        "the phone app has not been built on this server: run scripts/build-web.sh, or start the server with --web-app pointing at a built app",
        "本服务器尚未构建手机应用：请运行 scripts/build-web.sh，或用 --web-app 指定已构建的应用目录。",
    )
}

/// This server's `/app/` as the browser reached it (behind a proxy, as the proxy says).
pub fn app_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"))
        .unwrap_or("http");
    format!("{scheme}://{host}/app/")
}

/// A block of HTML: the app's address as a QR code a teacher scans with the phone's browser,
/// and as a link.
pub fn install_link(headers: &HeaderMap) -> String {
    let url = app_url(headers);
    let svg = qrcode::QrCode::new(url.as_bytes())
        .map(|q| {
            q.render::<qrcode::render::svg::Color>()
                .min_dimensions(180, 180)
                .build()
        })
        .unwrap_or_default();
    let url = html_escape(&url);
    format!(
        r#"<div class="install-app"><div class="qr" role="img" aria-label="手机应用二维码">{svg}</div><p>教师、联络员用手机浏览器扫码打开<strong>保学手机应用</strong>，再“添加到主屏幕”，之后没有网络也能记录。<br>Teachers: scan with the phone's browser to open the field app: <a href="{url}">{url}</a></p></div>"#
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_sent_only_to_a_browser_that_takes_it() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br, zstd"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(with("*"));
        assert!(!with("br, zstd"));
        assert!(!with("gzip;q=0, br"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn only_plain_files_inside_the_folder_are_served() {
        assert!(inside("index.html") && inside("2e95bd2876ec/baoxue_bg.wasm"));
        assert!(inside("2e95/snippets/dioxus-web-1/inline0.js"));
        for bad in [
            "",
            "../data/baoxue.db",
            "a/../../x.js",
            "/etc/passwd",
            ".env",
            "a//b.js",
            "a\\b.js",
        ] {
            assert!(!inside(bad), "{bad}");
        }
        assert_eq!(content_type("x/baoxue_bg.wasm"), Some("application/wasm"));
        assert_eq!(content_type("baoxue.db"), None);
    }

    #[test]
    fn the_install_link_names_the_address_the_browser_used() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("10.0.0.5:8080"));
        assert_eq!(app_url(&h), "http://10.0.0.5:8080/app/");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("baoxue.example.cn"),
        );
        assert_eq!(app_url(&h), "https://baoxue.example.cn/app/");
        let block = install_link(&h);
        assert!(block.contains("<svg") && block.contains("https://baoxue.example.cn/app/"));
    }
}
