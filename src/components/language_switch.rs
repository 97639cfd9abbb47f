use leptos::prelude::*;

use super::context::texts;
use crate::i18n::Lang;

/// Links to the page in each language. A plain link works without JavaScript; the
/// server remembers the choice in the session, so the SMS and the call use it too.
#[component]
pub fn LanguageSwitch(current: Lang) -> impl IntoView {
    let t = texts();
    view! {
        <nav class="pv-langs" aria-label=t.language>
            {Lang::ALL
                .into_iter()
                .map(|lang| {
                    view! {
                        <a
                            class="pv-lang"
                            href=format!("?lang={}", lang.code())
                            hreflang=lang.code()
                            lang=lang.code()
                            aria-current=(lang == current).then_some("true")
                        >
                            {lang.native_name()}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}
