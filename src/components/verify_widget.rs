use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::code_step::CodeStep;
use super::phone_step::PhoneStep;
use super::success_step::SuccessStep;
use crate::api::{CheckCode, ResendCode, RestartVerification, StartVerification, current_flow};
use crate::verify::{Flow, Step, VerifyError};

/// The phone-verification widget: phone step, code step, success step.
///
/// The server renders the step the visitor's session is on; in the browser the steps
/// become reactive. Every step is a real form, so the flow also works without
/// JavaScript. `on_verified` receives the verified number in E.164 form.
#[component]
pub fn VerifyWidget(
    #[prop(optional, into)] on_verified: Option<Callback<String>>,
) -> impl IntoView {
    let flow = Resource::new(|| (), |()| current_flow());
    view! {
        <section class="pv-widget" aria-label="Phone verification">
            <Suspense fallback=|| view! { <p class="pv-loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match flow.await {
                        Ok(flow) => view! { <Steps flow on_verified/> }.into_any(),
                        Err(error) => {
                            view! { <p class="pv-error" role="alert">{error.message()}</p> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The server actions behind the forms of all steps.
#[derive(Clone, Copy)]
pub struct FlowActions {
    pub start: ServerAction<StartVerification>,
    pub check: ServerAction<CheckCode>,
    pub resend: ServerAction<ResendCode>,
    pub restart: ServerAction<RestartVerification>,
}

impl FlowActions {
    pub fn new() -> Self {
        Self {
            start: ServerAction::new(),
            check: ServerAction::new(),
            resend: ServerAction::new(),
            restart: ServerAction::new(),
        }
    }
}

impl Default for FlowActions {
    fn default() -> Self {
        Self::new()
    }
}

/// Owns the step and error signals and moves them along as actions answer.
#[component]
fn Steps(flow: Flow, on_verified: Option<Callback<String>>) -> impl IntoView {
    let step = RwSignal::new(flow.step);
    let error = RwSignal::new(flow.error);
    let actions = FlowActions::new();
    follow(actions.start, step, error);
    follow(actions.check, step, error);
    follow(actions.resend, step, error);
    follow(actions.restart, step, error);
    if let Some(on_verified) = on_verified {
        Effect::new(move |_| {
            if let Step::Verified { e164, .. } = step.get() {
                on_verified.run(e164);
            }
        });
    }
    view! { <StepView step error actions dev_outbox=flow.dev_outbox/> }
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

/// Renders whichever step `step` holds.
#[component]
pub fn StepView(
    step: RwSignal<Step>,
    error: RwSignal<Option<VerifyError>>,
    actions: FlowActions,
    #[prop(optional)] dev_outbox: bool,
) -> impl IntoView {
    move || match step.get() {
        Step::EnterPhone { phone, channel } => {
            view! { <PhoneStep phone channel error actions/> }.into_any()
        }
        Step::EnterCode {
            to,
            channel,
            code_length,
            resend_in,
            expires_in,
        } => view! {
            <CodeStep to channel code_length resend_in expires_in error actions dev_outbox/>
        }
        .into_any(),
        Step::Verified { phone, .. } => view! { <SuccessStep phone actions/> }.into_any(),
    }
}
