//! The Slipway desktop app: a Tauri 2 window showing the designer (`ui/`), over the same SQLite
//! state as the CLI. `slipway-desktop [FILE]` opens FILE, a recipe, at start.
//!
//! Architecture invariant: this shell holds no logic. Each `#[tauri::command]` is generated from
//! the one declaration list in `slipway-api` and only locks the store and calls the handler of
//! the same name there; what a command does is tested in `slipway-api` without a desktop.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::sync::Arc;

use slipway_api::Context;
use tauri_plugin_dialog::{
    DialogExt, MessageDialogButtons, MessageDialogKind, MessageDialogResult,
};

/// One `#[tauri::command]` per declared command, forwarding to `slipway_api::<name>`, and
/// `invoke_handler()` listing them all.
macro_rules! tauri_commands {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($args:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) -> $ret:ty;
    )*) => {
        $(
            $(#[doc = $doc])*
            ///
            /// Runs on Tauri's blocking pool: the handler calls SQLite, which may wait up to the
            /// busy timeout for another process, and must not hold up the async runtime.
            #[tauri::command]
            async fn $name(
                ctx: tauri::State<'_, Arc<Context>>,
                $($field: $ty),*
            ) -> Result<$ret, slipway_api::CommandError> {
                let ctx = Arc::clone(ctx.inner());
                let args = slipway_api::args::$args { $($field),* };
                match tauri::async_runtime::spawn_blocking(move || slipway_api::$name(&ctx, args)).await {
                    Ok(result) => result,
                    Err(e) => panic!("{} failed: {e}", stringify!($name)),
                }
            }
        )*

    };
}

slipway_api::for_each_command!(tauri_commands);

/// One `#[tauri::command]` per declared stream: it starts a thread that runs the stream's
/// handler with the page's `Channel` (`onEvent`) as the sink and returns at once.
macro_rules! tauri_streams {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($args:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) -> $update:ty;
    )*) => {
        $(
            $(#[doc = $doc])*
            #[tauri::command]
            fn $name(
                app: tauri::AppHandle,
                $($field: $ty,)*
                on_event: tauri::ipc::Channel<$update>,
            ) -> Result<(), slipway_api::CommandError> {
                let args = slipway_api::stream_args::$args { $($field),* };
                std::thread::spawn(move || {
                    use tauri::Manager;
                    let ctx = app.state::<Arc<Context>>();
                    let send = |update: $update| on_event.send(update).is_ok();
                    if let Err(e) = slipway_api::$name(&ctx, args, &send) {
                        eprintln!("{}: {} ({})", stringify!($name), e.message, e.code);
                    }
                });
                Ok(())
            }
        )*
    };
}

slipway_api::for_each_stream!(tauri_streams);

/// The handler list: every declared command (their names, passed on by `command_names`) and
/// every declared stream.
macro_rules! handler_list {
    ([$($command:ident),*] $(
        $(#[doc = $doc:literal])*
        $name:ident($args:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) -> $update:ty;
    )*) => {
        fn invoke_handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($command,)* $($name),*]
        }
    };
}

macro_rules! command_names {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($args:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) -> $ret:ty;
    )*) => {
        slipway_api::for_each_stream!(handler_list [$($name),*]);
    };
}

slipway_api::for_each_command!(command_names);

const USAGE: &str = "usage: slipway-desktop [FILE]\n\nOpens the Slipway designer; FILE, a recipe (*.slipway.yaml), is imported and opened at start.\nThe data directory is $SLIPWAY_HOME, or the platform's data directory.";

fn main() {
    // Before anything starts a thread or WebKit reads its environment.
    if let Some((name, value)) = webkit_compositing(|n| std::env::var_os(n), has_gpu()) {
        std::env::set_var(name, value);
    }
    let initial_file = match initial_file(std::env::args_os().skip(1)) {
        Ok(file) => file,
        Err((message, code)) => {
            eprintln!("{message}");
            std::process::exit(code);
        }
    };
    let home = slipway_api::data_dir();
    let opened = Context::open_seeded(&home).map(|ctx| ctx.with_initial_file(initial_file));

    let builder = tauri::Builder::default().plugin(tauri_plugin_dialog::init());
    let builder = match opened {
        Ok(ctx) => builder
            .plugin(tauri_plugin_notification::init())
            .manage(Arc::new(ctx))
            .invoke_handler(invoke_handler())
            .on_window_event(ask_on_close)
            .setup(|app| {
                notify_run_ends(app.handle().clone());
                Ok(())
            }),
        Err(e) => {
            // Say why in a window, not only on a terminal the user may not have.
            let message = format!(
                "Slipway cannot open its data in {}:\n\n{}",
                home.display(),
                e.message
            );
            eprintln!("{message} ({})", e.code);
            builder.setup(move |app| {
                let handle = app.handle().clone();
                app.dialog()
                    .message(message)
                    .title("Slipway cannot start")
                    .kind(MessageDialogKind::Error)
                    .show(move |_| handle.exit(3));
                Ok(())
            })
        }
    };
    builder
        .run(tauri::generate_context!())
        .expect("the Tauri application could not start");
}

/// Tells the user, with a desktop notification, when a run launched from this window ends (or
/// is ready, kept) while the window is not focused; `slipway_api::watch_run_ends` decides what
/// ended and words it.
fn notify_run_ends(app: tauri::AppHandle) {
    use tauri::Manager;
    use tauri_plugin_notification::NotificationExt;
    std::thread::spawn(move || {
        let ctx = app.state::<Arc<Context>>().inner().clone();
        let launched = || ctx.launched();
        let watched = slipway_api::watch_run_ends(&ctx, &launched, &|| false, &mut |notice| {
            let focused = app
                .get_webview_window("main")
                .and_then(|w| w.is_focused().ok())
                .unwrap_or(false);
            if focused {
                return;
            }
            let shown = app
                .notification()
                .builder()
                .title(&notice.title)
                .body(&notice.body)
                .show();
            if let Err(e) = shown {
                eprintln!("cannot show a notification for run {}: {e}", notice.run_id);
            }
        });
        if let Err(e) = watched {
            eprintln!("run notifications stopped: {}", e.message);
        }
    });
}

/// Set while the question on closing is on screen.
static ASKING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set once the user answered the question on closing: the next close goes through.
static CLOSE_ANSWERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Closing the window while runs launched from it are going asks: keep them running in the
/// background (their owners are not this process) or terminate them.
fn ask_on_close(window: &tauri::Window, event: &tauri::WindowEvent) {
    use std::sync::atomic::Ordering;
    use tauri::Manager;
    let tauri::WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    if CLOSE_ANSWERED.load(Ordering::SeqCst) {
        return;
    }
    if ASKING.load(Ordering::SeqCst) {
        // The question is on screen already: a second press of the close button waits for it.
        api.prevent_close();
        return;
    }
    let going = window.state::<Arc<Context>>().launched_and_going();
    if going.is_empty() {
        return;
    }
    api.prevent_close();
    ASKING.store(true, Ordering::SeqCst);
    let message = format!(
        "{} run{} launched from this window {} still going ({}). Keep {} running in the background, or terminate {}?",
        going.len(),
        if going.len() == 1 { "" } else { "s" },
        if going.len() == 1 { "is" } else { "are" },
        going.join(", "),
        if going.len() == 1 { "it" } else { "them" },
        if going.len() == 1 { "it" } else { "them" },
    );
    let window = window.clone();
    window
        .dialog()
        .message(message)
        .title(CLOSE_QUESTION)
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::YesNoCancelCustom(
            KEEP_RUNNING.into(),
            TERMINATE.into(),
            "Cancel".into(),
        ))
        .show_with_result(move |answer| {
            ASKING.store(false, Ordering::SeqCst);
            let MessageDialogResult::Custom(label) = answer else {
                return; // closed without an answer: the window stays
            };
            match label.as_str() {
                KEEP_RUNNING => {}
                TERMINATE => {
                    let ctx = window.state::<Arc<Context>>();
                    for id in going {
                        let args = slipway_api::args::RunTerminateArgs { id };
                        if let Err(e) = slipway_api::run_terminate(&ctx, args) {
                            eprintln!("cannot terminate: {}", e.message);
                        }
                    }
                }
                _ => return, // Cancel: the window stays
            }
            CLOSE_ANSWERED.store(true, Ordering::SeqCst);
            let _ = window.close();
        });
}

/// The question on closing the window while runs launched from it are going, and its answers
/// (besides Cancel, which keeps the window open). The end-to-end tests click them by name.
const CLOSE_QUESTION: &str = "Runs are still going";
const KEEP_RUNNING: &str = "Keep running";
const TERMINATE: &str = "Terminate";

/// Whether the machine has a GPU that WebKitGTK's OpenGL compositor can use: a DRM render node
/// (Mesa, any vendor) or NVIDIA's proprietary device.
fn has_gpu() -> bool {
    let render_node = std::fs::read_dir("/dev/dri").is_ok_and(|dir| {
        dir.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    render_node || std::path::Path::new("/dev/nvidia0").exists()
}

/// What to set in WebKitGTK's environment for compositing, if anything. WebKitGTK composites
/// the page with OpenGL; without a GPU (a VM, a remote desktop, a CI machine under Xvfb) Mesa
/// emulates OpenGL on the CPU (llvmpipe), and that costs more than the page itself: profiled
/// during a 200-instance run, llvmpipe took a third of both cores and the run view drew 10 to 15
/// frames a second (docs/desktop.md has the figures). Without a GPU the page is drawn without
/// compositing; a choice of the user's (either WebKit variable, or `LIBGL_ALWAYS_SOFTWARE` to
/// declare the GPU unusable) is left alone.
fn webkit_compositing(
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
    gpu: bool,
) -> Option<(&'static str, &'static str)> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let chosen = [
        "WEBKIT_DISABLE_COMPOSITING_MODE",
        "WEBKIT_FORCE_COMPOSITING_MODE",
    ]
    .iter()
    .any(|n| env(n).is_some());
    let software = env("LIBGL_ALWAYS_SOFTWARE").is_some_and(|v| v != "0" && !v.is_empty());
    (!chosen && (!gpu || software)).then_some(("WEBKIT_DISABLE_COMPOSITING_MODE", "1"))
}

/// The recipe file named on the command line, made absolute (the UI reads it later, and the
/// working directory is the shell's); or what to print instead of starting, and the exit code.
fn initial_file(
    mut args: impl Iterator<Item = std::ffi::OsString>,
) -> Result<Option<PathBuf>, (String, i32)> {
    let Some(first) = args.next() else {
        return Ok(None);
    };
    match first.to_str() {
        Some("-h" | "--help") => return Err((USAGE.to_string(), 0)),
        Some("-V" | "--version") => {
            return Err((format!("slipway-desktop {}", env!("CARGO_PKG_VERSION")), 0))
        }
        Some(flag) if flag.starts_with('-') => {
            return Err((format!("error: unknown option `{flag}`\n\n{USAGE}"), 2))
        }
        _ => {}
    }
    if let Some(extra) = args.next() {
        let extra = extra.to_string_lossy();
        return Err((
            format!("error: one file at most (also got `{extra}`)\n\n{USAGE}"),
            2,
        ));
    }
    let path = PathBuf::from(first);
    Ok(Some(std::path::absolute(&path).unwrap_or(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<PathBuf>, (String, i32)> {
        initial_file(args.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn no_argument_opens_no_file() {
        assert_eq!(parse(&[]), Ok(None));
    }

    #[test]
    fn a_file_is_made_absolute() {
        let file = parse(&["web.slipway.yaml"]).unwrap().unwrap();
        assert!(file.is_absolute());
        assert!(file.ends_with("web.slipway.yaml"));
        assert_eq!(
            parse(&["/tmp/x.slipway.yaml"]),
            Ok(Some(PathBuf::from("/tmp/x.slipway.yaml")))
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn without_a_gpu_the_page_is_drawn_without_compositing_unless_the_user_chose() {
        let none = |_: &str| None;
        let disable = Some(("WEBKIT_DISABLE_COMPOSITING_MODE", "1"));
        assert_eq!(webkit_compositing(none, false), disable);
        assert_eq!(webkit_compositing(none, true), None);
        let software = |n: &str| (n == "LIBGL_ALWAYS_SOFTWARE").then(|| "1".into());
        assert_eq!(webkit_compositing(software, true), disable);
        let forced = |n: &str| (n == "WEBKIT_FORCE_COMPOSITING_MODE").then(|| "1".into());
        assert_eq!(webkit_compositing(forced, false), None);
        let off = |n: &str| (n == "WEBKIT_DISABLE_COMPOSITING_MODE").then(|| "0".into());
        assert_eq!(webkit_compositing(off, false), None);
    }

    #[test]
    fn help_version_and_mistakes() {
        assert_eq!(parse(&["--help"]).unwrap_err().1, 0);
        assert_eq!(parse(&["-V"]).unwrap_err().1, 0);
        let (message, code) = parse(&["--frobnicate"]).unwrap_err();
        assert_eq!(code, 2);
        assert!(message.contains("--frobnicate"));
        assert_eq!(parse(&["a.yaml", "b.yaml"]).unwrap_err().1, 2);
    }
}
