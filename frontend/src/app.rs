//! The root component: header plus the section for the current page.

use leptos::prelude::*;

use crate::route;

/// The whole viewer for the page at `path` (the location's pathname).
#[component]
pub fn App(path: String) -> impl IntoView {
    let section = match route::debug_token(&path) {
        Some(_token) => view! {
            <section class="call-debug" aria-busy="true">
                <p class="placeholder">"Loading call…"</p>
            </section>
        }
        .into_any(),
        None => view! {
            <section class="not-a-link">
                <p>"This page is not a call debug link."</p>
            </section>
        }
        .into_any(),
    };
    view! {
        <header class="site-header">
            <h1>"callscope — call debug view"</h1>
        </header>
        {section}
    }
}
