// Starts the viewer's wasm. Trunk's default is an inline module script, which a strict CSP
// would have to allow by hash or nonce; instead Trunk.toml's `pattern_script` writes the
// hashed file names into <meta name="callscope-wasm" data-js data-wasm> and this external
// module loads them.
const meta = document.querySelector('meta[name="callscope-wasm"]');
const { js, wasm } = meta.dataset;
// Fetch the wasm like Trunk's <link rel="preload" integrity=…> did, so the browser reuses
// that response and checks its subresource integrity.
const preload = document.querySelector(`link[rel="preload"][href="${wasm}"]`);
const { default: init } = await import(js);
await init({ module_or_path: fetch(wasm, { integrity: preload?.integrity ?? "" }) });
