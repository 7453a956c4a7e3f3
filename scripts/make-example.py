#!/usr/bin/env python3
"""Writes testdata/example: a werf project (werf.yaml) and its stages storage, an OCI image
layout with io.werf.* annotations (docs/stages-format.md). Deterministic: running it again
gives the same bytes. Two named images share their base layer; backend has three stages."""
import gzip, hashlib, io, json, os, shutil, sys, tarfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "example")
STAGES = os.path.join(ROOT, ".werf", "stages")
EPOCH = 1577836800  # 2020-01-01


def tar_gz(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uid, info.gid = len(data), mode, EPOCH, 0, 0
            t.addfile(info, io.BytesIO(data))
    tar = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(tar)
    return gz.getvalue(), "sha256:" + hashlib.sha256(tar).hexdigest()


def blob(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(STAGES, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}


def sig(*parts):
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:56]


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(os.path.join(STAGES, "blobs", "sha256"))
    with open(os.path.join(STAGES, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(ROOT, "werf.yaml"), "w") as f:
        f.write("project: demo\nconfigVersion: 1\n---\nimage: backend\nfrom: alpine:3.12\n---\nimage: frontend\nfrom: alpine:3.12\n")
    base = tar_gz([("etc/os-release", b"NAME=demo-base\nVERSION=1\n", 0o644),
                   ("bin/hello", b"#!/bin/sh\necho hello\n", 0o755)])
    extra = {
        ("backend", "install"): tar_gz([("app/server", os.urandom(0) + b"backend server " * 4000, 0o755)]),
        ("backend", "setup"): tar_gz([("app/config.yaml", b"listen: 8080\n", 0o644)]),
        ("frontend", "install"): tar_gz([("srv/index.html", b"<h1>demo</h1>\n" * 200, 0o644)]),
    }
    entries = []
    for image, stages in (("backend", ["from", "install", "setup"]), ("frontend", ["from", "install"])):
        layers, diff_ids, parent = [], [], ""
        for stage in stages:
            gz, diff = base if stage == "from" else extra[(image, stage)]
            layers.append(dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **blob(gz)))
            diff_ids.append(diff)
            signature = sig(image, stage, parent)
            parent = signature
            config = {
                "architecture": "amd64", "os": "linux",
                "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                           "Cmd": ["/bin/hello"],
                           "Labels": {"werf": "demo", "werf-version": "v1.1.23", "werf-cache-version": "1",
                                      "werf-image": "false", "werf-docker-image-name": f"demo:{signature}",
                                      "werf-stage-signature": signature,
                                      # what `stages pull` restores io.werf.* from
                                      "io.werf.image": image, "io.werf.stage": stage}},
                "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
                "history": [{"created_by": f"werf stage {s}"} for s in stages[: len(diff_ids)]],
            }
            cfg = blob(json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **cfg),
                        "layers": list(layers)}
            m = blob(json.dumps(manifest, separators=(",", ":")).encode())
            entries.append(dict(mediaType="application/vnd.oci.image.manifest.v1+json", **m,
                                annotations={"org.opencontainers.image.ref.name": signature,
                                             "io.werf.image": image, "io.werf.stage": stage,
                                             "io.werf.signature": signature}))
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
    with open(os.path.join(STAGES, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
    print(f"wrote {STAGES}: {len(entries)} stages", file=sys.stderr)


main()
