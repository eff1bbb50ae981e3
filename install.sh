#!/bin/sh
# claudemesh installer (POSIX sh). Usage: see usage() below, or `sh install.sh --help`.
#
#   curl -fsSL https://github.com/claudemesh/claudemesh/releases/latest/download/install.sh | sh
#
# Every download is checked against the release's SHA256SUMS before anything is moved into
# place; a missing or wrong checksum stops the installer with nothing installed. It never runs
# sudo: when it would need root, it says so and stops. The whole body is in main(), called on the
# last line, so a download cut off midway runs nothing.

usage() {
  cat <<'EOF_USAGE'
claudemesh installer

  curl -fsSL https://github.com/claudemesh/claudemesh/releases/latest/download/install.sh | sh
  curl -fsSL .../install.sh | sh -s -- --version 0.1.0 --no-modify-path
  curl -fsSL .../install.sh | sudo sh -s -- --service      (Linux: also a systemd service)

Options:
  --version X       install version X (default: the latest release)
  --uninstall       remove the binary and our PATH line (with --service: the unit too)
  --service         Linux with systemd, as root: system user claudemesh, /var/lib/claudemesh,
                    /etc/systemd/system/claudemesh.service, systemctl enable --now claudemesh
  --no-modify-path  never add the install directory to a shell profile
  --dry-run         print what would happen; download and change nothing
  -h, --help        this text

Environment:
  CLAUDEMESH_VERSION       same as --version
  CLAUDEMESH_INSTALL_DIR   install directory (default /usr/local/bin when writable or when
                           root, else ~/.local/bin)
  CLAUDEMESH_DOWNLOAD_URL  download root holding v<version>/ and latest/ directories
                           (default: the GitHub releases of claudemesh/claudemesh)
  NO_COLOR, CI             no colour (nor when stdout is not a terminal); CI also leaves
                           shell profiles alone
EOF_USAGE
}

say() {
  printf '%s\n' "$*"
}

warn() {
  printf 'claudemesh install: %s\n' "$*" >&2
}

die() {
  printf 'claudemesh install: error: %s\n' "$*" >&2
  exit 1
}

usage_error() {
  printf 'claudemesh install: %s (see --help)\n' "$*" >&2
  exit 2
}

bold() {
  if [ "$colour" = 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else say "$*"; fi
}

has() {
  command -v "$1" >/dev/null 2>&1
}

# --- platform ---------------------------------------------------------------------------------

# glibc wins when both are present (Debian's `musl` package installs /lib/ld-musl-* too).
has_musl() {
  [ -f /etc/alpine-release ] && return 0
  libc=$(ldd --version 2>&1 || true)
  case $libc in
    *musl*) return 0 ;;
    *GLIBC* | *"GNU libc"* | *glibc*) return 1 ;;
  esac
  for f in /lib/ld-musl-*; do [ -e "$f" ] && return 0; done
  return 1
}

cpu_has_avx2() {
  grep -qw avx2 /proc/cpuinfo 2>/dev/null
}

is_rosetta() {
  [ "$(sysctl -n sysctl.proc_translated 2>/dev/null)" = 1 ]
}

# Prints the release target (the asset is claudemesh-<target>), or exits with the reason.
detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case $os in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "no claudemesh build for $os; see https://github.com/claudemesh/claudemesh/releases or build from source (bun run build)" ;;
  esac
  case $arch in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no claudemesh build for $os on $arch; see https://github.com/claudemesh/claudemesh/releases" ;;
  esac
  # An x64 shell on Apple silicon runs under Rosetta: the native arm64 build is faster.
  if [ "$os" = darwin ] && [ "$arch" = x64 ] && is_rosetta; then arch=arm64; fi
  if [ "$os" = linux ] && has_musl; then
    [ "$arch" = x64 ] || die "no musl (Alpine) build for $arch; use a glibc distribution or build from source"
    cpu_has_avx2 || die "the musl (Alpine) build needs a CPU with AVX2; use a glibc distribution or build from source"
    echo linux-x64-musl
    return
  fi
  if [ "$os" = linux ] && [ "$arch" = x64 ] && ! cpu_has_avx2; then
    echo linux-x64-baseline
    return
  fi
  echo "$os-$arch"
}

# --- downloads and checksums ------------------------------------------------------------------

fetch() { # url file
  case $1 in https://*) secure=1 ;; *) secure=0 ;; esac
  if has curl; then
    if [ "$secure" = 1 ]; then
      curl -fsSL --proto '=https' --tlsv1.2 -o "$2" "$1"
    else
      curl -fsSL -o "$2" "$1"
    fi
  elif has wget; then
    # BusyBox wget (Alpine's only downloader) has no --https-only; the URLs are https anyway.
    if [ "$secure" = 1 ] && wget --help 2>&1 | grep -q -- --https-only; then
      wget -q --https-only -O "$2" "$1"
    else
      wget -q -O "$2" "$1"
    fi
  else
    die "need curl or wget to download"
  fi
}

sha256_of() { # file
  if has sha256sum; then
    sha256sum "$1" | awk '{ print $1 }'
  elif has shasum; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  else
    die "cannot verify the download: neither sha256sum nor shasum is installed"
  fi
}

expected_sum() { # SHA256SUMS name → the listed hash, or nothing
  awk -v name="$2" '($2 == name || $2 == "*" name) { print $1; exit }' "$1"
}

# Fails closed: no entry, a malformed entry or a different hash all stop the installer.
verify() { # file name SHA256SUMS
  want=$(expected_sum "$3" "$2")
  case $want in
    "" ) die "SHA256SUMS has no entry for $2; refusing to install an unverified file" ;;
    *[!0-9a-f]*) die "SHA256SUMS entry for $2 is malformed; refusing to install" ;;
  esac
  [ "${#want}" -eq 64 ] || die "SHA256SUMS entry for $2 is malformed; refusing to install"
  got=$(sha256_of "$1")
  [ "$got" = "$want" ] || die "checksum mismatch for $2 (expected $want, got $got); nothing was installed"
}

# --- install directory and PATH ---------------------------------------------------------------

# A relative directory would land wherever the installer happened to run and go into PATH as is.
pick_install_dir() {
  if [ -n "${CLAUDEMESH_INSTALL_DIR:-}" ]; then
    case $CLAUDEMESH_INSTALL_DIR in
      /*) say "${CLAUDEMESH_INSTALL_DIR%/}" ;;
      *) die "CLAUDEMESH_INSTALL_DIR must be an absolute path, not '$CLAUDEMESH_INSTALL_DIR'; for example CLAUDEMESH_INSTALL_DIR=\$HOME/.local/bin" ;;
    esac
  elif [ "$(id -u)" = 0 ] || [ -w /usr/local/bin ]; then
    say /usr/local/bin
  elif [ -n "${HOME:-}" ]; then
    say "$HOME/.local/bin"
  else
    die "HOME is not set, so there is no ~/.local/bin to install to: set CLAUDEMESH_INSTALL_DIR to a directory you can write"
  fi
}

# True when <dir> exists and is writable, or its nearest existing ancestor is (mkdir -p works).
writable() { # dir
  d=$1
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  [ -w "$d" ]
}

# The command that runs this installer as root with <args> and the caller's settings: sudo drops
# the caller's environment, so the CLAUDEMESH_* variables go after it.
as_root_command() { # args
  envs=""
  for name in CLAUDEMESH_INSTALL_DIR CLAUDEMESH_VERSION CLAUDEMESH_DOWNLOAD_URL; do
    value=$(printenv "$name" || true)
    [ -z "$value" ] || envs="$envs$name='$value' "
  done
  say "curl -fsSL <install.sh URL> | sudo ${envs}sh -s -- $1"
}

check_writable() { # dir
  writable "$1" && return 0
  die "$1 is not writable by $(id -un 2>/dev/null || id -u). This installer never runs sudo by itself. Either re-run it as root ($(as_root_command "$args_text")) or install for yourself: CLAUDEMESH_INSTALL_DIR=\$HOME/.local/bin"
}

installed_version() { # dir → version of <dir>/claudemesh, or nothing
  [ -x "$1/claudemesh" ] || return 0
  "$1/claudemesh" --version 2>/dev/null | sed -n 's/^claudemesh \([^ ]*\)$/\1/p'
}

on_path() {
  case ":$PATH:" in *":$1:"*) return 0 ;; esac
  return 1
}

profile_file() {
  case $(basename "${SHELL:-sh}") in
    zsh) say "${ZDOTDIR:-$HOME}/.zshrc" ;;
    bash) if [ "$(uname -s)" = Darwin ]; then say "$HOME/.bash_profile"; else say "$HOME/.bashrc"; fi ;;
    fish) say "${XDG_CONFIG_HOME:-$HOME/.config}/fish/config.fish" ;;
    *) say "$HOME/.profile" ;;
  esac
}

# shellcheck disable=SC2016 # the $PATH in the line is for the profile to expand, not for us
path_line() { # dir
  case $(profile_file) in
    *.fish) printf 'fish_add_path "%s" %s\n' "$1" "$PATH_MARK" ;;
    *) printf 'export PATH="%s:$PATH" %s\n' "$1" "$PATH_MARK" ;;
  esac
}

add_to_path() { # dir
  on_path "$1" && return 0
  if [ "$modify_path" = 0 ] || [ -n "${CI:-}" ]; then
    [ -n "${GITHUB_PATH:-}" ] && [ "$dry_run" = 0 ] && say "$1" >>"$GITHUB_PATH"
    say "$1 is not on your PATH; add it: export PATH=\"$1:\$PATH\""
    return 0
  fi
  profile=$(profile_file)
  if [ -z "${HOME:-}" ] || ! writable "$(dirname "$profile")"; then
    say "$1 is not on your PATH (no writable home, so no shell profile was changed); add it: export PATH=\"$1:\$PATH\""
    return 0
  fi
  line=$(path_line "$1")
  if [ -f "$profile" ] && grep -qF "$line" "$profile"; then
    say "$profile already adds $1 to PATH (open a new shell)"
    return 0
  fi
  if [ "$dry_run" = 1 ]; then
    say "would add to $profile: $line"
    return 0
  fi
  mkdir -p "$(dirname "$profile")"
  printf '\n%s\n' "$line" >>"$profile"
  say "added $1 to PATH in $profile (open a new shell, or: export PATH=\"$1:\$PATH\")"
}

remove_from_profiles() {
  for p in "$HOME/.profile" "$HOME/.bashrc" "$HOME/.bash_profile" "${ZDOTDIR:-$HOME}/.zshrc" "${XDG_CONFIG_HOME:-$HOME/.config}/fish/config.fish"; do
    if [ ! -f "$p" ] || ! grep -qF "$PATH_MARK" "$p"; then continue; fi
    if [ "$dry_run" = 1 ]; then
      say "would remove the PATH line from $p"
      continue
    fi
    grep -vF "$PATH_MARK" "$p" >"$p.claudemesh-tmp" || true
    cat "$p.claudemesh-tmp" >"$p" && rm -f "$p.claudemesh-tmp"
    say "removed the PATH line from $p"
  done
}

# --- systemd service --------------------------------------------------------------------------

# Why --service cannot proceed with the binary in <dir>, or nothing. Checked before anything is
# downloaded or changed.
service_problem() { # dir
  if [ "$(uname -s)" != Linux ]; then
    say "--service is for Linux with systemd; on macOS use Homebrew: brew services start claudemesh"
  elif ! has systemctl || [ ! -d /run/systemd/system ]; then
    say "--service needs systemd as the running init system, and none was found; run 'claudemesh serve' under your own supervisor (docs/operations.md)"
  else
    why=$(unit_dir_problem "$1")
    # Without CLAUDEMESH_INSTALL_DIR the run as root picks /usr/local/bin, not this user's <dir>.
    if [ "$(id -u)" != 0 ] && { [ -z "$why" ] || [ -z "${CLAUDEMESH_INSTALL_DIR:-}" ]; }; then
      why="--service creates a system user and a unit in /etc/systemd/system, which needs root. This installer never runs sudo by itself; re-run: $(as_root_command "$args_text")"
    fi
    [ -z "$why" ] || say "$why"
  fi
}

# The unit has ProtectHome=yes (the service sees /home, /root and /run/user empty) and
# PrivateTmp=yes (its own /tmp and /var/tmp): it could not start a binary kept there. The path
# goes into ExecStart=, where systemd expands $ and % and reads quotes and backslashes
# (systemd.service(5), systemd.syntax(7)); only spaces are quoted (unit_exec), the rest refused.
unit_dir_problem() { # dir
  fix="use a directory such as /usr/local/bin (as root without CLAUDEMESH_INSTALL_DIR it installs there), or drop --service and run 'claudemesh serve' under your own supervisor"
  real=$1
  [ ! -d "$1" ] || real=$(cd -P "$1" && pwd)
  case $real/ in
    /home/* | /root/* | /run/user/*) say "--service cannot run claudemesh from $real: the unit's ProtectHome=yes hides /home, /root and /run/user from the service; $fix" ;;
    /tmp/* | /var/tmp/*) say "--service cannot run claudemesh from $real: the unit's PrivateTmp=yes gives the service its own empty /tmp and /var/tmp; $fix" ;;
    *) case $1 in *[!0-9A-Za-z/._+,:@\ -]*) say "--service cannot write '$1' into the unit's ExecStart=: systemd gives \$, %, quotes, backslashes and control characters a meaning there; $fix" ;; esac ;;
  esac
}

# The ExecStart= value for the binary in <dir>: one word, so a path with spaces is quoted.
unit_exec() { # dir
  case $1 in
    *' '*) say "\"$1/claudemesh\" serve" ;;
    *) say "$1/claudemesh serve" ;;
  esac
}

service_plan() { # dir
  say "would create the system user claudemesh and $STATE_DIR (0700), unless present"
  say "would write $UNIT_PATH (ExecStart=$(unit_exec "$1")), then: systemctl daemon-reload && systemctl enable --now claudemesh"
}

# Writes the release's unit with ExecStart= pointing at <dir>, to <out>; stops if the unit has
# no ExecStart= line to rewrite rather than install one that runs another binary.
render_unit() { # dir unit-file out
  exec=$(unit_exec "$1")
  sed "s#^ExecStart=/usr/local/bin/claudemesh serve\$#ExecStart=$exec#" "$2" >"$3"
  grep -qxF "ExecStart=$exec" "$3" || die "the release's claudemesh.service has no 'ExecStart=/usr/local/bin/claudemesh serve' line to point at $1; nothing was installed. Please report this: https://github.com/claudemesh/claudemesh/issues"
}

service_install() { # dir unit-file changed
  if ! id claudemesh >/dev/null 2>&1; then
    if has useradd; then
      useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin claudemesh
    else
      addgroup -S claudemesh && adduser -S -D -H -h "$STATE_DIR" -s /sbin/nologin -G claudemesh claudemesh
    fi
    say "created the system user claudemesh"
  fi
  mkdir -p "$STATE_DIR"
  chown claudemesh:claudemesh "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  cp "$2" "$UNIT_PATH.tmp"
  chmod 644 "$UNIT_PATH.tmp"
  # A running service takes a new unit (not only a new binary) only when restarted.
  if cmp -s "$UNIT_PATH.tmp" "$UNIT_PATH"; then unit_changed=0; else unit_changed=1; fi
  mv -f "$UNIT_PATH.tmp" "$UNIT_PATH"
  systemctl daemon-reload
  was_active=0
  if systemctl is-active --quiet claudemesh; then was_active=1; fi
  systemctl enable --now claudemesh
  if [ "$was_active" = 1 ] && { [ "$3" = 1 ] || [ "$unit_changed" = 1 ]; }; then
    systemctl restart claudemesh
    say "restarted claudemesh.service on the new binary or unit"
  fi
  say "claudemesh.service is enabled and started; data in $STATE_DIR"
  say "  status:  systemctl status claudemesh; logs: journalctl -u claudemesh (the first start shows the operator token)"
  say "  settings: /etc/default/claudemesh, one CLAUDEMESH_*=value per line: CLAUDEMESH_PUBLIC_URL, and for TLS without a proxy CLAUDEMESH_HOST=0.0.0.0, CLAUDEMESH_TLS_CERT, CLAUDEMESH_TLS_KEY (docs/operations.md); then systemctl restart claudemesh"
  say "  undo:    $(as_root_command "--uninstall --service")"
  say "           (or: systemctl disable --now claudemesh && rm $UNIT_PATH && systemctl daemon-reload)"
  say "           the data and the user stay; remove them with: rm -rf $STATE_DIR && userdel claudemesh"
}

service_uninstall() {
  if [ ! -f "$UNIT_PATH" ]; then
    say "no $UNIT_PATH to remove"
    return 0
  fi
  if [ "$dry_run" = 1 ]; then
    say "would run: systemctl disable --now claudemesh; remove $UNIT_PATH; systemctl daemon-reload"
    return 0
  fi
  systemctl disable --now claudemesh || true
  rm -f "$UNIT_PATH"
  systemctl daemon-reload || true
  say "removed claudemesh.service; kept $STATE_DIR and the user claudemesh (rm -rf $STATE_DIR && userdel claudemesh to delete them)"
}

# --- actions ----------------------------------------------------------------------------------

do_uninstall() {
  dir=$(pick_install_dir)
  if [ "$service" = 1 ]; then
    [ "$(id -u)" = 0 ] || die "--uninstall --service needs root. This installer never runs sudo by itself; re-run it with sudo"
    service_uninstall
  elif [ -f "$UNIT_PATH" ]; then
    say "note: $UNIT_PATH exists; add --service (as root) to remove the service too"
  fi
  if [ -e "$dir/claudemesh" ]; then
    check_writable "$dir"
    if [ "$dry_run" = 1 ]; then say "would remove $dir/claudemesh"; else rm -f "$dir/claudemesh" && say "removed $dir/claudemesh"; fi
  else
    say "no claudemesh in $dir (CLAUDEMESH_INSTALL_DIR picks another directory)"
  fi
  remove_from_profiles
  say "Claude Code settings written by 'claudemesh install' are not touched; 'claudemesh uninstall' (run before this) removes them. Your keys stay in ~/.claudemesh."
  if has claudemesh && [ "$dry_run" = 0 ]; then say "note: another claudemesh is still on PATH: $(command -v claudemesh)"; fi
}

# --dry-run: what do_install would do, given its target, dir, base, current, have_pinned, problem.
print_plan() {
  say "claudemesh installer (dry run: nothing is downloaded or changed)"
  say "platform:  $target"
  say "version:   ${version:-latest}${current:+ (installed: $current)}"
  if [ -n "$problem" ]; then
    say "--service would stop before downloading or changing anything: $problem"
    return 0
  fi
  if [ "$have_pinned" = 1 ]; then
    say "would download nothing: $dir/claudemesh is already $version"
  else
    say "would download $base/$asset and $base/SHA256SUMS, verify SHA-256, install $dir/claudemesh"
    writable "$dir" || say "but $dir is not writable: it would stop and ask you to re-run as root"
  fi
  add_to_path "$dir"
  [ "$service" = 0 ] || service_plan "$dir"
}

# Puts the release's binary at $dir/claudemesh unless it is already there (changed=1 when it
# did). Needs $tmp/SHA256SUMS unless the pinned version is installed.
install_binary() {
  if [ "$have_pinned" = 1 ]; then
    say "claudemesh $version is already installed in $dir; nothing to download"
    return 0
  fi
  if [ -z "$version" ] && [ -x "$dir/claudemesh" ] && [ "$(sha256_of "$dir/claudemesh")" = "$(expected_sum "$tmp/SHA256SUMS" "$asset")" ]; then
    say "claudemesh ${current:-} in $dir is already the latest release; nothing else to download"
    return 0
  fi
  say "downloading $asset${version:+ $version}..."
  fetch "$base/$asset" "$tmp/$asset" || die "cannot download $base/$asset"
  verify "$tmp/$asset" "$asset" "$tmp/SHA256SUMS"
  mkdir -p "$dir"
  # Stage next to the target (the install directory surely allows exec; /tmp may not), try
  # it, then rename: the switch is atomic on one filesystem, and a build for the wrong CPU
  # dies here, before it replaces a working one.
  staged="$dir/.claudemesh.new.$$"
  cp "$tmp/$asset" "$staged"
  chmod 755 "$staged"
  if ! got=$("$staged" --version 2>&1); then
    hint=""
    [ "$target" != linux-x64-musl ] || hint=" (Alpine needs: apk add libstdc++ libgcc)"
    die "the downloaded binary does not run on this machine$hint: $(printf '%s' "$got" | head -n 3)"
  fi
  [ -z "$version" ] || [ "$got" = "claudemesh $version" ] || die "asked for $version but the download reports '$got'"
  mv -f "$staged" "$dir/claudemesh"
  staged=""
  changed=1
  bold "$got installed to $dir/claudemesh (SHA-256 matches the release's SHA256SUMS)"
}

do_install() {
  target=$(detect_target)
  asset="claudemesh-$target"
  dir=$(pick_install_dir)
  if [ -n "${CLAUDEMESH_DOWNLOAD_URL:-}" ]; then
    root=${CLAUDEMESH_DOWNLOAD_URL%/}
    if [ -n "$version" ]; then base="$root/v$version"; else base="$root/latest"; fi
    case $root in https://*) ;; *) warn "downloading over plain HTTP from $root; SHA256SUMS comes from the same place, so this only catches corrupted downloads" ;; esac
  elif [ -n "$version" ]; then
    base="https://github.com/claudemesh/claudemesh/releases/download/v$version"
  else
    base="https://github.com/claudemesh/claudemesh/releases/latest/download"
  fi
  problem=""
  [ "$service" = 0 ] || problem=$(service_problem "$dir")
  [ -z "$problem" ] || [ "$dry_run" = 1 ] || die "$problem"
  current=$(installed_version "$dir")
  have_pinned=0
  if [ -n "$version" ] && [ "$current" = "$version" ]; then have_pinned=1; fi
  if [ "$dry_run" = 1 ]; then
    print_plan
    return 0
  fi

  # Whatever can still refuse (the checksum list, the unit) runs before anything is changed.
  [ "$have_pinned" = 1 ] || check_writable "$dir"
  if [ "$have_pinned" = 0 ] || [ "$service" = 1 ]; then
    fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || die "cannot download $base/SHA256SUMS (does version ${version:-latest} exist?)"
  fi
  if [ "$service" = 1 ]; then
    fetch "$base/claudemesh.service" "$tmp/claudemesh.service" || die "cannot download $base/claudemesh.service (release ${version:-latest} has no systemd unit?); nothing was installed"
    verify "$tmp/claudemesh.service" claudemesh.service "$tmp/SHA256SUMS"
    render_unit "$dir" "$tmp/claudemesh.service" "$tmp/unit"
  fi
  changed=0
  install_binary
  add_to_path "$dir"
  [ "$service" = 0 ] || service_install "$dir" "$tmp/unit" "$changed"
  say ""
  bold "Next steps"
  if [ "$service" = 1 ]; then
    say "  journalctl -u claudemesh            the broker's address and, on first start, the operator token"
  else
    say "  claudemesh serve                    run a broker here (http://127.0.0.1:7900; --help for options)"
  fi
  say "  claudemesh new my-team --broker URL create a mesh on a broker"
  say "  claudemesh join -                   or join one: paste the invite link, then Enter (kept out of ps)"
  say "  claudemesh install                  connect Claude Code (MCP server + hooks)"
  say "  Docs: https://github.com/claudemesh/claudemesh#readme"
}

main() {
  set -eu
  # A bare environment (env -i, some CI and container shells) has no HOME: take it from the
  # password database, else leave it empty and let the steps that need it say so.
  HOME=${HOME:-$(getent passwd "$(id -un 2>/dev/null || id -u)" 2>/dev/null | cut -d: -f6)}
  export HOME
  PATH_MARK='# added by the claudemesh installer'
  UNIT_PATH=/etc/systemd/system/claudemesh.service
  STATE_DIR=/var/lib/claudemesh
  staged=""
  version=${CLAUDEMESH_VERSION:-}
  action=install
  dry_run=0
  modify_path=1
  service=0
  args_text="$*"
  while [ $# -gt 0 ]; do
    case $1 in
      --version)
        [ $# -ge 2 ] || usage_error "--version needs a value"
        version=$2
        shift
        ;;
      --version=*) version=${1#*=} ;;
      --uninstall) action=uninstall ;;
      --dry-run) dry_run=1 ;;
      --no-modify-path) modify_path=0 ;;
      --service) service=1 ;;
      -y | --yes) ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) usage_error "unknown option: $1" ;;
    esac
    shift
  done
  version=${version#v}
  case $version in *[!0-9A-Za-z.-]*) usage_error "not a version: $version" ;; esac
  colour=0
  if [ -t 1 ] && [ -z "${CI:-}" ] && [ -z "${NO_COLOR:-}" ]; then colour=1; fi
  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t claudemesh)
  trap 'rm -rf "$tmp"; [ -z "$staged" ] || rm -f "$staged"' EXIT
  trap 'exit 130' INT TERM
  if [ "$action" = uninstall ]; then do_uninstall; else do_install; fi
}

main "$@"
