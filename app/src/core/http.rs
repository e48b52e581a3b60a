//! The HTTP client the phone talks to its server with.
//!
//! Natively reqwest verifies a server's certificate through the platform's verifier
//! (rustls-platform-verifier). On Android that verifier panics unless it was first handed the
//! app's JNI environment and context, which a Dioxus app does not do; so on Android the app
//! trusts Mozilla's root store compiled into it instead (`webpki-root-certs`), and only that.
//! A county's certificate must therefore come from a public CA (README: "HTTPS for phones"),
//! which is what the web app needs anyway. In the browser the page's own fetch does TLS.

/// The client every request of the sync engine goes through.
pub fn client() -> reqwest::Client {
    #[cfg(target_os = "android")]
    {
        bundled_roots_client()
    }
    #[cfg(not(target_os = "android"))]
    {
        reqwest::Client::new()
    }
}

/// A client that trusts exactly the public roots compiled into the app (Android's client;
/// built on every native platform so that its behaviour is tested on the machines we have).
#[cfg(not(target_arch = "wasm32"))]
pub fn bundled_roots_client() -> reqwest::Client {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    reqwest::Client::builder()
        .tls_certs_only(roots)
        .build()
        // Only a TLS backend that cannot start fails here, as `Client::new` would panic too.
        .expect("a client over the bundled root store")
}
