//! The API's contract, checked against the running server: every refusal — the framework's
//! own included — is the house error body naming what is wrong, and every status a route
//! answers is one its OpenAPI document lists.

use baoxue_shared::api::ErrorBody;
use baoxue_shared::people::Role;
use baoxue_tests::{Browser, Phone, Seeder, TestServer};
use serde_json::Value;

async fn start(dir: &std::path::Path) -> (TestServer, Phone) {
    let s = Seeder::open(dir);
    s.user("teacher", Role::Teacher, vec![]);
    s.close();
    let server = TestServer::start(dir).await;
    let phone = Phone::login(&server, "teacher").await;
    (server, phone)
}

/// The error body of a refusal, after checking it is the house's.
async fn house_body(r: reqwest::Response, what: &str) -> (u16, Value) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = r.text().await.unwrap();
    assert!(
        ct.starts_with("application/json"),
        "{what}: {status} {ct} {text:?}"
    );
    let typed: ErrorBody = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{what}: not the house error body ({e}): {text}"));
    let e = &typed.error;
    assert!(
        !e.code.is_empty() && !e.message.is_empty() && !e.zh.is_empty(),
        "{what}: {text}"
    );
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn the_frameworks_refusals_speak_the_house_error_body_and_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (server, p) = start(dir.path()).await;
    let http = &p.http;
    let url = |path: &str| server.url(path);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, Option<&str>)> = vec![
        (
            "a malformed login body",
            http.post(url("/api/login"))
                .header("content-type", "application/json")
                .body("{\"account\": "),
            400,
            None,
        ),
        (
            "a login body of the wrong shape",
            http.post(url("/api/login"))
                .json(&serde_json::json!({ "account": 1, "password": "x", "device": "d" })),
            422,
            Some("account"),
        ),
        (
            "a login without a JSON content type",
            http.post(url("/api/login")).body("account=x"),
            415,
            None,
        ),
        (
            "a negative page size",
            http.get(url("/api/sync/pull?limit=-1"))
                .bearer_auth(&p.token),
            400,
            Some("limit"),
        ),
        (
            "an unknown status filter",
            http.get(url("/api/students?status=bogus"))
                .bearer_auth(&p.token),
            400,
            Some("status"),
        ),
        (
            "an unknown Content-Encoding",
            http.post(url("/api/sync/push"))
                .bearer_auth(&p.token)
                .header("content-encoding", "br")
                .body(vec![1, 2, 3]),
            415,
            None,
        ),
        (
            "a body that does not decompress",
            http.post(url("/api/sync/push"))
                .bearer_auth(&p.token)
                .header("content-encoding", "zstd")
                .body(b"not zstd at all".to_vec()),
            400,
            None,
        ),
        (
            "an oversized batch",
            http.post(url("/api/sync/push"))
                .bearer_auth(&p.token)
                .body(vec![b' '; baoxue_shared::wire::MAX_BATCH_BYTES + 1]),
            413,
            None,
        ),
        (
            "a wrong method",
            http.delete(url("/api/me")).bearer_auth(&p.token),
            405,
            None,
        ),
        (
            "an unknown route",
            http.get(url("/api/nothing-here")),
            404,
            None,
        ),
        (
            "a student id that is not an id",
            http.get(url("/api/students/not-an-id/file"))
                .bearer_auth(&p.token),
            404,
            Some("id"),
        ),
        (
            "a photo hash that is not a hash",
            http.get(url("/api/photos/zz")).bearer_auth(&p.token),
            400,
            Some("sha256"),
        ),
        (
            "a list of photos of the wrong shape",
            http.post(url("/api/photos/missing"))
                .bearer_auth(&p.token)
                .json(&serde_json::json!({ "sha256": ["ab"] })),
            422,
            Some("sha256[0]"),
        ),
    ];
    for (what, req, want, field) in cases {
        let (status, body) = house_body(req.send().await.unwrap(), what).await;
        assert_eq!(status, want, "{what}: {body}");
        if let Some(f) = field {
            assert_eq!(body["error"]["fields"][0]["field"], f, "{what}: {body}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn the_consoles_refusals_are_pages_that_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let s = Seeder::open(dir.path());
    s.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    s.close();
    let server = TestServer::start(dir.path()).await;
    let b = Browser::login(&server, "county").await;
    let page = |path: &str| {
        let req = b.http.get(server.url(path));
        b.send(req)
    };
    // A record id that is not an id, and a review form whose decision is not one.
    let r = page("/console/visits/not-an-id").await;
    assert_eq!(r.status().as_u16(), 404);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let text = r.text().await.unwrap();
    assert!(ct.starts_with("text/html"), "{ct}: {text}");
    assert!(text.contains("出错了") && text.contains("id"), "{text}");
    // A queue filter that names no school is refused naming it, not ignored (all shown);
    // an empty one means "any".
    let r = page("/console/queue?school=bogus&kind=").await;
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("school") && text.contains("查询参数"),
        "{text}"
    );
    assert_eq!(
        page("/console/queue?school=&kind=&from=")
            .await
            .status()
            .as_u16(),
        200
    );
    let (status, text) = b
        .post(
            "/console/visits/01930000-0000-7000-8000-000000000001/review",
            &[("decision", "shrug"), ("comment", "")],
        )
        .await;
    assert_eq!(status, 422, "{text}");
    assert!(
        text.contains("<html") && text.contains("decision") && text.contains("表单内容有误"),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn every_status_a_route_answers_is_listed_in_its_document() {
    let dir = tempfile::tempdir().unwrap();
    let (server, p) = start(dir.path()).await;
    let spec: Value = p.get("/api/openapi.json").await.unwrap();
    let paths = spec["paths"].as_object().unwrap();
    let mut probed = 0;
    for (template, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let documented = op["responses"].as_object().unwrap();
            for path in [
                template
                    .replace("{id}", "01930000-0000-7000-8000-000000000001")
                    .replace("{sha256}", &"ab".repeat(32)),
                template.replace("{id}", "x").replace("{sha256}", "zz"),
                format!("{template}?limit=-1&status=bogus&cursor=zz"),
            ] {
                for variant in 0..4 {
                    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                    let mut req = p.http.request(m, server.url(&path));
                    req = match variant {
                        0 => req,
                        1 => req.bearer_auth(&p.token),
                        2 => req
                            .bearer_auth(&p.token)
                            .header("content-type", "application/json")
                            .body("{\"v\": \"one\"}"),
                        _ => req
                            .bearer_auth(&p.token)
                            .header("content-encoding", "br")
                            .header("upload-offset", "0")
                            .header("upload-length", "3")
                            .body(vec![0, 1, 2]),
                    };
                    let status = req.send().await.unwrap().status().as_u16();
                    probed += 1;
                    if status >= 300 {
                        assert!(
                            documented.contains_key(&status.to_string()),
                            "{} {path} (variant {variant}) answered {status}, which its document does not list",
                            method.to_uppercase()
                        );
                    }
                }
            }
        }
    }
    assert!(probed > 100, "every operation was probed");
    server.stop().await;
}

#[tokio::test]
async fn every_value_the_document_allows_in_a_query_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (server, p) = start(dir.path()).await;
    let spec: Value = p.get("/api/openapi.json").await.unwrap();
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(r) => spec["components"]["schemas"][r.rsplit('/').next().unwrap()].clone(),
            None => schema.clone(),
        }
    };
    let mut tried = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        let Some(get) = ops.get("get") else { continue };
        for param in get["parameters"].as_array().into_iter().flatten() {
            if param["in"] != "query" {
                continue;
            }
            let schema = resolve(&param["schema"]);
            for value in schema["enum"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                let url = format!("{path}?{name}={}", value.as_str().unwrap());
                let r = p.get(&url).await;
                assert!(r.is_ok(), "{url}: {:?}", r.err());
                tried += 1;
            }
        }
    }
    assert!(
        tried >= 17,
        "every status and focus group was tried ({tried})"
    );
    server.stop().await;
}
