//! Headless Chromium driven through chromedriver (WebDriver), one per test.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// Chromium flags for a closed network, as root, without a display.
const CHROME_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// A chromedriver process and a WebDriver session on it.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Browser {
    pub async fn start() -> Browser {
        Self::start_with(&[]).await
    }

    /// Like [`Browser::start`], with extra Chromium flags.
    pub async fn start_with(extra_args: &[&str]) -> Browser {
        Self::launch(extra_args, json!({})).await
    }

    /// Like [`Browser::start`], saving downloads into `dir` without asking.
    pub async fn start_downloading_to(dir: &std::path::Path) -> Browser {
        let prefs = json!({
            "download.default_directory": dir,
            "download.prompt_for_download": false,
        });
        Self::launch(&[], prefs).await
    }

    async fn launch(extra_args: &[&str], prefs: Value) -> Browser {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver} (run scripts/setup.sh): {e}"));
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": CHROME_ARGS.iter().chain(extra_args).collect::<Vec<_>>(),
                "prefs": prefs,
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut last_error = None;
        for _ in 0..100 {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return Browser { client, driver },
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not accept a session: {last_error:?}");
    }

    /// Sends a Chrome DevTools Protocol command to the page (chromedriver's
    /// `goog/cdp/execute` extension) and returns its result.
    pub async fn cdp(&self, method: &str, params: Value) -> Value {
        let command = SessionCommand {
            path: "goog/cdp/execute",
            body: json!({ "cmd": method, "params": params }),
        };
        self.client
            .issue_cmd(command)
            .await
            .unwrap_or_else(|e| panic!("CDP {method}: {e}"))
    }

    /// Renders the page for `media` ("screen" or "print") with `prefers-color-scheme`
    /// set to `scheme` ("light" or "dark").
    pub async fn emulate_media(&self, media: &str, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({
                "media": media,
                "features": [{ "name": "prefers-color-scheme", "value": scheme }],
            }),
        )
        .await;
    }

    /// Grants the page permission `name` (e.g. "clipboard-read") through WebDriver's
    /// Set Permission command.
    pub async fn grant(&self, name: &str) {
        let command = SessionCommand {
            path: "permissions",
            body: json!({ "descriptor": { "name": name }, "state": "granted" }),
        };
        self.client
            .issue_cmd(command)
            .await
            .unwrap_or_else(|e| panic!("grant {name}: {e}"));
    }

    /// Saves a PNG of the current page to the artifacts directory.
    pub async fn screenshot(&self, name: &str) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(crate::artifacts_dir().join(format!("{name}.png")), png);
        }
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// A POST to `/session/{id}/{path}`: the WebDriver extensions fantoccini has no method for.
#[derive(Debug)]
struct SessionCommand {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.ok_or(url::ParseError::EmptyHost)?;
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}
