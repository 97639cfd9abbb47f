use leptos::html::{Button, Input};
use leptos::prelude::*;

use super::texts;
use crate::verify::CountryOption;

/// The country as a plain `<select>`: what the server renders, and all a browser
/// without JavaScript gets. Type-ahead and the keyboard work as in any select.
#[component]
pub fn CountrySelect(
    countries: StoredValue<Vec<CountryOption>>,
    selected: RwSignal<String>,
) -> impl IntoView {
    let t = texts();
    let current = selected.get_untracked();
    view! {
        <select
            name="country"
            id="pv-country"
            class="pv-input pv-country-select"
            aria-label=t.country_label
            on:change=move |ev| selected.set(event_target_value(&ev))
        >
            <option value="" selected=current.is_empty()>{t.country_label}</option>
            {countries.with_value(|countries| {
                countries
                    .iter()
                    .map(|c| {
                        view! {
                            <option value=c.iso.clone() selected=c.iso == current>
                                {format!("{} {} +{}", c.flag(), c.name, c.dial)}
                            </option>
                        }
                    })
                    .collect_view()
            })}
        </select>
    }
}

/// The country as a searchable listbox, once the widget is interactive: a button with
/// the flag and dialling code opens a search field (a combobox) over the list. Search
/// by name, ISO code or dialling code; arrows move, Enter picks, Escape closes.
#[component]
pub fn CountryPicker(
    countries: StoredValue<Vec<CountryOption>>,
    selected: RwSignal<String>,
    #[prop(into)] on_picked: Callback<()>,
) -> impl IntoView {
    let t = texts();
    let open = RwSignal::new(false);
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0_usize);
    let button = NodeRef::<Button>::new();
    let search = NodeRef::<Input>::new();
    let matches = Memo::new(move |_| {
        query.with(|q| {
            countries.with_value(|all| {
                all.iter()
                    .filter(|c| c.matches(q))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    });
    let current = move || {
        selected.with(|iso| countries.with_value(|all| all.iter().find(|c| &c.iso == iso).cloned()))
    };
    let show = move || {
        query.set(String::new());
        let at =
            selected.with(|iso| countries.with_value(|all| all.iter().position(|c| &c.iso == iso)));
        active.set(at.unwrap_or(0));
        open.set(true);
        request_animation_frame(move || {
            if let Some(search) = search.get_untracked() {
                let _ = search.focus();
            }
            scroll_to_active(active.get_untracked(), matches);
        });
    };
    let close = move |refocus: bool| {
        open.set(false);
        if refocus && let Some(button) = button.get_untracked() {
            let _ = button.focus();
        }
    };
    let pick = move |country: CountryOption| {
        selected.set(country.iso);
        close(false);
        on_picked.run(());
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = matches.with(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                active.update(|a| *a = (*a + 1).min(count.saturating_sub(1)));
            }
            "ArrowUp" => {
                ev.prevent_default();
                active.update(|a| *a = a.saturating_sub(1));
            }
            "PageDown" => {
                ev.prevent_default();
                active.update(|a| *a = (*a + 10).min(count.saturating_sub(1)));
            }
            "PageUp" => {
                ev.prevent_default();
                active.update(|a| *a = a.saturating_sub(10));
            }
            "Enter" => {
                // Picks; never submits the form around it.
                ev.prevent_default();
                if let Some(country) = matches.with(|m| m.get(active.get_untracked()).cloned()) {
                    pick(country);
                }
            }
            "Escape" => {
                ev.prevent_default();
                close(true);
            }
            "Tab" => close(false),
            _ => return,
        }
        scroll_to_active(active.get_untracked(), matches);
    };
    let option_id = |iso: &str| format!("pv-country-{iso}");
    view! {
        <div
            class="pv-picker"
            on:focusout=move |ev: leptos::ev::FocusEvent| {
                if open.get_untracked() && !focus_stays_inside(&ev) {
                    close(false);
                }
            }
        >
            <input type="hidden" name="country" prop:value=move || selected.get()/>
            <button
                type="button"
                id="pv-country"
                class="pv-input pv-picker-button"
                node_ref=button
                aria-haspopup="listbox"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-label=move || match current() {
                    Some(c) => format!("{}: {} +{}", t.country_label, c.name, c.dial),
                    None => t.country_label.to_owned(),
                }
                on:click=move |_| if open.get_untracked() { close(true) } else { show() }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if matches!(ev.key().as_str(), "ArrowDown" | "ArrowUp") {
                        ev.prevent_default();
                        show();
                    }
                }
            >
                <span class="pv-flag" aria-hidden="true">
                    {move || current().map_or_else(|| "🌐".to_owned(), |c| c.flag())}
                </span>
                <span class="pv-dial">{move || current().map(|c| format!("+{}", c.dial))}</span>
                <span class="pv-caret" aria-hidden="true">"▾"</span>
            </button>
            <Show when=move || open.get()>
                <div class="pv-picker-popup">
                    <input
                        type="text"
                        class="pv-input pv-picker-search"
                        node_ref=search
                        role="combobox"
                        aria-label=t.country_search
                        placeholder=t.country_search
                        aria-expanded="true"
                        aria-controls="pv-country-list"
                        aria-autocomplete="list"
                        aria-activedescendant=move || {
                            matches.with(|m| m.get(active.get()).map(|c| option_id(&c.iso)))
                        }
                        autocomplete="off"
                        on:input=move |ev| {
                            query.set(event_target_value(&ev));
                            active.set(0);
                        }
                        on:keydown=on_key
                    />
                    <p class="pv-sr-only" role="status">
                        {move || match matches.with(Vec::len) {
                            0 => t.country_none.to_owned(),
                            n => (t.country_count)(n),
                        }}
                    </p>
                    <ul id="pv-country-list" class="pv-picker-list" role="listbox" aria-label=t.country_label>
                        {move || {
                            matches
                                .get()
                                .into_iter()
                                .enumerate()
                                .map(|(i, c)| {
                                    let chosen = c.clone();
                                    view! {
                                        <li
                                            id=option_id(&c.iso)
                                            role="option"
                                            class="pv-picker-option"
                                            class:pv-active=move || active.get() == i
                                            aria-selected=move || if active.get() == i { "true" } else { "false" }
                                            // Keep focus in the search field while clicking.
                                            on:mousedown=|ev| ev.prevent_default()
                                            on:click=move |_| pick(chosen.clone())
                                        >
                                            <span class="pv-flag" aria-hidden="true">{c.flag()}</span>
                                            <span class="pv-country-name">{c.name.clone()}</span>
                                            <span class="pv-dial" dir="ltr">{format!("+{}", c.dial)}</span>
                                        </li>
                                    }
                                })
                                .collect_view()
                        }}
                    </ul>
                    <Show when=move || matches.with(Vec::is_empty)>
                        <p class="pv-hint pv-picker-empty">{t.country_none}</p>
                    </Show>
                </div>
            </Show>
        </div>
    }
}

/// Whether focus moves to another element of the picker (from the button to the
/// search field), rather than out of it.
fn focus_stays_inside(ev: &leptos::ev::FocusEvent) -> bool {
    use leptos::wasm_bindgen::JsCast;
    let (Some(container), Some(next)) = (ev.current_target(), ev.related_target()) else {
        return false;
    };
    let (Ok(container), Ok(next)) = (
        container.dyn_into::<leptos::web_sys::Node>(),
        next.dyn_into::<leptos::web_sys::Node>(),
    ) else {
        return false;
    };
    container.contains(Some(&next))
}

fn scroll_to_active(active: usize, matches: Memo<Vec<CountryOption>>) {
    let Some(iso) = matches.with_untracked(|m| m.get(active).map(|c| c.iso.clone())) else {
        return;
    };
    request_animation_frame(move || {
        if let Some(option) = document().get_element_by_id(&format!("pv-country-{iso}")) {
            option.scroll_into_view_with_bool(false);
        }
    });
}
