// Either rather than AnyView: AnyView keeps every view's server-rendering code alive
// in the browser bundle.
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::code_step::CodeStep;
use super::context::focus;
use super::context::{Announcer, FlowActions};
use super::language_switch::LanguageSwitch;
use super::phone_step::PhoneStep;
use super::success_step::SuccessStep;
use crate::api::{Flow, page_flow};
use crate::i18n::Lang;
use crate::verify::{CountryOption, PhoneEntry, Step, VerifiedPhone, VerifyError};

/// The phone-verification widget: phone step, code step, success step.
///
/// The server renders the step the visitor's session is on, in their language; in the
/// browser the steps become reactive. Every step is a real form, so the flow also
/// works without JavaScript. `on_verified` receives the verified number (displayed
/// and in E.164 form) and, when the server has `VERIFY_PAGE_SITEKEY`, a signed token
/// that the app's own server functions can check (see docs/embedding.md).
#[component]
pub fn VerifyWidget(
    #[prop(optional, into)] on_verified: Option<Callback<VerifiedPhone>>,
) -> impl IntoView {
    let flow = Resource::new(|| (), |()| page_flow());
    view! {
        <section class="pv-widget">
            <Suspense fallback=|| view! { <p class="pv-loading">"…"</p> }>
                {move || Suspend::new(async move {
                    match flow.await {
                        Ok(flow) => Either::Left(view! { <Steps flow on_verified/> }),
                        Err(error) => Either::Right(view! {
                            <p class="pv-error" role="alert">{error.message_in(Lang::En)}</p>
                        }),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Owns the step and error signals and moves them along as actions answer.
#[component]
fn Steps(flow: Flow, on_verified: Option<Callback<VerifiedPhone>>) -> impl IntoView {
    let step = RwSignal::new(flow.step);
    let error = RwSignal::new(flow.error);
    let actions = FlowActions::new();
    let lang = flow.lang;
    provide_context(lang);
    let announcer = Announcer(RwSignal::new(String::new()));
    provide_context(announcer);
    follow(actions.start, step, error);
    follow(actions.check, step, error);
    follow(actions.resend, step, error);
    follow(actions.restart, step, error);
    if let Some(on_verified) = on_verified {
        Effect::new(move |_| {
            if let Step::Verified(verified) = step.get() {
                on_verified.run(verified);
            }
        });
    }
    let countries = RwSignal::new(flow.countries);
    let t = lang.texts();
    view! {
        <div
            class="pv-frame"
            lang=lang.code()
            dir=lang.dir()
            role="region"
            aria-label=t.widget_label
            data-step=move || step_name(&step.get())
        >
            <LanguageSwitch current=lang/>
            <StepView step error actions countries dev_outbox=flow.dev_outbox/>
            <p class="pv-sr-only" role="status" aria-live="polite" data-testid="announcer">
                {move || announcer.0.get()}
            </p>
        </div>
    }
}

/// Applies an action's answer: a new step, or an error to show on the current one.
fn follow<S>(action: ServerAction<S>, step: RwSignal<Step>, error: RwSignal<Option<VerifyError>>)
where
    S: ServerFn<Output = Step, Error = VerifyError> + Clone + Send + Sync + 'static,
{
    Effect::new(move |_| match action.value().get() {
        Some(Ok(next)) => {
            step.set(next);
            error.set(None);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
}

/// Renders whichever step `step` holds, and moves focus to it when it changes: the
/// phone field, the code field, or the success heading.
#[component]
pub fn StepView(
    step: RwSignal<Step>,
    error: RwSignal<Option<VerifyError>>,
    actions: FlowActions,
    #[prop(optional)] countries: Option<RwSignal<Vec<CountryOption>>>,
    #[prop(optional)] dev_outbox: bool,
) -> impl IntoView {
    let countries = countries.unwrap_or_else(|| RwSignal::new(Vec::new()));
    Effect::new(move |first: Option<()>| {
        step.track();
        if first.is_some() {
            focus_step(&step.get_untracked());
        }
    });
    move || match step.get() {
        Step::EnterPhone(PhoneEntry {
            phone,
            country,
            channel,
            locked,
        }) => EitherOf3::A(
            view! { <PhoneStep phone country channel locked countries error actions/> },
        ),
        Step::EnterCode(entry) => EitherOf3::B(view! {
            <CodeStep entry error actions dev_outbox/>
        }),
        Step::Verified(VerifiedPhone { phone, token, .. }) => {
            EitherOf3::C(view! { <SuccessStep phone token actions/> })
        }
    }
}

/// The step's name, for the embed frame's bridge and for tests.
fn step_name(step: &Step) -> &'static str {
    match step {
        Step::EnterPhone(_) => "phone",
        Step::EnterCode(_) => "code",
        Step::Verified(_) => "verified",
    }
}

/// After the new step is in the page, focus where the visitor continues.
fn focus_step(step: &Step) {
    let id = match step {
        Step::EnterPhone(_) => "pv-phone",
        Step::EnterCode(_) => "pv-code",
        Step::Verified(_) => "pv-success-title",
    };
    request_animation_frame(move || focus(id));
}
