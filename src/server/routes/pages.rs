//! The page: the shell around the widget, rendered on the server for each visit.
use axum::Router;
use axum::routing::get;
use leptos::prelude::provide_context;
use leptos_axum::render_app_async_with_context;

use crate::app::shell;
use crate::server::request::page_lang;
use crate::server::{AppState, hardening};

pub fn routes(state: &AppState) -> Router {
    let provide_state = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let options = state.leptos_options.clone();
    let stylesheet = state.assets.stylesheet.clone();
    // Async rendering: the page waits for the session's step before the first byte,
    // so the session is settled (and saved) with the response. The policy and the
    // language are decided here, in the request's context, so the shell stays a view.
    let page = render_app_async_with_context(provide_state, move || {
        hardening::set_page_csp(None, None);
        shell(options.clone(), page_lang(), stylesheet.clone())
    });
    Router::new().route("/", get(page))
}
