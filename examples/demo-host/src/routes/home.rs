use axum::extract::State;
use axum::response::Response;

use super::Visitor;
use crate::state::AppState;

pub async fn page(State(state): State<AppState>, mut visitor: Visitor) -> Response {
    let t = visitor.t();
    let main = format!(
        r#"<p>{}</p>
<ul class="flows">
<li><a href="/register">{}</a>: {}</li>
<li><a href="/signup">{}</a>: {}</li>
<li><a href="/login">{}</a>: {}</li>
<li><a href="/account">{}</a>: {}</li>
</ul>"#,
        t.home_lead,
        t.nav_register,
        t.home_register,
        t.nav_signup,
        t.home_signup,
        t.nav_login,
        t.home_login,
        t.nav_account,
        t.home_account,
    );
    let page = visitor.page("/", t.home_title, None, &main, false);
    visitor.finish(&state, page).await
}
