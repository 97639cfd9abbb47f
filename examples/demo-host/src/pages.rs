//! The HTML around every page: head, navigation, language switch, notices, and the
//! pieces forms share. Every value from a visitor or a database goes through
//! [`escape`].
use std::fmt::Write;

use crate::accounts::InputError;
use crate::i18n::{self, Lang, Texts};
use crate::phone_verify::Refusal;
use crate::session::Notice;

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a page needs to know about where it is shown.
pub struct Frame<'a> {
    pub lang: Lang,
    pub path: &'a str,
    pub signed_in: bool,
    /// The phone-verify server, when the page embeds the widget (its loader goes in
    /// the head).
    pub widget: Option<&'a str>,
    pub notices: &'a [Notice],
}

pub fn layout(frame: &Frame<'_>, title: &str, main: &str) -> String {
    let t = frame.lang.texts();
    let mut nav = String::new();
    let mut links = vec![("/", t.nav_home)];
    if frame.signed_in {
        links.push(("/account", t.nav_account));
    } else {
        links.extend([
            ("/register", t.nav_register),
            ("/signup", t.nav_signup),
            ("/login", t.nav_login),
        ]);
    }
    for (href, label) in links {
        let current = if href == frame.path {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(nav, r#"<li><a href="{href}"{current}>{label}</a></li>"#);
    }
    if frame.signed_in {
        let _ = write!(
            nav,
            r#"<li><form method="post" action="/logout"><button class="link">{}</button></form></li>"#,
            t.log_out
        );
    }
    let mut switch = String::new();
    for lang in i18n::ALL {
        if lang == frame.lang {
            let _ = write!(
                switch,
                r#"<li><span aria-current="true" lang="{}">{}</span></li>"#,
                lang.code(),
                lang.name()
            );
        } else {
            let _ = write!(
                switch,
                r#"<li><a href="/lang/{code}?back={back}" lang="{code}" hreflang="{code}">{name}</a></li>"#,
                code = lang.code(),
                back = escape(frame.path),
                name = lang.name()
            );
        }
    }
    let loader = frame
        .widget
        .map(|base| format!(r#"<script src="{}/embed.js" async></script>"#, escape(base)))
        .unwrap_or_default();
    let notices: String = frame
        .notices
        .iter()
        .map(|n| {
            format!(
                r#"<p class="notice" role="status">{}</p>"#,
                notice_text(t, *n)
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="{lang}" dir="{dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {site}</title>
<link rel="stylesheet" href="/style.css">
{loader}
</head>
<body>
<header>
<p class="brand"><a href="/">{site}</a></p>
<nav aria-label="{site}"><ul>{nav}</ul></nav>
<nav aria-label="{languages}" class="languages"><ul>{switch}</ul></nav>
</header>
<main>
<h1>{title}</h1>
{notices}{main}
</main>
</body>
</html>
"#,
        lang = frame.lang.code(),
        dir = frame.lang.dir(),
        title = escape(title),
        site = t.site,
        languages = t.languages,
    )
}

fn notice_text(t: &Texts, notice: Notice) -> &'static str {
    match notice {
        Notice::Created => t.notice_created,
        Notice::ConfirmationSent => t.notice_confirmation_sent,
        Notice::ConfirmationFailed => t.notice_confirmation_failed,
        Notice::Verified => t.notice_verified,
        Notice::Changed => t.notice_changed,
    }
}

/// An error at the top of a form, announced to screen readers.
pub fn form_error(message: Option<&str>) -> String {
    message
        .map(|m| {
            format!(
                r#"<p class="error" role="alert" id="form-error">{}</p>"#,
                escape(m)
            )
        })
        .unwrap_or_default()
}

pub fn input_message(t: &Texts, error: InputError) -> &'static str {
    match error {
        InputError::Email => t.error_email,
        InputError::EmailTaken => t.error_email_taken,
        InputError::Password => t.error_password,
        InputError::Phone => t.error_phone,
    }
}

pub fn refusal_message(t: &Texts, refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Missing => t.error_missing_token,
        Refusal::OtherNumber => t.error_other_number,
        Refusal::OtherSite => t.error_other_site,
        Refusal::TooOld => t.error_too_old,
        Refusal::Replayed => t.error_replayed,
        Refusal::Invalid => t.error_invalid_token,
        Refusal::OtherSession => t.error_other_session,
        Refusal::ExpiredOrUsed => t.error_expired_or_used,
        Refusal::InvalidNumber => t.error_phone,
        Refusal::Misconfigured => t.error_internal,
        Refusal::Unavailable => t.error_unavailable,
    }
}

/// A labelled input with an optional hint.
pub fn field(
    id: &str,
    label: &str,
    kind: &str,
    value: &str,
    autocomplete: &str,
    hint: Option<&str>,
) -> String {
    let described = hint
        .map(|_| format!(r#" aria-describedby="{id}-hint""#))
        .unwrap_or_default();
    let hint = hint
        .map(|h| format!(r#"<small id="{id}-hint">{h}</small>"#))
        .unwrap_or_default();
    format!(
        r#"<p class="field"><label for="{id}">{label}</label><input id="{id}" name="{id}" type="{kind}" value="{value}" autocomplete="{autocomplete}"{described} required>{hint}</p>"#,
        value = escape(value),
    )
}

/// The email and new-password fields of both sign-up forms.
pub fn new_credentials(t: &Texts, email: &str) -> String {
    let email = field("email", t.email, "email", email, "email", None);
    let password = field(
        "password",
        t.password,
        "password",
        "",
        "new-password",
        Some(t.password_hint),
    );
    format!("{email}{password}")
}

/// The widget element: its token arrives in the form as `phone-verify-token`.
pub struct Widget<'a> {
    pub sitekey: &'a str,
    pub action: &'a str,
    pub nonce: &'a str,
    pub lang: Lang,
    pub session: Option<&'a str>,
    pub channel: Option<&'a str>,
}

impl Widget<'_> {
    pub fn render(&self) -> String {
        let session = self
            .session
            .map(|s| format!(r#" session="{}""#, escape(s)))
            .unwrap_or_default();
        let channel = self
            .channel
            .map(|c| format!(r#" channel="{c}""#))
            .unwrap_or_default();
        format!(
            r#"<phone-verify sitekey="{}" action="{}" nonce="{}" lang="{}"{session}{channel} required></phone-verify>"#,
            escape(self.sitekey),
            self.action,
            escape(self.nonce),
            self.lang.code(),
        )
    }
}

pub const STYLE: &str = r#":root { color-scheme: light; --accent: #0b5cad; --fg: #1d2530; --muted: #5b6573; --line: #d5dbe3; font-family: system-ui, sans-serif; color: var(--fg); background: #f6f8fb; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .75rem 1.25rem; background: #fff; border-block-end: 1px solid var(--line); }
header ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
.brand { margin: 0; font-weight: 700; }
.brand a { color: var(--fg); text-decoration: none; }
.languages { margin-inline-start: auto; font-size: .9rem; }
a { color: var(--accent); }
a[aria-current="page"] { font-weight: 600; }
main { max-width: 34rem; margin: 2rem auto; padding: 1.5rem; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
h1 { font-size: 1.5rem; margin-block-start: 0; }
.field { display: grid; gap: .25rem; margin: 0 0 1rem; }
label { font-weight: 600; }
input { font: inherit; padding: .5rem .6rem; border: 1px solid #8a94a3; border-radius: 4px; }
small { color: var(--muted); }
button { font: inherit; padding: .55rem 1.1rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
button.link { background: none; color: var(--accent); padding: 0; text-decoration: underline; }
phone-verify { display: block; margin: 0 0 1rem; }
.error { color: #a4161a; background: #fdecec; padding: .5rem .75rem; border-radius: 4px; }
.notice { color: #14532d; background: #e8f6ec; padding: .5rem .75rem; border-radius: 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
.flows li { margin-block-end: .5rem; }
"#;
