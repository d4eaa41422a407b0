#!/usr/bin/env bash
# Idempotent set-up for a fresh machine of this kind (Debian, root, Node 20
# shipped, no Docker engine running, no Redis). Safe to run again: every step
# checks before it acts. Installs: Node 24 (where the system's is older than
# 22), Debian's docker.io + busybox-static (for the offline tool images),
# runsc (gVisor, registered with the engine by SIGHUP, never a restart),
# redis-server; starts dockerd with no default bridge and no iptables rules
# (no container can reach any network) and redis on loopback; then the npm
# dependencies, the build, and the tool images.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# --- Node.js ---------------------------------------------------------------
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  log "Node $(node --version 2>/dev/null || echo none) is end-of-life here; installing Node 24 into /usr/local"
  npm install -g --prefix /usr/local --allow-scripts=node node@24 >/dev/null 2>&1 \
    || npm install -g --prefix /usr/local node@24 >/dev/null
  hash -r
fi
export PATH="/usr/local/bin:$PATH"
log "node $(node --version)"

# --- Debian packages --------------------------------------------------------
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
# gcc + the static C library build the test image's tiny egress client offline.
command -v gcc >/dev/null 2>&1 || need+=(gcc)
# gVisor: a user-space kernel between Docker tools and the host's (docs/gvisor.md).
command -v runsc >/dev/null 2>&1 || need+=(runsc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc6-dev)
# Debian's Chromium: the operator console's browser tests drive it with playwright-core.
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# promtool (from Debian's prometheus package) checks the /metrics output in
# test/http/metrics-promtool.test.ts. Only promtool is wanted: the Prometheus
# server the package may start is stopped and disabled.
if ! command -v promtool >/dev/null 2>&1; then
  log "apt-get install prometheus (for promtool)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    service prometheus stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
fi

# --- Docker engine: no default bridge, no iptables, so containers get only lo.
if ! docker version >/dev/null 2>&1; then
  log "starting dockerd (--bridge=none --iptables=false)"
  mkdir -p /var/log
  nohup dockerd --bridge=none --iptables=false --ip6tables=false >/var/log/toolcage-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
  docker version >/dev/null 2>&1 || { log "dockerd did not come up; see /var/log/toolcage-dockerd.log"; exit 1; }
fi
log "docker engine $(docker version --format '{{.Server.Version}}')"

# --- gVisor (runsc) registered with the engine, without restarting it ---------
# Merged into daemon.json; dockerd re-reads `runtimes` on SIGHUP, so running containers (and anyone
# else's work on this engine) are untouched. Turn gVisor off in toolcage.config.yaml instead of here.
if command -v runsc >/dev/null 2>&1; then
  mkdir -p /etc/docker
  if [ "$(node scripts/lib/register-runsc.mjs /etc/docker/daemon.json "$(command -v runsc)")" = changed ]; then
    log "registered runsc in /etc/docker/daemon.json; reloading dockerd (SIGHUP, no restart)"
    kill -HUP $(pidof dockerd)
    for _ in $(seq 1 20); do docker info --format '{{json .Runtimes}}' | grep -q '"runsc"' && break; sleep 0.5; done
  fi
  if docker info --format '{{json .Runtimes}}' | grep -q '"runsc"'; then
    log "gVisor runtime: runsc $(runsc --version 2>/dev/null | head -1 | awk '{print $3}')"
  else
    log "runsc is installed but the engine did not register it; Docker tools will run under runc (see docs/gvisor.md)"
  fi
fi

# --- Redis on loopback only --------------------------------------------------
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting redis-server on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  for _ in $(seq 1 40); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.25; done
fi

# --- npm dependencies and build ----------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >/dev/null 2>&1 || npm ci --no-audit --no-fund
fi
log "build"
npm run -s build

# --- Offline, reproducible tool images ----------------------------------------
if [ -f dist/cli/main.js ] && node dist/cli/main.js images --help >/dev/null 2>&1; then
  node dist/cli/main.js images build
fi
log "ready"
