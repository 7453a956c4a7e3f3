"""Workload F of scripts/compare: `werf-push stages add` of a directory of real files
(Python's standard library without site-packages and __pycache__, copied from `python3`'s
stdlib path into the work directory) with gzip and with zstd, against `tar c | gzip -6`
and `tar c | zstd -3` writing a file, alternating the order from round to round. No
registry. Wall time around the command; CPU time (user + system, every process of the
pipeline) and peak RSS (the largest process) from /usr/bin/time -v; output size: the
layer's size from the manifest, or the file's.
"""
import json, os, re, shutil, statistics, subprocess, sys, time

TIME_RE = {"user": r"User time \(seconds\): ([\d.]+)", "sys": r"System time \(seconds\): ([\d.]+)",
           "rss": r"Maximum resident set size \(kbytes\): (\d+)"}


def med(ms, k):
    return statistics.median(m[k] for m in ms)


def stdlib_copy(work):
    src = subprocess.run(["python3", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    dest = os.path.join(work, "F", "stdlib")
    shutil.copytree(src, dest, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "dist-packages", "__pycache__"))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(dest) for f in fs
               if not os.path.islink(os.path.join(d, f)))
    print(f"F: {src} copied to {dest}: {size / 1e6:.1f} MB", file=sys.stderr)
    return dest


def timed_local(cmd, out_size):
    """Runs `cmd` under /usr/bin/time -v; out_size() gives the bytes it wrote."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        print(f"FAILED (left out of the table): {' '.join(cmd)}\n{p.stderr[-2000:]}", file=sys.stderr)
        return None
    v = {k: float(re.search(r, p.stderr).group(1)) for k, r in TIME_RE.items()}
    return {"wall": wall, "cpu": v["user"] + v["sys"], "rss_mib": v["rss"] / 1024, "size": out_size()}


def run(rounds, work, werf_push):
    src = stdlib_copy(work)
    out = os.path.join(work, "F", "out")
    stages = os.path.join(work, "F", "stages")

    def layer_size():
        m = json.load(open(os.path.join(stages, "index.json")))["manifests"][0]
        man = json.load(open(os.path.join(stages, "blobs", "sha256", m["digest"].split(":", 1)[1])))
        return man["layers"][-1]["size"]

    def werf(compression):
        shutil.rmtree(stages, ignore_errors=True)
        return timed_local([werf_push, "stages", "add", "--stages-dir", stages, "--image", "f", "--stage", "from",
                            "--compression", compression, "--from-dir", src], layer_size)

    def shell(compressor):
        return timed_local(["bash", "-c", f"tar -C {src} -cf - . | {compressor} > {out}"],
                           lambda: os.path.getsize(out))

    tools = {"werf-push add gzip": lambda: werf("gzip"), "werf-push add zstd": lambda: werf("zstd"),
             "tar | gzip -6": lambda: shell("gzip -6"), "tar | zstd -3": lambda: shell("zstd -3 -q")}
    results = {}
    print("workload F ...", file=sys.stderr)
    for r in range(rounds):
        order = list(tools) if r % 2 == 0 else list(reversed(tools))
        for t in order:
            m = tools[t]()
            if m is not None:
                results.setdefault(t, []).append(m)
    return results


def table(results, rounds):
    out = ("| F: stages add | wall s | CPU s | peak RSS MiB | output MB |\n"
           "| --- | ---: | ---: | ---: | ---: |\n")
    for t, ms in results.items():
        out += (f"| {t.replace('|', chr(92) + '|')} | {med(ms, 'wall'):.2f} | {med(ms, 'cpu'):.2f} | {med(ms, 'rss_mib'):.1f} "
                f"| {med(ms, 'size') / 1e6:.2f} |\n")
    for ours, base in (("werf-push add gzip", "tar | gzip -6"), ("werf-push add zstd", "tar | zstd -3")):
        w, b = results.get(ours), results.get(base)
        if w and b:
            out += (f"| **{ours} / {base.replace('|', chr(92) + '|')}** | **{med(w, 'wall') / med(b, 'wall'):.2f}** "
                    f"| {med(w, 'cpu') / med(b, 'cpu'):.2f} | | {med(w, 'size') / med(b, 'size'):.3f} |\n")
    return out + f"\nMedians of {rounds} round(s).\n"
