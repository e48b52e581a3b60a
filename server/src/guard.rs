//! What every response and every state-changing request passes: the same-origin check that
//! keeps another site from acting in a logged-in browser's name, and the headers that keep
//! children's data out of frames, caches and content sniffing.
//!
//! The console's cookie is SameSite=Strict, but the old office browsers it is written for may
//! ignore that; so a console request that changes anything, and any API request authenticated
//! by the cookie rather than a bearer token, must show by `Origin` (or, where an old browser
//! sends none, `Referer`) that it comes from a page of this server. A phone's bearer-token
//! request is not a browser's and needs neither.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether `origin` (`scheme://host[:port]`, or a full URL) names the host the request was sent to.
fn names_host(origin: &str, host: &str) -> bool {
    let Some((_, rest)) = origin.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !authority.is_empty() && authority.eq_ignore_ascii_case(host)
}

/// Whether the request shows it comes from this server's own pages. A `null` Origin (a
/// sandboxed frame, a redirect from elsewhere) does not; neither does a request with no
/// Origin and no Referer, since an attacking page can suppress the Referer.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match (text(header::ORIGIN), text(header::REFERER)) {
        (Some(origin), _) => names_host(origin, host),
        (None, Some(referer)) => names_host(referer, host),
        (None, None) => false,
    }
}

/// Whether the session the request would be given comes from the cookie: exactly when
/// `session::bearer_or_cookie` would fall back to it.
fn authenticated_by_cookie(headers: &HeaderMap) -> bool {
    crate::session::bearer(headers).is_none() && crate::session::bearer_or_cookie(headers).is_some()
}

/// Refuse a cross-site state-changing request before any handler sees it.
pub async fn same_origin_writes(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let browser =
        req.uri().path().starts_with("/console") || authenticated_by_cookie(req.headers());
    if !safe && browser && !same_origin(req.headers()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "this request did not come from a page of this server",
            "请求不是从本平台的页面发出的，已拒绝。请在审核平台中重新操作。",
        )
        .into_response();
    }
    next.run(req).await
}

/// The headers every response carries; pages about children are never stored by a cache.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    // The web app's files bring their own (they run WebAssembly); every other page this.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            h,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        );
    }
    // Our own forms then always carry a Referer for the same-origin check, and no other site
    // learns a student's URL.
    set(h, header::REFERRER_POLICY, "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_this_servers_pages_count_as_same_origin() {
        assert!(same_origin(&headers(&[(
            header::ORIGIN,
            "http://127.0.0.1:8080"
        )])));
        assert!(same_origin(&headers(&[(
            header::REFERER,
            "http://127.0.0.1:8080/console/visits/x"
        )])));
        for (k, v) in [
            (header::ORIGIN, "null"),
            (header::ORIGIN, "http://evil.example"),
            (header::ORIGIN, "http://127.0.0.1:8080.evil.example"),
            (
                header::REFERER,
                "http://evil.example/?http://127.0.0.1:8080",
            ),
        ] {
            assert!(!same_origin(&headers(&[(k.clone(), v)])), "{k}: {v}");
        }
        assert!(!same_origin(&headers(&[])), "neither header: refused");
        // A foreign Origin is not rescued by a same-origin Referer.
        assert!(!same_origin(&headers(&[
            (header::ORIGIN, "http://evil.example"),
            (header::REFERER, "http://127.0.0.1:8080/console/queue"),
        ])));
    }
}
