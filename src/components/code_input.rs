use leptos::html::Input;
use leptos::prelude::*;

use crate::verify::{Channel, VerifyError, code_digits};

/// The one-time-code field: one real input (so autofill, paste, undo and screen
/// readers behave), drawn as digit boxes by the stylesheet. In the browser it keeps
/// only digits (pasted `123-456` or `١٢٣٤٥٦` become `123456`), submits by itself once
/// complete, and takes the code from an incoming SMS where the browser offers WebOTP.
#[component]
pub fn CodeInput(
    code_length: u8,
    channel: Channel,
    error: RwSignal<Option<VerifyError>>,
    #[prop(into)] checking: Signal<bool>,
) -> impl IntoView {
    let input = NodeRef::<Input>::new();
    // The last code submitted by itself, so a wrong one is not sent again and again.
    let submitted = StoredValue::new(String::new());
    // The WebOTP request, in the browser only (a local value must never be touched
    // from the server's other threads).
    #[cfg(feature = "hydrate")]
    let stop_listening = {
        let sms_listener = StoredValue::new_local(None::<leptos::web_sys::AbortController>);
        if channel == Channel::Sms {
            Effect::new(move |_| {
                sms_listener.set_value(web_otp::listen(input, code_length, submitted));
            });
        }
        let stop = move || {
            if let Some(listener) = sms_listener.try_update_value(Option::take).flatten() {
                listener.abort();
            }
        };
        // A check on its way (typed, pasted or from WebOTP): the prompt is moot.
        Effect::new(move |_| {
            if checking.get() {
                stop();
            }
        });
        on_cleanup(stop);
        stop
    };
    #[cfg(not(feature = "hydrate"))]
    let stop_listening = {
        let _ = (channel, checking);
        || {}
    };
    view! {
        <input
            id="pv-code"
            class=format!("pv-input pv-code-input pv-digits-{code_length}")
            name="code"
            type="text"
            inputmode="numeric"
            autocomplete="one-time-code"
            dir="ltr"
            required
            // Room for a pasted code with separators; the server strips them too.
            maxlength=usize::from(code_length) * 2 + 2
            node_ref=input
            aria-describedby="pv-code-lead pv-code-hint pv-code-error"
            aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
            on:input=move |ev| {
                if ev.is_trusted() {
                    stop_listening();
                }
                take_digits(input, code_length, submitted);
            }
        />
    }
}

/// Keeps the field to its digits and submits once they are all there.
fn take_digits(input: NodeRef<Input>, length: u8, submitted: StoredValue<String>) {
    let Some(field) = input.try_get_untracked().flatten() else {
        return;
    };
    let raw = field.value();
    let digits = code_digits(&raw, length);
    if digits != raw {
        field.set_value(&digits);
    }
    let complete = digits.len() == usize::from(length);
    if complete && submitted.try_with_value(|last| *last != digits) == Some(true) {
        submitted.try_set_value(digits);
        if let Some(form) = field.form() {
            let _ = form.request_submit();
        }
    }
}

/// The WebOTP API (Chrome on Android, and desktop Chrome relaying from the phone):
/// the browser reads the code from an SMS whose last line is `@host #123456`.
#[cfg(feature = "hydrate")]
mod web_otp {
    use js_sys::{Array, Object, Reflect};
    use leptos::html::Input;
    use leptos::prelude::*;
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use leptos::web_sys::{AbortController, CredentialRequestOptions};

    /// Asks the browser for the code, if it can; the returned controller aborts the
    /// request (on typing, on submit, when the step goes away).
    pub fn listen(
        input: NodeRef<Input>,
        length: u8,
        submitted: StoredValue<String>,
    ) -> Option<AbortController> {
        let window = leptos::web_sys::window()?;
        if !Reflect::has(&window, &JsValue::from_str("OTPCredential")).unwrap_or(false) {
            return None;
        }
        let controller = AbortController::new().ok()?;
        let otp = Object::new();
        Reflect::set(&otp, &"transport".into(), &Array::of1(&"sms".into())).ok()?;
        let options = Object::new();
        Reflect::set(&options, &"otp".into(), &otp).ok()?;
        Reflect::set(&options, &"signal".into(), &controller.signal()).ok()?;
        let request = window
            .navigator()
            .credentials()
            .get_with_options(options.unchecked_ref::<CredentialRequestOptions>())
            .ok()?;
        leptos::task::spawn_local(async move {
            // Aborted, timed out or refused: the visitor types the code instead.
            let Ok(credential) = wasm_bindgen_futures::JsFuture::from(request).await else {
                return;
            };
            let code = Reflect::get(&credential, &"code".into())
                .ok()
                .and_then(|code| code.as_string());
            if let (Some(code), Some(field)) = (code, input.try_get_untracked().flatten()) {
                field.set_value(&code);
                super::take_digits(input, length, submitted);
            }
        });
        Some(controller)
    }
}
