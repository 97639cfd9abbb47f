//! The HTML shell and the demo page that hosts the widget.
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::SsrMode;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::VerifyWidget;

/// The document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/png" href="/favicon.png"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/phone-verify.css"/>
        <Title text="Verify your phone number · phone-verify"/>
        <Router>
            <Routes fallback=|| view! { <p class="pv-page">"Page not found."</p> }>
                // Async: the whole page waits for the session's step, so the session
                // cookie is settled before the first byte goes out.
                <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// A host page, as an embedding site would have one.
#[component]
fn HomePage() -> impl IntoView {
    let verified = RwSignal::new(None::<String>);
    view! {
        <main class="pv-page">
            <header class="pv-page-header">
                <p class="pv-brand">"phone-verify"</p>
            </header>
            <VerifyWidget on_verified=Callback::new(move |e164: String| verified.set(Some(e164)))/>
            <Show when=move || verified.get().is_some()>
                <p class="pv-host-note" data-testid="host-note">
                    "The host page heard about it: "
                    <code>{move || verified.get().unwrap_or_default()}</code>
                </p>
            </Show>
        </main>
    }
}
