//! phone-verify: a phone-number verification widget.
//!
//! # Layout
//! - [`verify`]: the domain shared by server and browser: codes, channels, the step a
//!   visitor is on, and the errors they can see. Phone-number parsing is server-only
//!   because its metadata would triple the browser bundle.
//! - [`i18n`]: every word the widget says, in English, German and Arabic.
//! - [`api`]: the server functions, thin and at fixed URLs under `/api/verify/`.
//! - [`components`]: the widget and its steps; no HTTP, only signals and forms.
//! - [`app`]: the HTML shell and the demo page that hosts the widget.
//! - `server` (ssr only): configuration, sessions, providers, the dev outbox and the
//!   axum router.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod i18n;
pub mod verify;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the browser bundle: attach to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    let body = leptos::prelude::document().body();
    // A frame on another site's page names its session; everything it calls goes
    // through that session's address (see `server::embed`).
    let embedded = body
        .as_ref()
        .and_then(|b| b.get_attribute("data-pv-session"))
        .map(|session| {
            let prefix: &'static str = Box::leak(format!("/embed/s/{session}").into_boxed_str());
            leptos::server_fn::client::set_server_url(prefix);
            let lang = leptos::prelude::document()
                .document_element()
                .and_then(|html| html.get_attribute("lang"))
                .and_then(|code| i18n::Lang::parse(&code))
                .unwrap_or_default();
            lang
        });
    // One root for both pages: a second `hydrate_body` would build the whole
    // widget's hydration code twice into the bundle.
    leptos::mount::hydrate_body(move || app::root(embedded));
    // A marker for tests and the time-to-interactive benchmark.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
