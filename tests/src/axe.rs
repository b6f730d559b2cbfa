//! axe-core, the accessibility engine, run inside the page: WCAG 2.1 A and AA rules,
//! colour contrast among them. `scripts/setup.sh` installs it from npm and exports
//! `CALLSCOPE_AXE`; a missing file fails the test rather than skipping it.

use std::path::PathBuf;

use serde_json::Value;

use crate::Browser;

/// The rule tags checked: everything WCAG 2.0 and 2.1 require at levels A and AA.
const TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

fn source() -> String {
    let path = std::env::var_os("CALLSCOPE_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/callscope-tools/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core not found at {} ({e}): run `source scripts/setup.sh`",
            path.display()
        )
    })
}

/// What axe found on the page as it is now.
#[derive(Debug)]
pub struct Report {
    /// One line per violated rule and node.
    pub violations: Vec<String>,
    /// Rules that applied to the page and passed.
    pub passed: Vec<String>,
}

/// Runs axe on the page as it is now.
pub async fn run(browser: &Browser) -> Report {
    // WebDriver scripts run outside the page's CSP, as a devtools console would.
    browser
        .client
        .execute(&format!("{};\nreturn typeof axe", source()), vec![])
        .await
        .expect("inject axe-core");
    let result = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, resultTypes: ['violations'] })
               .then(r => done({
                 violations: r.violations.flatMap(v => v.nodes.map(n =>
                   `${v.id} (${v.impact}): ${n.target.join(' ')}: ${n.failureSummary.replace(/\\s+/g, ' ')}`)),
                 passed: r.passes.map(p => p.id) }))
               .catch(e => done({ violations: [`axe failed: ${e}`], passed: [] }));",
            vec![serde_json::json!(TAGS)],
        )
        .await
        .expect("run axe");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|l| l.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    Report {
        violations: strings(&result["violations"]),
        passed: strings(&result["passed"]),
    }
}

/// Fails the test, listing every violation, unless axe finds none, and unless colour
/// contrast was really checked on some text. `what` names the state.
pub async fn assert_accessible(browser: &Browser, what: &str) {
    let report = run(browser).await;
    if !report.violations.is_empty() {
        browser
            .screenshot(&format!("axe-{}", what.replace(' ', "-")))
            .await;
    }
    assert!(
        report.violations.is_empty(),
        "{what}: {} accessibility violation(s):\n{}",
        report.violations.len(),
        report.violations.join("\n")
    );
    assert!(
        report.passed.iter().any(|r| r == "color-contrast"),
        "{what}: axe checked no text for contrast (passed: {:?})",
        report.passed
    );
}

/// [`assert_accessible`] in the light and the dark colour scheme (screen media), leaving
/// the page in the light one.
pub async fn assert_accessible_in_both_schemes(browser: &Browser, what: &str) {
    for scheme in ["dark", "light"] {
        browser.emulate_media("screen", scheme).await;
        assert_accessible(browser, &format!("{what}, {scheme}")).await;
    }
}
