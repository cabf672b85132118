//! The entries of the `hosts` setting: `[user@]host[:port]`, with IPv6 addresses bracketed when
//! a port follows (`[::1]:2222`) or bare (`::1`).

use slipway_driver::DriverError;

/// One host of the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostEntry {
    /// The login user the entry names; else the image's `login_user`, else `root`.
    pub user: Option<String>,
    /// A name or an address, without brackets.
    pub host: String,
    pub port: u16,
}

impl HostEntry {
    /// `host:port` (`[::1]:22`): the machine, whatever cloud or user names it; the key of leases
    /// and pinned host keys.
    pub fn key(&self) -> String {
        host_port(&self.host, self.port)
    }
}

pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Every entry of a `hosts` setting, in order.
pub fn parse_hosts(setting: &str) -> Result<Vec<HostEntry>, DriverError> {
    let mut out = Vec::new();
    for raw in setting.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let entry = parse_entry(raw).map_err(|why| {
            DriverError::bad_settings(format!("`hosts`: `{raw}` is not [user@]host[:port]: {why}"))
        })?;
        if out.iter().any(|e: &HostEntry| e.key() == entry.key()) {
            return Err(DriverError::bad_settings(format!(
                "`hosts`: {} is listed twice",
                entry.key()
            )));
        }
        out.push(entry);
    }
    if out.is_empty() {
        return Err(DriverError::bad_settings("`hosts` lists no host"));
    }
    Ok(out)
}

fn parse_entry(raw: &str) -> Result<HostEntry, &'static str> {
    let (user, rest) = match raw.rsplit_once('@') {
        Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
        Some(_) => return Err("the user before `@` is empty"),
        None => (None, raw),
    };
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("a `[` without `]`")?;
        match after {
            "" => (host, 22),
            p => (
                host,
                p.strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or("a bad port")?,
            ),
        }
    } else if rest.matches(':').count() > 1 {
        (rest, 22) // a bare IPv6 address
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| "a bad port")?),
            None => (rest, 22),
        }
    };
    if host.is_empty() {
        return Err("the host is empty");
    }
    if port == 0 {
        return Err("port 0");
    }
    Ok(HostEntry {
        user,
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_user_host_and_port() {
        let all = parse_hosts("root@10.0.0.5:2222, web.lab,[::1]:2200,::1").unwrap();
        assert_eq!(all[0].user.as_deref(), Some("root"));
        assert_eq!(all[0].key(), "10.0.0.5:2222");
        assert_eq!(
            (all[1].user.clone(), all[1].key()),
            (None, "web.lab:22".into())
        );
        assert_eq!(all[2].host, "::1");
        assert_eq!(all[2].key(), "[::1]:2200");
        assert_eq!(all[3].key(), "[::1]:22");
    }

    #[test]
    fn bad_entries_are_named() {
        let e = parse_hosts("a:x").unwrap_err();
        assert!(e.message.contains("`a:x`"), "{e}");
        assert!(parse_hosts("a, a:22")
            .unwrap_err()
            .message
            .contains("twice"));
        assert!(parse_hosts(" , ").is_err());
    }
}
