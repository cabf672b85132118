//! The settings each driver kind declares (SPEC §5): one declaration serves `clouds add`,
//! `clouds list`, the TypeScript bindings and the desktop form.
//!
//! Owns: names, which are secret, required and default values, descriptions and value checks.
//! Never: hold a value (secret values live in the keychain, the others in the store).

use serde::Serialize;
use ts_rs::TS;

/// One setting of a driver kind.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub name: &'static str,
    /// Kept in the OS keychain only, set with `slipway secret set CLOUD KEY`.
    pub secret: bool,
    pub required: bool,
    pub default: Option<&'static str>,
    /// One line, for help and the desktop form.
    pub description: &'static str,
    /// Checks a value; the error completes "`name`: …".
    pub check: fn(&str) -> Result<(), String>,
}

/// A driver kind and its settings.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub name: &'static str,
    pub settings: &'static [Setting],
}

const fn plain(
    name: &'static str,
    required: bool,
    default: Option<&'static str>,
    description: &'static str,
    check: fn(&str) -> Result<(), String>,
) -> Setting {
    Setting {
        name,
        secret: false,
        required,
        default,
        description,
        check,
    }
}

const fn secret(name: &'static str, description: &'static str) -> Setting {
    Setting {
        name,
        secret: true,
        required: false,
        default: None,
        description,
        check: non_empty,
    }
}

/// Every driver kind, in the order of SPEC §5.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "local",
        settings: &[],
    },
    Kind {
        name: "ssh",
        settings: &[
            plain("hosts", true, None, "the machines of the pool: comma-separated [user@]host[:port]", check_hosts),
            plain("key_file", false, None, "path of the private key to log in with (or store the secret `private_key`)", non_empty),
            secret("private_key", "the private key to log in with, in OpenSSH or PEM format"),
            plain("known_hosts", false, Some("pin"), "host keys: `pin` trusts on first use and then pins, `strict` needs them in ~/.ssh/known_hosts", |v| one_of(v, &["pin", "strict"])),
        ],
    },
    Kind {
        name: "docker",
        settings: &[
            plain("endpoint", false, None, "the Docker Engine: unix:///path, tcp://host:port (TLS with cert_path) or https://host:port (default DOCKER_HOST, with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, then the local socket)", check_docker_endpoint),
            plain("cert_path", false, None, "TLS: a directory with ca.pem (the engine's CA), cert.pem and key.pem (this client's), as DOCKER_CERT_PATH", non_empty),
            plain("network", false, None, "the network containers join (default: a network per run)", check_name),
            plain("platform", false, None, "image platform such as linux/amd64 or linux/arm64/v8", check_platform),
        ],
    },
    Kind {
        name: "ec2",
        settings: &[
            plain("region", true, None, "the region, such as eu-west-1", check_name),
            plain("endpoint", false, None, "the API endpoint of an EC2-compatible cloud (https://…); default AWS", check_url),
            plain("access_key_id", false, None, "the access key id (default: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment)", check_access_key_id),
            secret("secret_access_key", "the secret access key that goes with access_key_id"),
            secret("session_token", "a session token, for temporary credentials"),
            plain("subnet_id", false, None, "the subnet instances start in (default: the default VPC's)", check_subnet),
            plain("ssh_cidr", false, None, "the addresses allowed to reach instances over SSH, as a CIDR (default 0.0.0.0/0, everyone: set it)", check_cidr),
        ],
    },
];

/// The declaration of `kind`.
pub fn kind(kind: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == kind)
}

impl Kind {
    pub fn setting(&self, name: &str) -> Option<&'static Setting> {
        self.settings.iter().find(|s| s.name == name)
    }

    pub fn secrets(&self) -> impl Iterator<Item = &'static Setting> {
        self.settings.iter().filter(|s| s.secret)
    }
}

/// The settings of a cloud as the user gave them, checked against the kind's declaration.
/// Returns the map to store, or every problem (not only the first).
pub fn check_settings(
    kind_name: &str,
    given: &[(String, String)],
    cloud: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Vec<String>> {
    let Some(kind) = kind(kind_name) else {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        return Err(vec![format!(
            "`{kind_name}` is not a driver kind{}; known kinds: {}",
            did_you_mean(kind_name, names.iter().copied()),
            names.join(", ")
        )]);
    };
    let mut problems = Vec::new();
    let mut map = serde_json::Map::new();
    for (key, value) in given {
        let Some(setting) = kind.setting(key) else {
            let known: Vec<&str> = kind.settings.iter().map(|s| s.name).collect();
            problems.push(if known.is_empty() {
                format!("`{key}`: a `{kind_name}` cloud has no settings")
            } else {
                format!(
                    "`{key}` is not a setting of `{kind_name}` clouds{}; its settings: {}",
                    did_you_mean(key, known.iter().copied()),
                    known.join(", ")
                )
            });
            continue;
        };
        if setting.secret {
            problems.push(format!(
                "`{key}` is a secret and is never stored with the settings: set it with `slipway secret set {cloud} {key}` (it reads the value from standard input into the OS keychain)"
            ));
            continue;
        }
        if map.contains_key(key) {
            problems.push(format!("`{key}` is given twice"));
            continue;
        }
        if let Err(why) = (setting.check)(value) {
            problems.push(format!("`{key}`: {why}"));
            continue;
        }
        map.insert(key.clone(), serde_json::Value::String(value.clone()));
    }
    for s in kind.settings.iter().filter(|s| s.required && !s.secret) {
        if !map.contains_key(s.name) && !given.iter().any(|(k, _)| k == s.name) {
            problems.push(format!(
                "`{}` is required for `{kind_name}` clouds ({}): add `--setting {}=…`",
                s.name, s.description, s.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(map)
    } else {
        Err(problems)
    }
}

/// ` (did you mean `x`?)` when a known name is close to `given`, else nothing.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    known
        .into_iter()
        .map(|k| (edit_distance(given, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn non_empty(v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(())
    }
}

fn one_of(v: &str, choices: &[&str]) -> Result<(), String> {
    if choices.contains(&v) {
        Ok(())
    } else {
        Err(format!("`{v}` is not one of {}", choices.join(", ")))
    }
}

fn check_name(v: &str) -> Result<(), String> {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(())
    } else {
        Err(format!(
            "`{v}` is not a name (letters, digits, `-`, `_`, `.`)"
        ))
    }
}

/// One `[user@]host[:port]`; an IPv6 address with a port is written `[addr]:port`.
pub fn check_host(entry: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("`{entry}` is not [user@]host[:port]: {why}"));
    let (user, rest) = match entry.rsplit_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, entry),
    };
    if let Some(u) = user {
        if u.is_empty()
            || !u
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return bad("the user is empty or has characters a login name cannot have");
        }
    }
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return bad("`[` without `]`");
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return bad("not an IPv6 address between `[` and `]`");
        }
        match after {
            "" => (addr, None),
            p => match p.strip_prefix(':') {
                Some(p) => (addr, Some(p)),
                None => return bad("text after `]`"),
            },
        }
    } else if rest.parse::<std::net::Ipv6Addr>().is_ok() {
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return bad("no host");
    }
    if !host.contains(':')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return bad("the host has characters a host name cannot have");
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return bad("the port is not a number from 1 to 65535"),
        }
    }
    Ok(())
}

fn check_hosts(v: &str) -> Result<(), String> {
    let entries: Vec<&str> = v.split(',').map(str::trim).collect();
    if entries.iter().all(|e| e.is_empty()) {
        return Err("needs at least one host".into());
    }
    for e in entries {
        if e.is_empty() {
            return Err("an empty entry between commas".into());
        }
        check_host(e)?;
    }
    Ok(())
}

fn check_docker_endpoint(v: &str) -> Result<(), String> {
    let ok = [
        "unix://", "tcp://", "ssh://", "npipe://", "http://", "https://",
    ]
    .iter()
    .any(|p| v.strip_prefix(p).is_some_and(|r| !r.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{v}` is not unix:///path, tcp://host:port, ssh://[user@]host, npipe://…, http(s)://…"
        ))
    }
}

fn check_platform(v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split('/').collect();
    if (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        Ok(())
    } else {
        Err(format!(
            "`{v}` is not os/arch[/variant], such as linux/amd64"
        ))
    }
}

fn check_url(v: &str) -> Result<(), String> {
    match v.split_once("://") {
        Some(("http" | "https", rest))
            if !rest.is_empty() && !rest.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(format!("`{v}` is not an http:// or https:// URL")),
    }
}

fn check_access_key_id(v: &str) -> Result<(), String> {
    if (16..=128).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err("an access key id is 16 to 128 letters and digits, such as AKIAIOSFODNN7EXAMPLE".into())
    }
}

fn check_subnet(v: &str) -> Result<(), String> {
    match v.strip_prefix("subnet-") {
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()) => Ok(()),
        _ => Err(format!("`{v}` is not a subnet id such as subnet-0abc1234")),
    }
}

fn check_cidr(v: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "`{v}` is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32"
        ))
    };
    let Some((addr, len)) = v.split_once('/') else {
        return bad();
    };
    let Ok(len) = len.parse::<u8>() else {
        return bad();
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) if len <= 32 => Ok(()),
        Ok(std::net::IpAddr::V6(_)) if len <= 128 => Ok(()),
        _ => bad(),
    }
}

/// A setting as the desktop form and the TypeScript bindings see it.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct SettingInfo {
    pub name: String,
    pub secret: bool,
    pub required: bool,
    pub default: Option<String>,
    pub description: String,
}

/// A driver kind as the desktop form sees it.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct KindInfo {
    pub kind: String,
    /// Whether this build can run clouds of this kind (others can be configured already).
    pub runnable: bool,
    pub settings: Vec<SettingInfo>,
}

/// Every kind's declaration, for the desktop form.
pub fn kind_infos() -> Vec<KindInfo> {
    KINDS
        .iter()
        .map(|k| KindInfo {
            kind: k.name.to_string(),
            runnable: crate::RUNNABLE_KINDS.contains(&k.name),
            settings: k
                .settings
                .iter()
                .map(|s| SettingInfo {
                    name: s.name.to_string(),
                    secret: s.secret,
                    required: s.required,
                    default: s.default.map(str::to_string),
                    description: s.description.to_string(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn problems(kind: &str, pairs: &[(&str, &str)]) -> String {
        check_settings(kind, &given(pairs), "lab")
            .unwrap_err()
            .join("\n")
    }

    #[test]
    fn every_declared_kind_is_a_kind_of_the_recipe_format() {
        for k in KINDS {
            assert!(slipway_recipe::DRIVER_KINDS.contains(&k.name), "{}", k.name);
        }
    }

    #[test]
    fn good_settings_pass() {
        let m = check_settings(
            "ssh",
            &given(&[
                ("hosts", "root@10.0.0.5:2222, web.lab,[::1]:22,::1"),
                ("known_hosts", "strict"),
            ]),
            "lab",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        check_settings(
            "ec2",
            &given(&[
                ("region", "eu-west-1"),
                ("ssh_cidr", "203.0.113.0/24"),
                ("subnet_id", "subnet-0abc12"),
            ]),
            "aws",
        )
        .unwrap();
        check_settings(
            "docker",
            &given(&[
                ("endpoint", "unix:///var/run/docker.sock"),
                ("platform", "linux/arm64/v8"),
            ]),
            "d",
        )
        .unwrap();
        check_settings("local", &[], "l").unwrap();
    }

    #[test]
    fn problems_are_all_reported_with_help() {
        let p = problems(
            "ec2",
            &[
                ("regoin", "x"),
                ("secret_access_key", "s3cr3t"),
                ("ssh_cidr", "10.0.0.0/33"),
            ],
        );
        assert!(
            p.contains("`regoin` is not a setting of `ec2` clouds (did you mean `region`?)"),
            "{p}"
        );
        assert!(
            p.contains("`slipway secret set lab secret_access_key`"),
            "{p}"
        );
        assert!(!p.contains("s3cr3t"), "{p}");
        assert!(p.contains("`ssh_cidr`: `10.0.0.0/33` is not a CIDR"), "{p}");
        assert!(p.contains("`region` is required"), "{p}");
    }

    #[test]
    fn bad_hosts() {
        for h in [
            "",
            "a,,b",
            "@h",
            "h:0",
            "h:99999",
            "h:x",
            "[::1",
            "a b",
            "u@[zz]:22",
        ] {
            assert!(check_hosts(h).is_err(), "{h}");
        }
    }

    #[test]
    fn unknown_kind_suggests() {
        assert!(problems("dokcer", &[]).contains("did you mean `docker`?"));
    }
}
