# Shared by scripts/run, scripts/test and scripts/bench: install what is missing, find ports, and
# the release build.
# shellcheck shell=bash

# Installs Debian packages that are not installed yet (apt-get update first, once).
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Installs Python modules that are missing. Each argument is the import name, or
# `import_name=pip_name` where the two differ (kubernetes_validate=kubernetes-validate).
ensure_python_modules() {
    local missing=()
    for spec in "$@"; do
        python3 -c "import ${spec%%=*}" 2>/dev/null || missing+=("${spec#*=}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing python modules: ${missing[*]}" >&2
    python3 -m pip install -q "${missing[@]}"
}

# Prints a TCP port that is free on 127.0.0.1 now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Fails with a clear message when the Swift toolchain is missing: it cannot come from apt.
require_swift() {
    command -v swift >/dev/null 2>&1 || {
        echo "swift is not on PATH: install a Swift 6 toolchain (swift.org) first" >&2
        exit 1
    }
}

# The release build of webhook-worker as the Dockerfile makes it, the Swift runtime linked
# statically: what ./scripts/run runs and ./scripts/bench measures (.build/release/webhook-worker),
# so the measured binary is the shipped one. (Linked dynamically, every call into the runtime,
# each swift_retain and swift_release included, goes through the PLT, and start-up binds the
# runtime's symbols: 680 more instructions per delivery under callgrind, 8 ms more CPU at
# start-up and 5 MB more resident memory idle.)
RELEASE_BUILD=(swift build -c release --product webhook-worker --static-swift-stdlib)

BASE_PACKAGES=(redis-server redis-tools libhiredis-dev libcurl4-openssl-dev libssl-dev pkg-config python3-pip ca-certificates curl faketime)
