//! Runs in a real browser: `wasm-bindgen-test-runner` with chromedriver (see README).
#![cfg(target_arch = "wasm32")]

use callscope_viewer::{app::App, route};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TOKEN: &str = "Zm9vYmFyLWJhei1xdXV4LWNhbGxzY29wZS10b2tlbkA";

#[wasm_bindgen_test]
fn debug_token_is_extracted_from_a_debug_link_path_in_wasm() {
    let path = format!("/api/v1/call-debug/{TOKEN}");
    assert_eq!(route::debug_token(&path), Some(TOKEN));
    assert_eq!(route::debug_token("/api/v1/call-debug/short"), None);
}

fn mount_app(path: &str) -> web_sys::HtmlElement {
    let root: web_sys::HtmlElement = document()
        .create_element("div")
        .unwrap()
        .dyn_into()
        .unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    let path = path.to_owned();
    leptos::mount::mount_to(root.clone(), move || view! { <App path /> }).forget();
    root
}

#[wasm_bindgen_test]
fn app_shows_header_and_placeholder_on_a_debug_link() {
    let root = mount_app(&format!("/api/v1/call-debug/{TOKEN}"));
    let h1 = root.query_selector("header h1").unwrap().unwrap();
    assert_eq!(h1.text_content().unwrap(), "callscope — call debug view");
    assert!(root.query_selector("section.call-debug").unwrap().is_some());
    assert!(root.query_selector("section.not-a-link").unwrap().is_none());
}

#[wasm_bindgen_test]
fn app_says_so_when_the_path_is_not_a_debug_link() {
    let root = mount_app("/somewhere/else");
    assert!(root.query_selector("section.not-a-link").unwrap().is_some());
    assert!(root.query_selector("section.call-debug").unwrap().is_none());
}
