//! The server terminating TLS itself (`serve --tls-cert --tls-key`): what a county without a
//! reverse proxy runs so phones get the secure context the web app needs.

use baoxue_server::{Settings, Tls};
use baoxue_tests::web_app_dir;

/// A certificate for `localhost`, as PEM files in `dir`.
fn certificate(dir: &std::path::Path) -> (Tls, reqwest::Certificate) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.signing_key.serialize_pem()).unwrap();
    let trusted = reqwest::Certificate::from_pem(c.cert.pem().as_bytes()).unwrap();
    (Tls { cert, key }, trusted)
}

fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        data_dir: dir.join("data"),
        database: baoxue_tests::test_database(&dir.join("data")),
        evidence: Default::default(),
        web_app: Some(web_app_dir()),
    }
}

/// A server terminating TLS with a self-signed certificate for `localhost`, answering before
/// this returns; a client that trusts that certificate; the server's base URL.
struct TlsServer {
    base: String,
    trusting: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), baoxue_server::store::StoreError>>,
}

impl TlsServer {
    async fn start(dir: &std::path::Path) -> TlsServer {
        let (tls, trusted) = certificate(dir);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(baoxue_server::serve_with(
            listener,
            settings(dir),
            Some(tls),
            async {
                let _ = stopped.await;
            },
        ));
        let trusting = reqwest::Client::builder()
            .tls_certs_only([trusted])
            .build()
            .unwrap();
        let base = format!("https://localhost:{port}");
        for _ in 0..50 {
            if trusting.get(format!("{base}/")).send().await.is_ok() {
                return TlsServer {
                    base,
                    trusting,
                    stop,
                    task,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the server does not answer over TLS");
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().expect("a clean stop");
    }
}

#[tokio::test]
async fn the_server_speaks_https_with_its_own_certificate_and_says_so_in_its_links() {
    let dir = tempfile::tempdir().unwrap();
    let server = TlsServer::start(dir.path()).await;
    let (client, base) = (&server.trusting, &server.base);
    let front = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(front.status(), 200);
    let page = front.text().await.unwrap();
    assert!(
        page.contains(&format!("{base}/app/")),
        "the phone app's QR link is https"
    );
    let api = client.get(format!("{base}/api/me")).send().await.unwrap();
    assert_eq!(api.status(), 401, "the API answers over TLS too");
    // Plain HTTP on the TLS port gets no page.
    let plain = reqwest::get(base.replace("https://", "http://") + "/").await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain http is not served"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_certificate_that_cannot_be_read_stops_the_start_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let missing = Tls {
        cert: dir.path().join("no-cert.pem"),
        key: dir.path().join("no-key.pem"),
    };
    let e = baoxue_server::serve_with(listener, settings(dir.path()), Some(missing), async {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no-cert.pem"), "{e}");
}

/// The Android app cannot use the platform's certificate verifier (it needs JNI set-up a Dioxus
/// app does not do), so it trusts the public roots compiled into it: a county server with a
/// certificate no public CA issued is refused, not silently trusted.
#[tokio::test]
async fn the_android_client_refuses_a_certificate_no_public_ca_issued() {
    let dir = tempfile::tempdir().unwrap();
    let server = TlsServer::start(dir.path()).await;
    let url = format!("{}/api/me", server.base);
    let refused = baoxue_app::core::http::bundled_roots_client()
        .get(&url)
        .send()
        .await
        .expect_err("the phone's client does not trust a self-signed certificate");
    let mut why = refused.to_string();
    let mut source = std::error::Error::source(&refused);
    while let Some(s) = source {
        why.push_str(&format!(": {s}"));
        source = s.source();
    }
    assert!(
        why.contains("UnknownIssuer"),
        "refused for its issuer: {why}"
    );
    server.stop().await;
}
