use leptos::html::Input;
use leptos::prelude::*;

use crate::verify::{PhoneProblem, VerifyError};

/// How long typing must pause before the number is checked and laid out.
#[cfg(feature = "hydrate")]
const CHECK_AFTER_MS: u32 = 300;

/// The phone number field. In the browser, a pause in typing sends the number to the
/// server's `format_phone` (the same libphonenumber rules `start` applies, with no
/// metadata in the bundle), which lays it out (`07400 123456`) and names its country.
/// The caret stays after the same digit; a leaving visitor hears what is wrong.
#[component]
pub fn PhoneInput(
    value: String,
    /// A number chosen by the host, shown masked: not for editing.
    #[prop(optional)]
    readonly: bool,
    country: RwSignal<String>,
    error: RwSignal<Option<VerifyError>>,
) -> impl IntoView {
    let input = NodeRef::<Input>::new();
    // What the server said of the text now in the field; `None` while unknown or fine.
    let problem = RwSignal::new(None::<PhoneProblem>);
    #[cfg(feature = "hydrate")]
    let schedule = {
        let timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
        // A check pending when the step goes away is cancelled with it.
        on_cleanup(move || {
            timer.try_set_value(None);
        });
        move || {
            let timeout = gloo_timers::callback::Timeout::new(CHECK_AFTER_MS, move || {
                check(input, country, problem)
            });
            timer.try_set_value(Some(timeout));
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let schedule = || {};
    // A new country changes what a national number means: check again.
    Effect::new(move |previous: Option<String>| {
        let picked = country.get();
        if previous.is_some_and(|p| p != picked) {
            schedule();
        }
        picked
    });
    view! {
        <input
            id="pv-phone"
            class="pv-input pv-phone-input"
            name="phone"
            type="tel"
            inputmode="tel"
            autocomplete="tel"
            required
            readonly=readonly
            value=value
            node_ref=input
            aria-describedby="pv-phone-hint pv-phone-error"
            aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
            on:input=move |_| {
                problem.set(None);
                schedule();
            }
            on:blur=move |_| {
                if let Some(problem) = problem.get_untracked() {
                    error.set(Some(VerifyError::InvalidPhone(problem)));
                }
            }
        />
    }
}

#[cfg(feature = "hydrate")]
fn check(
    input: NodeRef<Input>,
    country: RwSignal<String>,
    problem: RwSignal<Option<PhoneProblem>>,
) {
    // Every access may find the step gone (the visitor moved on): then do nothing.
    let Some(field) = input.try_get_untracked().flatten() else {
        return;
    };
    let typed = field.value();
    if typed.trim().is_empty() {
        return;
    }
    let Some(picked) = country.try_get_untracked() else {
        return;
    };
    leptos::task::spawn_local(async move {
        let Ok(answer) = crate::api::format_phone(typed.clone(), picked.clone()).await else {
            return;
        };
        let Some(field) = input.try_get_untracked().flatten() else {
            return;
        };
        // The visitor typed on meanwhile: a newer check is on its way.
        if field.value() != typed {
            return;
        }
        problem.try_set(answer.problem);
        if !answer.formatted.is_empty() && answer.formatted != typed {
            let caret = field
                .selection_start()
                .ok()
                .flatten()
                .map_or(typed.len(), |c| c as usize);
            let digits_before = typed
                .encode_utf16()
                .take(caret)
                .filter(|unit| (u16::from(b'0')..=u16::from(b'9')).contains(unit))
                .count();
            field.set_value(&answer.formatted);
            let at = caret_after_digits(&answer.formatted, digits_before) as u32;
            let _ = field.set_selection_range(at, at);
        }
        if !answer.country.is_empty()
            && answer.country != picked
            && typed.trim_start().starts_with('+')
        {
            country.try_set(answer.country);
        }
    });
}

/// Where the caret goes in `text` (a UTF-16 offset, as the DOM counts) so that it
/// follows the same number of digits as before a reformat: `07400|123` stays after
/// the 5th digit in `07400 |123`, whatever spaces were added.
pub fn caret_after_digits(text: &str, digits: usize) -> usize {
    if digits == 0 {
        return 0;
    }
    let mut seen = 0;
    let mut offset = 0;
    for c in text.chars() {
        offset += c.len_utf16();
        if c.is_ascii_digit() {
            seen += 1;
            if seen == digits {
                return offset;
            }
        }
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::caret_after_digits;

    #[test]
    fn the_caret_follows_its_digit() {
        assert_eq!(caret_after_digits("07400 123456", 5), 5);
        assert_eq!(caret_after_digits("07400 123456", 6), 7);
        assert_eq!(caret_after_digits("+44 7400 123456", 2), 3);
        assert_eq!(caret_after_digits("+44 7400 123456", 99), 15);
        assert_eq!(caret_after_digits("+44 7400", 0), 0);
    }
}
