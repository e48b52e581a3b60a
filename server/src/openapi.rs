//! The OpenAPI 3 description of the API, served at `/api/openapi.json`. Written out here rather
//! than derived: the wire types live in `baoxue_shared`, which stays free of server crates. A
//! test checks that every route the router serves is described.

use axum::Json;
use serde_json::{Value, json};

fn error_response(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// What each error status means, wherever it is listed.
fn error_meaning(status: u16) -> &'static str {
    match status {
        400 => "malformed request: body, query parameter or header (the error names it)",
        401 => "missing, invalid or expired token",
        403 => "outside the caller's scope, or not allowed to the caller's role",
        404 => "not found (or not the caller's to see: the two are not told apart)",
        409 => "conflicts with what the server holds",
        413 => "body too large",
        415 => "unsupported Content-Type or Content-Encoding, or not a JPEG, PNG or WebP",
        422 => "invalid content; `fields` names each bad field",
        429 => "too many failed logins; see Retry-After",
        500 => "internal error (details in the server log)",
        _ => "the store is shutting down; retry shortly",
    }
}

/// The statuses every operation may answer with besides its own (any request may carry a
/// Content-Encoding the server does not speak).
const COMMON: &[u16] = &[400, 415, 500, 503];
/// What a request with a body may additionally be refused with.
const WITH_BODY: &[u16] = &[413, 422];

/// The document.
pub fn spec() -> Value {
    let bearer = json!([{ "token": [] }]);
    let mut paths = serde_json::Map::new();
    let op = |summary: &str, secured: bool, statuses: &[u16], extra: Value| {
        let mut responses = serde_json::Map::new();
        let own = COMMON.iter().chain(statuses).chain(secured.then_some(&401));
        for s in own {
            responses.insert(s.to_string(), error_response(error_meaning(*s)));
        }
        let mut o = json!({ "summary": summary, "responses": responses });
        if secured {
            o["security"] = bearer.clone();
        }
        if let (Some(o), Some(e)) = (o.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                if k == "responses" {
                    for (code, r) in v.as_object().into_iter().flatten() {
                        o["responses"][code] = r.clone();
                    }
                } else {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
        o
    };
    let body = |extra: &[u16]| -> Vec<u16> { WITH_BODY.iter().chain(extra).copied().collect() };
    paths.insert("/api/login".into(), json!({ "post": op("Log in from a device; returns a bearer token bound to that device", false, &body(&[401, 429]), json!({
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["account", "password", "device"], "properties": { "account": { "type": "string" }, "password": { "type": "string" }, "device": { "type": "string", "format": "uuid" } } } } } },
        "responses": { "200": { "description": "token, expiry and user" }, "401": error_response("wrong account or password"), "429": error_response("too many failed logins; see Retry-After") }
    })) }));
    paths.insert(
        "/api/logout".into(),
        json!({ "post": op("Revoke the calling token or console cookie", true, &[], json!({})) }),
    );
    paths.insert(
        "/api/me".into(),
        json!({ "get": op("The caller and the size of their caseload", true, &[], json!({})) }),
    );
    paths.insert("/api/sync/push".into(), json!({ "post": op("Push a batch of operations. Idempotent by batch id; the receipt lists exactly the ops durably stored. A batch touching anything outside the caseload is refused whole. Bodies may be zstd- or gzip-compressed (Content-Encoding).", true, &body(&[403, 409]), json!({
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Batch" } } } },
        "responses": { "200": { "description": "stored", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PushReceipt" } } } }, "409": error_response("an op id already stored with different content"), "413": error_response("batch too large") }
    })) }));
    paths.insert("/api/sync/pull".into(), json!({ "get": op("Everything in the caller's caseload after a cursor, paged. A first pull (no cursor) bootstraps the caseload; students newly in care arrive with their whole history.", true, &[], json!({
        "parameters": [ { "name": "cursor", "in": "query", "schema": { "type": "string" } }, { "name": "limit", "in": "query", "schema": { "type": "integer", "maximum": 2000 } } ],
        "responses": { "200": { "description": "a page", "content": { "application/json": { "schema": { "type": "object", "properties": { "ops": { "type": "array", "items": { "$ref": "#/components/schemas/Op" } }, "cursor": { "type": "string" }, "more": { "type": "boolean" } } } } } } }
    })) }));
    paths.insert("/api/students".into(), json!({ "get": op("Students in the caller's care, filtered", true, &[], json!({
        "parameters": [
            { "name": "status", "in": "query", "schema": { "$ref": "#/components/schemas/EnrolmentStatus" } },
            { "name": "school", "in": "query", "schema": { "type": "string", "format": "uuid" } },
            { "name": "village", "in": "query", "schema": { "type": "string" } },
            { "name": "focus", "in": "query", "schema": { "type": "string", "enum": baoxue_shared::people::FocusGroup::CODES } },
            { "name": "overdue", "in": "query", "schema": { "type": "boolean" } }
        ]
    })) }));
    paths.insert("/api/students/{id}/file".into(), json!({ "get": op("A student's file (一生一案): current state, timeline, due work, conflicts, missing evidence, photo links", true, &[404], json!({
        "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } } ]
    })) }));
    paths.insert("/api/photos/missing".into(), json!({ "post": op("Which of these photo hashes to send: those of the caller's scope the server lacks, and (listed also as out_of_scope) every hash cited by no record the caller may see, of which nothing is told", true, &body(&[]), json!({})) }));
    let sha_param = json!([ { "name": "sha256", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-fA-F]{64}$" } } ]);
    paths.insert("/api/photos/{sha256}".into(), json!({
        "get": op("Download a photo (only to those who may see a record citing it)", true, &[403, 404], json!({ "parameters": sha_param })),
        "head": op("Whether the server has the photo (200) or how many bytes of an upload it holds (404 with Upload-Offset)", true, &[403, 404], json!({ "parameters": sha_param })),
        "put": op("Upload a whole photo (JPEG, PNG or WebP; checked against its hash and decoded)", true, &body(&[]), json!({ "parameters": sha_param, "responses": { "200": { "description": "stored" }, "415": error_response("not a JPEG, PNG or WebP"), "413": error_response("too large") } })),
        "patch": op("Upload a chunk: Upload-Offset where it starts, Upload-Length the full size. 202 with the new offset while incomplete; 200 once stored.", true, &body(&[409]), json!({ "parameters": sha_param, "responses": { "202": { "description": "chunk stored" }, "409": error_response("offset does not match the server's") } }))
    }));
    paths.insert(
        "/api/photos/{sha256}/thumb".into(),
        json!({ "get": op("A 320 px JPEG thumbnail", true, &[403, 404], json!({ "parameters": sha_param })) }),
    );
    paths.insert("/api/access-log".into(), json!({ "get": op("The access log, newest first: who viewed which student's file or exported which ledger, when, from which device. County supervisors only.", true, &[403], json!({
        "parameters": [
            { "name": "student", "in": "query", "schema": { "type": "string", "format": "uuid" } },
            { "name": "user", "in": "query", "schema": { "type": "string", "format": "uuid" } },
            { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 5000 } }
        ]
    })) }));
    paths.insert("/api/openapi.json".into(), json!({ "get": op("This document", false, &[], json!({ "responses": { "200": { "description": "OpenAPI 3 document" } } })) }));

    json!({
        "openapi": "3.0.3",
        "info": { "title": "保学 Baoxue sync API", "version": env!("CARGO_PKG_VERSION"), "description": "Offline-first sync for home visits, device checks and persuasion to return to school. Wire protocol version 1." },
        "paths": paths,
        "components": {
            "securitySchemes": { "token": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" }, "zh": { "type": "string" },
                    "fields": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "code": { "type": "string" }, "zh": { "type": "string" }, "en": { "type": "string" } } } } } } } },
                "Batch": { "type": "object", "required": ["v", "batch", "device", "ops"], "properties": { "v": { "type": "integer", "enum": [1] }, "batch": { "type": "string", "format": "uuid" }, "device": { "type": "string", "format": "uuid" }, "ops": { "type": "array", "maxItems": 5000, "items": { "$ref": "#/components/schemas/Op" } } } },
                "Op": { "type": "object", "required": ["id", "hlc", "device", "author", "device_time", "body"], "properties": {
                    "id": { "type": "string", "format": "uuid" }, "hlc": { "type": "object", "properties": { "ms": { "type": "integer" }, "c": { "type": "integer" } } },
                    "device": { "type": "string", "format": "uuid" }, "author": { "type": "string", "format": "uuid" },
                    "device_time": { "type": "string", "format": "date-time" }, "received_at": { "type": "string", "format": "date-time" },
                    "body": { "type": "object", "description": "tagged by `type`: `set` (a field write with `target` and `prev`), `record` (a visit), `void` (record, reason); see baoxue_shared::op" } } },
                "PushReceipt": { "type": "object", "properties": { "batch": { "type": "string", "format": "uuid" }, "stored": { "type": "array", "items": { "type": "string", "format": "uuid" } }, "new": { "type": "integer" }, "received_at": { "type": "string", "format": "date-time" } } },
                "EnrolmentStatus": { "type": "string", "enum": baoxue_shared::status::EnrolmentStatus::CODES }
            }
        }
    })
}

/// `GET /api/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_the_router_serves_is_described_with_its_methods_and_nothing_else() {
        let spec = spec();
        let table = crate::http::api_routes();
        for (path, methods, _) in &table {
            for m in *methods {
                assert!(
                    spec["paths"][path][m].is_object(),
                    "{m} {path} is served but not in the document"
                );
            }
            let described = spec["paths"][path].as_object().map_or(0, |o| o.len());
            assert_eq!(described, methods.len(), "{path}: methods differ");
        }
        assert_eq!(
            spec["paths"].as_object().unwrap().len(),
            table.len(),
            "a described path the router does not serve"
        );
    }
}
