//! End-to-end tests of the real desktop app: the `slipway-desktop` binary (with the built UI
//! embedded) driven over WebDriver by `tauri-driver` and Debian's `WebKitWebDriver`, in an X
//! display (Xvfb in CI). Each test gets a fresh `SLIPWAY_HOME`, its own driver and its own app.
//!
//! Gated: the tests run only with `SLIPWAY_E2E=1` (set by `scripts/e2e.sh`, which CI runs);
//! otherwise each returns at once, so that a plain `cargo test` passes on a machine without
//! WebKit or a display. Tests run one at a time (one app window at a time on a 2-core machine).
//!
//! What WebKitGTK's WebDriver cannot do, and what these tests do instead:
//! - HTML5 drag and drop from the library: WebDriver pointer actions do not start a native drag
//!   in WebKitGTK, so the test dispatches `dragstart` on the library item and `dragover`/`drop`
//!   on the canvas with one shared `DataTransfer` — the UI's own handlers run on real DOM events.
//! - Native file dialogs: the test replaces the answer of the `plugin:dialog|open` and
//!   `plugin:dialog|save` IPC calls (only those) inside the page, then clicks the real Import
//!   and Export buttons, so the UI's whole path (api.ts, IPC, Rust command, file) is exercised.
//!
//! Wiring a port, clicks and double-clicks use real WebDriver pointer actions.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// One app at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(20);

fn enabled() -> bool {
    let on = std::env::var("SLIPWAY_E2E").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("end-to-end tests skipped: set SLIPWAY_E2E=1 (scripts/e2e.sh does)");
    }
    on
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example(file: &str) -> String {
    std::fs::read_to_string(repo().join("assets/examples").join(file)).unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tauri_driver() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(path);
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin/tauri-driver"));
    match cargo_bin {
        Some(p) if p.exists() => p,
        _ => PathBuf::from("tauri-driver"),
    }
}

/// A running `tauri-driver` (and, below it, `WebKitWebDriver` and the app), killed as a whole
/// process group when dropped — also when a test fails halfway.
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app under test: its data directory, its driver and the WebDriver session.
struct App {
    home: tempfile::TempDir,
    client: Client,
    _driver: Driver,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

/// Starts the app on a fresh data directory with `args` on its command line, and waits for the
/// designer to show its library.
async fn start(args: &[String]) -> App {
    start_with_env(args, &[]).await
}

/// The app with extra environment (for the driver, WebKitWebDriver and the app alike).
async fn start_with_env(args: &[String], env: &[(&str, &str)]) -> App {
    let serial = SERIAL.lock().await;
    let home = tempfile::tempdir().unwrap();
    let (port, native_port) = (free_port(), free_port());
    let log = std::fs::File::create(home.path().join("tauri-driver.log")).unwrap();
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new(tauri_driver())
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .env("SLIPWAY_HOME", home.path().join("data"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("tauri-driver runs (cargo install tauri-driver --locked)")
    };
    let driver = Driver { child };
    // The first session fails unless both the driver and WebKitWebDriver below it listen.
    let deadline = Instant::now() + Duration::from_secs(30);
    for p in [port, native_port] {
        while TcpStream::connect(("127.0.0.1", p)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {p}; see {}",
                home.path().join("tauri-driver.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": env!("CARGO_BIN_EXE_slipway-desktop"), "args": args }),
    );
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with the app");
    let app = App {
        home,
        client,
        _driver: driver,
        _serial: serial,
    };
    app.wait(&tid("library-item-deployment-web-with-db")).await;
    app
}

fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

impl App {
    fn file(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    async fn wait(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            // Any error is "not yet": an element React replaced while it was being looked up
            // is stale, and the next look finds its successor.
            match self.client.find(Locator::Css(css)).await {
                Ok(e) => return e,
                Err(e) if Instant::now() >= deadline => {
                    let shot = self.failure_screenshot().await;
                    panic!("{css} did not appear: {e} (screenshot: {shot})")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// A screenshot of the window as it is now, for a failure message.
    async fn failure_screenshot(&self) -> String {
        let dir = repo().join("target/e2e");
        let path = dir.join(format!("failure-{}.png", std::process::id()));
        match self.client.screenshot().await {
            Ok(png)
                if std::fs::create_dir_all(&dir).is_ok() && std::fs::write(&path, &png).is_ok() =>
            {
                path.display().to_string()
            }
            _ => "none".to_string(),
        }
    }

    async fn exists(&self, css: &str) -> bool {
        let found = self.js(
            "return document.querySelector(arguments[0]) !== null",
            vec![json!(css)],
        );
        found.await == json!(true)
    }

    async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.exists(css).await {
            assert!(Instant::now() < deadline, "{css} did not go away");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the pointer would hit `element` at its centre: xyflow draws a new node hidden
    /// until it has measured it, and WebDriver refuses to move to what it cannot hit.
    async fn wait_hittable(&self, element: &Element, what: &str) {
        let script = "const el = arguments[0];
            const r = el.getBoundingClientRect();
            const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return r.width > 0 && getComputedStyle(el).visibility === 'visible'
                && hit !== null && (hit === el || el.contains(hit));";
        let deadline = Instant::now() + WAIT;
        let arg = serde_json::to_value(element).unwrap();
        while self.js(script, vec![arg.clone()]).await != json!(true) {
            assert!(
                Instant::now() < deadline,
                "{what} cannot be reached by the pointer"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the canvas and the problems panel stop changing (drawing, measuring, the
    /// debounced validation), so that a gesture lands on what it aims at.
    async fn settle(&self) {
        let script = "const parts = ['canvas', 'problems-panel'].map(
                (id) => document.querySelector(`[data-testid='${id}']`)?.outerHTML ?? '');
            return parts.join('|');";
        let deadline = Instant::now() + WAIT;
        let (mut last, mut same) = (Value::Null, 0);
        while same < 3 {
            assert!(Instant::now() < deadline, "the canvas never settled");
            tokio::time::sleep(Duration::from_millis(150)).await;
            let now = self.js(script, vec![]).await;
            same = if now == last { same + 1 } else { 0 };
            last = now;
        }
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client.execute(script, args).await {
            Ok(v) => v,
            Err(e) => panic!("script failed: {e}\n{script}"),
        }
    }

    /// Calls a Tauri command the way the UI does, from inside the page.
    async fn invoke(&self, command: &str, args: Value) -> Value {
        let script = "const [cmd, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(cmd, args).then(
                (ok) => done({ ok: ok === undefined ? null : ok }),
                (err) => done({ err }));";
        let answer = self
            .client
            .execute_async(script, vec![json!(command), args])
            .await
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        match answer.get("ok") {
            Some(v) => v.clone(),
            None => panic!("{command} failed: {}", answer["err"]),
        }
    }

    /// Makes the next native open or save dialog answer `path` without showing itself. The
    /// IPC transport (`fetch` of the `ipc:` protocol) answers that one call in place, once;
    /// every other call goes through to Rust.
    async fn answer_dialog(&self, kind: &str, path: &Path) {
        let script = "const [command, path] = arguments;
            const real = window.__slipwayRealFetch ?? window.fetch;
            window.__slipwayRealFetch = real;
            window.fetch = (input, init) => {
                const url = decodeURIComponent(typeof input === 'string' ? input : input.url);
                if (!url.endsWith('/' + command)) return real(input, init);
                window.fetch = real;
                return Promise.resolve(new Response(JSON.stringify(path), {
                    headers: { 'Content-Type': 'application/json', 'Tauri-Response': 'ok' } }));
            };
            return window.fetch !== real;";
        let done = self
            .js(
                script,
                vec![json!(format!("plugin:dialog|{kind}")), json!(path)],
            )
            .await;
        assert_eq!(done, json!(true), "the dialog answer could not be set");
    }

    async fn click(&self, css: &str) {
        let e = self.wait(css).await;
        e.click()
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    async fn double_click(&self, css: &str) {
        let element = self.wait(css).await;
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element,
                duration: None,
                x: 0,
                y: 0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client.perform_actions(mouse).await.unwrap();
        self.client.release_actions().await.unwrap();
    }

    /// Draws a wire with the mouse: press on one port, move across, release on the other.
    async fn drag_wire(&self, from: &str, to: &str) {
        let source = self.wait(from).await;
        let target = self.wait(to).await;
        self.settle().await;
        self.wait_hittable(&source, from).await;
        self.wait_hittable(&target, to).await;
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: source,
                duration: None,
                x: 0,
                y: 0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveBy {
                duration: Some(Duration::from_millis(100)),
                x: 30,
                y: 10,
            })
            .then(PointerAction::MoveToElement {
                element: target.clone(),
                duration: Some(Duration::from_millis(300)),
                x: 2,
                y: 0,
            })
            .then(PointerAction::MoveToElement {
                element: target.clone(),
                duration: Some(Duration::from_millis(100)),
                x: 0,
                y: 0,
            });
        self.client.perform_actions(mouse).await.unwrap();
        // The button stays down between action lists. Release only once the canvas shows the
        // pointer over the target port (xyflow marks that handle `connectingto`), nudging the
        // pointer there meanwhile. On a busy machine WebKitGTK's WebDriver sometimes delivers a
        // press the page never sees (no connection starts, and none does for the rest of that
        // session): then the same mouse events are dispatched from inside the page, which still
        // goes through xyflow's own connection handling, and the test goes on from there.
        let deadline = Instant::now() + Duration::from_secs(8);
        let mut nudge = 1;
        let mut seen = false;
        while Instant::now() < deadline {
            let over = self.js(
                "return document.querySelector(arguments[0])?.classList.contains('connectingto') ?? false",
                vec![json!(to)],
            );
            if over.await == json!(true) {
                seen = true;
                break;
            }
            nudge = -nudge;
            let jiggle = MouseActions::new("mouse".into())
                .then(PointerAction::MoveToElement {
                    element: target.clone(),
                    duration: Some(Duration::from_millis(50)),
                    x: nudge,
                    y: 0,
                })
                .then(PointerAction::MoveToElement {
                    element: target.clone(),
                    duration: Some(Duration::from_millis(50)),
                    x: 0,
                    y: 0,
                });
            self.client.perform_actions(jiggle).await.unwrap();
        }
        let up = MouseActions::new("mouse".into()).then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
        self.client.perform_actions(up).await.unwrap();
        if !seen {
            self.client.release_actions().await.unwrap();
            eprintln!("the pointer drag from {from} was not seen by the page; dispatching its mouse events");
            let script = "const [from, to] = arguments;
                const a = document.querySelector(from), b = document.querySelector(to);
                const centre = (el) => { const r = el.getBoundingClientRect();
                    return [r.x + r.width / 2, r.y + r.height / 2]; };
                const [ax, ay] = centre(a), [bx, by] = centre(b);
                const fire = (el, type, x, y, buttons) => el.dispatchEvent(new MouseEvent(type,
                    { bubbles: true, cancelable: true, composed: true, view: window,
                      clientX: x, clientY: y, button: 0, buttons }));
                fire(a, 'mousedown', ax, ay, 1);
                for (let i = 1; i <= 5; i++) {
                    const x = ax + (bx - ax) * i / 5, y = ay + (by - ay) * i / 5;
                    fire(document.elementFromPoint(x, y) ?? document, 'mousemove', x, y, 1);
                }
                fire(document.elementFromPoint(bx, by) ?? b, 'mouseup', bx, by, 0);
                return true;";
            self.js(script, vec![json!(from), json!(to)]).await;
        }
        self.client.release_actions().await.unwrap();
    }

    /// Drags a library item onto the canvas at (`x`, `y`) from the canvas's top-left corner, by
    /// dispatching the HTML5 drag-and-drop events a real drag makes (see the module comment).
    async fn drop_on_canvas(&self, kind: &str, name: &str, x: f64, y: f64) {
        let item = self
            .wait(&tid(&format!("library-item-{kind}-{name}")))
            .await;
        let canvas = self.wait(&tid("canvas")).await;
        let script = "const [item, canvas, x, y] = arguments;
            const dt = new DataTransfer();
            const fire = (el, type, cx, cy) => el.dispatchEvent(new DragEvent(type,
                { bubbles: true, cancelable: true, composed: true, clientX: cx, clientY: cy, dataTransfer: dt }));
            const from = item.getBoundingClientRect();
            fire(item, 'dragstart', from.x + 10, from.y + 10);
            const box = canvas.getBoundingClientRect();
            const cx = box.x + x, cy = box.y + y;
            const over = document.elementFromPoint(cx, cy);
            fire(over, 'dragenter', cx, cy);
            fire(over, 'dragover', cx, cy);
            fire(over, 'drop', cx, cy);
            fire(item, 'dragend', cx, cy);
            return Array.from(dt.types);";
        let types = self
            .js(
                script,
                vec![
                    serde_json::to_value(&item).unwrap(),
                    serde_json::to_value(&canvas).unwrap(),
                    json!(x),
                    json!(y),
                ],
            )
            .await;
        assert!(
            types
                .as_array()
                .unwrap()
                .contains(&json!("application/x-slipway-module")),
            "the library item did not fill the drag data: {types}"
        );
    }

    /// The text content of an element (visible or not).
    async fn text(&self, css: &str) -> String {
        self.wait(css).await;
        self.current_text(css)
            .await
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// The text of the first element matching `css` right now, looked up and read in one
    /// script (an element handle can go stale between the two when React replaces it).
    async fn current_text(&self, css: &str) -> Option<String> {
        let text = self
            .js(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                vec![json!(css)],
            )
            .await;
        text.as_str().map(str::to_string)
    }

    /// Waits until the text of `css` contains `needle`.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.current_text(css).await.unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            if Instant::now() >= deadline {
                let shot = self.failure_screenshot().await;
                panic!("{css} never said {needle:?}; it says {text:?} (screenshot: {shot})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.wait(css).await;
        e.send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    async fn library(&self) -> Value {
        self.invoke("library_list", json!({})).await
    }

    async fn end(self) {
        let App { client, .. } = self;
        let _ = client.close().await;
    }
}

// ------------------------------------------------------------------ the tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_shows_the_starter_examples() {
    if !enabled() {
        return;
    }
    let app = start(&[]).await;
    for id in [
        "library-item-deployment-web-with-db",
        "library-item-deployment-hello",
        "library-item-deployment-multiline-outputs",
        "library-item-component-web",
        "library-item-component-kv-database",
        "library-item-component-smoke-test",
        "library-item-image-debian-12",
        "library-item-image-base",
    ] {
        app.wait(&tid(id)).await;
    }
    assert_eq!(
        app.text(&tid("library-history-deployment-hello")).await,
        "v1"
    );
    let title = app.client.title().await.unwrap();
    assert!(title.ends_with("Slipway"), "{title}");
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_deployment_shows_its_nodes_and_wires() {
    if !enabled() {
        return;
    }
    let app = start(&[]).await;
    app.double_click(&tid("library-item-deployment-web-with-db"))
        .await;
    for node in ["db", "web", "smoke"] {
        app.wait(&tid(&format!("node-{node}"))).await;
    }
    assert_eq!(app.text(&tid("node-multiplicity-web")).await, "×2");
    for wire in ["web-db_host", "web-db_port", "smoke-urls", "smoke-db_host"] {
        app.wait(&tid(&format!("wire-{wire}"))).await;
    }
    app.wait(&tid("port-out-db-port")).await;
    app.wait(&tid("port-in-web-db_host")).await;
    app.wait(&tid("problems-none")).await;

    // The picture of the real window, for people (refreshed with UPDATE_EXPECT=1).
    tokio::time::sleep(Duration::from_millis(800)).await; // the fit-view animation
    let png = app.client.screenshot().await.unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let out = if std::env::var_os("UPDATE_EXPECT").is_some() {
        repo().join("assets/screenshots/desktop.png")
    } else {
        repo().join("target/e2e/desktop.png")
    };
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, png).unwrap();
    eprintln!("screenshot: {}", out.display());
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strict_csp_leaves_the_designer_working() {
    if !enabled() {
        return;
    }
    let app = start(&[]).await;
    app.js(
        "window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));
        return true;",
        vec![],
    )
    .await;
    // The page itself came up styled: the library is laid out as a sidebar.
    let library = app.wait(&tid("library")).await;
    let display = app.js(
        "return getComputedStyle(arguments[0]).display",
        vec![serde_json::to_value(&library).unwrap()],
    );
    assert_ne!(display.await, json!("inline"));

    // The recipe editor (CodeMirror injects its styles at run time) works and is styled.
    app.double_click(&tid("library-item-deployment-web-with-db"))
        .await;
    app.click(&tid("node-web")).await;
    app.click(&tid("inspector-edit-component")).await;
    let editor = app.wait(".cm-editor").await;
    let position = app.js(
        "return getComputedStyle(arguments[0]).position",
        vec![serde_json::to_value(&editor).unwrap()],
    );
    assert_eq!(
        position.await,
        json!("relative"),
        "CodeMirror's own styles apply"
    );
    let text = app.text(".cm-content").await;
    assert!(text.contains("http.server"), "{text}");
    let violations = app.js("return window.__cspViolations", vec![]).await;
    assert_eq!(violations, json!([]));
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drag_wire_problems_undo_and_redo() {
    if !enabled() {
        return;
    }
    let app = start(&[]).await;
    app.wait(&tid("canvas-empty")).await;

    // Drag a web server onto the canvas: its required `db_host` is unconnected.
    app.drop_on_canvas("component", "web", 560.0, 220.0).await;
    app.wait(&tid("node-web")).await;
    app.wait(&tid("problem-unconnected-input")).await;
    app.wait(&tid("node-problem-web")).await;

    // Drag a database next to it and wire its hostname into `db_host`: the problem goes.
    app.drop_on_canvas("component", "kv-database", 160.0, 220.0)
        .await;
    app.wait(&tid("node-kv-database")).await;
    app.drag_wire(
        &tid("port-out-kv-database-hostname"),
        &tid("port-in-web-db_host"),
    )
    .await;
    app.wait(&tid("wire-web-db_host")).await;
    app.wait_gone(&tid("problem-unconnected-input")).await;
    app.wait_gone(&tid("node-problem-web")).await;

    // Undo takes the wire away and the problem comes back; redo puts both back.
    app.click(&tid("btn-undo")).await;
    app.wait_gone(&tid("wire-web-db_host")).await;
    app.wait(&tid("problem-unconnected-input")).await;
    app.click(&tid("btn-redo")).await;
    app.wait(&tid("wire-web-db_host")).await;
    app.wait_gone(&tid("problem-unconnected-input")).await;

    // Undo takes the wire away again, and further undos the database node too (a pointer
    // gesture the page saw only in part may have added a zero-distance move in between).
    app.click(&tid("btn-undo")).await;
    app.wait_gone(&tid("wire-web-db_host")).await;
    for _ in 0..3 {
        if !app.exists(&tid("node-kv-database")).await {
            break;
        }
        app.click(&tid("btn-undo")).await;
        app.settle().await;
    }
    app.wait_gone(&tid("node-kv-database")).await;
    app.wait(&tid("node-web")).await;
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_the_recipe_file() {
    if !enabled() {
        return;
    }
    let app = start(&[]).await;
    app.double_click(&tid("library-item-deployment-web-with-db"))
        .await;
    app.wait(&tid("node-smoke")).await;
    app.wait(&tid("problems-none")).await;

    let out = app.file("exported.slipway.yaml");
    app.answer_dialog("save", &out).await;
    app.click(&tid("btn-export")).await;
    app.wait(&tid("toast-success")).await;

    let written = std::fs::read_to_string(&out).expect("the export wrote the file");
    let expected = slipway_recipe::check(&example("web-with-db.slipway.yaml"), &Default::default());
    let expected = expected.recipe.unwrap();
    assert_eq!(written, slipway_recipe::to_yaml(&expected));
    let checked = slipway_recipe::check(&written, &Default::default());
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    assert_eq!(checked.recipe.unwrap(), expected);
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_an_invalid_file_shows_its_problems_and_changes_nothing() {
    if !enabled() {
        return;
    }
    let app = start(&[]).await;
    app.double_click(&tid("library-item-deployment-hello"))
        .await;
    app.wait(&tid("node-hello")).await;
    let library_before = app.library().await;

    // A changed component (it would be a new version) and a misspelt key: not importable.
    let broken = example("web-with-db.slipway.yaml")
        .replace("A web server whose page", "A changed web server whose page")
        .replace("keep_running: on-success", "keep_runing: on-success");
    let path = app.file("broken.slipway.yaml");
    std::fs::write(&path, broken).unwrap();
    app.answer_dialog("open", &path).await;
    app.click(&tid("btn-import")).await;

    app.wait(&tid("banner-error")).await;
    let banner = app.text(&tid("banner-error")).await;
    assert!(banner.contains("broken.slipway.yaml"), "{banner}");
    assert!(banner.contains("Nothing was changed"), "{banner}");
    app.wait(&tid("problem-unknown-key")).await;
    let problem = app.text(&tid("problem-unknown-key")).await;
    assert!(problem.contains("keep_runing"), "{problem}");

    // The open document and the library are as they were.
    app.wait(&tid("node-hello")).await;
    assert!(!app.exists(&tid("node-web")).await);
    assert_eq!(app.library().await, library_before);
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_named_on_the_command_line_opens_at_start() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("greeting.slipway.yaml");
    std::fs::write(
        &file,
        example("hello.slipway.yaml").replace("name: hello", "name: greeting"),
    )
    .unwrap();
    let app = start(&[file.to_string_lossy().into_owned()]).await;
    app.wait(&tid("node-hello")).await;
    app.wait(&tid("library-item-deployment-greeting")).await;
    let name = app.text(&tid("toolbar-document")).await;
    assert!(name.contains("greeting"), "{name}");
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clouds_page_adds_a_cloud_stores_its_secret_and_tests_it() {
    if !enabled() {
        return;
    }
    let app = start(&[]).await;
    app.click(&tid("btn-clouds")).await;
    app.wait(&tid("cloud-row-local")).await;
    // The keychain answers here (scripts/e2e.sh runs an unlocked gnome-keyring).
    assert!(!app.exists(&tid("keychain-banner")).await);
    app.click(&tid("cloud-add")).await;
    // The form comes from the declaration of the first remote kind, `ssh`.
    app.wait(&tid("cloud-field-hosts")).await;
    app.wait(&tid("cloud-field-known_hosts")).await;
    app.type_into(&tid("cloud-form-name"), "lab").await;
    app.type_into(
        &tid("cloud-field-hosts"),
        "root@127.203.0.1:2,127.203.0.2:3",
    )
    .await;
    let canary = "canary-e2e-7a41";
    app.type_into(&tid("cloud-field-private_key"), canary).await;
    app.click(&tid("cloud-form-save")).await;
    app.wait_gone(&tid("cloud-form")).await;
    app.wait_text(&tid("cloud-secret-lab-private_key"), "stored in keychain")
        .await;
    assert!(app
        .text(&tid("cloud-row-lab"))
        .await
        .contains("hosts=root@127.203.0.1:2,127.203.0.2:3"));
    // Test connection shows the driver's exact error (loopback addresses where nothing listens:
    // no traffic leaves this machine).
    app.click(&tid("cloud-test-lab")).await;
    let said = app
        .wait_text(
            &tid("cloud-test-result-lab"),
            "127.203.0.1:2 refused the connection",
        )
        .await;
    assert!(!said.contains(canary));
    app.click(&tid("cloud-test-local")).await;
    app.wait_text(&tid("cloud-test-result-local"), "Connection OK")
        .await;
    // A bad value is refused with the declaration's message, and nothing changes.
    app.click(&tid("cloud-edit-lab")).await;
    app.type_into(&tid("cloud-field-known_hosts"), "never")
        .await;
    app.click(&tid("cloud-form-save")).await;
    app.wait_text(
        &tid("cloud-form-error"),
        "`never` is not one of pin, strict",
    )
    .await;
    let listing = app.invoke("clouds_list", json!({})).await;
    assert_eq!(
        listing["clouds"][1]["settings"],
        json!({"hosts": "root@127.203.0.1:2,127.203.0.2:3"})
    );
    assert_eq!(
        listing["clouds"][1]["secrets"][0]["state"],
        "stored_in_keychain"
    );
    // The secret is in none of the app's files.
    let mut stack = vec![app.home.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                assert!(
                    !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                    "the secret is in {}",
                    p.display()
                );
            }
        }
    }
    app.click(&tid("cloud-test-lab")).await;
    app.wait_text(&tid("cloud-test-result-lab"), "refused the connection")
        .await;
    // An ec2 cloud without `ssh_cidr` is flagged: port 22 of its instances would be open to all.
    app.click(&tid("cloud-add")).await;
    app.click(&format!("{} option[value=\"ec2\"]", tid("cloud-form-kind")))
        .await;
    app.wait(&tid("cloud-field-region")).await;
    app.type_into(&tid("cloud-form-name"), "aws").await;
    app.type_into(&tid("cloud-field-region"), "eu-west-1").await;
    app.click(&tid("cloud-form-save")).await;
    app.wait_gone(&tid("cloud-form")).await;
    app.wait_text(&tid("cloud-warning-aws"), "0.0.0.0/0").await;

    // The picture of the page, for people (refreshed with UPDATE_EXPECT=1).
    let png = app.client.screenshot().await.unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let out = if std::env::var_os("UPDATE_EXPECT").is_some() {
        repo().join("assets/screenshots/clouds.png")
    } else {
        repo().join("target/e2e/clouds.png")
    };
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, png).unwrap();
    eprintln!("screenshot: {}", out.display());
    // Removing the cloud removes its keychain entry too (the keychain is shared by the machine).
    app.invoke("cloud_remove", json!({"name": "lab"})).await;
    app.invoke("cloud_remove", json!({"name": "aws"})).await;
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_the_clouds_page_says_so_and_stores_no_secret() {
    if !enabled() {
        return;
    }
    let app = start_with_env(
        &[],
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    )
    .await;
    app.click(&tid("btn-clouds")).await;
    app.wait_text(&tid("keychain-banner"), "No keychain available")
        .await;
    app.wait_text(&tid("keychain-banner"), "gnome-keyring-daemon")
        .await;
    app.click(&tid("cloud-add")).await;
    app.type_into(&tid("cloud-form-name"), "lab").await;
    app.type_into(&tid("cloud-field-hosts"), "127.203.0.1")
        .await;
    app.type_into(&tid("cloud-field-private_key"), "canary-e2e-0b9d")
        .await;
    app.click(&tid("cloud-form-save")).await;
    // The settings are saved, the secret is refused with the keychain's reason, never kept.
    app.wait_text(&tid("cloud-form-error"), "no OS keychain is available")
        .await;
    app.wait_text(&tid("cloud-secret-lab-private_key"), "keychain unavailable")
        .await;
    app.end().await;
}

// ------------------------------------------------------------------ launching and following runs

/// The `slipway` binary built beside the app: it owns the runs the app launches.
fn cli() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_slipway-desktop")).with_file_name("slipway");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p slipway-cli` (scripts/e2e.sh does)",
        path.display()
    );
    path
}

/// The app, with launched runs owned by the `slipway` built beside it.
async fn start_for_runs(args: &[String]) -> App {
    let cli = cli();
    start_with_env(args, &[("SLIPWAY_CLI", cli.to_str().unwrap())]).await
}

impl App {
    fn data(&self) -> PathBuf {
        self.home.path().join("data")
    }

    /// Runs `slipway ARGS` on this app's data directory; its standard output.
    fn slipway(&self, args: &[&str]) -> String {
        let out = Command::new(cli())
            .args(args)
            .env("SLIPWAY_HOME", self.data())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "slipway {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `slipway runs --json`, as one value per run.
    fn runs(&self) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.slipway(&["runs", "--json"]))
            .unwrap()
            .as_array()
            .cloned()
            .unwrap()
    }

    /// Terminates every run that is not final, so that no recipe outlives the test.
    fn terminate_all(&self) {
        for run in self.runs() {
            let state = run["state"].as_str().unwrap_or_default();
            if !["done", "aborted", "cancelled"].contains(&state) {
                let _ = Command::new(cli())
                    .args(["terminate", run["id"].as_str().unwrap()])
                    .env("SLIPWAY_HOME", self.data())
                    .stdin(Stdio::null())
                    .output();
            }
        }
    }

    /// Waits until a run-view node shows `tone` (pending, active, ready, failed, terminated).
    async fn wait_tone(&self, node: &str, tone: &str) {
        self.wait(&format!(
            "[data-testid=\"run-node-{node}\"][data-tone=\"{tone}\"]"
        ))
        .await;
    }

    /// Clicks a node of the run view once the pointer can reach it (xyflow measures and fits
    /// the graph first).
    async fn click_run_node(&self, node: &str) {
        let css = tid(&format!("run-node-{node}"));
        let e = self.wait(&css).await;
        self.wait_hittable(&e, &css).await;
        self.click(&css).await;
    }

    /// Saves the window as `name`.png: under assets/screenshots with UPDATE_EXPECT=1, else
    /// under target/e2e.
    async fn save_screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let out = if std::env::var_os("UPDATE_EXPECT").is_some() {
            repo()
                .join("assets/screenshots")
                .join(format!("{name}.png"))
        } else {
            repo().join("target/e2e").join(format!("{name}.png"))
        };
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        std::fs::write(&out, png).unwrap();
        eprintln!("screenshot: {}", out.display());
    }

    /// Clicks Launch in the toolbar, waits for the plan, and confirms; the new run's id.
    async fn launch_open_deployment(&self, screenshot: Option<&str>) -> String {
        self.wait(&tid("problems-none")).await;
        self.click(&tid("btn-launch")).await;
        self.wait(&tid("launch-dialog")).await;
        self.wait(&format!("{} li", tid("launch-critical-path")))
            .await;
        if let Some(name) = screenshot {
            self.save_screenshot(name).await;
        }
        self.click(&tid("launch-confirm")).await;
        self.wait(&tid("run-view")).await;
        let id = self.text(&tid("run-id")).await;
        assert!(!id.is_empty());
        id
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_watch_read_outputs_and_logs_terminate_and_find_it_in_the_history() {
    if !enabled() {
        return;
    }
    let app = start_for_runs(&[]).await;
    app.double_click(&tid("library-item-deployment-web-with-db"))
        .await;
    app.wait(&tid("node-smoke")).await;
    let id = app.launch_open_deployment(Some("launch")).await;
    // The run is owned by a background `slipway`, as with `slipway run --detach`.
    let owner = app.runs().into_iter().find(|r| r["id"] == json!(id));
    assert!(owner.is_some(), "slipway runs does not list {id}");

    // A node lights up before the whole deployment is ready: the mid-run picture.
    app.wait(
        "[data-testid^=\"run-node-\"][data-tone=\"active\"], [data-testid^=\"run-node-\"][data-tone=\"ready\"]",
    )
    .await;
    app.save_screenshot("run-view-running").await;
    for node in ["db", "web", "smoke"] {
        app.wait_tone(node, "ready").await;
    }
    assert_eq!(app.text(&tid("run-node-counter-web")).await, "2/2 ready");
    app.wait_text(&tid("run-state"), "ready").await;
    app.wait(&format!(
        "{}[data-lit=\"true\"]",
        tid("run-wire-web-db_port")
    ))
    .await;

    // A wired value in an instance's parameters: web.1 got the database's port.
    app.click_run_node("web").await;
    app.wait_text(&tid("param-web.1-db_port"), "5432").await;
    app.wait_text(&tid("param-web.1-url"), "http://").await;

    // The smoke test's own output, in its instance's log.
    app.click_run_node("smoke").await;
    app.wait_text(&tid("instance-state-smoke.1"), "ready").await;
    app.wait_text(&tid("log-pane"), "ok http://").await;
    app.type_into(&tid("log-search"), "using database").await;
    app.wait_text(&tid("log-count"), "2 lines").await;
    app.save_screenshot("run-view").await;

    app.click(&tid("run-terminate")).await;
    for node in ["db", "web", "smoke"] {
        app.wait_tone(node, "terminated").await;
    }
    app.save_screenshot("run-view-finished").await;

    app.click(&tid("run-close")).await;
    app.wait(&tid(&format!("run-row-{id}"))).await;
    let row = app.text(&tid(&format!("run-row-{id}"))).await;
    assert!(
        row.contains("web-with-db") && row.contains("local"),
        "{row}"
    );
    assert!(row.contains("v"), "the version used is shown: {row}");
    app.save_screenshot("runs").await;
    app.terminate_all();
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_run_marks_the_failing_step_with_its_exit_status() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("failing.slipway.yaml");
    let text = example("hello.slipway.yaml")
        .replace("name: hello", "name: failing")
        .replace(
            "echo \"greeting=hello, $who\" >> \"$SLIPWAY_OUTPUT\"",
            "echo \"about to fail\"\n        exit 3",
        )
        .replace("keep_running: never", "keep_running: on-error");
    std::fs::write(&file, text).unwrap();
    let app = start_for_runs(&[file.to_string_lossy().into_owned()]).await;
    app.wait(&tid("node-hello")).await;
    app.launch_open_deployment(None).await;
    app.wait_tone("hello", "failed").await;
    app.wait_text(&tid("run-state"), "aborted").await;
    app.click_run_node("hello").await;
    let failed = app
        .wait_text(&tid("step-failed-hello.1-deployment"), "exit status 3")
        .await;
    assert!(failed.contains("deployment failed"), "{failed}");
    app.wait_text(&tid("log-pane"), "about to fail").await;

    // Re-launch: the run's own recipe, through the launch dialog, as a new run in the view.
    let first = app.text(&tid("run-id")).await;
    app.click(&tid("run-relaunch")).await;
    app.wait(&tid("launch-dialog")).await;
    app.click(&tid("launch-confirm")).await;
    let deadline = Instant::now() + WAIT;
    let second = loop {
        let shown = app.text(&tid("run-id")).await;
        if !shown.is_empty() && shown != first {
            break shown;
        }
        assert!(
            Instant::now() < deadline,
            "the run view still shows {first}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        app.runs().iter().any(|r| r["id"] == json!(second)),
        "slipway runs does not list the re-launched {second}"
    );
    app.wait_tone("hello", "failed").await;
    app.wait_text(&tid("run-state"), "aborted").await;
    app.terminate_all();
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_started_by_the_cli_appears_live_in_the_history_and_the_run_view() {
    if !enabled() {
        return;
    }
    let app = start_for_runs(&[]).await;
    app.click(&tid("btn-runs")).await;
    app.wait(&tid("runs-table")).await;
    let file = app.file("hello.slipway.yaml");
    std::fs::write(&file, example("hello.slipway.yaml")).unwrap();
    let out = app.slipway(&["run", file.to_str().unwrap(), "--detach", "--json"]);
    let event: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let id = event["run_id"].as_str().unwrap().to_string();
    app.wait(&tid(&format!("run-row-{id}"))).await;
    app.wait_text(&tid(&format!("run-row-state-{id}")), "done")
        .await;
    app.click(&tid(&format!("run-open-{id}"))).await;
    app.wait_text(&tid("run-state"), "done").await;
    app.wait_text(&tid("log-pane"), "hello, world, from hello.1")
        .await;
    app.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_run_is_scaled_from_the_run_view_after_its_plan_is_shown() {
    if !enabled() {
        return;
    }
    let app = start_for_runs(&[]).await;
    let file = app.file("web-with-lb.slipway.yaml");
    std::fs::write(&file, example("web-with-lb.slipway.yaml")).unwrap();
    let out = app.slipway(&[
        "run",
        file.to_str().unwrap(),
        "--keep",
        "always",
        "--detach",
        "--json",
    ]);
    let event: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let id = event["run_id"].as_str().unwrap().to_string();
    app.click(&tid("btn-runs")).await;
    app.wait_text(&tid(&format!("run-row-state-{id}")), "ready")
        .await;
    app.click(&tid(&format!("run-open-{id}"))).await;
    app.wait_text(&tid("run-state"), "ready").await;
    app.wait_text(&tid("run-node-counter-web"), "2/2 ready")
        .await;

    // + shows the plan first; Cancel changes nothing.
    app.click_run_node("web").await;
    app.click(&tid("scale-up")).await;
    let plan = app
        .wait_text(&tid("scale-plan"), "Then on_node_add on lb.1")
        .await;
    assert!(plan.contains("Add web.3 on local"), "{plan}");
    app.click(&tid("scale-cancel")).await;
    app.wait_gone(&tid("scale-plan")).await;
    assert_eq!(app.text(&tid("run-node-counter-web")).await, "2/2 ready");

    // Scale confirms the plan: web.3 comes up and the balancer's hook runs.
    app.click(&tid("scale-up")).await;
    app.wait_text(&tid("scale-plan"), "web: 2 instances → 3 instances")
        .await;
    app.save_screenshot("scale-plan").await;
    app.click(&tid("scale-confirm")).await;
    app.wait_text(&tid("run-node-counter-web"), "3/3 ready")
        .await;
    app.wait_text(&tid("instance-state-web.3"), "ready").await;
    let deadline = Instant::now() + WAIT;
    let mut log = app.slipway(&["logs", &id, "lb.1"]);
    while !log.contains("web.3 joined web") {
        assert!(Instant::now() < deadline, "no on_node_add on lb.1: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = app.slipway(&["logs", &id, "lb.1"]);
    }

    // − removes the highest index, after its plan.
    app.click(&tid("scale-down")).await;
    app.wait_text(&tid("scale-plan"), "Then terminate web.3")
        .await;
    app.click(&tid("scale-confirm")).await;
    app.wait_text(&tid("run-node-counter-web"), "2/2 ready")
        .await;
    app.terminate_all();
    app.end().await;
}

/// Does to the app's native windows what a person does (`tests/support/desktop.py`): `close`
/// (the window manager's close button), `answer TITLE BUTTON` (a native dialog), `gone`.
fn desktop(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/desktop.py");
    let out = Command::new("/usr/bin/python3")
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "desktop.py {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A hello deployment whose step waits for the file `marker`: a run that is going until the
/// test lets it finish.
fn slow_hello(dir: &Path, marker: &Path) -> PathBuf {
    let file = dir.join("slow.slipway.yaml");
    let text = example("hello.slipway.yaml")
        .replace("name: hello", "name: slow")
        .replace(
            "echo \"greeting=hello, $who\" >> \"$SLIPWAY_OUTPUT\"",
            &format!(
                "while [ ! -e {} ]; do sleep 0.2; done\n        echo \"greeting=hello, $who\" >> \"$SLIPWAY_OUTPUT\"",
                marker.display()
            ),
        );
    std::fs::write(&file, text).unwrap();
    file
}

/// `slipway runs --json` on the data directory `home`, as one value per run.
fn runs_in(home: &Path) -> Vec<Value> {
    let out = Command::new(cli())
        .args(["runs", "--json"])
        .env("SLIPWAY_HOME", home.join("data"))
        .output()
        .unwrap();
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap()
}

/// Waits until run `id` of `home` is in `state`.
async fn wait_run_state(home: &Path, id: &str, state: &str) {
    let deadline = Instant::now() + WAIT * 3;
    loop {
        let run = runs_in(home)
            .into_iter()
            .find(|r| r["id"] == json!(id))
            .unwrap();
        if run["state"] == json!(state) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "run {id} never reached {state}: {run}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_the_app_during_a_run_asks_and_keep_running_leaves_the_run_going() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("go-on");
    let file = slow_hello(dir.path(), &marker);
    let app = start_for_runs(&[file.to_string_lossy().into_owned()]).await;
    app.wait(&tid("node-hello")).await;
    let id = app.launch_open_deployment(None).await;
    app.wait_tone("hello", "active").await;

    // The window's close button asks; Cancel keeps the window and the run.
    desktop(&[
        "close-and-answer",
        "Slipway",
        "Runs are still going",
        "Cancel",
    ]);
    assert_eq!(app.text(&tid("run-id")).await, id, "the window stayed");
    // Asked again, Keep running: the window goes, the run does not.
    desktop(&[
        "close-and-answer",
        "Slipway",
        "Runs are still going",
        "Keep running",
    ]);
    desktop(&["gone", "Slipway"]);
    let App {
        home,
        client,
        _driver,
        _serial,
    } = app;
    drop(client);
    drop(_driver);
    let run = runs_in(home.path())
        .into_iter()
        .find(|r| r["id"] == json!(id))
        .unwrap();
    assert_eq!(run["interrupted"], json!(false), "{run}");
    let state = run["state"].as_str().unwrap();
    assert!(
        !["done", "aborted", "cancelled"].contains(&state),
        "the run ended with the app: {run}"
    );
    // Let it finish: its owner, not the app, completes it.
    std::fs::write(&marker, "").unwrap();
    wait_run_state(home.path(), &id, "done").await;
    drop(_serial);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_the_app_during_a_run_and_answering_terminate_ends_the_run() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("never");
    let file = slow_hello(dir.path(), &marker);
    let app = start_for_runs(&[file.to_string_lossy().into_owned()]).await;
    app.wait(&tid("node-hello")).await;
    let id = app.launch_open_deployment(None).await;
    app.wait_tone("hello", "active").await;
    desktop(&[
        "close-and-answer",
        "Slipway",
        "Runs are still going",
        "Terminate",
    ]);
    desktop(&["gone", "Slipway"]);
    let App {
        home,
        client,
        _driver,
        _serial,
    } = app;
    drop(client);
    drop(_driver);
    // The step never finished by itself (the marker never appears): terminate stopped it.
    wait_run_state(home.path(), &id, "cancelled").await;
    drop(_serial);
}

/// Not a test but a measurement, run with `SLIPWAY_BENCH=1` (and SLIPWAY_E2E=1): a deployment of
/// 200 instances printing 10,000 log lines in all, watched in the run view. Prints the latency
/// from a log line (its engine timestamp) to the frame that draws it, and the run view's frame
/// times while it runs. Asserts nothing about the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_the_run_view_with_200_instances_and_10000_log_lines() {
    if !enabled() || std::env::var("SLIPWAY_BENCH").ok().as_deref() != Some("1") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.slipway.yaml");
    let text = example("hello.slipway.yaml")
        .replace("name: hello", "name: many")
        .replace(
            "      component: greeter\n",
            "      component: greeter\n      multiplicity: 200\n",
        )
        .replace(
            "echo \"hello, $who, from $SLIPWAY_NODE.$SLIPWAY_INDEX at $SLIPWAY_HOSTNAME\"",
            // Ten bursts of five lines, half a second apart: few processes forked per line, so
            // that the machine's load is the app's and not the recipes'.
            "for b in 1 2 3 4 5 6 7 8 9 10; do for i in 1 2 3 4 5; do echo \"line $b.$i of $SLIPWAY_NODE.$SLIPWAY_INDEX\"; done; sleep 0.5; done",
        );
    std::fs::write(&file, text).unwrap();
    let app = start_for_runs(&[file.to_string_lossy().into_owned()]).await;
    app.wait(&tid("node-hello")).await;
    app.js(
        "window.__bench = { latencies: [], arrivals: [], frames: [], batches: [], ticks: [], lines: 0, last: performance.now(), on: true };
         window.__slipwayLogSeen = (lines) => {
             const got = Date.now();
             for (const l of lines) if (l.instance) window.__bench.arrivals.push(got - l.at);
             requestAnimationFrame(() => {
                 const drawn = Date.now();
                 for (const l of lines) if (l.instance) window.__bench.latencies.push(drawn - l.at);
                 window.__bench.lines += lines.length;
                 window.__bench.batches.push([Math.min(...lines.map((l) => l.at)), Math.max(...lines.map((l) => l.at)), got, drawn, lines.length]);
             });
         };
         const tick = (t) => { const b = window.__bench; b.frames.push(t - b.last); b.last = t; b.ticks.push(Date.now());
             if (b.on) requestAnimationFrame(tick); };
         // The page's main thread held up: every gap of a 5 ms timer over 30 ms, and when.
         window.__bench.stalls = []; let beat = Date.now();
         setInterval(() => { const now = Date.now(); if (now - beat > 30) window.__bench.stalls.push([now, now - beat]); beat = now; }, 5);
         requestAnimationFrame(tick);
         return true;",
        vec![],
    )
    .await;
    // The baseline: the frame time of the idle designer in the same window, before the run.
    let deadline = Instant::now() + Duration::from_secs(60);
    while app
        .js("return window.__bench.frames.length", vec![])
        .await
        .as_u64()
        .unwrap_or(0)
        < 65
    {
        assert!(Instant::now() < deadline, "the page draws no frames");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let idle = app
        .js(
            "const b = window.__bench; const f = b.frames.slice(5); b.frames = [];
             const s = [...f].sort((a, c) => a - c);
             return { n: f.length, f50: s[Math.floor(0.5 * s.length)], f95: s[Math.floor(0.95 * s.length)] };",
            vec![],
        )
        .await;
    app.launch_open_deployment(None).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let seen = app
            .js("return window.__bench.latencies.length", vec![])
            .await;
        if seen.as_u64().unwrap_or(0) >= 10_000 {
            break;
        }
        assert!(Instant::now() < deadline, "only {seen} lines arrived");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stats = app
        .js(
            "const b = window.__bench; b.on = false;
             const q = (xs, p) => { const s = [...xs].sort((a, c) => a - c); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
             const f = b.frames.slice(5);
             return { lines: b.latencies.length, lat50: q(b.latencies, 0.5), lat95: q(b.latencies, 0.95), latMax: Math.max(...b.latencies),
                      arr50: q(b.arrivals, 0.5), arr95: q(b.arrivals, 0.95), arrMax: Math.max(...b.arrivals),
                      frames: f.length, f50: q(f, 0.5), f95: q(f, 0.95), fMax: Math.max(...f) };",
            vec![],
        )
        .await;
    let trace = app
        .js(
            "const b = window.__bench; return { batches: b.batches, ticks: b.ticks, stalls: b.stalls };",
            vec![],
        )
        .await;
    let trace_file = repo().join("target/e2e/bench-run-view-trace.json");
    std::fs::create_dir_all(trace_file.parent().unwrap()).unwrap();
    std::fs::write(&trace_file, trace.to_string()).unwrap();
    println!("trace (per batch: first line's time, last line's, page has it, drawn, lines; frame ticks; main-thread stalls): {}", trace_file.display());
    println!("\n| measure (200 instances, 10,000 lines) | p50 | p95 | max |");
    println!("|---|---|---|---|");
    println!(
        "| log line → drawn frame, ms ({} lines) | {} | {} | {} |",
        stats["lines"], stats["lat50"], stats["lat95"], stats["latMax"]
    );
    println!(
        "| of which: log line → the page has it, ms | {} | {} | {} |",
        stats["arr50"], stats["arr95"], stats["arrMax"]
    );
    println!(
        "| run view frame time, ms ({} frames) | {:.1} | {:.1} | {:.1} |",
        stats["frames"],
        stats["f50"].as_f64().unwrap_or(0.0),
        stats["f95"].as_f64().unwrap_or(0.0),
        stats["fMax"].as_f64().unwrap_or(0.0)
    );
    println!(
        "| idle designer frame time, ms ({} frames, the baseline) | {:.1} | {:.1} | |",
        idle["n"],
        idle["f50"].as_f64().unwrap_or(0.0),
        idle["f95"].as_f64().unwrap_or(0.0)
    );
    app.wait(&tid("log-line")).await;
    let node = app.wait(&tid("run-node-hello")).await;
    app.wait_hittable(&node, "the node").await;
    app.save_screenshot("bench-run-view").await;
    app.terminate_all();
    app.end().await;
}
