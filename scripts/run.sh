#!/usr/bin/env bash
# The main job, from a fresh clone with only the Rust toolchain: builds the manager, the
# gateway and every plugin component, then runs
#
#   - the manager (REST API on http://127.0.0.1:9180, web console on http://127.0.0.1:9180/ui/,
#     SQLite store in target/articdbm-demo/),
#     seeded with the first-party plugins and the baseline pack, and the demo tenant of
#     examples/manager/demo.toml applied;
#   - a gateway attached to it (examples/gateway-managed.toml), serving the demo tenant's
#     embedded SQLite database:
#       PostgreSQL protocol on 127.0.0.1:6432 and MySQL protocol on 127.0.0.1:3307, user
#       "demo", password "demo-password", database "demo"; admin endpoints on
#       http://127.0.0.1:9187/healthz and /metrics.
#
# The admin API key is generated on the first run and kept in target/articdbm-demo/admin.key
# (set ARTICDBM_BOOTSTRAP_KEY to choose it). docs/USAGE.md walks through the API with curl.
# Ctrl-C stops both. `scripts/run.sh --config FILE` runs a standalone gateway instead.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
cargo build --release --locked -p articdbm-plugin-artifacts -p articdbm-gateway -p articdbm-manager
export ARTICDBM_LOG=${ARTICDBM_LOG:-info}

if [ "${1:-}" = "--config" ] && [ -n "${2:-}" ]; then
    exec target/release/articdbm-gateway run --config "$2"
fi

state=target/articdbm-demo
mkdir -p "$state"
key_file() { # NAME: a random key kept in $state/NAME.key
    local f="$state/$1.key"
    if [ ! -s "$f" ]; then
        (umask 077; printf 'adbm_%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > "$f")
    fi
    cat "$f"
}
admin_key=${ARTICDBM_BOOTSTRAP_KEY:-$(key_file admin)}
cluster_key=${ARTICDBM_CLUSTER_KEY:-$(key_file cluster)}
manager=http://127.0.0.1:9180

ARTICDBM_BOOTSTRAP_KEY=$admin_key ARTICDBM_CLUSTER_KEY=$cluster_key \
    target/release/articdbm-manager serve --listen 127.0.0.1:9180 --data-dir "$state/manager" \
    --seed-plugins target/plugins --seed-pack policies/default.toml &
manager_pid=$!
gateway_pid=""
stop() {
    trap - EXIT INT TERM
    [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null || true
    kill "$manager_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/9180) 2>/dev/null; then break; fi
    if ! kill -0 "$manager_pid" 2>/dev/null; then echo "the manager did not start" >&2; exit 1; fi
    sleep 0.1
done
target/release/articdbm-manager apply --manager "$manager" --key "$admin_key" -f examples/manager/

echo "manager: $manager (admin key in $state/admin.key); web console: $manager/ui/ (log in with that key)"
echo "gateway: PostgreSQL on 127.0.0.1:6432, MySQL on 127.0.0.1:3307 (user demo, password demo-password, database demo)"
target/release/articdbm-gateway run --config examples/gateway-managed.toml \
    --manager "$manager" --cluster-key "$cluster_key" --state-dir "$state/gateway" &
gateway_pid=$!
wait "$gateway_pid"
