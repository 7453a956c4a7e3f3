# Sourced by scripts/test and scripts/demo: installs the Debian packages the tests and the
# demo use when they are missing (docker-registry, skopeo, umoci, nginx, openssl, curl, tmux, man-db; GNU time
# for scripts/compare). Extra BIN:PACKAGE arguments are wanted too (scripts/compare: zstd:zstd).
ensure_packages() {
  local need=() bin pkg
  for pair in docker-registry:docker-registry skopeo:skopeo umoci:umoci nginx:nginx openssl:openssl curl:curl strace:strace unshare:util-linux mkfifo:coreutils tmux:tmux man:man-db "$@"; do
    bin=${pair%%:*}; pkg=${pair##*:}
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("$pkg")
  done
  # GNU time (scripts/compare): `command -v time` finds the shell keyword, so look for the file.
  [ -x /usr/bin/time ] || need+=(time)
  [ ${#need[@]} -eq 0 ] && return 0
  echo "installing missing packages: ${need[*]}" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
}
