//! The API description, `docs/openapi.json`, held to the real answers. The app serves
//! it at `GET /api/openapi.json`; every route the router declares is in it (read from
//! `src/server/routes/` and the server functions' endpoints in `src/api/`); and every
//! operation in it is called here, with good and bad inputs, on apps running the
//! local provider, MessageBird (through `fake-verify`, for its faults), tight limits,
//! and Redis (for a failing store). Each answer must have a documented status, a
//! documented content type (or none, where none is documented), the headers the
//! document requires, header values its schemas allow, and a body valid against the
//! schema (JSON Schema 2020-12, `$ref`s resolved in the whole document).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use jsonschema::{Draft, Registry};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, ORIGIN, REFERER};
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Backend, TestApp, Upstream, spawn_app, spawn_on, spawn_with};

/// The document as committed, which the app serves.
const DOCUMENT: &str = include_str!("../../docs/openapi.json");

/// The URI the document is registered under, for resolving its `$ref`s.
const BASE: &str = "https://phone-verify.invalid/openapi.json";

/// Every operation of the document; the test calls each one and fails on any other.
const OPERATIONS: [(&str, &str); 27] = [
    ("GET", "/"),
    ("POST", "/api/verify/state"),
    ("POST", "/api/verify/start"),
    ("POST", "/api/verify/check"),
    ("POST", "/api/verify/resend"),
    ("POST", "/api/verify/restart"),
    ("POST", "/api/verify/format"),
    ("POST", "/embed/s/{id}/api/verify/state"),
    ("POST", "/embed/s/{id}/api/verify/start"),
    ("POST", "/embed/s/{id}/api/verify/check"),
    ("POST", "/embed/s/{id}/api/verify/resend"),
    ("POST", "/embed/s/{id}/api/verify/restart"),
    ("POST", "/embed/s/{id}/api/verify/format"),
    ("GET", "/embed"),
    ("GET", "/hosted"),
    ("GET", "/embed/s/{id}"),
    ("GET", "/embed.js"),
    ("GET", "/embed/frame.js"),
    ("POST", "/api/v1/siteverify"),
    ("POST", "/api/v1/sessions"),
    ("POST", "/api/v1/notify"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/dev/outbox"),
    ("GET", "/dev/outbox.json"),
    ("GET", "/api/openapi.json"),
];

const NUMBER: &str = "+44 7400 123456";
/// A well-formed embed session id that names no session.
const NO_SESSION: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("docs/openapi.json is JSON")
}

/// The operations the document describes, as `(METHOD, path)`.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                operations.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    operations
}

fn listed_operations() -> BTreeSet<(String, String)> {
    OPERATIONS
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------
// The routes the router declares, read from its source.

/// `(METHOD, path)` of every `.route(…)` of the route modules the app's router merges
/// (`.merge(name::routes(…))` in `src/server/routes/mod.rs`), with the server
/// functions' catch-all routes expanded to each endpoint of `src/api/`. (Routes of
/// other listeners, such as the metrics one, are not the app's.)
fn declared_routes() -> BTreeSet<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let api = std::fs::read_to_string(root.join("src/api/mod.rs")).unwrap();
    let endpoints: Vec<String> = api
        .split("endpoint = \"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect();
    assert!(
        endpoints.len() >= 6,
        "the server functions' endpoints: {endpoints:?}"
    );
    let routes_dir = root.join("src/server/routes");
    let router = std::fs::read_to_string(routes_dir.join("mod.rs")).unwrap();
    let merged: Vec<&str> = router
        .split(".merge(")
        .skip(1)
        .filter_map(|rest| rest.split_once("::routes(").map(|(name, _)| name.trim()))
        .collect();
    assert!(merged.len() >= 6, "the merged route modules: {merged:?}");
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for name in merged {
        let file = routes_dir.join(format!("{name}.rs"));
        let dir = routes_dir.join(name);
        assert!(
            file.is_file() || dir.is_dir(),
            "the route module {name} is in src/server/routes"
        );
        if file.is_file() {
            files.push(file);
        }
        if dir.is_dir() {
            dirs.push(dir);
        }
    }
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut routes = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for (path, methods) in route_calls(&source) {
            assert!(
                !methods.is_empty(),
                "{}: no method for {path}",
                file.display()
            );
            for method in methods {
                match path.split_once("{*") {
                    Some((prefix, _)) => {
                        for endpoint in &endpoints {
                            routes.insert((method.clone(), format!("{prefix}{endpoint}")));
                        }
                    }
                    None => {
                        routes.insert((method.clone(), path.clone()));
                    }
                }
            }
        }
    }
    routes
}

/// The `.route("path", method(…)…)` calls in `source`: each path with its methods.
fn route_calls(source: &str) -> Vec<(String, Vec<String>)> {
    let mut calls = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let arguments = rest.trim_start();
        let Some(literal) = arguments.strip_prefix('"') else {
            continue;
        };
        let path = literal.split('"').next().unwrap().to_owned();
        // The rest of the call, up to its closing parenthesis.
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in arguments.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let call = &arguments[..end];
        let mut methods = Vec::new();
        for method in [
            "get", "post", "put", "patch", "delete", "head", "options", "any",
        ] {
            let needle = format!("{method}(");
            let mut from = 0;
            while let Some(found) = call[from..].find(&needle) {
                let index = from + found;
                let before = call[..index].chars().last();
                if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':')) {
                    methods.push(method.to_ascii_uppercase());
                }
                from = index + needle.len();
            }
        }
        calls.push((path, methods));
    }
    calls
}

#[test]
fn the_document_describes_every_route_and_only_those() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented_operations(&doc);
    let declared = declared_routes();
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&declared).collect();
    assert!(
        undocumented.is_empty(),
        "routes the router serves that docs/openapi.json does not describe: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "operations docs/openapi.json describes that no route serves: {unserved:?}"
    );
    assert_eq!(
        documented,
        listed_operations(),
        "OPERATIONS (what the conformance test calls) and the document differ"
    );
}

// ---------------------------------------------------------------------------------
// Answers against the document.

/// One answer, as read off the wire.
struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
    /// The body as JSON when it is JSON, else as a string.
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |value| value.to_str().unwrap_or_default())
    }
}

/// The document, its schemas ready to validate with, and which operations were
/// called with which answers.
struct Spec {
    doc: Value,
    registry: Registry<'static>,
    seen: Mutex<BTreeMap<(String, String), BTreeSet<u16>>>,
}

impl Spec {
    fn load() -> Spec {
        let doc = document();
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(BASE, doc.clone())
            .expect("the document registers")
            .prepare()
            .expect("the document's schemas resolve");
        Spec {
            doc,
            registry,
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// Sends `request`, checks the answer against the document, and returns it.
    async fn send(&self, request: RequestBuilder) -> Answer {
        let (client, request) = request.build_split();
        let request = request.expect("a well-formed request");
        let method = request.method().as_str().to_owned();
        let path = request.url().path().to_owned();
        let response = client.execute(request).await.expect("the app answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a whole body");
        let answer = read_answer(status, headers, &bytes);
        self.check(&method, &path, &answer);
        answer
    }

    /// Checks an answer to `method path` against the document.
    fn check(&self, method: &str, path: &str, answer: &Answer) {
        let context = format!("{method} {path} → {}", answer.status);
        let template = self
            .template_of(path)
            .unwrap_or_else(|| panic!("{context}: no path of the document matches"));
        let operation = &self.doc["paths"][&template][method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{context}: the document has no {method} {template}"
        );
        let documented = self.resolve(&operation["responses"][answer.status.to_string()]);
        assert!(
            documented.is_object(),
            "{context}: status {} is not documented for {method} {template}; body: {}",
            answer.status,
            answer.text
        );
        // Headers: the required ones present, and every documented one as described.
        if let Some(headers) = documented["headers"].as_object() {
            for (name, header) in headers {
                let header = self.resolve(header);
                let values: Vec<&str> = answer
                    .headers
                    .get_all(name.as_str())
                    .iter()
                    .map(|v| v.to_str().expect("an ASCII header"))
                    .collect();
                if header["required"] == true {
                    assert!(
                        !values.is_empty(),
                        "{context}: the required header {name} is missing"
                    );
                }
                for value in values {
                    self.validate(
                        &header["schema"],
                        &Value::String(value.to_owned()),
                        &format!("{context}: header {name}"),
                    );
                }
            }
        }
        // The body: of a documented content type and schema, or none where none is.
        let content_type = answer.header("content-type");
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let content = documented["content"].as_object();
        if content_type.is_empty() {
            assert!(
                answer.text.is_empty(),
                "{context}: a body without a Content-Type: {}",
                answer.text
            );
            assert!(
                content.is_none_or(|c| c.is_empty()),
                "{context}: no body, but the document describes one"
            );
        } else {
            let content = content.unwrap_or_else(|| {
                panic!(
                    "{context}: a {content_type} body where the document describes none: {}",
                    answer.text
                )
            });
            let media = content.get(&media_type).unwrap_or_else(|| {
                panic!(
                    "{context}: content type {content_type} is not documented (only {:?})",
                    content.keys().collect::<Vec<_>>()
                )
            });
            let instance = if media_type.ends_with("json") {
                serde_json::from_str(&answer.text).unwrap_or_else(|error| {
                    panic!("{context}: not JSON ({error}): {}", answer.text)
                })
            } else {
                Value::String(answer.text.clone())
            };
            self.validate(&media["schema"], &instance, &format!("{context}: body"));
        }
        self.seen
            .lock()
            .unwrap()
            .entry((method.to_owned(), template))
            .or_default()
            .insert(answer.status);
    }

    /// The document's path that `path` is an instance of (a `{name}` segment matches
    /// any one segment; a literal path wins over a template).
    fn template_of(&self, path: &str) -> Option<String> {
        let paths = self.doc["paths"].as_object()?;
        if paths.contains_key(path) {
            return Some(path.to_owned());
        }
        let segments: Vec<&str> = path.split('/').collect();
        paths
            .keys()
            .find(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(part, segment)| {
                        part == segment
                            || (part.starts_with('{') && part.ends_with('}') && !segment.is_empty())
                    })
            })
            .cloned()
    }

    /// An object of the document, with a `$ref` to `#/components/…` followed.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str() {
            Some(reference) => {
                let pointer = reference
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("a local $ref: {reference}"));
                self.resolve(
                    self.doc
                        .pointer(pointer)
                        .unwrap_or_else(|| panic!("{reference} is in the document")),
                )
            }
            None => value,
        }
    }

    /// Validates `instance` against `schema`, a schema of the document whose `$ref`s
    /// are resolved in the whole document.
    fn validate(&self, schema: &Value, instance: &Value, context: &str) {
        assert!(!schema.is_null(), "{context}: the document gives no schema");
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .with_registry(&self.registry)
            .build(&anchored(schema))
            .unwrap_or_else(|error| panic!("{context}: the schema does not compile: {error}"));
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|error| format!("{error} at {}", error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{context} does not match the document:\n  {}\ninstance: {instance}",
            errors.join("\n  ")
        );
    }

    /// Which statuses each operation was seen answering.
    fn seen(&self) -> BTreeMap<(String, String), BTreeSet<u16>> {
        self.seen.lock().unwrap().clone()
    }
}

/// `schema` with its document-local `$ref`s (`#/components/…`) made absolute, so
/// that they resolve in the registered document wherever the schema is used.
fn anchored(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| match (key.as_str(), value.as_str()) {
                    ("$ref", Some(reference)) if reference.starts_with('#') => {
                        (key.clone(), Value::String(format!("{BASE}{reference}")))
                    }
                    _ => (key.clone(), anchored(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(anchored).collect()),
        other => other.clone(),
    }
}

fn read_answer(status: u16, headers: HeaderMap, bytes: &[u8]) -> Answer {
    let text = String::from_utf8(bytes.to_vec()).expect("a UTF-8 body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Answer {
        status,
        headers,
        text,
        body,
    }
}

// ---------------------------------------------------------------------------------
// Requests.

fn cookies() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn no_cookies() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A server-function call as the hydrated widget makes it: same origin, a form, JSON back.
fn call(client: &Client, url: String, form: &[(&str, &str)]) -> RequestBuilder {
    client
        .post(url)
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(form)
}

/// The same call as a browser without JavaScript posts it.
fn plain_form(
    client: &Client,
    url: String,
    referer: &str,
    form: &[(&str, &str)],
) -> RequestBuilder {
    let request = client
        .post(url)
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .form(form);
    if referer.is_empty() {
        request
    } else {
        request.header(REFERER, referer)
    }
}

/// A wrong code of the right length: the right one with its first digit changed.
fn wrong(code: &str) -> String {
    let first = if code.starts_with('1') { '2' } else { '1' };
    std::iter::once(first).chain(code.chars().skip(1)).collect()
}

/// The frame's address from an `/embed` or `/hosted` answer.
fn frame_path(answer: &Answer) -> String {
    let location = answer.header("location");
    location.split('?').next().unwrap().to_owned()
}

/// Sends a request whose body trickles in slower than the app allows, over a raw
/// socket, and reads the answer.
async fn slow_body(spec: &Spec, app: &TestApp, path: &str) -> Answer {
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nSec-Fetch-Site: same-origin\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20\r\n\r\nphone=",
        app.addr
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    // The rest never comes; the app gives up after BODY_READ_TIMEOUT_SECS.
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut raw))
        .await
        .expect("the app answers a slow body and closes")
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a whole answer");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            value.trim().parse().unwrap(),
        );
    }
    let answer = read_answer(status, headers, body.as_bytes());
    spec.check("POST", path, &answer);
    answer
}

// ---------------------------------------------------------------------------------
// The calls.

#[tokio::test]
async fn every_operation_answers_as_documented() {
    let spec = Spec::load();
    // Four apps at once (each waits on its own clock, provider or store).
    tokio::join!(
        on_the_local_provider(&spec),
        provider_faults(&spec),
        tight_limits(&spec),
        a_failing_store(&spec),
    );

    let seen = spec.seen();
    for ((method, path), statuses) in &seen {
        println!("{method} {path}: {statuses:?}");
    }
    let called: BTreeSet<(String, String)> = seen.keys().cloned().collect();
    assert_eq!(
        called,
        listed_operations(),
        "every operation is called, and only those"
    );
    assert_eq!(
        listed_operations(),
        documented_operations(&spec.doc),
        "every documented operation is in OPERATIONS"
    );
}

/// The whole surface on the built-in provider, limits set wide.
async fn on_the_local_provider(spec: &Spec) {
    let app = spawn_app(&[
        ("SHUTDOWN_DELAY_SECS", "60"),
        ("BODY_READ_TIMEOUT_SECS", "1"),
        ("VERIFY_LIMIT_IP_PER_HOUR", "1000"),
        ("VERIFY_LIMIT_NETWORK_PER_HOUR", "1000"),
        ("VERIFY_LIMIT_NUMBER_PER_HOUR", "100"),
        ("VERIFY_LIMIT_NUMBER_PER_DAY", "100"),
        ("VERIFY_LIMIT_PREFIX_PER_HOUR", "1000"),
        ("VERIFY_LIMIT_FAILED_CHECKS_PER_HOUR", "100"),
        ("VERIFY_LIMIT_SESSIONS_PER_HOUR", "1000"),
    ])
    .await;
    the_document_is_served(spec, &app).await;
    pages_scripts_and_health(spec, &app).await;
    the_widget_on_its_own_page(spec, &app).await;
    what_the_widget_refuses(spec, &app).await;
    forms_without_javascript(spec, &app).await;
    let token = an_embedded_widget(spec, &app).await;
    frames_that_may_not_run(spec, &app).await;
    let hosted_token = a_hosted_page(spec, &app).await;
    siteverify(spec, &app, &token, &hosted_token).await;
    notify(spec, &app, &token, &hosted_token).await;
    host_sessions(spec, &app).await;
    not_ready_once_shutdown_begins(spec, app).await;
}

async fn the_document_is_served(spec: &Spec, app: &TestApp) {
    let answer = spec
        .send(no_cookies().get(app.url("/api/openapi.json")))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "application/json");
    assert_eq!(answer.text, DOCUMENT, "the served document is the file");
}

async fn pages_scripts_and_health(spec: &Spec, app: &TestApp) {
    let client = no_cookies();
    for path in [
        "/",
        "/?lang=ar",
        "/embed.js",
        "/embed/frame.js",
        "/healthz",
        "/readyz",
    ] {
        let answer = spec.send(client.get(app.url(path))).await;
        assert_eq!(answer.status, 200, "{path}");
    }
    let keys = spec
        .send(client.get(app.url("/.well-known/jwks.json")))
        .await;
    assert_eq!(keys.status, 200);
    assert!(
        keys.body["keys"].as_array().unwrap().len() >= 2,
        "the next key too"
    );
    for path in ["/dev/outbox", "/dev/outbox.json"] {
        assert_eq!(
            spec.send(client.get(app.url(path))).await.status,
            200,
            "{path}"
        );
    }
}

async fn the_widget_on_its_own_page(spec: &Spec, app: &TestApp) {
    let browser = cookies();
    let api = |name: &str| app.url(&format!("/api/verify/{name}"));

    let flow = spec.send(call(&browser, api("state"), &[])).await;
    assert_eq!(flow.status, 200);
    assert_eq!(flow.body["dev_outbox"], true);
    let german = spec
        .send(call(&browser, api("state") + "?lang=de", &[]))
        .await;
    assert_eq!(german.body["lang"], "De");

    for (phone, problem) in [
        (NUMBER, Value::Null),
        ("+44 74", json!("Invalid")),
        ("", json!("Empty")),
    ] {
        let formatted = spec
            .send(call(
                &browser,
                api("format"),
                &[("phone", phone), ("country", "GB")],
            ))
            .await;
        assert_eq!(formatted.status, 200);
        assert_eq!(
            formatted.body["problem"], problem,
            "{phone}: {}",
            formatted.text
        );
    }
    // A JSON body passes the cross-site check, but its fields are not read.
    let json_body = spec
        .send(
            browser
                .post(api("format"))
                .header("sec-fetch-site", "same-origin")
                .header(ACCEPT, "application/json")
                .json(&json!({"phone": NUMBER})),
        )
        .await;
    assert_eq!(json_body.status, 200, "{}", json_body.text);
    assert_eq!(
        json_body.body["problem"], "Empty",
        "as documented, a JSON body is read as an empty form"
    );

    // Nothing to check or resend yet.
    assert_eq!(
        spec.send(call(&browser, api("check"), &[("code", "123456")]))
            .await
            .status,
        409
    );
    assert_eq!(
        spec.send(call(&browser, api("resend"), &[])).await.status,
        409
    );

    let started = spec
        .send(call(
            &browser,
            api("start"),
            &[("phone", NUMBER), ("channel", "sms")],
        ))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    assert!(started.body["EnterCode"].is_object());
    let set_cookie = started.header("set-cookie");
    assert!(set_cookie.starts_with("pv_session="), "{set_cookie}");

    let too_soon = spec.send(call(&browser, api("resend"), &[])).await;
    assert_eq!(too_soon.status, 429);
    assert!(too_soon.body["ResendTooSoon"].is_object());
    assert!(!too_soon.header("retry-after").is_empty());
    app.advance(30);
    let call_instead = spec
        .send(call(&browser, api("resend"), &[("channel", "voice")]))
        .await;
    assert_eq!(
        (call_instead.status, &call_instead.body),
        (422, &json!("ChannelUnavailable")),
        "a call only after two texts"
    );
    let resent = spec.send(call(&browser, api("resend"), &[])).await;
    assert_eq!(resent.status, 200, "{}", resent.text);

    let code = app.latest_code().await;
    let short = spec
        .send(call(&browser, api("check"), &[("code", "12")]))
        .await;
    assert_eq!(short.status, 422);
    assert!(
        short.body["InvalidCode"]["WrongLength"].is_object(),
        "{}",
        short.text
    );
    let wrong_code = spec
        .send(call(&browser, api("check"), &[("code", &wrong(&code))]))
        .await;
    assert_eq!(wrong_code.status, 422);
    assert!(
        wrong_code.body["WrongCode"].is_object(),
        "{}",
        wrong_code.text
    );
    let outbox = spec.send(browser.get(app.url("/dev/outbox.json"))).await;
    assert_eq!(outbox.body.as_array().unwrap().len(), 2);
    assert_eq!(
        spec.send(browser.get(app.url("/dev/outbox"))).await.status,
        200
    );
    let verified = spec
        .send(call(&browser, api("check"), &[("code", &code)]))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert!(verified.body["Verified"].is_object());
    let state = spec.send(call(&browser, api("state"), &[])).await;
    assert!(state.body["step"]["Verified"].is_object());
    let restarted = spec.send(call(&browser, api("restart"), &[])).await;
    assert_eq!(restarted.status, 200);
    assert!(restarted.body["EnterPhone"].is_object());

    // Five wrong codes use up a code; then even the right one is refused.
    let browser = cookies();
    let started = spec
        .send(call(
            &browser,
            api("start"),
            &[("phone", "+44 7400 654321")],
        ))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    let code = app.latest_code().await;
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            spec.send(call(&browser, api("check"), &[("code", &wrong(&code))]))
                .await,
        );
    }
    let last = last.unwrap();
    assert_eq!((last.status, &last.body), (429, &json!("TooManyAttempts")));

    // A code past its lifetime.
    let browser = cookies();
    let started = spec
        .send(call(
            &browser,
            api("start"),
            &[("phone", "+44 7400 111222"), ("channel", "voice")],
        ))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    let code = app.latest_code().await;
    app.advance(601);
    let late = spec
        .send(call(&browser, api("check"), &[("code", &code)]))
        .await;
    assert_eq!((late.status, &late.body), (410, &json!("CodeExpired")));
}

async fn what_the_widget_refuses(spec: &Spec, app: &TestApp) {
    let client = no_cookies();
    let start = app.url("/api/verify/start");

    let bad_number = spec
        .send(call(&client, start.clone(), &[("phone", "12")]))
        .await;
    assert_eq!(bad_number.status, 422);
    assert!(
        bad_number.body["InvalidPhone"].is_string(),
        "{}",
        bad_number.text
    );
    let undecodable = spec
        .send(call(
            &client,
            start.clone(),
            &[("phone", NUMBER), ("channel", "fax")],
        ))
        .await;
    assert_eq!(undecodable.status, 400);
    assert!(
        undecodable.body["Transport"].is_string(),
        "{}",
        undecodable.text
    );

    // Cross-site: by Fetch metadata, by Origin, with neither, and a body type any page can post.
    let own_origin = format!("http://{}", app.addr);
    for (site, origin) in [
        (Some("cross-site"), Some("https://evil.example")),
        (Some("same-site"), Some(own_origin.as_str())),
        (None, Some("https://evil.example")),
        (None, None),
    ] {
        let mut request = client
            .post(app.url("/api/verify/state"))
            .header(ACCEPT, "application/json")
            .form(&[("x", "y")]);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        let refused = spec.send(request).await;
        assert_eq!(
            (refused.status, &refused.body),
            (403, &json!("CrossSiteRequest")),
            "{site:?} {origin:?}"
        );
    }
    let by_origin = spec
        .send(
            client
                .post(app.url("/api/verify/state"))
                .header(ORIGIN, own_origin.as_str())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded"),
        )
        .await;
    assert_eq!(by_origin.status, 200, "the page's own Origin is enough");
    let text_plain = spec
        .send(
            client
                .post(app.url("/api/verify/start"))
                .header("sec-fetch-site", "same-origin")
                .header(CONTENT_TYPE, "text/plain")
                .body(format!("phone={NUMBER}")),
        )
        .await;
    assert_eq!(text_plain.status, 403);

    let too_big = spec
        .send(call(
            &client,
            start.clone(),
            &[("phone", &"1".repeat(20_000))],
        ))
        .await;
    assert_eq!(too_big.status, 413);
    let slow = slow_body(spec, app, "/api/verify/state").await;
    assert_eq!(slow.status, 408);

    // A lost embed session named in the header.
    let lost = spec
        .send(call(&client, app.url("/api/verify/state"), &[]).header("x-pv-session", NO_SESSION))
        .await;
    assert_eq!((lost.status, &lost.body), (410, &json!("SessionLost")));
}

async fn forms_without_javascript(spec: &Spec, app: &TestApp) {
    let browser = cookies();
    let page = app.url("/");
    let api = |name: &str| app.url(&format!("/api/verify/{name}"));
    let started = spec
        .send(plain_form(
            &browser,
            api("start"),
            &page,
            &[("phone", "+44 7400 333444")],
        ))
        .await;
    assert_eq!(started.status, 302, "{}", started.text);
    assert!(
        started.header("location").starts_with(&page),
        "back to the Referer"
    );
    let refused = spec
        .send(plain_form(&browser, api("check"), &page, &[("code", "1")]))
        .await;
    assert_eq!(refused.status, 302);
    assert!(refused.header("location").starts_with(&page));
    let flow = spec.send(call(&browser, api("state"), &[])).await;
    assert!(
        flow.body["error"]["InvalidCode"].is_object(),
        "the error waits for the page: {}",
        flow.text
    );
    for name in ["resend", "restart", "format", "state"] {
        let answer = spec.send(plain_form(&browser, api(name), "", &[])).await;
        assert_eq!(answer.status, 302, "{name}");
        assert_eq!(answer.header("location"), "/", "{name}: without a Referer");
    }
    let undecodable = spec
        .send(plain_form(
            &browser,
            api("start"),
            &page,
            &[("channel", "fax")],
        ))
        .await;
    assert_eq!(undecodable.status, 302);
}

/// The frame's whole flow, by the widget's JSON calls and by plain forms; returns
/// the verified token.
async fn an_embedded_widget(spec: &Spec, app: &TestApp) -> String {
    let client = no_cookies();
    let opened = spec
        .send(client.get(app.url(
            "/embed?sitekey=pk_test_local&wid=w1&origin=http://localhost:3100&action=signup&nonce=host-nonce-1&lang=de",
        )))
        .await;
    assert_eq!(opened.status, 303);
    let frame = frame_path(&opened);
    let page = spec
        .send(client.get(app.url(&frame)).header(ACCEPT, "text/html"))
        .await;
    assert_eq!(page.status, 200);
    let api = |name: &str| app.url(&format!("{frame}/api/verify/{name}"));

    assert_eq!(
        spec.send(call(&client, api("state"), &[])).await.status,
        200
    );
    let formatted = spec
        .send(call(&client, api("format"), &[("phone", NUMBER)]))
        .await;
    assert_eq!(formatted.body["country"], "GB");
    let as_list = spec
        .send(
            client
                .post(api("format"))
                .header("sec-fetch-site", "same-origin")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("phone[]=1"),
        )
        .await;
    assert_eq!(as_list.status, 400);
    assert_eq!(
        spec.send(call(&client, api("check"), &[("code", "123456")]))
            .await
            .status,
        409
    );
    assert_eq!(
        spec.send(call(&client, api("resend"), &[])).await.status,
        409
    );
    let bad = spec
        .send(call(&client, api("start"), &[("phone", "0")]))
        .await;
    assert_eq!(bad.status, 422);
    let undecodable = spec
        .send(call(
            &client,
            api("start"),
            &[("phone", NUMBER), ("channel", "fax")],
        ))
        .await;
    assert_eq!(undecodable.status, 400);
    let cross_site = spec
        .send(
            client
                .post(api("state"))
                .header("sec-fetch-site", "cross-site")
                .header(ACCEPT, "application/json")
                .form(&[("x", "y")]),
        )
        .await;
    assert_eq!(cross_site.status, 403);
    let started = spec
        .send(call(&client, api("start"), &[("phone", "+44 7911 123456")]))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    let too_soon = spec.send(call(&client, api("resend"), &[])).await;
    assert_eq!(too_soon.status, 429);
    app.advance(30);
    let call_instead = spec
        .send(call(&client, api("resend"), &[("channel", "voice")]))
        .await;
    assert_eq!(call_instead.status, 422);
    let resent = spec.send(call(&client, api("resend"), &[])).await;
    assert_eq!(resent.status, 200, "{}", resent.text);
    let code = app.latest_code().await;
    let as_list = spec
        .send(
            client
                .post(api("check"))
                .header("sec-fetch-site", "same-origin")
                .header(ACCEPT, "application/json")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("code[]=1&code[]=2"),
        )
        .await;
    assert_eq!(as_list.status, 400);
    assert!(as_list.body["Transport"].is_string());
    let wrong_code = spec
        .send(call(&client, api("check"), &[("code", &wrong(&code))]))
        .await;
    assert_eq!(wrong_code.status, 422);
    let verified = spec
        .send(call(&client, api("check"), &[("code", &code)]))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    let token = verified.body["Verified"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let state = spec.send(call(&client, api("state"), &[])).await;
    assert!(
        state.body["step"]["Verified"]["token"].is_string(),
        "a fresh token: {}",
        state.text
    );
    let restarted = spec.send(call(&client, api("restart"), &[])).await;
    assert_eq!(restarted.status, 200);

    // Plain forms in the frame go back to the frame; `format`, which reads no
    // session, goes where the Referer says (a frame sends none): `/`.
    for (name, form, back) in [
        ("start", vec![("phone", "+44 7911 123457")], frame.as_str()),
        ("state", vec![], frame.as_str()),
        ("restart", vec![], frame.as_str()),
        ("format", vec![], "/"),
    ] {
        let answer = spec.send(plain_form(&client, api(name), "", &form)).await;
        assert_eq!(answer.status, 302, "{name}");
        assert_eq!(answer.header("location"), back, "{name}");
    }

    // A session that is gone.
    let lost = app.url(&format!("/embed/s/{NO_SESSION}/api/verify/start"));
    let answer = spec
        .send(call(&client, lost.clone(), &[("phone", NUMBER)]))
        .await;
    assert_eq!((answer.status, &answer.body), (410, &json!("SessionLost")));
    let answer = spec
        .send(plain_form(&client, lost, "", &[("phone", NUMBER)]))
        .await;
    assert_eq!(answer.status, 410);
    assert!(answer.header("content-type").starts_with("text/html"));
    for name in ["state", "check", "resend", "restart", "format"] {
        let url = app.url(&format!("/embed/s/{NO_SESSION}/api/verify/{name}"));
        assert_eq!(
            spec.send(call(&client, url, &[])).await.status,
            410,
            "{name}"
        );
    }
    let gone = spec
        .send(client.get(app.url(&format!("/embed/s/{NO_SESSION}"))))
        .await;
    assert_eq!(gone.status, 410);
    let too_big = spec
        .send(call(
            &client,
            api("format"),
            &[("phone", &"1".repeat(20_000))],
        ))
        .await;
    assert_eq!(too_big.status, 413);
    token
}

async fn frames_that_may_not_run(spec: &Spec, app: &TestApp) {
    let client = no_cookies();
    for (query, status) in [
        ("origin=http://localhost:3100", 400),
        ("sitekey=pk_live_nobody", 400),
        ("sitekey=pk_test_local&nonce=short", 400),
        ("sitekey=pk_test_local&origin=https://evil.example", 403),
        (
            "sitekey=pk_test_local&session=pvs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            410,
        ),
    ] {
        let answer = spec
            .send(client.get(app.url(&format!("/embed?{query}"))))
            .await;
        assert_eq!(answer.status, status, "{query}");
    }
    let top_level = spec
        .send(
            client
                .get(app.url("/embed?sitekey=pk_test_local"))
                .header("sec-fetch-dest", "document"),
        )
        .await;
    assert_eq!(top_level.status, 400);
}

/// The hosted page's flow, ending with a plain form that returns to the host;
/// returns the token it carried.
async fn a_hosted_page(spec: &Spec, app: &TestApp) -> String {
    let client = no_cookies();
    let refused = spec
        .send(client.get(app.url("/hosted?sitekey=pk_test_local")))
        .await;
    assert_eq!(refused.status, 403);
    let framed = spec
        .send(
            client
                .get(
                    app.url(
                        "/hosted?sitekey=pk_test_local&return_url=http://localhost:3100/verified",
                    ),
                )
                .header("sec-fetch-dest", "iframe"),
        )
        .await;
    assert_eq!(framed.status, 400);
    let opened = spec
        .send(client.get(app.url(
            "/hosted?sitekey=pk_test_local&return_url=http://localhost:3100/verified&state=st4te.x~&action=login",
        )))
        .await;
    assert_eq!(opened.status, 303);
    let frame = frame_path(&opened);
    assert_eq!(spec.send(client.get(app.url(&frame))).await.status, 200);
    let api = |name: &str| app.url(&format!("{frame}/api/verify/{name}"));
    let started = spec
        .send(plain_form(
            &client,
            api("start"),
            "",
            &[("phone", "+44 7911 200300"), ("channel", "voice")],
        ))
        .await;
    assert_eq!(started.status, 302);
    let code = app.latest_code().await;
    let back = spec
        .send(plain_form(&client, api("check"), "", &[("code", &code)]))
        .await;
    assert_eq!(back.status, 302);
    let location = back.header("location").to_owned();
    assert!(
        location.starts_with("http://localhost:3100/verified?pv_token="),
        "{location}"
    );
    let url = reqwest::Url::parse(&location).unwrap();
    url.query_pairs()
        .find(|(name, _)| name == "pv_token")
        .unwrap()
        .1
        .into_owned()
}

async fn siteverify(spec: &Spec, app: &TestApp, token: &str, hosted_token: &str) {
    let client = no_cookies();
    let url = app.url("/api/v1/siteverify");
    let form = |fields: &[(&str, &str)]| client.post(url.clone()).form(fields);

    let verified = spec
        .send(form(&[("secret", "sk_test_local"), ("response", token)]))
        .await;
    assert_eq!(verified.status, 200);
    assert_eq!(verified.body["success"], true, "{}", verified.text);
    assert_eq!(verified.body["hostname"], "localhost");
    let by_json = spec
        .send(
            client
                .post(url.clone())
                .json(&json!({"secret": "sk_test_local", "response": hosted_token})),
        )
        .await;
    assert_eq!(by_json.body["success"], true, "{}", by_json.text);
    assert_eq!(by_json.body["channel"], "voice");

    let refusals: [(&[(&str, &str)], &str); 6] = [
        (
            &[("secret", "sk_test_local"), ("response", token)],
            "timeout-or-duplicate",
        ),
        (&[("response", token)], "missing-input-secret"),
        (
            &[
                ("secret", "sk_nobody_0123456789abcdefghij"),
                ("response", token),
            ],
            "invalid-input-secret",
        ),
        (&[("secret", "sk_test_local")], "missing-input-response"),
        (
            &[("secret", "sk_test_local"), ("response", "not.a.token")],
            "invalid-input-response",
        ),
        (
            &[
                ("secret", "sk_test_local"),
                ("response", token),
                ("sitekey", "pk_other"),
            ],
            "sitekey-secret-mismatch",
        ),
    ];
    for (fields, code) in refusals {
        let answer = spec.send(form(fields)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.body,
            json!({"success": false, "error-codes": [code]}),
            "{fields:?}"
        );
    }
    let not_a_request = spec
        .send(
            client
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body("\"a string\""),
        )
        .await;
    assert_eq!(not_a_request.body["error-codes"], json!(["bad-request"]));
    let untyped = spec
        .send(client.post(url.clone()).body("secret=sk_test_local"))
        .await;
    assert_eq!(
        untyped.body["error-codes"],
        json!(["missing-input-response"]),
        "an untyped body is a form"
    );
    let unsupported = spec
        .send(
            client
                .post(url.clone())
                .header(CONTENT_TYPE, "text/plain")
                .body("secret=x"),
        )
        .await;
    assert_eq!(unsupported.status, 415);
    let too_big = spec.send(form(&[("secret", &"s".repeat(20_000))])).await;
    assert_eq!(too_big.status, 413);
}

/// Confirmation texts for the two verifications (their tokens already redeemed).
async fn notify(spec: &Spec, app: &TestApp, token: &str, hosted_token: &str) {
    let client = no_cookies();
    let url = app.url("/api/v1/notify");
    let form = |fields: &[(&str, &str)]| client.post(url.clone()).form(fields);

    let sent = spec
        .send(form(&[
            ("secret", "sk_test_local"),
            ("response", token),
            ("text", "Your account has been created."),
        ]))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    assert_eq!(sent.body, json!({"success": true, "sent": true}));
    let by_json = spec
        .send(client.post(url.clone()).json(&json!({
            "secret": "sk_test_local",
            "response": hosted_token,
            "text": "Ihr Konto ist angelegt.\nWillkommen!",
        })))
        .await;
    assert_eq!(by_json.status, 200, "{}", by_json.text);

    type Fields<'a> = &'a [(&'a str, &'a str)];
    let refusals: [(Fields, u16, &str); 7] = [
        (
            &[
                ("secret", "sk_test_local"),
                ("response", token),
                ("text", "Again."),
            ],
            409,
            "already-notified",
        ),
        (
            &[("response", token), ("text", "x")],
            401,
            "missing-input-secret",
        ),
        (
            &[
                ("secret", "sk_nobody_0123456789abcdefghij"),
                ("response", token),
                ("text", "x"),
            ],
            401,
            "invalid-input-secret",
        ),
        (
            &[("secret", "sk_test_local"), ("text", "x")],
            400,
            "missing-input-response",
        ),
        (
            &[
                ("secret", "sk_test_local"),
                ("response", "not.a.token"),
                ("text", "x"),
            ],
            400,
            "invalid-input-response",
        ),
        (
            &[
                ("secret", "sk_test_local"),
                ("response", token),
                ("vid", "v"),
                ("text", "x"),
            ],
            400,
            "bad-request",
        ),
        (
            &[
                ("secret", "sk_test_local"),
                ("response", token),
                ("text", "bell\u{7}"),
            ],
            400,
            "invalid-text",
        ),
    ];
    for (fields, status, code) in refusals {
        let answer = spec.send(form(fields)).await;
        assert_eq!(
            (answer.status, &answer.body),
            (status, &json!({"success": false, "error-codes": [code]})),
            "{fields:?}"
        );
    }
    let unsupported = spec
        .send(
            client
                .post(url.clone())
                .header(CONTENT_TYPE, "text/plain")
                .body("secret=x"),
        )
        .await;
    assert_eq!(unsupported.status, 415);
    let too_big = spec.send(form(&[("text", &"s".repeat(20_000))])).await;
    assert_eq!(too_big.status, 413);
}

async fn host_sessions(spec: &Spec, app: &TestApp) {
    let client = no_cookies();
    let url = app.url("/api/v1/sessions");
    let form = |fields: &[(&str, &str)]| client.post(url.clone()).form(fields);

    let created = spec
        .send(form(&[
            ("secret", "sk_test_local"),
            ("phone_number", "+447911123456"),
            ("ref", "user_42"),
            ("action", "login"),
        ]))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let ticket = created.body["session"].as_str().unwrap().to_owned();
    let by_json = spec
        .send(
            client
                .post(url.clone())
                .json(&json!({"secret": "sk_test_local", "phone_number": "+447911123456"})),
        )
        .await;
    assert_eq!(by_json.status, 201, "{}", by_json.text);

    for (fields, status, code) in [
        (
            vec![("phone_number", "+447911123456")],
            401,
            "missing-input-secret",
        ),
        (
            vec![
                ("secret", "sk_nobody_0123456789abcdefghij"),
                ("phone_number", "+447911123456"),
            ],
            401,
            "invalid-input-secret",
        ),
        (
            vec![("secret", "sk_test_local"), ("phone_number", "07911123456")],
            400,
            "invalid-phone-number",
        ),
        (
            vec![
                ("secret", "sk_test_local"),
                ("phone_number", "+447911123456"),
                ("ref", "user 42"),
            ],
            400,
            "invalid-ref",
        ),
        (
            vec![
                ("secret", "sk_test_local"),
                ("phone_number", "+447911123456"),
                ("action", "log in"),
            ],
            400,
            "invalid-action",
        ),
    ] {
        let answer = spec.send(form(&fields)).await;
        assert_eq!(answer.status, status, "{fields:?}");
        assert_eq!(answer.body["error-codes"], json!([code]), "{fields:?}");
    }
    let unreadable = spec
        .send(
            client
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body("{"),
        )
        .await;
    assert_eq!(
        (unreadable.status, &unreadable.body["error-codes"]),
        (400, &json!(["bad-request"]))
    );
    let unsupported = spec
        .send(
            client
                .post(url.clone())
                .header(CONTENT_TYPE, "multipart/form-data; boundary=x")
                .body("--x--"),
        )
        .await;
    assert_eq!(unsupported.status, 415);
    let too_big = spec.send(form(&[("secret", &"s".repeat(20_000))])).await;
    assert_eq!(too_big.status, 413);

    // The frame that opens with it verifies that number only; once.
    let opened = spec
        .send(client.get(app.url(&format!("/embed?sitekey=pk_test_local&session={ticket}"))))
        .await;
    assert_eq!(opened.status, 303);
    let frame = frame_path(&opened);
    let state = spec
        .send(call(
            &client,
            app.url(&format!("{frame}/api/verify/state")),
            &[],
        ))
        .await;
    assert!(
        state.body["step"]["EnterPhone"]["locked"].is_string(),
        "{}",
        state.text
    );
    let again = spec
        .send(client.get(app.url(&format!("/embed?sitekey=pk_test_local&session={ticket}"))))
        .await;
    assert_eq!(again.status, 410);
}

async fn not_ready_once_shutdown_begins(spec: &Spec, mut app: TestApp) {
    app.begin_shutdown();
    let answer = until_not_ready(spec, &app).await;
    assert_eq!(
        answer.body,
        json!({"ready": false, "reason": "shutting down"})
    );
}

/// Asks `/readyz` until it is not ready (a bound on waiting, not a measure of speed).
async fn until_not_ready(spec: &Spec, app: &TestApp) -> Answer {
    for _ in 0..400 {
        let answer = spec.send(no_cookies().get(app.url("/readyz"))).await;
        if answer.status != 200 {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("/readyz stayed ready");
}

/// MessageBird through `fake-verify`: what a provider's faults and refusals look like.
async fn provider_faults(spec: &Spec) {
    let app = spawn_with(
        Upstream::MessageBird,
        &[
            ("UPSTREAM_TIMEOUT_MS", "300"),
            ("UPSTREAM_BREAKER_FAILURES", "2"),
            ("VERIFY_LIMIT_IP_PER_HOUR", "1000"),
            ("VERIFY_LIMIT_NUMBER_PER_HOUR", "100"),
            ("VERIFY_LIMIT_NUMBER_PER_DAY", "100"),
            ("VERIFY_LIMIT_PREFIX_PER_HOUR", "1000"),
        ],
    )
    .await;
    let start = |number: &'static str| {
        let url = app.url("/api/verify/start");
        async move { spec.send(call(&cookies(), url, &[("phone", number)])).await }
    };
    assert_eq!(
        spec.send(no_cookies().get(app.url("/readyz"))).await.body["provider"],
        "messagebird"
    );
    // No MESSAGEBIRD_ORIGINATOR: no sender for confirmation texts.
    let no_sender = spec
        .send(no_cookies().post(app.url("/api/v1/notify")).form(&[
            ("secret", "sk_test_local"),
            ("response", "not.a.token"),
            ("text", "Welcome."),
        ]))
        .await;
    assert_eq!(
        (no_sender.status, &no_sender.body["error-codes"]),
        (501, &json!(["notify-unavailable"]))
    );
    app.knobs(json!({"fault": "rate_limited", "retry_after": 42}))
        .await;
    let throttled = start("+44 7400 100001").await;
    assert_eq!(
        (throttled.status, throttled.header("retry-after")),
        (429, "42")
    );
    app.knobs(json!({"blocked_prefixes": ["+44740"]})).await;
    assert_eq!(start("+44 7400 100002").await.status, 422);
    // Two failures in a row open the breaker.
    app.knobs(json!({"fault": "server_error"})).await;
    assert_eq!(start("+44 7400 100003").await.status, 502);
    app.knobs(json!({"fault": "hang"})).await;
    assert_eq!(start("+44 7400 100004").await.status, 504);
    app.knobs(json!({})).await;
    let paused = start("+44 7400 100005").await;
    assert_eq!(paused.status, 503, "{}", paused.text);
    assert!(paused.body["ServiceBusy"].is_object());
    assert!(!paused.header("retry-after").is_empty());
}

/// One new session per client per hour, one code per client per hour.
async fn tight_limits(spec: &Spec) {
    let app = spawn_app(&[
        ("VERIFY_LIMIT_SESSIONS_PER_HOUR", "1"),
        ("VERIFY_LIMIT_IP_PER_HOUR", "1"),
    ])
    .await;
    let client = no_cookies();
    let frame = |wid: &str| app.url(&format!("/embed?sitekey=pk_test_local&wid={wid}"));
    assert_eq!(spec.send(client.get(frame("a"))).await.status, 303);
    let refused = spec.send(client.get(frame("b"))).await;
    assert_eq!(refused.status, 429);
    // The page's own session is refused as well, once it must be stored.
    let browser = cookies();
    let start = spec
        .send(call(
            &browser,
            app.url("/api/verify/start"),
            &[("phone", NUMBER)],
        ))
        .await;
    assert_eq!(start.status, 429, "{}", start.text);
    assert!(start.body["RateLimited"].is_object());
}

/// Redis as the store, then gone.
async fn a_failing_store(spec: &Spec) {
    let app = spawn_on(Upstream::Local, Backend::Redis, &[]).await;
    let browser = cookies();
    let started = spec
        .send(call(
            &browser,
            app.url("/api/verify/start"),
            &[("phone", NUMBER)],
        ))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    let redis = app.redis.as_ref().unwrap();
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: Result<(), _> = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query_async(&mut connection)
        .await;
    let not_ready = until_not_ready(spec, &app).await;
    assert_eq!(not_ready.body["reason"], "state store");
    // Each of these waits for the store client to give up; all at once.
    let (state, check, frame, session) = tokio::join!(
        spec.send(call(&browser, app.url("/api/verify/state"), &[])),
        spec.send(call(
            &browser,
            app.url("/api/verify/check"),
            &[("code", "123456")]
        )),
        spec.send(no_cookies().get(app.url("/embed?sitekey=pk_test_local"))),
        spec.send(no_cookies().post(app.url("/api/v1/sessions")).form(&[
            ("secret", "sk_test_local"),
            ("phone_number", "+447911123456"),
        ])),
    );
    assert_eq!((state.status, &state.body), (500, &json!("Internal")));
    assert_eq!(
        (check.status, &check.body),
        (503, &json!("ServiceUnavailable"))
    );
    // Fails closed: the limit on new sessions cannot be counted.
    assert_eq!(frame.status, 429);
    assert_eq!(session.body["error-codes"], json!(["internal-error"]));
}
