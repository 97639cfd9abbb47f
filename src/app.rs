//! The HTML shell and the demo page that hosts the widget.
//!
//! There is one page, so there is no client-side router: it would cost the browser
//! bundle tens of kilobytes for nothing.
use leptos::either::Either;
use leptos::prelude::*;

use crate::components::VerifyWidget;
use crate::i18n::Lang;
use crate::verify::VerifiedPhone;

/// The document around the app, rendered on the server only, in `lang`, linking
/// the `stylesheet` of this build.
pub fn shell(options: LeptosOptions, lang: Lang, stylesheet: String) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang=lang.code() dir=lang.dir()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <title>"Verify your phone number · phone-verify"</title>
                <link rel="icon" type="image/png" href="/favicon.png"/>
                <link rel="stylesheet" href=stylesheet/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                {root(None)}
            </body>
        </html>
    }
}

/// What hydrates: in a frame (`embedded`, with the document's language) the widget
/// alone, else the demo page.
pub fn root(embedded: Option<Lang>) -> impl IntoView {
    match embedded {
        Some(lang) => Either::Left(view! { <EmbedApp lang/> }),
        None => Either::Right(view! { <App/> }),
    }
}

/// The demo host page, as an embedding site would have one.
#[component]
pub fn App() -> impl IntoView {
    let verified = RwSignal::new(None::<String>);
    view! {
        <main class="pv-page">
            <header class="pv-page-header">
                <h1 class="pv-brand">"phone-verify"</h1>
            </header>
            <VerifyWidget on_verified=Callback::new(move |phone: VerifiedPhone| verified.set(Some(phone.e164)))/>
            <Show when=move || verified.get().is_some()>
                <p class="pv-host-note" data-testid="host-note">
                    "The host page heard about it: "
                    <code>{move || verified.get().unwrap_or_default()}</code>
                </p>
            </Show>
        </main>
    }
}

/// What the embed page's shell says about its frame, for the bridge script.
#[derive(Clone, Debug)]
pub struct FramePage {
    /// The embed session's id.
    pub session: String,
    /// The host page's name for this widget.
    pub widget_id: String,
    /// The host page's origin, the only one the frame posts to (empty: none).
    pub parent_origin: String,
    /// Hosted mode: where the page sends the visitor with the token.
    pub return_url: Option<String>,
    pub state: Option<String>,
    /// The classes of `<html>`: a colour scheme the host forces.
    pub theme_class: &'static str,
    /// The host's `--pv-*` values as one rule, checked by the server; may be empty.
    pub theme_css: String,
}

/// The document of the frame another site embeds: the widget alone, with the bridge
/// script that talks to the host page (`embed/frame.js`).
pub fn embed_shell(
    options: LeptosOptions,
    lang: Lang,
    stylesheet: String,
    frame: FramePage,
) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang=lang.code() dir=lang.dir() class=frame.theme_class>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <title>{lang.texts().widget_label}</title>
                <link rel="stylesheet" href=stylesheet/>
                {(!frame.theme_css.is_empty())
                    .then(|| view! { <style nonce=leptos::nonce::use_nonce()>{frame.theme_css}</style> })}
                <script src="/embed/frame.js" defer></script>
                <HydrationScripts options/>
            </head>
            <body
                data-pv-session=frame.session
                data-pv-wid=frame.widget_id
                data-pv-origin=frame.parent_origin
                data-pv-return=frame.return_url
                data-pv-state=frame.state
            >
                {root(Some(lang))}
            </body>
        </html>
    }
}

/// The embedded widget. Its calls go to its session's address (see `hydrate`), and
/// the server points its forms there (`server/routes/embed/page.rs`).
#[component]
pub fn EmbedApp(lang: Lang) -> impl IntoView {
    // The frame is a document of its own: it gets its one top-level heading, for
    // screen readers (the host page shows its own), in the document's language.
    let label = lang.texts().widget_label;
    view! {
        // Labelled: the host page has a main landmark of its own.
        <main class="pv-embed" aria-label=label>
            <h1 class="pv-sr-only">{label}</h1>
            <VerifyWidget/>
        </main>
    }
}
