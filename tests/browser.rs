//! Components in a real browser (headless Chromium through wasm-bindgen-test-runner):
//! the resend countdown and the step changes. Run by `scripts/test.sh`.
#![cfg(target_arch = "wasm32")]

use gloo_timers::future::TimeoutFuture;
use leptos::mount::mount_to;
use leptos::prelude::*;
use phone_verify::components::{Announcer, FlowActions, ResendCountdown, StepView, use_countdown};
use phone_verify::i18n::Lang;
use phone_verify::verify::{Channel, CodeEntry, PhoneEntry, Step, VerifiedPhone, VerifyError};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh element to mount into.
fn container() -> HtmlElement {
    let document = document();
    let section = document.create_element("section").unwrap();
    document.body().unwrap().append_child(&section).unwrap();
    section.unchecked_into()
}

fn find<T: JsCast>(root: &HtmlElement, selector: &str) -> Option<T> {
    root.query_selector(selector)
        .unwrap()
        .map(|e| e.unchecked_into())
}

async fn settle() {
    leptos::task::tick().await;
    TimeoutFuture::new(0).await;
}

/// The resend button as the code step wires it: a countdown from `seconds`.
#[component]
fn Resend(seconds: u32, #[prop(into)] busy: Signal<bool>) -> impl IntoView {
    let (remaining, live) = use_countdown(seconds);
    view! { <ResendCountdown remaining live busy/> }
}

#[wasm_bindgen_test]
async fn countdown_disables_resend_until_the_deadline() {
    let root = container();
    let handle = mount_to(
        root.clone(),
        || view! { <Resend seconds=2 busy=Signal::from(false)/> },
    );
    settle().await;
    let button: HtmlButtonElement = find(&root, "button").unwrap();
    assert!(button.disabled(), "disabled while counting down");
    assert_eq!(button.text_content().unwrap(), "Resend code in 0:02");

    TimeoutFuture::new(1_100).await;
    assert_eq!(button.text_content().unwrap(), "Resend code in 0:01");
    assert!(button.disabled());

    TimeoutFuture::new(1_200).await;
    assert_eq!(button.text_content().unwrap(), "Resend code");
    assert!(!button.disabled(), "enabled once the wait is over");
    drop(handle);
}

#[wasm_bindgen_test]
async fn countdown_at_zero_starts_enabled() {
    let root = container();
    let _handle = mount_to(
        root.clone(),
        || view! { <Resend seconds=0 busy=Signal::from(false)/> },
    );
    settle().await;
    let button: HtmlButtonElement = find(&root, "button").unwrap();
    assert!(!button.disabled());
    assert_eq!(button.text_content().unwrap(), "Resend code");
}

#[wasm_bindgen_test]
async fn a_busy_resend_is_disabled() {
    let root = container();
    let busy = RwSignal::new(true);
    let _handle = mount_to(root.clone(), move || view! { <Resend seconds=0 busy/> });
    settle().await;
    let button: HtmlButtonElement = find(&root, "button").unwrap();
    assert!(button.disabled());
    busy.set(false);
    settle().await;
    assert!(!button.disabled());
}

#[wasm_bindgen_test]
async fn steps_follow_the_step_signal() {
    let root = container();
    let step = RwSignal::new(Step::EnterPhone(PhoneEntry {
        locked: None,
        phone: "+44 7911".into(),
        country: "GB".into(),
        channel: Channel::Voice,
    }));
    let error = RwSignal::new(None::<VerifyError>);
    let _handle = mount_to(root.clone(), move || {
        view! { <StepView step error actions=FlowActions::new()/> }
    });
    settle().await;

    let phone: HtmlInputElement = find(&root, "#pv-phone").expect("phone step first");
    assert_eq!(phone.value(), "+44 7911", "the draft number is kept");
    assert_eq!(phone.get_attribute("autocomplete").as_deref(), Some("tel"));
    let voice: HtmlInputElement = find(&root, "input[value=voice]").unwrap();
    assert!(voice.checked());

    step.set(Step::EnterCode(CodeEntry {
        phone: "+44 7911 123456".into(),
        channel: Channel::Sms,
        code_length: 6,
        resend_in: 30,
        expires_in: 600,
        tries_left: 5,
        offer_call: false,
    }));
    settle().await;
    assert!(
        find::<HtmlElement>(&root, "#pv-phone").is_none(),
        "the phone step is gone"
    );
    let code: HtmlInputElement = find(&root, "#pv-code").expect("code step");
    assert_eq!(
        code.get_attribute("autocomplete").as_deref(),
        Some("one-time-code")
    );
    assert_eq!(code.get_attribute("inputmode").as_deref(), Some("numeric"));
    let sent_to: HtmlElement = find(&root, "[data-testid=sent-to]").unwrap();
    assert_eq!(sent_to.text_content().unwrap(), "+44 7911 123456");
    let resend: HtmlButtonElement = find(&root, "[data-testid=resend]").unwrap();
    assert!(resend.disabled());
    assert_eq!(resend.text_content().unwrap(), "Resend code in 0:30");

    step.set(Step::Verified(VerifiedPhone {
        phone: "+44 7911 123456".into(),
        e164: "+447911123456".into(),
        token: None,
    }));
    settle().await;
    assert!(find::<HtmlElement>(&root, "#pv-code").is_none());
    assert!(
        root.text_content()
            .unwrap()
            .contains("Phone number verified")
    );
}

#[wasm_bindgen_test]
async fn errors_show_under_the_field_and_mark_it_invalid() {
    let root = container();
    let step = RwSignal::new(Step::EnterCode(CodeEntry {
        phone: "+44 7911 123456".into(),
        channel: Channel::Sms,
        code_length: 6,
        resend_in: 0,
        expires_in: 600,
        tries_left: 5,
        offer_call: true,
    }));
    let error = RwSignal::new(None::<VerifyError>);
    let _handle = mount_to(
        root.clone(),
        move || view! { <StepView step error actions=FlowActions::new()/> },
    );
    settle().await;
    let code: HtmlInputElement = find(&root, "#pv-code").unwrap();
    assert_eq!(code.get_attribute("aria-invalid").as_deref(), Some("false"));

    error.set(Some(VerifyError::WrongCode { tries_left: 2 }));
    settle().await;
    let message: HtmlElement = find(&root, "#pv-code-error").unwrap();
    assert_eq!(
        message.text_content().unwrap(),
        "That code isn't right. You have 2 tries left."
    );
    assert_eq!(code.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert!(
        code.get_attribute("aria-describedby")
            .unwrap()
            .contains("pv-code-error")
    );
}

#[wasm_bindgen_test]
async fn the_code_field_keeps_digits_and_the_steps_speak_german() {
    let root = container();
    let step = RwSignal::new(Step::EnterCode(CodeEntry {
        phone: "+49 151 23456789".into(),
        channel: Channel::Sms,
        code_length: 6,
        resend_in: 0,
        expires_in: 600,
        tries_left: 3,
        offer_call: true,
    }));
    let error = RwSignal::new(None::<VerifyError>);
    let _handle = mount_to(root.clone(), move || {
        provide_context(Lang::De);
        view! { <StepView step error actions=FlowActions::new()/> }
    });
    settle().await;
    assert!(root.text_content().unwrap().contains("Code eingeben"));
    let hint: HtmlElement = find(&root, "[data-testid=code-hint]").unwrap();
    assert_eq!(
        hint.text_content().unwrap(),
        "Der Code gilt noch 10 Minuten. Noch 3 Versuche."
    );
    let call: HtmlButtonElement = find(&root, "[data-testid=call-instead]").unwrap();
    assert_eq!(call.text_content().unwrap(), "Stattdessen anrufen");

    // Pasting "١٢٣-٤" (Arabic-Indic, with a dash) leaves "1234" in the field.
    let code: HtmlInputElement = find(&root, "#pv-code").unwrap();
    code.set_value("١٢٣-٤");
    code.dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    settle().await;
    assert_eq!(code.value(), "1234");
    assert_eq!(code.get_attribute("dir").as_deref(), Some("ltr"));
}

#[wasm_bindgen_test]
async fn the_wait_is_announced_near_its_end_and_at_it() {
    let root = container();
    let said = RwSignal::new(String::new());
    let step = RwSignal::new(Step::EnterCode(CodeEntry {
        phone: "+44 7911 123456".into(),
        channel: Channel::Sms,
        code_length: 6,
        resend_in: 11,
        expires_in: 600,
        tries_left: 5,
        offer_call: false,
    }));
    let error = RwSignal::new(None::<VerifyError>);
    let _handle = mount_to(root.clone(), move || {
        provide_context(Announcer(said));
        view! { <StepView step error actions=FlowActions::new()/> }
    });
    settle().await;
    assert_eq!(
        said.get_untracked(),
        "We texted a 6-digit code to +44 7911 123456."
    );
    TimeoutFuture::new(1_300).await;
    assert_eq!(
        said.get_untracked(),
        "You can ask for a new code in 10 seconds."
    );
}
