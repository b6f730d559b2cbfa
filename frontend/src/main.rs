//! Entry point: mounts the viewer into `#app` for the current location.

#[cfg(target_arch = "wasm32")]
fn main() {
    use callscope_viewer::{MOUNT_ID, MOUNTED_ATTR, app};
    use leptos::prelude::{document, window};
    use wasm_bindgen::JsCast;

    console_error_panic_hook::set_once();
    let path = window().location().pathname().unwrap_or_default();
    let root: web_sys::HtmlElement = document()
        .get_element_by_id(MOUNT_ID)
        .and_then(|el| el.dyn_into().ok())
        .expect("index.html has an element with id `app`");
    // Drop the static "loading" text shown until the wasm runs.
    root.set_text_content(None);
    leptos::mount::mount_to(root.clone(), move || app::App(app::AppProps { path })).forget();
    root.set_attribute(MOUNTED_ATTR, "true")
        .expect("setting an attribute on an element");
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("callscope-viewer runs in the browser: build it with `trunk build` (see README)");
    std::process::exit(2);
}
