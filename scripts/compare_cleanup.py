"""Workload K of `scripts/compare`: registry-side cleanup of a repository of 2,000 stage tags
and 500 image tags (multirepo: 250 images of 8 stages each, 2 branch tags each).

Setup (not timed, straight to the registry): the stages storage is written as an OCI layout,
published with `--with-stages` under 6 local git branches (images 0-99: gone-a, gone-b;
100-199: late-a, late-b; 200-249: keep-a, keep-b); gone-* are deleted.

Timed, each through the emulated path (`--wan RTT:RATE`, nginx with --tls) and through the
same stack with no delay (wanproxy 0:0), over one fresh setup per round:
- K plan: `cleanup --dry-run` of the 2,500 tags;
- K delete: after a first cleanup (deleting the 200 gone-* image tags and recording their
  800 stages unused) and the deletion of the late-* branches, `cleanup
  --keep-stages-built-within 0`: 1,000 tags deleted (800 stages, 200 images).
- the shell loop a user would write (`skopeo list-tags` per repository, `skopeo inspect
  --config` per tag, `skopeo delete` per tag to delete) on a sample of SAMPLE stage tags of
  the repository of 2,000 stage tags (a setup of its own, the same shape as the one
  werf-push deletes from: docker-registry's delete by digest walks every tag of the
  repository, so a sample from small repositories would flatter the loop), extrapolated
  per tag to the same number of tags.

Floor = (tag-list pages + requests / --requests) x round trip + bytes / rate, the requests
being werf-push's own (the registry's access log).
"""
import os, subprocess, time

import compare_wan

IMAGES, STAGES = 250, 8
STAGE_NAMES = ["from", "beforeInstall", "importsBeforeInstall", "gitArchive", "install",
               "importsAfterInstall", "beforeSetup", "setup"]
GROUPS = [(range(0, 100), ("gone-a", "gone-b")), (range(100, 200), ("late-a", "late-b")),
          (range(200, 250), ("keep-a", "keep-b"))]
SAMPLE = 100


def git(d, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="c", GIT_AUTHOR_EMAIL="c@c", GIT_COMMITTER_NAME="c",
               GIT_COMMITTER_EMAIL="c@c", GIT_CONFIG_GLOBAL="/dev/null")
    subprocess.run(["git", "-C", d] + list(args), check=True, capture_output=True, env=env)


def project(c, work, n):
    d = os.path.join(work, f"cleanup-{n}")
    lay = c.Layout(os.path.join(d, ".werf", "stages"))
    lay.stage_tags = []
    for i in range(IMAGES):
        name, parent, layers = f"image-{i}", "", []
        for s, stage in enumerate(STAGE_NAMES[:STAGES]):
            layers = layers + [lay.layer(512, f"k{n}-{i}-{s}")]
            sig = compare_wan.hashlib.sha256(f"{n}/{name}/{stage}/{parent}".encode()).hexdigest()[:56]
            parent = sig
            lay.stage_tags.append(f"image-stage-{sig}")
            lay.image(layers, sig, {"io.werf.image": name, "io.werf.stage": stage, "io.werf.signature": sig},
                      label=sig)
    lay.commit()
    with open(os.path.join(d, "werf.yaml"), "w") as f:
        f.write("project: k\nconfigVersion: 1\n" +
                "".join(f"---\nimage: image-{i}\nfrom: alpine\n" for i in range(IMAGES)))
    git(d, "init", "-q", "-b", "main")
    git(d, "commit", "-q", "--allow-empty", "-m", "k")
    for _, branches in GROUPS:
        for b in branches:
            git(d, "branch", b)
    return d, lay


def setup(c, tools, reg, werf_push, work, n):
    d, lay = project(c, work, n)
    repo = f"{reg.host}/k{n}"
    for images, branches in GROUPS:
        names = [f"image-{i}" for i in images]
        for b in branches:
            c.sh([werf_push, "publish", "--dir", d, "--repo", repo, "--with-stages", "--tag-git-branch", b,
                  "--progress", "none", "-q"] + names, env=tools.werf_env(True))
    for b in ("gone-a", "gone-b"):
        git(d, "branch", "-D", b)
    return d, lay, f"k{n}"


def run(args, c, work, werf_push):
    rtt_ms, rate = (args.wan or "0:0").split(":")
    rtt_ms, rate = int(rtt_ms), float(rate)
    exe = os.path.join(c.ROOT, "target", "release", "examples", "wanproxy")
    if not args.no_build or not os.path.exists(exe):
        c.sh(["cargo", "build", "--release", "--locked", "-q", "--example", "wanproxy"], cwd=c.ROOT)
    reg = c.Registry(work, args.registry_storage)
    front = compare_wan.Nginx(work, reg.host, c.free_port) if args.tls else None
    tools = c.Tools(work, reg, werf_push)
    tls_werf = ["--ca-file", os.path.join(front.dir, "ca.crt")] if front else []
    tls_skopeo = ["--cert-dir", front.certs] if front else ["--tls-verify=false"]
    upstream = front.host if front else reg.host
    results = {}

    def timed(key, cmd, lay, delay=True, script=False, env=None):
        wan, host = compare_wan.start_wan(exe, upstream, rtt_ms if delay else 0, rate if delay else 0)
        compare_wan.wan_counts(wan)
        cmd = [a.replace("@HOST@", host) for a in cmd]
        m = c.timed(["bash", "-c", cmd[0]] if script else cmd, env or tools.werf_env(True), reg, lay.sizes)
        stats = compare_wan.wan_counts(wan)
        compare_wan.stop_wan(wan)
        if m is not None:
            m.update(stats)
            results.setdefault(key, []).append(m)
        return m

    for r in range(args.rounds):
        # Two setups per round: the delayed and the undelayed runs each delete from their own.
        for delay, suffix in ((True, ""), (False, " no delay")):
            d, lay, repo = setup(c, tools, reg, werf_push, work, f"{r}{int(delay)}")
            base = [werf_push, "cleanup", "--dir", d, "--repo", f"@HOST@/{repo}", "--progress", "none",
                    "-q"] + tls_werf
            timed("K plan" + suffix, base + ["--dry-run"], lay, delay)
            c.sh([werf_push, "cleanup", "--dir", d, "--repo", f"{reg.host}/{repo}", "-q",
                  "--keep-stages-built-within", "0"], env=tools.werf_env(True), stdout=subprocess.DEVNULL)
            for b in ("late-a", "late-b"):
                git(d, "branch", "-D", b)
            timed("K delete" + suffix, base + ["--keep-stages-built-within", "0"], lay, delay)
        # The user's loop on SAMPLE stage tags of the repository of 2,000 stage tags (those of
        # the first images, which cleanup deletes too): list, inspect each config, delete each.
        d, lay, repo = setup(c, tools, reg, werf_push, work, f"{r}loop")
        flags = " ".join(tls_skopeo)
        tags = " ".join(lay.stage_tags[:SAMPLE])
        loop = (f"skopeo list-tags {flags} docker://@HOST@/{repo} >/dev/null && "
                f"for tag in {tags}; do skopeo inspect --config {flags} "
                f"docker://@HOST@/{repo}:$tag >/dev/null && skopeo delete {flags} "
                f"docker://@HOST@/{repo}:$tag || exit 1; done")
        m = timed("K skopeo loop (sample)", [loop], lay, True, script=True, env=tools.skopeo_env(True))
        if m is not None:
            m["per_tag"] = m["wall"] / SAMPLE
    if front:
        front.stop()
    reg.stop()
    return table(results, rtt_ms, rate, args)


def floor(m, rtt, rate, requests_bound=128):
    pages = 1  # distribution 2.8 answers each list in one page; all repositories at once
    return (pages + m["requests"] / requests_bound) * rtt / 1000 + (
        (m.get("bytes_down", 0) + m.get("bytes_up", 0)) / (rate * 1e6) if rate else 0)


def table(results, rtt, rate, args):
    import statistics
    med = lambda ms, k: statistics.median(m[k] for m in ms)
    proto = "TLS+HTTP/2" if args.tls else "plain HTTP"
    out = (f"\nK cleanup of 2,000 stage tags + 500 image tags (250 repositories), over {proto}, "
           f"{rtt} ms round trip, {rate:g} MB/s each way; medians of {args.rounds} round(s).\n\n"
           "| run | werf-push | floor | same requests, no delay | werf-push / max(floor, no delay) | "
           "requests | round trips | skopeo loop (extrapolated) | werf-push / skopeo loop |\n"
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    loop = results.get("K skopeo loop (sample)")
    per_tag = med(loop, "per_tag") if loop else None
    for key, tags in (("K plan", 2500), ("K delete", 2300)):
        wp, nd = results.get(key), results.get(key + " no delay")
        if not wp:
            continue
        w = med(wp, "wall")
        f = statistics.median(floor(m, rtt, rate) for m in wp)
        n = med(nd, "wall") if nd else 0
        sk = per_tag * tags if per_tag else None
        out += (f"| {key} | {w:.2f} s | {f:.2f} s | {n:.2f} s | {w / max(f, n):.2f} | "
                f"{med(wp, 'requests'):.0f} | {med(wp, 'round_trips'):.0f} | "
                f"{f'{sk:.0f} s' if sk else '-'} | {f'{w / sk:.4f}' if sk else '-'} |\n")
    return out
