use leptos::prelude::*;

/// The resend button, which counts down to when the server will accept a resend.
///
/// The server says how many `seconds` are left; in the browser the deadline is pinned
/// to the wall clock at that moment, so a throttled background tab does not make the
/// countdown drift. Without JavaScript the button stays usable and the server enforces
/// the wait.
#[component]
pub fn ResendCountdown(seconds: u32, #[prop(into)] busy: Signal<bool>) -> impl IntoView {
    let remaining = RwSignal::new(seconds);
    let interactive = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    tick_down(remaining, interactive);
    #[cfg(not(feature = "hydrate"))]
    let _ = interactive.write_only();
    view! {
        <button
            type="submit"
            class="pv-link pv-resend"
            data-testid="resend"
            disabled=move || busy.get() || (interactive.get() && remaining.get() > 0)
        >
            {move || countdown_label(remaining.get())}
        </button>
    }
}

/// "Resend code", or "Resend code in 0:07" while waiting.
pub fn countdown_label(remaining: u32) -> String {
    match remaining {
        0 => "Resend code".to_owned(),
        secs => format!("Resend code in {}:{:02}", secs / 60, secs % 60),
    }
}

/// Recomputes `remaining` from a wall-clock deadline a few times a second until it
/// reaches zero. The timer is dropped (and so cancelled) with the component.
#[cfg(feature = "hydrate")]
fn tick_down(remaining: RwSignal<u32>, interactive: RwSignal<bool>) {
    use gloo_timers::callback::Interval;

    let deadline_ms = js_sys::Date::now() + f64::from(remaining.get_untracked()) * 1000.0;
    let timer = StoredValue::new_local(None::<Interval>);
    Effect::new(move |_| {
        interactive.set(true);
        if remaining.get_untracked() == 0 {
            return;
        }
        let interval = Interval::new(250, move || {
            let left = ((deadline_ms - js_sys::Date::now()) / 1000.0)
                .ceil()
                .max(0.0) as u32;
            if left != remaining.get_untracked() {
                remaining.set(left);
            }
            if left == 0 {
                timer.set_value(None);
            }
        });
        timer.set_value(Some(interval));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_show_minutes_and_seconds() {
        assert_eq!(countdown_label(0), "Resend code");
        assert_eq!(countdown_label(7), "Resend code in 0:07");
        assert_eq!(countdown_label(90), "Resend code in 1:30");
    }
}
