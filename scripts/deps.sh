# Sourced by scripts/test and scripts/demo: installs the Debian packages the tests and the
# demo use when they are missing (docker-registry, skopeo, umoci, nginx, openssl, curl,
# podman and buildah (which write the archives, layouts and logins the interop tests read),
# setsid, tmux and man-db (the terminal and man-page tests); GNU time for scripts/compare),
# and moto's S3 server (pip, `moto[server]`) that the object-storage registry of the tests
# stands on. Extra BIN:PACKAGE arguments are wanted too (scripts/compare: zstd:zstd).
ensure_packages() {
  local need=() bin pkg
  for pair in docker-registry:docker-registry skopeo:skopeo umoci:umoci nginx:nginx openssl:openssl curl:curl strace:strace unshare:util-linux setsid:util-linux mkfifo:coreutils podman:podman buildah:buildah tmux:tmux man:man-db "$@"; do
    bin=${pair%%:*}; pkg=${pair##*:}
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("$pkg")
  done
  # GNU time (scripts/compare): `command -v time` finds the shell keyword, so look for the file.
  [ -x /usr/bin/time ] || need+=(time)
  python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
  if [ ${#need[@]} -eq 0 ]; then
    ensure_moto
    return
  fi
  echo "installing missing packages: ${need[*]}" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  ensure_moto
}

# moto's S3 emulator (`moto_server`), for the registry on object storage of the tests.
ensure_moto() {
  command -v moto_server >/dev/null 2>&1 && python3 -c 'import moto.server' 2>/dev/null && return 0
  echo "installing moto[server] (pip)" >&2
  python3 -m pip install -q 'moto[server]' >&2 ||
    python3 -m pip install -q --break-system-packages 'moto[server]' >&2
}
