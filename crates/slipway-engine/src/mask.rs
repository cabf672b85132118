//! Secret masking: every secret value becomes `***` wherever output is shown or stored.
//! The masker only grows during a run (a wired value can become secret when it reaches a secret
//! input), and is shared by every step task.

use std::sync::{Arc, RwLock};

pub const MASK: &str = "***";

#[derive(Clone, Default)]
pub struct Masker {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Masker {
    /// Adds a secret. Multi-line secrets are also masked line by line, since output is shown a
    /// line at a time.
    pub fn add(&self, secret: &str) {
        let mut list = self.secrets.write().expect("masker lock");
        let mut push = |s: &str| {
            if !s.is_empty() && !list.iter().any(|x| x == s) {
                list.push(s.to_string());
            }
        };
        push(secret);
        if secret.contains('\n') {
            for line in secret.lines().filter(|l| l.trim().len() >= 3) {
                push(line);
            }
        }
        // Longest first, so a secret that contains another is masked whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    pub fn mask(&self, text: &str) -> String {
        let list = self.secrets.read().expect("masker lock");
        let mut out = text.to_string();
        for s in list.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.read().expect("masker lock").is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_and_lines_of_multiline_secrets() {
        let m = Masker::default();
        m.add("hunter2");
        m.add("line-one\nline-two");
        assert_eq!(m.mask("pw=hunter2 again hunter2"), "pw=*** again ***");
        assert_eq!(m.mask("got line-two"), "got ***");
        assert_eq!(m.mask("nothing here"), "nothing here");
    }

    #[test]
    fn longer_secret_wins_over_its_prefix() {
        let m = Masker::default();
        m.add("abc");
        m.add("abcdef");
        assert_eq!(m.mask("xabcdefx"), "x***x");
    }
}
