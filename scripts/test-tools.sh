# shellcheck shell=sh
# Sourced by scripts/test.sh and .ci/run: the system tools some tests drive, as Debian packages.
# chromium for the dashboard's browser tests, ruby for the Homebrew formula, shellcheck for
# install.sh, curl and wget for the installer tests, strace for the disk-fault tests,
# systemd-analyze for the unit, zsh and fish for the completion scripts, a C compiler for the
# power-loss chaos run's preloaded shim, nginx, caddy and openssl for the reverse-proxy test
# (docs/operations.md's proxy configurations, run as written over TLS with a test CA), openssl
# also for the broker's own TLS (a test CA with an intermediate, renewals), and ip
# (iproute2) for the network-namespace tests (a broker and two laptops on veth links whose link
# goes down), and faketime (its dependency libfaketime is what the upgrade test preloads, so that
# the fixtures' year-long invites and messages never expire for the processes it starts).

# Prints the Debian packages of the tools that are missing (nothing when all are there).
missing_test_packages() {
  out=""
  # nginx installs to /usr/sbin, which a user's PATH may lack (the test looks there too).
  PATH="$PATH:/usr/sbin:/sbin"
  for pair in chromium:chromium ruby:ruby shellcheck:shellcheck curl:curl strace:strace wget:wget \
    systemd-analyze:systemd zsh:zsh fish:fish cc:gcc cc:libc6-dev nginx:nginx caddy:caddy openssl:openssl ip:iproute2 \
    faketime:faketime; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || out="$out ${pair#*:}"
  done
  echo "${out# }"
}

# Installs packages "$1" with apt-get (root only), its output in file "$2".
install_test_packages() {
  # shellcheck disable=SC2086 # a list of package names
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $1) >"$2" 2>&1
}
