//! The investigation site in a real browser: replay the bundled sample into a temp lake, start
//! `flowtrail ui` on a free port, load its pages in headless Chromium and assert on the DOM it
//! rendered (the alert list, the exfiltration alert's title, chart with baseline band and
//! observed series, evidence rows, an entity page, a principal page). Each page's screenshot is
//! saved under `CARGO_TARGET_TMPDIR/ui_browser/` for review, and each page's server render time
//! is printed. A machine without Chromium fails this test, naming what to install: `scripts/test`
//! installs Debian's `chromium` when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::http::{free_port, get_with, wait_until_answering};
use crate::common::*;

/// The sample's exfiltration: the interface that sends 10.8 MB to one address in an hour.
const EXFIL_ENI: &str = "eni-0dd177f417de9d22b";

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLOWTRAIL_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "headless_shell",
    ]
    .iter()
    .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
    .find(|p| p.is_file())
}

struct Site(Child);

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A page render takes seconds on a debug build of a busy machine.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_with(port, path, Duration::from_secs(30))
}

fn start(lake: &Path, port: u16) -> Site {
    let child = bin()
        .args(["ui", "--listen", &format!("127.0.0.1:{port}"), "--lake"])
        .arg(lake)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut site = Site(child);
    wait_until_answering(&mut site.0, port, "/healthz-not-here", String::new);
    site
}

/// The DOM Chromium built from `url`, and a screenshot of it at `png`.
fn browse(chrome: &Path, profile: &Path, url: &str, png: &Path) -> String {
    let common = |c: &mut Command| {
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    };
    let mut dom = Command::new(chrome);
    common(&mut dom);
    let out = dom.args(["--dump-dom", url]).output().unwrap();
    assert!(out.status.success(), "chromium --dump-dom {url} failed");
    let mut shot = Command::new(chrome);
    common(&mut shot);
    let s = shot
        .arg(format!("--screenshot={}", png.display()))
        .args(["--window-size=1280,2000", url])
        .output()
        .unwrap();
    assert!(
        s.status.success() && png.is_file(),
        "no screenshot of {url}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The median of three server render times of `path`, in ms (plain HTTP, no browser).
fn render_ms(port: u16, path: &str) -> u128 {
    let mut v: Vec<u128> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let (code, _) = get(port, path).unwrap();
            assert_eq!(code, 200, "{path}");
            t.elapsed().as_millis()
        })
        .collect();
    v.sort();
    v[1]
}

/// The alert of `detector` on `entity`: its id, and the instance its asset names (if any).
fn find_alert(
    alerts: &[serde_json::Value],
    detector: &str,
    entity: &str,
) -> (String, Option<String>) {
    let a = alerts
        .iter()
        .find(|a| a["detector"] == detector && a["entity"]["id"] == entity)
        .unwrap_or_else(|| panic!("no {detector} alert on {entity} in the sample"));
    let instance = a["asset"]["instance_id"].as_str().map(str::to_string);
    (a["id"].as_str().unwrap().to_string(), instance)
}

#[test]
fn the_sample_investigated_in_headless_chromium() {
    let chrome = chromium().unwrap_or_else(|| {
        panic!(
            "no Chromium found on PATH (chromium, chromium-browser, google-chrome, headless_shell): \
             run scripts/test, which installs Debian's chromium, or set FLOWTRAIL_CHROMIUM"
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let alerts = replay_sample(&lake, &[]);
    let (exfil, instance) = find_alert(&alerts, "volume_spike", EXFIL_ENI);

    let port = free_port();
    let _site = start(&lake, port);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui_browser");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = dir.path().join("chromium-profile");
    let base = format!("http://127.0.0.1:{port}");
    let mut pages = vec![
        ("alerts", "/".to_string()),
        ("alert", format!("/alert/{exfil}")),
        ("entity", format!("/entity/eni/{EXFIL_ENI}")),
        (
            "principal",
            "/principal/arn:aws:iam::012345678901:user/backup-admin".to_string(),
        ),
        ("filtered", "/?severity=critical".to_string()),
    ];
    // The instance behind the interface, when the alert names it (the inventory maps it).
    if let Some(i) = &instance {
        pages.push(("instance", format!("/entity/instance/{i}")));
    }
    let mut doms = std::collections::BTreeMap::new();
    for (name, path) in &pages {
        let ms = render_ms(port, path);
        println!("render {name:<10} {ms:>5} ms  {path}");
        // The target is under a second on an optimized build; a debug build on a busy 2-core
        // machine takes 1-3 s. This bound only catches a page that has lost its pruning.
        assert!(ms < 15_000, "{path} took {ms} ms to render");
        let dom = browse(
            &chrome,
            &profile,
            &format!("{base}{path}"),
            &shots.join(format!("{name}.png")),
        );
        doms.insert(*name, dom);
    }
    println!("screenshots in {}", shots.display());
    check_list(&doms["alerts"], &doms["filtered"], &exfil);
    check_alert(&doms["alert"]);
    check_entity(&doms["entity"], &doms["principal"]);
    match &instance {
        Some(i) => {
            let dom = &doms["instance"];
            assert!(dom.contains(&format!("instance {i}")));
            assert!(
                rows_of(dom, "inventory") >= 1,
                "the inventory names its interface"
            );
            assert!(
                dom.contains("id=\"observed-out\""),
                "its interface's traffic is drawn"
            );
        }
        None => panic!("the exfiltration alert names no instance (the inventory knows app-3)"),
    }
}

fn rows_of(dom: &str, table_id: &str) -> usize {
    let Some(at) = dom.find(&format!("id=\"{table_id}\"")) else {
        return 0;
    };
    let rest = &dom[at..];
    let end = rest.find("</table>").unwrap_or(rest.len());
    rest[..end].matches("<tr").count().saturating_sub(1)
}

fn check_list(all: &str, critical: &str, exfil: &str) {
    assert!(
        rows_of(all, "alerts") >= 12,
        "the list shows the sample's alerts"
    );
    assert!(
        all.contains(&format!("href=\"/alert/{exfil}\"")),
        "the exfiltration alert is linked"
    );
    assert!(all.contains("id=\"filters\""));
    let n = rows_of(critical, "alerts");
    assert!(
        n >= 1 && n < rows_of(all, "alerts"),
        "the severity filter narrows the list ({n})"
    );
    assert_eq!(critical.matches("data-detector").count(), n);
    assert!(
        !critical.contains("class=\"sev sev-high\""),
        "only critical alerts once filtered"
    );
}

fn check_alert(dom: &str) {
    let title = dom
        .split("id=\"alert-title\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(
        title.contains(EXFIL_ENI) && title.contains("MB"),
        "title: {title}"
    );
    let instance = dom
        .split("id=\"alert-instance\"")
        .nth(1)
        .expect("the story names the instance behind the interface");
    assert!(
        instance.split("</a>").next().unwrap().contains("app-3 (i-"),
        "the instance by its Name tag and id"
    );
    assert!(dom.contains("<svg") && dom.contains("id=\"traffic-chart\""));
    for id in ["baseline-band", "observed-out", "observed-in"] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "{id} missing from the chart"
        );
    }
    let band = dom.split("id=\"baseline-band\"").nth(1).unwrap();
    let points = band
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        points.split(' ').count() >= 48,
        "a band over the sample's days: {points}"
    );
    assert!(
        rows_of(dom, "evidence-rows") >= 1,
        "the evidence rows are shown"
    );
    assert!(rows_of(dom, "peers") >= 1, "the peers table is shown");
    assert!(
        dom.contains("185.220.101.47"),
        "the exfiltration's destination is named"
    );
    assert!(dom.contains("id=\"cloudtrail-timeline\""));
}

fn check_entity(eni: &str, principal: &str) {
    assert!(eni.contains(&format!("eni {EXFIL_ENI}")));
    assert!(eni.contains("id=\"traffic-chart\"") && eni.contains("id=\"talkers\""));
    assert!(rows_of(eni, "peers") >= 1 && rows_of(eni, "entity-alerts") >= 1);
    assert!(principal.contains("principal arn:aws:iam::012345678901:user/backup-admin"));
    assert!(
        rows_of(principal, "cloudtrail-timeline") >= 1,
        "the principal's calls"
    );
    assert!(
        principal.contains("href=\"/alert/"),
        "its alerts link to their pages"
    );
    assert!(
        rows_of(principal, "entity-alerts") >= 1,
        "its alerts (flow logs deleted, CloudTrail stopped)"
    );
}
