#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a Debian machine with only the Rust toolchain.
# Installs what it needs (only when missing), builds every plugin component as part of the
# build, checks formatting and clippy lints (warnings are errors), and runs every test of every
# crate.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# Servers and clients the end-to-end tests start themselves (tests/src: PostgreSQL, PgBouncer,
# Redis, MariaDB, psql, pgbench, a Python venv for psycopg; for the driver matrix, tests/tests/pg_drivers.rs,
# a JDK with pgjdbc and node with npm). Each is detected by its binary or file and installed only
# when missing, so a second run installs nothing. The drivers from PyPI (psycopg, asyncpg, pg8000,
# SQLAlchemy; kubernetes-validate for the deployment manifests) and npm (pg) are installed by
# the tests crate itself on first use, into target/pyvenv and target/node-drivers, and kept
# there (tests/src/tools.rs).
missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
{ command -v psql && command -v pgbench; } >/dev/null 2>&1 || missing+=(postgresql-client)
{ command -v pgbouncer || [ -x /usr/sbin/pgbouncer ]; } >/dev/null 2>&1 || missing+=(pgbouncer)
/usr/bin/python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
# MariaDB for the MySQL gateway tests (tests/src/mariadb.rs: mariadb-install-db, mariadbd, the
# mariadb client).
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
# A JDK, not a JRE: pgjdbc's test program runs as a single source file, which needs javac.
{ command -v java && command -v javac; } >/dev/null 2>&1 || missing+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
[ -f /usr/share/java/mariadb-java-client.jar ] || missing+=(libmariadb-java)
# mysqlclient (the MySQLdb driver) is built by pip against libmariadb.
[ -f /usr/include/mariadb/mysql.h ] || missing+=(libmariadb-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
[ -f "/usr/include/python3.$(/usr/bin/python3 -c 'import sys; print(sys.version_info[1])' 2>/dev/null || echo 11)/Python.h" ] || missing+=(python3-dev)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# C policy plugins (plugin-sdk/c, built by plugin-sdk/build): clang and lld targeting wasm32,
# with Debian's WASI libc and compiler-rt builtins. Python and JavaScript plugins need no
# Debian package: their toolchains (componentize-py from PyPI; componentize-js, jco and
# TypeScript from npm) are installed by plugin-sdk/{python,js}/build.sh under target/polyglot.
{ command -v clang && command -v wasm-ld; } >/dev/null 2>&1 || missing+=(clang lld)
{ [ -f /usr/lib/wasm32-wasi/libc.a ] && [ -f /usr/include/wasm32-wasi/stdlib.h ]; } || missing+=(wasi-libc)
compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null || missing+=(libclang-rt-14-dev-wasm32)
# The web console's browser tests (tests/tests/console.rs, manager/ui/e2e) drive Debian's
# chromium with Playwright (playwright-core, no browser download); chromium-driver serves
# Selenium users of the same browser.
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# promtool checks the Prometheus config and alert rules of examples/deploy (tests/tests/deploy.rs).
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
fi
# Debian's packages start a cluster on 5432, a pgbouncer on 6432, MariaDB on 3306 and Prometheus on
# 9090; the harness starts its own servers on free ports (and needs only promtool from the
# prometheus package), so stop and disable the packaged ones. Without systemd (containers) the
# init scripts may not exist or may fail: none of this is allowed to stop the run.
if compgen -G '/etc/postgresql/*/*/postgresql.conf' >/dev/null; then
    for conf in /etc/postgresql/*/*/postgresql.conf; do
        cluster=${conf%/postgresql.conf}
        version=$(basename "$(dirname "$cluster")")
        name=$(basename "$cluster")
        pg_ctlcluster "$version" "$name" stop >/dev/null 2>&1 || true
        # "disabled" in start.conf keeps the cluster down on the next boot or package upgrade.
        if [ -w "$cluster/start.conf" ]; then echo disabled >"$cluster/start.conf"; fi
    done
fi
for svc in postgresql pgbouncer redis-server mariadb prometheus; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
    if [ -x "/etc/init.d/$svc" ]; then
        service "$svc" stop >/dev/null 2>&1 || true
        update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
done
if [ "${1:-}" = "--deps-only" ]; then
    exit 0
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    log "installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
fi

missing_components=()
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || missing_components+=(rustfmt)
rustup component list --installed 2>/dev/null | grep -q '^clippy' || missing_components+=(clippy)
if [ ${#missing_components[@]} -gt 0 ]; then
    log "installing ${missing_components[*]}"
    rustup component add "${missing_components[@]}"
fi

# A clean run gains nothing from incremental compilation, and its caches cost gigabytes of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

log "building (plugins are compiled to wasm32-wasip2 components by plugins/artifacts)"
cargo build --workspace --all-targets --locked

# Formatting and lints fail the run like a failing test does. They come after the build (so a
# compile error reads as one, not as a lint) and before the tests (so a lint failure is seen in
# seconds, not after the whole suite).
log "checking formatting (cargo fmt --all --check)"
cargo fmt --all --check

log "linting (cargo clippy --workspace --all-targets --locked -- -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The plugin SDKs' own tests, natively in their languages (pytest, node --test with tsc
# --strict, the C SDK under gcc's sanitizers); each installs its toolchain when missing.
for lang in python js c; do
    log "testing the $lang plugin SDK (plugin-sdk/$lang/test.sh)"
    "plugin-sdk/$lang/test.sh"
done

# The web console (manager/ui): npm ci, ESLint, tsc --strict, Vitest, and a rebuild that must
# equal the committed bundle the manager embeds (docs/UI.md says why it is committed).
log "checking the web console (manager/ui/check.sh)"
manager/ui/check.sh

log "running the test suite"
# --all-targets also runs the benchmarks once each in test mode, so they cannot rot.
cargo test --workspace --all-targets --locked

# How much disk the run took, so a CI machine running short is seen before it fails.
log "target directory: $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1)"
