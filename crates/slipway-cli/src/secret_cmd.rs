//! `slipway secret set CLOUD KEY | remove CLOUD KEY`: a cloud's secret settings, in the OS
//! keychain only. `set` reads the value from standard input (without echo on a terminal); a
//! value never appears on a command line, in the database or in any output.

use std::io::{IsTerminal, Read};

use slipway_engine::exit;
use slipway_secrets::Secret;

use crate::common::{bad_input, cloud_error, infra, keychain, open_store};

pub fn set(cloud: &str, key: &str, json: bool) -> i32 {
    let home = match secret_home(cloud, key, json) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let value = match read_value(key) {
        Ok(v) => v,
        Err(e) => {
            return bad_input(
                json,
                &format!("could not read the value of `{key}` from standard input: {e}"),
            )
        }
    };
    if value.expose().is_empty() {
        return bad_input(
            json,
            &format!("the value of `{key}` is empty (pipe it in, or type it when asked)"),
        );
    }
    match keychain(&home).set(cloud, key, &value) {
        Ok(()) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "cloud": cloud, "key": key, "state": "stored_in_keychain" })
                );
            } else {
                println!("secret `{key}` of cloud `{cloud}`: stored in keychain");
            }
            exit::SUCCESS
        }
        Err(e) => infra(json, &e.to_string()),
    }
}

pub fn remove(cloud: &str, key: &str, json: bool) -> i32 {
    let home = match secret_home(cloud, key, json) {
        Ok(h) => h,
        Err(code) => return code,
    };
    match keychain(&home).remove(cloud, key) {
        Ok(removed) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "cloud": cloud, "key": key, "removed": removed })
                );
            } else if removed {
                println!("secret `{key}` of cloud `{cloud}`: removed from keychain");
            } else {
                println!("secret `{key}` of cloud `{cloud}`: was not set");
            }
            exit::SUCCESS
        }
        Err(e) => infra(json, &e.to_string()),
    }
}

/// The data directory, once `KEY` is known to be a secret setting of `CLOUD`'s kind; else the
/// exit code, with the problem reported.
fn secret_home(cloud: &str, key: &str, json: bool) -> Result<std::path::PathBuf, i32> {
    let home = slipway_store::data_dir();
    let store = open_store(&home).map_err(|e| infra(json, &e))?;
    slipway_clouds::secret_setting(&store, cloud, key).map_err(|e| cloud_error(json, &e))?;
    Ok(home)
}

/// The value from standard input: on a terminal one line typed without echo; from a pipe all of
/// it, less one final newline (so `echo VALUE |` and a key file both work).
fn read_value(key: &str) -> std::io::Result<Secret> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
        eprint!("value of `{key}` (not shown): ");
        let old = tcgetattr(&stdin).map_err(std::io::Error::from)?;
        let mut quiet = old.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet).map_err(std::io::Error::from)?;
        let mut line = String::new();
        let read = stdin.read_line(&mut line);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &old);
        read?;
        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
        let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
        return Ok(Secret::new(trimmed));
    }
    let mut text = String::new();
    stdin.lock().read_to_string(&mut text)?;
    let trimmed = text.strip_suffix('\n').unwrap_or(&text);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(Secret::new(trimmed))
}
