#!/usr/bin/env bash
# Recipe fan-out over SSH (issue 10): the same small deployment on N hosts, timed side by side for
#   - Slipway's `ssh` cloud (`slipway run`, keep_running: never, so teardown is included),
#   - Ansible (ansible-core from PyPI; forks = N, pipelining on, `shell` tasks, no fact gathering),
#   - a plain OpenSSH loop: one ControlMaster connection per host, hosts in parallel, the steps of
#     a host one after another over its master.
# Each host runs 4 steps (pre_install, post_install, deployment, reporting: each echoes and
# writes a file) and its report file is collected: 5 commands per host for Ansible and the loop.
# Slipway also creates and removes its instance directory and leases the hosts in its store.
#
# Hosts are sshd daemons, one per loopback address 127.77.X.Y, port 2222, key-only login, started
# by this script and stopped at its end; no traffic leaves the machine.
#
#   sudo bash bench/fanout.sh [PATH-TO-slipway]      (default: target/release/slipway, built)
#   FANOUT_NS="10 50"     host counts (default)
#   FANOUT_USER=NAME      login user (default `slipway-bench`, created with /etc/skel's files if
#                         missing; use `root` to see what a heavy ~/.bashrc costs every command)
#   FANOUT_REPEAT=1       runs per tool and N; the table shows the fastest
#   FANOUT_TOOLS="slipway ansible openssh"   which to run (a tool left out shows as 0)
#   FANOUT_KEEP=1         keep the work directory (logs: slipwayN.log is the run's --json events)
#
# Needs root (sshd, the login user), Debian's openssh-server and python3-venv (installed with
# apt-get when missing) and PyPI for ansible-core (installed once into /opt/slipway-ansible).
set -euo pipefail
cd "$(dirname "$0")/.."
slipway=${1:-target/release/slipway}
ns=${FANOUT_NS:-10 50}
user=${FANOUT_USER:-slipway-bench}
repeat=${FANOUT_REPEAT:-1}
tools=" ${FANOUT_TOOLS:-slipway ansible openssh} "
port=2222

[ "$(id -u)" = 0 ] || { echo "fanout: run as root (it starts sshd and may create $user)" >&2; exit 2; }
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null; then
  apt-get update -q && apt-get install -y -q openssh-server openssh-client
fi
if [ ! -x /opt/slipway-ansible/bin/ansible-playbook ]; then
  /usr/bin/python3 -c 'import ensurepip' 2>/dev/null || apt-get install -y -q python3-venv
  /usr/bin/python3 -m venv /opt/slipway-ansible
  /opt/slipway-ansible/bin/pip install -q ansible-core
fi
if [ "$slipway" = target/release/slipway ]; then
  cargo build --release -q -p slipway-cli
fi
# A new account has a locked password (`!`), which sshd without PAM treats as a locked
# account; `*` is "no password" without the lock (key login only).
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash -p '*' "$user"
home=$(getent passwd "$user" | cut -d: -f6)
mkdir -p /run/sshd

work=$(mktemp -d /tmp/slipway-fanout.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${FANOUT_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C fanout -f "$work/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -f "$work/host_ed25519"
cp "$work/id_ed25519.pub" "$work/authorized_keys"
chmod 644 "$work/authorized_keys"

addr() { echo "127.77.$(($1 / 200)).$(($1 % 200 + 1))"; }
max=0
for n in $ns; do [ "$n" -gt "$max" ] && max=$n; done
for i in $(seq 0 $((max - 1))); do
  a=$(addr "$i")
  cat >"$work/sshd_$i.conf" <<EOF
ListenAddress $a:$port
HostKey $work/host_ed25519
AuthorizedKeysFile $work/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile none
MaxStartups 200
MaxSessions 20
LogLevel ERROR
EOF
  /usr/sbin/sshd -D -e -f "$work/sshd_$i.conf" 2>>"$work/sshd.log" &
  pids+=($!)
done
for i in $(seq 0 $((max - 1))); do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$(addr "$i")/$port") 2>/dev/null && break
    sleep 0.05
  done
done

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
sshopts=(-i "$work/id_ed25519" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)

# The four steps, as shell text shared by Ansible and the loop ($H: the host's address). All
# hosts share this machine's home directory, so each works in a directory of its own.
step_pre='echo "pre_install on $H"; echo pre > pre.txt'
step_post='echo "post_install on $H"; cat pre.txt > post.txt'
step_deploy='echo "deployment on $H"; echo "url=http://$H/" > url.txt'
step_report='echo "reporting on $H"; mkdir -p report; cp url.txt report/r.txt'

run_slipway() { # N
  local n=$1 hosts="" i
  for i in $(seq 0 $((n - 1))); do hosts+="${hosts:+,}$user@$(addr "$i"):$port"; done
  export SLIPWAY_HOME="$work/slipway-home-$n-$RANDOM"
  "$slipway" clouds add bench ssh --setting "hosts=$hosts" \
    --setting "key_file=$work/id_ed25519" >/dev/null 2>&1
  cat >"$work/fanout$n.slipway.yaml" <<'YAML'
slipway: 1
name: fanout
images:
  base:
    recipes:
      pre_install: |
        echo "pre_install on $SLIPWAY_HOSTNAME"; echo pre > pre.txt
      post_install: |
        echo "post_install on $SLIPWAY_HOSTNAME"; cat pre.txt > post.txt
components:
  app:
    image: base
    outputs:
      url: {}
    recipes:
      deployment: |
        echo "deployment on $SLIPWAY_HOSTNAME"; echo "url=http://$SLIPWAY_HOSTNAME/" >> "$SLIPWAY_OUTPUT"
      reporting: |
        echo "reporting on $SLIPWAY_HOSTNAME"; echo "url=http://$SLIPWAY_HOSTNAME/" > "$SLIPWAY_REPORT_DIR/r.txt"
deployment:
  keep_running: never
  nodes:
    app: { component: app, multiplicity: NNN }
YAML
  sed -i "s/NNN/$n/" "$work/fanout$n.slipway.yaml"
  local t0
  t0=$(now)
  "$slipway" run "$work/fanout$n.slipway.yaml" --cloud bench --json >"$work/slipway$n.log" 2>&1 ||
    { cat "$work/slipway$n.log" >&2; return 1; }
  since "$t0"
}

run_ansible() { # N
  local n=$1 i d="$work/ansible$n"
  mkdir -p "$d"
  {
    echo "[hosts]"
    for i in $(seq 0 $((n - 1))); do
      echo "h$i ansible_host=$(addr "$i") ansible_port=$port ansible_user=$user"
    done
  } >"$d/inventory"
  cat >"$d/ansible.cfg" <<EOF
[defaults]
inventory = $d/inventory
forks = $n
host_key_checking = False
gathering = explicit
interpreter_python = /usr/bin/python3
stdout_callback = default
retry_files_enabled = False
private_key_file = $work/id_ed25519
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null
control_path_dir = $d/cp
EOF
  cat >"$d/play.yml" <<EOF
- hosts: all
  gather_facts: false
  vars: { D: "$home/fanout-ansible-{{ ansible_host }}" }
  tasks:
    - shell: 'mkdir -p {{ D }} && cd {{ D }} && H={{ ansible_host }} && $step_pre'
    - shell: 'cd {{ D }} && H={{ ansible_host }} && $step_post'
    - shell: 'cd {{ D }} && H={{ ansible_host }} && $step_deploy'
    - shell: 'cd {{ D }} && H={{ ansible_host }} && $step_report'
    - shell: 'cat {{ D }}/report/r.txt && rm -rf {{ D }}'
EOF
  local t0
  t0=$(now)
  ANSIBLE_CONFIG="$d/ansible.cfg" /opt/slipway-ansible/bin/ansible-playbook "$d/play.yml" \
    >"$d/log" 2>&1 || { cat "$d/log" >&2; return 1; }
  since "$t0"
  # Ansible's persistent connections (ControlPersist) would outlive the servers.
  for c in "$d"/cp/*; do [ -S "$c" ] && ssh -o "ControlPath=$c" -O exit x >/dev/null 2>&1; done
  return 0
}

run_openssh() { # N
  local n=$1 i cp="$work/cm$n"
  mkdir -p "$cp"
  host_steps() { # i
    local a c
    a=$(addr "$1")
    c=(ssh "${sshopts[@]}" -o ControlMaster=auto -o "ControlPath=$cp/%h" -o ControlPersist=60 "$user@$a")
    "${c[@]}" "mkdir -p fanout-$a && cd fanout-$a && H=$a && $step_pre" >/dev/null
    "${c[@]}" "cd fanout-$a && H=$a && $step_post" >/dev/null
    "${c[@]}" "cd fanout-$a && H=$a && $step_deploy" >/dev/null
    "${c[@]}" "cd fanout-$a && H=$a && $step_report" >/dev/null
    "${c[@]}" "cat fanout-$a/report/r.txt && rm -rf fanout-$a" >/dev/null
    "${c[@]}" -O exit 2>/dev/null
  }
  local t0 jobs=()
  t0=$(now)
  for i in $(seq 0 $((n - 1))); do
    host_steps "$i" &
    jobs+=($!)
  done
  local failed=0
  for j in "${jobs[@]}"; do wait "$j" || failed=1; done
  [ "$failed" = 0 ] || return 1
  since "$t0"
}

best() { # TOOL N: the fastest of $repeat runs
  local b="" t r
  case "$tools" in *" $1 "*) ;; *) echo 0; return ;; esac
  for r in $(seq "$repeat"); do
    t=$("run_$1" "$2")
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}

# Where Slipway's time went, from the run's events: provisioning (connect, key exchange, login,
# instance directory), the steps (first started to last finished) and teardown.
phases() { # N
  /usr/bin/python3 - "$work/slipway$1.log" "$1" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
at = lambda kind, **m: [e["at"] for e in ev if e["event"] == kind and all(e.get(k) == v for k, v in m.items())]
t0 = ev[0]["at"]
booted = max(at("step_finished", step="provision"))
ready = max(at("instance_state", state="ready"))
down = max(at("instance_state", state="terminated"))
end = max(at("run_finished"))
print(f"  slipway, {sys.argv[2]} hosts: provision {(booted - t0) / 1e3:.2f} s, steps {(ready - booted) / 1e3:.2f} s, "
      f"teardown {(down - ready) / 1e3:.2f} s, rest {(end - down) / 1e3:.2f} s")
PY
}

echo "login user: $user; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%6s | %12s | %12s | %16s | %14s | %18s\n' hosts "slipway (s)" "ansible (s)" "openssh+CM (s)" "ansible/slipway" "slipway/openssh"
for n in $ns; do
  s=$(best slipway "$n")
  a=$(best ansible "$n")
  o=$(best openssh "$n")
  printf '%6d | %12.2f | %12.2f | %16.2f | %13.1fx | %17.2fx\n' "$n" "$s" "$a" "$o" \
    "$(echo "if ($s > 0) $a / $s else 0" | bc -l)" "$(echo "if ($o > 0) $s / $o else 0" | bc -l)"
done
case "$tools" in *" slipway "*) for n in $ns; do phases "$n"; done ;; esac
