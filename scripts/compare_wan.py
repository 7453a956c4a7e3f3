"""Workloads over an emulated wide-area path, for `scripts/compare --wan RTT_MS:MB_PER_S`.

The path: `wanproxy` (examples/wanproxy.rs, the WAN of the integration tests) adds a
one-way delay of RTT/2 and caps each direction at MB_PER_S (10^6 bytes/s, shared by all
connections), in front of the registry (plain HTTP) or, with --tls, in front of nginx
terminating TLS with HTTP/2 (a test CA made with openssl; nginx passes `Host $http_host` so
upload Locations come back through the path). The proxy counts each run's round trips (the
deepest chain of turns, handshakes included) and connections; a series that must see one
address (a publish cold then warm, then a pull: the images' labels name the repository) keeps
one proxy.

Workloads: A one 32 MiB layer; B 8 x 2 MiB; C 200 x 10 KiB; P publish of 20 images x 3
stages (a 4 MiB base shared, 64 KiB per later stage), 2 tags each, --with-stages, cold
then warm (skopeo: every stage to its `image-stage-<sig>` tag and every final image to its
2 tags, 4 copies at once); L `stages pull` of P's stages cache into an empty storage
(skopeo: `skopeo copy docker://... oci:DIR:sig` of every stage, 4 at once).

Floor = unique bytes / rate + the round trips no client avoids (connect, TLS, one request
to start an upload and one to finish it, the manifest): the physical limit of the path.
"""
import hashlib, os, shutil, statistics, subprocess, sys, time

MIB, KIB = 1 << 20, 1 << 10


def start_wan(exe, upstream, rtt_ms, rate):
    p = subprocess.Popen([exe, upstream, str(rtt_ms), str(rate)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    host = p.stdout.readline().strip()
    if not host:
        sys.exit("wanproxy did not start")
    return p, host


def wan_counts(p):
    """The proxy's counts since the last call, which starts them afresh."""
    p.stdin.write("\n")
    p.stdin.flush()
    out = p.stdout.readline().split()
    keys = ("round_trips", "path_requests", "connections", "bytes_up", "bytes_down")
    return dict(zip(keys, map(int, out))) if len(out) == 5 else {}


def stop_wan(p):
    p.stdin.close()
    p.wait()


def make_ca(d):
    os.makedirs(d, exist_ok=True)
    q = dict(check=True, capture_output=True, cwd=d)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=compare CA", "-keyout", "ca.key", "-out", "ca.crt"], **q)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-keyout", "server.key", "-out", "server.csr"], **q)
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                    "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "server.crt"], **q)


class Nginx:
    def __init__(self, work, upstream, free_port):
        self.dir = os.path.join(work, "nginx")
        make_ca(self.dir)
        # skopeo's cert dir: the CA alone (a *.key there would be taken for a client key).
        self.certs = os.path.join(self.dir, "certs")
        os.makedirs(self.certs, exist_ok=True)
        shutil.copy(os.path.join(self.dir, "ca.crt"), self.certs)
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        d = self.dir
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"""daemon off;
user root root;
worker_processes 1;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  log_format werf '$connection $request_method $request_uri $server_protocol $status';
  access_log {d}/access.log werf;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  # Connections to the registry kept open between requests, as production fronts do.
  upstream registry {{
    server {upstream};
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{self.port} ssl http2;
    ssl_certificate {d}/server.crt;
    ssl_certificate_key {d}/server.key;
    client_max_body_size 0;
    location / {{
      proxy_pass http://registry;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }}
  }}
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", d, "-c", f"{d}/nginx.conf", "-e", f"{d}/error.log"])
        import socket
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("nginx did not start: " + open(f"{d}/error.log").read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def make_layouts(c, work):
    w = {}
    for key, layers in (("A", [(32 * MIB, "wA")]), ("B", [(2 * MIB, f"wB{i}") for i in range(8)]),
                        ("C", [(10 * KIB, f"wC{i}") for i in range(200)])):
        lay = c.Layout(os.path.join(work, "wan-" + key))
        lay.image([lay.layer(size, seed) for size, seed in layers], "v1", label=key)
        lay.commit()
        w[key] = lay
    p = c.Layout(os.path.join(work, "wan-P", ".werf", "stages"))
    base = p.layer(4 * MIB, "wP-base")
    p.images, p.stages = [], []
    for i in range(20):
        name, parent, layers = f"image-{i}", "", [base]
        for stage in ("from", "install", "setup"):
            if stage != "from":
                layers = layers + [p.layer(64 * KIB, f"wP{i}{stage}")]
            sig = hashlib.sha256(f"{name}/{stage}/{parent}".encode()).hexdigest()[:56]
            parent = sig
            p.image(layers, sig, {"io.werf.image": name, "io.werf.stage": stage, "io.werf.signature": sig},
                    label=sig)
            p.stages.append(sig)
        p.images.append((name, sig))
    p.commit()
    w["P"] = p
    return w


def unique_bytes(lay):
    return sum(lay.sizes.values())


def run(args, c, work, werf_push):
    rtt_ms, rate = args.wan.split(":")
    rtt_ms, rate = int(rtt_ms), float(rate)
    exe = os.path.join(c.ROOT, "target", "release", "examples", "wanproxy")
    if not args.no_build or not os.path.exists(exe):
        c.sh(["cargo", "build", "--release", "--locked", "-q", "--example", "wanproxy"], cwd=c.ROOT)
    reg = c.Registry(work, args.registry_storage)
    front = Nginx(work, reg.host, c.free_port) if args.tls else None
    tools = c.Tools(work, reg, werf_push)
    w = make_layouts(c, work)
    proto = "TLS+HTTP/2" if args.tls else "plain HTTP"
    tls_werf = ["--ca-file", os.path.join(front.dir, "ca.crt")] if front else []
    tls_skopeo = (lambda flag: [f"--{flag}-cert-dir", front.certs]) if front else \
        (lambda flag: [f"--{flag}-tls-verify=false"])
    results = {}

    path = {}

    def measure(key, tool, cmd, env, lay, script=False):
        own = not path
        if own:
            path["wan"], path["host"] = start_wan(exe, front.host if front else reg.host, rtt_ms, rate)
        wan_counts(path["wan"])
        cmd = [a.replace("@HOST@", path["host"]) for a in cmd]
        m = c.timed(["bash", "-c", cmd[0]] if script else cmd, env, reg, lay.sizes)
        stats = wan_counts(path["wan"])
        if own:
            stop_wan(path.pop("wan"))
            path.clear()
        if m is not None:
            m.update(stats)
            results.setdefault((key, tool), []).append(m)

    def series(runs):
        """Runs `runs` (callables) through one proxy."""
        path["wan"], path["host"] = start_wan(exe, front.host if front else reg.host, rtt_ms, rate)
        try:
            for r in runs:
                r()
        finally:
            stop_wan(path.pop("wan"))
            path.clear()

    def skopeo_parallel(pairs, flag_src, flag_dst):
        lines = [f"skopeo copy -q --preserve-digests {' '.join(flag_src + flag_dst)} {s} {d}" for s, d in pairs]
        return "printf '%s\\n' " + " ".join(f"'{l}'" for l in lines) + " | xargs -P 4 -I{} bash -c '{}'"

    n = 0
    only = set(args.wan_only)
    for r in range(args.rounds):
        for key in [k for k in ("A", "B", "C") if k in only]:
            lay = w[key]
            for tool in (["werf-push", "skopeo"] if r % 2 == 0 else ["skopeo", "werf-push"]):
                n += 1
                repo = f"wan{key.lower()}{n}"
                if tool == "werf-push":
                    measure(key, tool, [werf_push, "push"] + tls_werf +
                            [f"oci:{lay.path}:v1", f"@HOST@/{repo}:v1"], tools.werf_env(True), lay)
                else:
                    measure(key, tool, ["skopeo", "copy", "-q", "--preserve-digests"] + tls_skopeo("dest") +
                            [f"oci:{lay.path}:v1", f"docker://@HOST@/{repo}:v1"], tools.skopeo_env(True), lay)
        p = w["P"]
        pdir = os.path.dirname(os.path.dirname(p.path))
        if not only & {"P", "L"}:
            continue
        for tool in (["werf-push", "skopeo"] if r % 2 == 0 else ["skopeo", "werf-push"]):
            n += 1
            prefix = f"wanp{n}"
            if tool == "werf-push":
                cmd = [werf_push, "publish", "--dir", pdir, "--repo", f"@HOST@/{prefix}", "--with-stages",
                       "--tag-custom", "t1", "--tag-custom", "t2"] + tls_werf
                pulled = os.path.join(work, f"pulled{n}")
                series([lambda: measure("P cold", tool, cmd, tools.werf_env(True), p),
                        lambda: measure("P warm", tool, cmd, tools.werf_env(True), p),
                        lambda: measure("L pull", tool, [werf_push, "stages", "pull", "--repo", f"@HOST@/{prefix}",
                                                         "--dir", pulled] + tls_werf, tools.werf_env(True), p)])
            else:
                pairs = [(f"oci:{p.path}:{sig}", f"docker://@HOST@/{prefix}:image-stage-{sig}") for sig in p.stages]
                pairs += [(f"oci:{p.path}:{sig}", f"docker://@HOST@/{prefix}/{name}:t{t}")
                          for name, sig in p.images for t in (1, 2)]
                script = skopeo_parallel(pairs, [], tls_skopeo("dest"))
                out = os.path.join(work, f"skopeo-pulled{n}")
                os.makedirs(out)
                pull = [(f"docker://@HOST@/{prefix}:image-stage-{sig}", f"oci:{out}:{sig}") for sig in p.stages]
                series([lambda: measure("P cold", tool, [script], tools.skopeo_env(True), p, script=True),
                        lambda: measure("P warm", tool, [script], tools.skopeo_env(False), p, script=True),
                        lambda: measure("L pull", tool, [skopeo_parallel(pull, tls_skopeo("src"), [])],
                                        tools.skopeo_env(True), p, script=True)])
    if front:
        front.stop()
    reg.stop()
    return table(results, w, rtt_ms, rate, proto, args.rounds)


def floor(key, w, rtt, rate, tls):
    """Unique bytes / rate + round trips no client can avoid."""
    lay = w["P"] if key.startswith(("P", "L")) else w[key]
    rtts = 1 + (1 if tls else 0) + 3  # connect, TLS, POST, PUT, manifest
    if key == "P warm":
        return (1 + (1 if tls else 0) + 1) * rtt / 1000  # connect, TLS, all tag checks at once
    return (unique_bytes(lay) / (rate * 1e6) if rate else 0) + rtts * rtt / 1000


def table(results, w, rtt, rate, proto, rounds):
    tls = proto != "plain HTTP"
    out = (f"\nOver {proto}, {rtt} ms round trip, {rate:g} MB/s each way; medians of {rounds} rounds.\n\n"
           "| workload | floor | werf-push | skopeo | werf-push / floor | werf-push / skopeo | "
           "werf-push requests | round trips | connections |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    for key in ("A", "B", "C", "P cold", "P warm", "L pull"):
        wp, sk = results.get((key, "werf-push")), results.get((key, "skopeo"))
        if not wp:
            continue
        med = lambda ms, k: statistics.median(m[k] for m in ms)
        f = floor(key, w, rtt, rate, tls)
        s = f"{med(sk, 'wall'):.2f} s" if sk else "-"
        ratio = f"{med(wp, 'wall') / med(sk, 'wall'):.2f}" if sk else "-"
        per_floor = f"{med(wp, 'wall') / f:.2f}" if f else "-"
        out += (f"| {key} | {f:.2f} s | {med(wp, 'wall'):.2f} s | {s} | {per_floor} | {ratio} | "
                f"{med(wp, 'requests'):.0f} | {med(wp, 'round_trips'):.0f} | {med(wp, 'connections'):.0f} |\n")
    return out
