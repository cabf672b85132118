//! Loopback addresses for local instances, leased through files shared by every Slipway process
//! on this machine: `<state_dir>/addresses/127.x.y.z` holds the tag of the instance using it.
//!
//! A lease outlives the process that made it (a kept run's servers go on listening after the app
//! exits) and ends when the instance is terminated. Leases are made and given back under an
//! exclusive `flock` on `<state_dir>/addresses.lock`, so two processes never hand out the same
//! address. A lease whose instance sandbox is gone or terminated, and whose tag no running process
//! carries, is stale (its terminate was interrupted) and is taken back when addresses are handed
//! out. Never hands out 127.0.0.0/16 (127.0.0.1, Debian's 127.0.1.1, systemd's 127.0.0.53).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::procs::{processes_with, INSTANCE_MARKER};
use super::TERMINATED_FILE;

/// The addresses handed out, lowest first: 127.x.y.z with x in 1..=254, z in 1..=254.
fn candidate(n: u32) -> Option<Ipv4Addr> {
    const PER_Y: u32 = 254;
    const PER_X: u32 = 256 * PER_Y;
    let x = 1 + n / PER_X;
    if x > 254 {
        return None;
    }
    let y = (n / PER_Y) % 256;
    let z = 1 + n % PER_Y;
    Some(Ipv4Addr::new(127, x as u8, y as u8, z as u8))
}

/// Who holds a lease: the instance tag and its sandbox directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub tag: String,
    pub sandbox: PathBuf,
}

impl Holder {
    fn encode(&self) -> String {
        format!("{}\n{}\n", self.tag, self.sandbox.display())
    }

    fn decode(text: &str) -> Option<Holder> {
        let mut lines = text.lines();
        let tag = lines.next().filter(|t| !t.is_empty())?;
        let sandbox = lines.next().filter(|s| !s.is_empty())?;
        Some(Holder {
            tag: tag.to_string(),
            sandbox: PathBuf::from(sandbox),
        })
    }

    /// The instance is gone or terminated, so its lease only needs nobody running under its tag.
    fn instance_ended(&self) -> bool {
        !self.sandbox.is_dir() || self.sandbox.join(TERMINATED_FILE).exists()
    }
}

pub(crate) struct Leases {
    dir: PathBuf,
    lock_path: PathBuf,
}

impl Leases {
    pub fn new(state_dir: &Path) -> Leases {
        Leases {
            dir: state_dir.join("addresses"),
            lock_path: state_dir.join("addresses.lock"),
        }
    }

    /// Takes the lock every lease change happens under; blocks until it is free.
    fn lock(&self) -> io::Result<Flock<File>> {
        fs::create_dir_all(&self.dir)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)?;
        Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
    }

    /// Every lease file: address and holder (`None` when unreadable: a write cut short).
    fn read_all(&self) -> io::Result<Vec<(Ipv4Addr, PathBuf, Option<Holder>)>> {
        let mut leases = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Some(address) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<Ipv4Addr>().ok())
            else {
                continue;
            };
            let holder = fs::read_to_string(entry.path())
                .ok()
                .and_then(|t| Holder::decode(&t));
            leases.push((address, entry.path(), holder));
        }
        Ok(leases)
    }

    /// Leases one address per holder, in order, in a single locked pass. A holder that already
    /// has a lease (provisioning retried after a crash) gets the same address back.
    pub fn allocate(&self, holders: &[Holder]) -> io::Result<Vec<Ipv4Addr>> {
        let _lock = self.lock()?;
        let mut leases = self.read_all()?;

        // Take back stale leases. Scanning processes is costlier than the file checks, so only
        // when some lease looks stale.
        let maybe_stale: Vec<usize> = (0..leases.len())
            .filter(|&i| leases[i].2.as_ref().is_none_or(Holder::instance_ended))
            .collect();
        if !maybe_stale.is_empty() {
            let running: HashSet<String> = processes_with(INSTANCE_MARKER)
                .into_iter()
                .map(|(_, tag)| tag)
                .collect();
            let mut freed = Vec::new();
            for i in maybe_stale {
                let (_, path, holder) = &leases[i];
                if holder.as_ref().is_none_or(|h| !running.contains(&h.tag)) {
                    fs::remove_file(path).or_else(ignore_not_found)?;
                    freed.push(i);
                }
            }
            for i in freed.into_iter().rev() {
                leases.swap_remove(i);
            }
        }

        let mut by_tag: HashMap<String, Ipv4Addr> = HashMap::new();
        let mut taken: HashSet<Ipv4Addr> = HashSet::new();
        for (address, _, holder) in &leases {
            taken.insert(*address);
            if let Some(holder) = holder {
                by_tag.insert(holder.tag.clone(), *address);
            }
        }

        let mut next = 0u32;
        let mut addresses = Vec::with_capacity(holders.len());
        for holder in holders {
            if let Some(address) = by_tag.get(&holder.tag) {
                addresses.push(*address);
                continue;
            }
            let address = loop {
                let Some(address) = candidate(next) else {
                    return Err(io::Error::other("every local loopback address is in use"));
                };
                next += 1;
                if !taken.contains(&address) {
                    break address;
                }
            };
            let path = self.dir.join(address.to_string());
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            file.write_all(holder.encode().as_bytes())?;
            file.sync_all()?;
            taken.insert(address);
            by_tag.insert(holder.tag.clone(), address);
            addresses.push(address);
        }
        Ok(addresses)
    }

    /// Gives back every address leased to `tag`. Nothing leased is fine.
    pub fn release(&self, tag: &str) -> io::Result<()> {
        let _lock = self.lock()?;
        for (_, path, holder) in self.read_all()? {
            if holder.is_some_and(|h| h.tag == tag) {
                fs::remove_file(&path).or_else(ignore_not_found)?;
            }
        }
        Ok(())
    }

    /// Tags holding a lease that start with `prefix`.
    pub fn tags_with_prefix(&self, prefix: &str) -> io::Result<Vec<String>> {
        if !self.dir.is_dir() {
            return Ok(Vec::new());
        }
        Ok(self
            .read_all()?
            .into_iter()
            .filter_map(|(_, _, holder)| holder)
            .map(|h| h.tag)
            .filter(|tag| tag.starts_with(prefix))
            .collect())
    }
}

fn ignore_not_found(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_skip_network_broadcast_and_127_0() {
        assert_eq!(candidate(0), Some(Ipv4Addr::new(127, 1, 0, 1)));
        assert_eq!(candidate(253), Some(Ipv4Addr::new(127, 1, 0, 254)));
        assert_eq!(candidate(254), Some(Ipv4Addr::new(127, 1, 1, 1)));
        assert_eq!(candidate(256 * 254), Some(Ipv4Addr::new(127, 2, 0, 1)));
        assert_eq!(
            candidate(254 * 256 * 254 - 1),
            Some(Ipv4Addr::new(127, 254, 255, 254))
        );
        assert_eq!(candidate(254 * 256 * 254), None);
    }

    fn holder(dir: &Path, tag: &str) -> Holder {
        let sandbox = dir.join(tag.replace('/', "_"));
        fs::create_dir_all(&sandbox).unwrap();
        Holder {
            tag: tag.to_string(),
            sandbox,
        }
    }

    #[test]
    fn allocate_release_and_reuse() {
        let state = tempfile::tempdir().unwrap();
        let leases = Leases::new(state.path());
        let a = holder(state.path(), "r/a.1");
        let b = holder(state.path(), "r/b.1");
        let got = leases.allocate(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(
            got,
            [Ipv4Addr::new(127, 1, 0, 1), Ipv4Addr::new(127, 1, 0, 2)]
        );
        // The same holder again keeps its address.
        assert_eq!(leases.allocate(std::slice::from_ref(&b)).unwrap(), [got[1]]);
        assert_eq!(leases.tags_with_prefix("r/").unwrap().len(), 2);
        leases.release("r/a.1").unwrap();
        leases.release("r/a.1").unwrap();
        let c = holder(state.path(), "r/c.1");
        assert_eq!(leases.allocate(&[c]).unwrap(), [got[0]]);
    }

    #[test]
    fn stale_leases_are_taken_back() {
        let state = tempfile::tempdir().unwrap();
        let leases = Leases::new(state.path());
        let gone = holder(state.path(), "old/x.1");
        let ended = holder(state.path(), "old/y.1");
        let live = holder(state.path(), "old/z.1");
        let first = leases
            .allocate(&[gone.clone(), ended.clone(), live.clone()])
            .unwrap();
        fs::remove_dir_all(&gone.sandbox).unwrap();
        fs::write(ended.sandbox.join(TERMINATED_FILE), "").unwrap();
        // A lease cut short while being written.
        fs::write(leases.dir.join("127.9.9.9"), "").unwrap();

        let new = holder(state.path(), "new/a.1");
        let new2 = holder(state.path(), "new/b.1");
        let got = leases.allocate(&[new, new2]).unwrap();
        assert_eq!(got, [first[0], first[1]]);
        assert!(!leases.dir.join("127.9.9.9").exists());
        assert_eq!(leases.tags_with_prefix("old/").unwrap(), ["old/z.1"]);
    }
}
