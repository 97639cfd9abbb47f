use leptos::prelude::*;

use super::context::texts;
#[cfg(feature = "ssr")]
use crate::i18n::Lang;
use crate::verify::CountryOption;

/// The country as a plain `<select>`: what the server renders, and all a browser
/// without JavaScript gets. Type-ahead and the keyboard work as in any select. Once
/// the widget is interactive, [`enhance`] puts a searchable picker in its place
/// (and fills the select, when the browser built this step).
#[component]
pub fn CountrySelect(selected: RwSignal<String>) -> impl IntoView {
    let t = texts();
    #[cfg(feature = "ssr")]
    let options = options_for(
        use_context::<Lang>().unwrap_or_default(),
        &selected.get_untracked(),
    );
    #[cfg(not(feature = "ssr"))]
    let options = String::new();
    view! {
        <select
            name="country"
            id="pv-country"
            class="pv-input pv-country-select"
            aria-label=t.country_label
            on:change=move |ev| selected.set(event_target_value(&ev))
            // Hundreds of options as one piece of text: cheap to render and to hydrate.
            inner_html=options
        >
        </select>
    }
}

/// The select's options in `lang`, `current` selected, from the language's list
/// rendered once. A page carries the list only here: the browser reads it back.
#[cfg(feature = "ssr")]
fn options_for(lang: Lang, current: &str) -> String {
    let index = Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0);
    with_selected(&rendered_options()[index], current)
}

/// Each language's options, rendered on first use; the server calls this at start-up
/// (`AppState::new`), so that no page waits for it.
#[cfg(feature = "ssr")]
pub fn rendered_options() -> &'static [String] {
    use std::sync::OnceLock;
    static RENDERED: OnceLock<Vec<String>> = OnceLock::new();
    RENDERED.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                let list = crate::server::countries::options(lang);
                options_html(list, lang.texts().country_label)
            })
            .collect()
    })
}

/// The select's options as HTML: a placeholder, then each country as
/// `<option value="ISO">flag name +dial</option>`, which [`read_option`] reads back.
fn options_html(countries: &[CountryOption], placeholder: &str) -> String {
    let mut html = format!(r#"<option value="">{}</option>"#, escape(placeholder));
    for c in countries {
        html.push_str(&format!(
            r#"<option value="{iso}">{flag} {name} +{dial}</option>"#,
            iso = escape(&c.iso),
            flag = c.flag(),
            name = escape(&c.name),
            dial = c.dial,
        ));
    }
    html
}

/// `options` with the option of value `current` selected (none when no option has
/// it, and the browser shows the first, the placeholder).
#[cfg(any(feature = "ssr", test))]
fn with_selected(options: &str, current: &str) -> String {
    let value = format!(r#"<option value="{}">"#, escape(current));
    match options.find(&value) {
        Some(at) => {
            let end = at + value.len() - 1;
            [&options[..end], " selected", &options[end..]].concat()
        }
        None => options.to_owned(),
    }
}

/// A country back from its option (`value`, and the text the browser shows, with
/// the entities decoded): the browser's copy of the list is read off the page.
#[cfg(any(feature = "hydrate", test))]
fn read_option(value: String, text: &str) -> Option<CountryOption> {
    let (_flag, rest) = text.split_once(' ')?;
    let (name, dial) = rest.rsplit_once(" +")?;
    Some(CountryOption {
        dial: dial.parse().ok()?,
        name: name.to_owned(),
        iso: value,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The searchable picker, built by hand on top of the select (which stays, hidden,
/// as the form's value): a button with the flag and dialling code opens a search
/// field (a combobox) over a listbox. Search by name, ISO code or dialling code;
/// arrows and Page keys move, Enter picks, Escape closes.
///
/// It is plain DOM code rather than Leptos views on purpose: as reactive views the
/// picker alone cost about 20 KB of the 200 KB browser budget; this costs a few.
#[cfg(feature = "hydrate")]
pub mod enhance {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leptos::prelude::*;
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::web_sys::{
        Element, Event, FocusEvent, HtmlElement, HtmlSelectElement, KeyboardEvent, Node,
    };

    use super::{escape, options_html};
    use crate::i18n::Texts;
    use crate::verify::CountryOption;

    /// The picker over the select with id `pv-country`. Dropping it removes the
    /// picker and shows the select again.
    pub struct Picker {
        state: Rc<RefCell<State>>,
        root: Element,
        _listeners: Vec<Closure<dyn FnMut(Event)>>,
    }

    struct State {
        countries: Vec<CountryOption>,
        select: HtmlSelectElement,
        button: HtmlElement,
        popup: HtmlElement,
        open: bool,
        /// Indexes into `countries` of what the search shows.
        shown: Vec<usize>,
        active: usize,
        texts: &'static Texts,
        on_pick: Box<dyn Fn(String)>,
    }

    impl Picker {
        /// Builds the picker, `current` chosen; `on_pick` hears every country picked.
        pub fn new(
            countries: Vec<CountryOption>,
            current: &str,
            texts: &'static Texts,
            on_pick: impl Fn(String) + 'static,
        ) -> Option<Self> {
            let document = document();
            let select: HtmlSelectElement =
                document.get_element_by_id("pv-country")?.dyn_into().ok()?;
            // Only a select the server rendered has its options (see `CountrySelect`).
            if select.length() == 0 {
                select.set_inner_html(&options_html(&countries, texts.country_label));
                select.set_value(current);
            }
            let root = document.create_element("div").ok()?;
            root.set_class_name("pv-picker");
            root.set_inner_html(&format!(
                r#"<button type="button" class="pv-input pv-picker-button" aria-haspopup="listbox" aria-expanded="false"></button><div class="pv-picker-popup" hidden><input class="pv-input pv-picker-search" type="text" role="combobox" aria-label="{search}" placeholder="{search}" aria-expanded="true" aria-controls="pv-country-list" aria-autocomplete="list" autocomplete="off" id="pv-country-search"><p id="pv-country-count" class="pv-sr-only" role="status"></p><ul id="pv-country-list" class="pv-picker-list" role="listbox" aria-label="{label}"></ul></div>"#,
                search = escape(texts.country_search),
                label = escape(texts.country_label),
            ));
            let button: HtmlElement = root.first_element_child()?.dyn_into().ok()?;
            let popup: HtmlElement = button.next_element_sibling()?.dyn_into().ok()?;
            select
                .parent_node()?
                .insert_before(&root, Some(&select))
                .ok()?;
            select.set_hidden(true);
            let state = Rc::new(RefCell::new(State {
                countries,
                select,
                button,
                popup,
                open: false,
                shown: Vec::new(),
                active: 0,
                texts,
                on_pick: Box::new(on_pick),
            }));
            let value = state.borrow().select.value();
            state.borrow().show_selected(&value);
            let mut listeners = Vec::new();
            let mut listen = |target: &Element, event: &str, handler: Box<dyn FnMut(Event)>| {
                let closure = Closure::wrap(handler);
                let _ = target
                    .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
                listeners.push(closure);
            };
            let button: Element = state.borrow().button.clone().into();
            let popup: Element = state.borrow().popup.clone().into();
            let on = state.clone();
            listen(
                &button,
                "click",
                Box::new(move |_| {
                    let open = on.borrow().open;
                    if open {
                        close(&on, true)
                    } else {
                        open_popup(&on)
                    }
                }),
            );
            let on = state.clone();
            listen(
                &button,
                "keydown",
                Box::new(move |ev| {
                    let Some(ev) = ev.dyn_ref::<KeyboardEvent>() else {
                        return;
                    };
                    if matches!(ev.key().as_str(), "ArrowDown" | "ArrowUp") {
                        ev.prevent_default();
                        open_popup(&on);
                    }
                }),
            );
            let on = state.clone();
            listen(
                &popup,
                "input",
                Box::new(move |ev| {
                    let query = ev
                        .target()
                        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
                        .map(|input| input.value())
                        .unwrap_or_default();
                    let mut state = on.borrow_mut();
                    state.filter(&query);
                    state.render();
                }),
            );
            let on = state.clone();
            listen(
                &popup,
                "keydown",
                Box::new(move |ev| {
                    let Some(ev) = ev.dyn_ref::<KeyboardEvent>() else {
                        return;
                    };
                    let by: isize = match ev.key().as_str() {
                        "ArrowDown" => 1,
                        "ArrowUp" => -1,
                        "PageDown" => 10,
                        "PageUp" => -10,
                        // Picks; never submits the form around it.
                        "Enter" => {
                            ev.prevent_default();
                            let iso = {
                                let state = on.borrow();
                                state
                                    .shown
                                    .get(state.active)
                                    .map(|&i| state.countries[i].iso.clone())
                            };
                            if let Some(iso) = iso {
                                pick(&on, iso);
                            }
                            return;
                        }
                        "Escape" => {
                            ev.prevent_default();
                            return close(&on, true);
                        }
                        "Tab" => return close(&on, false),
                        _ => return,
                    };
                    ev.prevent_default();
                    let mut state = on.borrow_mut();
                    let last = state.shown.len().saturating_sub(1);
                    state.active = state.active.saturating_add_signed(by).min(last);
                    state.render();
                }),
            );
            // Keep focus in the search field while an option is clicked.
            listen(
                &popup,
                "mousedown",
                Box::new(|ev| {
                    if clicked_iso(&ev).is_some() {
                        ev.prevent_default();
                    }
                }),
            );
            let on = state.clone();
            listen(
                &popup,
                "click",
                Box::new(move |ev| {
                    if let Some(iso) = clicked_iso(&ev) {
                        pick(&on, iso);
                    }
                }),
            );
            let on = state.clone();
            let container = root.clone();
            listen(
                &root,
                "focusout",
                Box::new(move |ev| {
                    let next = ev
                        .dyn_ref::<FocusEvent>()
                        .and_then(FocusEvent::related_target)
                        .and_then(|t| t.dyn_into::<Node>().ok());
                    let inside = next.is_some_and(|next| container.contains(Some(&next)));
                    if !inside && on.borrow().open {
                        close(&on, false);
                    }
                }),
            );
            Some(Self {
                state,
                root,
                _listeners: listeners,
            })
        }

        /// Shows `iso` as the choice (the number named its country).
        pub fn show(&self, iso: &str) {
            let state = self.state.borrow();
            state.select.set_value(iso);
            state.show_selected(iso);
        }
    }

    /// The list the server rendered into the select with id `pv-country`, read back
    /// from its options; `None` when the page has no such select.
    pub fn listed() -> Option<Vec<CountryOption>> {
        let select: HtmlSelectElement = document()
            .get_element_by_id("pv-country")?
            .dyn_into()
            .ok()?;
        let list: Vec<CountryOption> = (0..select.length())
            .filter_map(|i| select.item(i))
            .filter_map(|option| {
                let value = option.get_attribute("value")?;
                super::read_option(value, &option.text_content()?)
            })
            .collect();
        (!list.is_empty()).then_some(list)
    }

    impl Drop for Picker {
        fn drop(&mut self) {
            self.root.remove();
            self.state.borrow().select.set_hidden(false);
        }
    }

    impl State {
        fn show_selected(&self, iso: &str) {
            let country = self.countries.iter().find(|c| c.iso == iso);
            let (flag, dial, label) = match country {
                Some(c) => (
                    c.flag(),
                    format!("+{}", c.dial),
                    format!("{}: {} +{}", self.texts.country_label, c.name, c.dial),
                ),
                None => ("🌐".into(), String::new(), self.texts.country_label.into()),
            };
            self.button.set_inner_html(&format!(
                r#"<span class="pv-flag" aria-hidden="true">{flag}</span><span class="pv-dial">{dial}</span><span class="pv-caret" aria-hidden="true">▾</span>"#
            ));
            let _ = self.button.set_attribute("aria-label", &label);
        }

        fn filter(&mut self, query: &str) {
            self.shown = (0..self.countries.len())
                .filter(|&i| self.countries[i].matches(query))
                .collect();
            self.active = 0;
        }

        /// Writes the list, the count and the active option into the popup.
        fn render(&self) {
            let shown: Vec<&CountryOption> =
                self.shown.iter().map(|&i| &self.countries[i]).collect();
            let document = document();
            if let Some(list) = document.get_element_by_id("pv-country-list") {
                list.set_inner_html(&list_html(&shown, self.active, self.texts.country_none));
            }
            if let Some(count) = document.get_element_by_id("pv-country-count") {
                count.set_text_content(Some(&match shown.len() {
                    0 => self.texts.country_none.to_owned(),
                    n => (self.texts.country_count)(n),
                }));
            }
            let active = shown
                .get(self.active)
                .map(|c| format!("pv-country-{}", c.iso));
            if let Some(search) = document.get_element_by_id("pv-country-search") {
                let _ =
                    search.set_attribute("aria-activedescendant", active.as_deref().unwrap_or(""));
            }
            if let Some(option) = active.and_then(|id| document.get_element_by_id(&id)) {
                option.scroll_into_view_with_bool(false);
            }
        }
    }

    fn open_popup(state: &Rc<RefCell<State>>) {
        let mut s = state.borrow_mut();
        s.filter("");
        let value = s.select.value();
        s.active = s.countries.iter().position(|c| c.iso == value).unwrap_or(0);
        s.open = true;
        let _ = s.button.set_attribute("aria-expanded", "true");
        s.popup.set_hidden(false);
        if let Some(search) = document().get_element_by_id("pv-country-search")
            && let Ok(search) = search.dyn_into::<leptos::web_sys::HtmlInputElement>()
        {
            search.set_value("");
            let _ = search.focus();
        }
        s.render();
    }

    fn close(state: &Rc<RefCell<State>>, refocus: bool) {
        let mut s = state.borrow_mut();
        s.open = false;
        let _ = s.button.set_attribute("aria-expanded", "false");
        s.popup.set_hidden(true);
        if refocus {
            let _ = s.button.focus();
        }
    }

    fn pick(state: &Rc<RefCell<State>>, iso: String) {
        close(state, false);
        {
            let s = state.borrow();
            s.select.set_value(&iso);
            s.show_selected(&iso);
        }
        let s = state.borrow();
        (s.on_pick)(iso);
    }

    /// The ISO code of the option a click landed in.
    fn clicked_iso(ev: &Event) -> Option<String> {
        let target = ev.target()?.dyn_into::<Element>().ok()?;
        target
            .closest("[data-iso]")
            .ok()??
            .get_attribute("data-iso")
    }

    /// The options of the list, the `active` one marked, as HTML.
    fn list_html(countries: &[&CountryOption], active: usize, none: &str) -> String {
        if countries.is_empty() {
            return format!(
                r#"<li class="pv-picker-empty" role="presentation">{}</li>"#,
                escape(none)
            );
        }
        let mut html = String::with_capacity(countries.len() * 120);
        for (i, c) in countries.iter().enumerate() {
            let selected = i == active;
            html.push_str(&format!(
                    r#"<li id="pv-country-{iso}" data-iso="{iso}" role="option" aria-selected="{selected}" class="pv-picker-option{active}"><span class="pv-flag" aria-hidden="true">{flag}</span><span class="pv-country-name">{name}</span><span class="pv-dial" dir="ltr">+{dial}</span></li>"#,
                    iso = escape(&c.iso),
                    active = if selected { " pv-active" } else { "" },
                    flag = c.flag(),
                    name = escape(&c.name),
                    dial = c.dial,
                ));
        }
        html
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::{options_html, read_option, with_selected};
    use crate::i18n::Lang;
    use crate::verify::CountryOption;

    /// The options' values and texts as a browser reads them, entities decoded.
    fn options_in(html: &str) -> Vec<(String, String)> {
        let decode = |text: &str| {
            text.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
        };
        html.split("<option value=\"")
            .skip(1)
            .map(|option| {
                let (value, rest) = option.split_once('"').unwrap();
                let text = rest.split_once('>').unwrap().1;
                let text = text.strip_suffix("</option>").unwrap();
                (decode(value), decode(text))
            })
            .collect()
    }

    #[test]
    fn the_browser_reads_back_the_list_the_server_rendered() {
        for lang in Lang::ALL {
            let list = crate::server::countries::options(lang);
            let html = options_html(list, lang.texts().country_label);
            let read: Vec<CountryOption> = options_in(&html)
                .into_iter()
                .filter_map(|(value, text)| read_option(value, &text))
                .collect();
            assert_eq!(read, list, "{lang:?}");
        }
        let odd = [CountryOption {
            iso: "XY".into(),
            dial: 7,
            name: "Trinidad & <Tobago> \"+1\" Isles".into(),
        }];
        let html = options_html(&odd, "Land & Meer");
        let read: Vec<_> = options_in(&html)
            .into_iter()
            .filter_map(|(value, text)| read_option(value, &text))
            .collect();
        assert_eq!(read, odd);
    }

    #[test]
    fn one_option_is_selected_the_current_one_or_the_placeholder() {
        let list = crate::server::countries::options(Lang::De);
        let html = options_html(list, "Land");
        let selected = |current: &str| {
            let html = with_selected(&html, current);
            let found: Vec<_> = html.match_indices(" selected").map(|(at, _)| at).collect();
            assert!(found.len() <= 1, "{current}: {found:?}");
            found
                .first()
                .map(|&at| html[..at].rsplit_once("value=\"").unwrap().1.to_owned())
        };
        assert_eq!(selected("CH").as_deref(), Some("CH\""));
        assert_eq!(selected("").as_deref(), Some("\""));
        assert_eq!(selected("ZZ"), None);
        assert_eq!(selected("C"), None);
    }
}
