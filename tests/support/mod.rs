//! Starts the real app on 127.0.0.1:0 with a hand-driven clock, and talks to it over
//! HTTP like a browser with cookies would.
#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use leptos::config::get_configuration;
use phone_verify::server::clock::ManualClock;
use phone_verify::server::{AppState, Settings, build_router, serve};
use reqwest::header::{ACCEPT, REFERER};
use serde_json::Value;

pub struct TestApp {
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
}

/// A browser session: its own cookie jar.
pub struct Browser {
    pub app: String,
    pub client: reqwest::Client,
}

pub async fn spawn_app(vars: &[(&str, &str)]) -> TestApp {
    phone_verify::server::telemetry::init();
    let leptos = get_configuration(Some("Cargo.toml")).expect("Cargo.toml has Leptos settings").leptos_options;
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let settings = Settings::from_lookup(leptos, |name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .expect("test settings are valid");
    let clock = Arc::new(ManualClock::new());
    let state = AppState::new(settings, clock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, build_router(state)));
    TestApp { addr, clock }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn browser(&self) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Browser { app: self.url(""), client }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub async fn outbox(&self) -> Vec<Value> {
        let body: Value = reqwest::get(self.url("/dev/outbox.json")).await.unwrap().json().await.unwrap();
        body.as_array().expect("the outbox is a JSON array").clone()
    }

    /// The code in the newest message, read as a person reads it.
    pub async fn latest_code(&self) -> String {
        let outbox = self.outbox().await;
        let text = outbox.first().expect("a message was delivered")["text"].as_str().unwrap().to_owned();
        text.chars().filter(char::is_ascii_digit).take(6).collect()
    }
}

/// What a server function answered.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Browser {
    /// Calls a server function as the hydrated widget does (JSON answer).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .client
            .post(format!("{}/api/verify/{endpoint}", self.app))
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer { status, body }
    }

    /// Posts a form as a browser without JavaScript does; returns status and Location.
    pub async fn post_form(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Option<String>) {
        let response = self
            .client
            .post(format!("{}/api/verify/{endpoint}", self.app))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(REFERER, format!("{}/", self.app))
            .form(form)
            .send()
            .await
            .unwrap();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), location)
    }

    /// The server-rendered page.
    pub async fn page(&self) -> String {
        let response = self.client.get(format!("{}/", self.app)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
}
