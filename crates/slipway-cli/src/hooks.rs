//! How a run looks in a terminal: `--json` prints one event per line; otherwise a live view
//! (one progress line per instance) on a TTY, or plain prefixed lines in CI logs.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use slipway_engine::{Event, Hooks};
use slipway_store::LogStream;

pub struct JsonHooks;

impl Hooks for JsonHooks {
    fn on_event(&self, event: &Event) {
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut out, event);
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }
}

/// Live terminal view.
pub struct TerminalHooks {
    live: Option<Live>,
    /// Recent lines per instance, printed when it fails.
    tail: Mutex<HashMap<String, Vec<String>>>,
}

struct Live {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    state: Mutex<HashMap<String, (String, String)>>,
}

const TAIL: usize = 20;

impl TerminalHooks {
    pub fn new() -> TerminalHooks {
        let live = std::io::stderr().is_terminal().then(|| Live {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
            state: Mutex::new(HashMap::new()),
        });
        TerminalHooks {
            live,
            tail: Mutex::new(HashMap::new()),
        }
    }

    fn println(&self, line: &str) {
        match &self.live {
            Some(l) => {
                let _ = l.multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    fn bar_update(&self, instance: &str, state: Option<&str>, step: Option<&str>) {
        let Some(live) = &self.live else { return };
        let mut states = live.state.lock().unwrap();
        let entry = states
            .entry(instance.to_string())
            .or_insert_with(|| ("pending".into(), String::new()));
        if let Some(s) = state {
            entry.0 = s.to_string();
        }
        if let Some(s) = step {
            entry.1 = s.to_string();
        }
        let msg = if entry.1.is_empty() {
            entry.0.clone()
        } else {
            format!("{:<12} {}", entry.0, entry.1)
        };
        if let Some(bar) = live.bars.lock().unwrap().get(instance) {
            bar.set_message(msg);
            if matches!(entry.0.as_str(), "ready" | "terminated" | "failed") {
                bar.disable_steady_tick();
                bar.tick();
            }
        }
    }
}

impl Hooks for TerminalHooks {
    fn on_event(&self, event: &Event) {
        match event {
            Event::RunStarted {
                run_id,
                name,
                instances,
                ..
            } => {
                self.println(&format!(
                    "run {run_id}: deployment `{name}`, {} instance(s)",
                    instances.len()
                ));
                if let Some(live) = &self.live {
                    let width = instances.iter().map(String::len).max().unwrap_or(4);
                    let style = ProgressStyle::with_template(&format!(
                        "{{spinner}} {{prefix:<{width}}}  {{msg}}  {{elapsed}}"
                    ))
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    let mut bars = live.bars.lock().unwrap();
                    for name in instances {
                        let bar = live.multi.add(ProgressBar::new_spinner());
                        bar.set_style(style.clone());
                        bar.set_prefix(name.clone());
                        bar.set_message("pending");
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bars.insert(name.clone(), bar);
                    }
                }
            }
            Event::RunState { state, .. } => {
                if self.live.is_none() {
                    self.println(&format!("run: {}", state.as_str()));
                }
            }
            Event::InstanceState {
                instance,
                state,
                detail,
                ..
            } => {
                self.bar_update(instance, Some(state.as_str()), None);
                if self.live.is_none() {
                    match detail {
                        Some(d) => self.println(&format!("[{instance}] {} ({d})", state.as_str())),
                        None => self.println(&format!("[{instance}] {}", state.as_str())),
                    }
                }
                if state.as_str() == "failed" {
                    let tail = self
                        .tail
                        .lock()
                        .unwrap()
                        .remove(instance)
                        .unwrap_or_default();
                    let mut text = format!(
                        "✗ {instance} failed{}",
                        detail
                            .as_ref()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default()
                    );
                    if self.live.is_some() && !tail.is_empty() {
                        text.push_str(&format!("\n  last lines of {instance}:"));
                        for l in tail {
                            text.push_str(&format!("\n  | {l}"));
                        }
                    }
                    self.println(&text);
                }
            }
            Event::StepStarted { instance, step, .. } => {
                self.bar_update(instance, None, Some(step))
            }
            Event::StepFinished { .. } => {}
            Event::Log {
                instance,
                step,
                stream,
                line,
                ..
            } => {
                let who = instance.as_deref().unwrap_or("run");
                if let Some(i) = instance {
                    let mut tail = self.tail.lock().unwrap();
                    let t = tail.entry(i.clone()).or_default();
                    t.push(line.clone());
                    if t.len() > TAIL {
                        t.remove(0);
                    }
                }
                if self.live.is_none() || *stream == LogStream::System && instance.is_none() {
                    let step = step.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
                    let mark = match stream {
                        LogStream::Stderr => "!",
                        LogStream::System => "*",
                        _ => "|",
                    };
                    self.println(&format!("{who}{step} {mark} {line}"));
                }
            }
            Event::Output {
                instance,
                name,
                value,
                ..
            } => {
                if self.live.is_none() {
                    self.println(&format!(
                        "[{instance}] output {name}={}",
                        value.replace('\n', "\\n")
                    ));
                }
            }
            Event::Report {
                instance,
                path,
                size,
                ..
            } => {
                if self.live.is_none() {
                    self.println(&format!("[{instance}] report {path} ({size} bytes)"));
                }
            }
            Event::RunFinished {
                run_id,
                state,
                exit_code,
                error,
                kept,
                ..
            } => {
                if let Some(live) = &self.live {
                    for bar in live.bars.lock().unwrap().values() {
                        bar.finish();
                    }
                }
                let mut text = format!("run {run_id}: {} (exit {exit_code})", state.as_str());
                if let Some(e) = error {
                    text.push_str(&format!("\n  {e}"));
                }
                if *kept {
                    text.push_str(&format!("\n  instances are still running; stop them with `slipway terminate {run_id}`"));
                }
                text.push_str(&format!(
                    "\n  details: `slipway status {run_id}`, logs: `slipway logs {run_id}`"
                ));
                self.println(&text);
            }
        }
    }
}
