use leptos::prelude::*;

use super::context::texts;

/// Seconds left until a deadline the server gave as `seconds` from now, and whether
/// the browser is counting (false on the server and before hydration).
///
/// The deadline is pinned to the wall clock when the component starts, and every tick
/// recomputes from `Date.now()`: a throttled background tab cannot make it drift, and
/// coming back to the tab (`visibilitychange`) shows the right time at once. A reload
/// starts again from the server's own count, so it cannot reset the wait either.
pub fn use_countdown(seconds: u32) -> (Signal<u32>, Signal<bool>) {
    let remaining = RwSignal::new(seconds);
    let live = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    tick_down(remaining, live);
    (remaining.into(), live.into())
}

#[cfg(feature = "hydrate")]
fn tick_down(remaining: RwSignal<u32>, live: RwSignal<bool>) {
    use gloo_timers::callback::Interval;

    let deadline_ms = js_sys::Date::now() + f64::from(remaining.get_untracked()) * 1000.0;
    let tick = move || {
        let left = ((deadline_ms - js_sys::Date::now()) / 1000.0)
            .ceil()
            .max(0.0) as u32;
        if left != remaining.get_untracked() {
            remaining.set(left);
        }
    };
    let timer = StoredValue::new_local(None::<Interval>);
    Effect::new(move |_| {
        live.set(true);
        tick();
        if remaining.get_untracked() > 0 {
            timer.set_value(Some(Interval::new(250, tick)));
        }
    });
    Effect::new(move |_| {
        if remaining.get() == 0 {
            timer.set_value(None);
        }
    });
    let visible = window_event_listener_untyped("visibilitychange", move |_| tick());
    on_cleanup(move || visible.remove());
}

/// The resend button. Without JavaScript it stays usable and the server enforces the
/// wait; in the browser it is disabled until `remaining` reaches zero.
#[component]
pub fn ResendCountdown(
    #[prop(into)] remaining: Signal<u32>,
    #[prop(into)] live: Signal<bool>,
    #[prop(into)] busy: Signal<bool>,
) -> impl IntoView {
    let t = texts();
    view! {
        <button
            type="submit"
            class="pv-link pv-resend"
            data-testid="resend"
            disabled=move || busy.get() || (live.get() && remaining.get() > 0)
        >
            {move || match remaining.get() {
                0 => t.resend.to_owned(),
                secs => (t.resend_in)(secs),
            }}
        </button>
    }
}
