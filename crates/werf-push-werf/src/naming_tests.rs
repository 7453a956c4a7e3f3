//! Table tests of `werf::naming`.
use super::*;
use crate::error::assert_result;
use RepoMode::{Auto, Monorepo, Multirepo};

/// (repo, --images-repo-mode, Ok(effective mode) or Err(start of message))
const MODE_CASES: &[(&str, &str, Want)] = &[
    // Docker Hub, implied or named.
    ("account", "auto", Ok("multirepo")),
    ("account/", "auto", Ok("multirepo")),
    ("account/repo", "auto", Ok("monorepo")),
    ("docker.io/account", "auto", Ok("multirepo")),
    ("index.docker.io/account/repo", "auto", Ok("monorepo")),
    ("registry.hub.docker.com/account", "monorepo", Err("registry registry.hub.docker.com cannot hold images as tags of registry.hub.docker.com/account: it is a bare account (ACCOUNT); for monorepo mode use registry.hub.docker.com/account/REPOSITORY, or use --images-repo-mode=multirepo or auto")),
    ("docker.io/account/repo", "multirepo", Err("registry docker.io does not support nested repositories: docker.io/account/repo already names a repository (ACCOUNT/REPOSITORY), so images can only be tags in it: use --images-repo-mode=monorepo or auto")),
    ("account/repo", "monorepo", Ok("monorepo")),
    ("account", "multirepo", Ok("multirepo")),
    ("docker.io", "auto", Err("bad --images-repo 'docker.io' specified: registry docker.io takes ACCOUNT (multirepo) or ACCOUNT/REPOSITORY (monorepo) after the host, got 0 path component(s)")),
    ("a/b/c", "auto", Err("bad --images-repo 'a/b/c' specified: registry docker.io takes")),
    // Quay.
    ("quay.io/org", "auto", Ok("multirepo")),
    ("quay.io/org/repo", "auto", Ok("monorepo")),
    ("quay.example.com/org/repo", "auto", Ok("monorepo")),
    ("quay.io/org/repo", "multirepo", Err("registry quay.io does not support nested")),
    ("quay.io/org", "monorepo", Err("registry quay.io cannot hold images as tags")),
    // GitHub Packages: one level deeper, as werf.
    ("docker.pkg.github.com/owner/repo", "auto", Ok("multirepo")),
    ("docker.pkg.github.com/owner/repo/pkg", "auto", Ok("monorepo")),
    ("docker.pkg.github.com/owner", "auto", Err("bad --images-repo 'docker.pkg.github.com/owner' specified: registry docker.pkg.github.com takes OWNER/REPOSITORY (multirepo) or OWNER/REPOSITORY/PACKAGE (monorepo)")),
    ("docker.pkg.github.com/owner/repo", "monorepo", Err("registry docker.pkg.github.com cannot hold images as tags of docker.pkg.github.com/owner/repo: it is OWNER/REPOSITORY without a package; for monorepo mode use docker.pkg.github.com/owner/repo/PACKAGE")),
    // Any other registry: auto is multirepo, both explicit modes allowed.
    ("registry.example.com/group/project", "auto", Ok("multirepo")),
    ("registry.example.com/group/project", "monorepo", Ok("monorepo")),
    ("localhost:5000", "auto", Ok("multirepo")),
    ("localhost/x", "monorepo", Ok("monorepo")),
    ("ghcr.io/owner", "auto", Ok("multirepo")),
    ("quay.example.org/x", "auto", Ok("multirepo")),
    ("account", "mono", Err("bad --images-repo-mode 'mono' specified: use auto, multirepo or monorepo")),
    ("account", "Auto", Err("bad --images-repo-mode 'Auto' specified")),
    ("account", "", Err("bad --images-repo-mode '' specified")),
    // Bad repos (more in repo.rs).
    ("", "auto", Err("bad --images-repo '' specified: it is empty")),
];

#[test]
fn resolve() {
    for (repo, mode, want) in MODE_CASES {
        let got = mode.parse().and_then(|mode| resolve_mode(repo, mode));
        assert_result(&format!("{repo} {mode}"), got, RepoMode::to_string, *want);
    }
}

/// (repo, mode, image, tag, Ok("repository:tag|image_tag") or Err(start of message))
type RefCase = (
    &'static str,
    RepoMode,
    Option<&'static str>,
    &'static str,
    Want,
);
type Want = Result<&'static str, &'static str>;
const REF_CASES: &[RefCase] = &[
    ("r.io/p/", Multirepo, None, "v1", Ok("r.io/p:v1|v1")),
    ("r.io/p", Monorepo, None, "v1", Ok("r.io/p:v1|v1")),
    ("r.io/p", Multirepo, Some("backend"), "v1", Ok("r.io/p/backend:v1|v1")),
    ("r.io/p", Monorepo, Some("backend"), "v1", Ok("r.io/p:backend-v1|v1")),
    ("r.io/p", Auto, Some("backend"), "v1", Ok("r.io/p/backend:v1|v1")),
    ("r.io/p", Multirepo, Some("tools/cli"), "v1", Ok("r.io/p/tools/cli:v1|v1")),
    ("account/app", Auto, Some("api"), "main", Ok("account/app:api-main|main")),
    ("account", Auto, Some("api"), "main", Ok("account/api:main|main")),
    ("account", Auto, None, "main", Ok("account:main|main")),
    ("localhost:5000", Multirepo, Some("api"), "t", Ok("localhost:5000/api:t|t")),
    ("localhost:5000", Multirepo, None, "t", Err("cannot publish the nameless image with tag 't': reference 'localhost:5000:t' is invalid: 'localhost:5000' is a registry with no repository")),
    ("localhost:5000", Monorepo, Some("api"), "t", Err("cannot publish image 'api' with tag 't': reference 'localhost:5000:api-t' is invalid: 'localhost:5000' is a registry")),
    ("r.io/p", Monorepo, Some("tools/cli"), "v1", Err("cannot publish image 'tools/cli' with tag 'v1': reference 'r.io/p:tools/cli-v1' is invalid: in monorepo mode the image name is part of the tag (IMAGE_NAME-TAG), and a tag cannot hold '/'")),
    ("r.io/p", Monorepo, Some("Backend"), "v1", Ok("r.io/p:Backend-v1|v1")),
    ("r.io/p", Multirepo, Some("Backend"), "v1", Err("cannot publish image 'Backend' with tag 'v1': reference 'r.io/p/Backend:v1' is invalid: the image name is part of the repository in multirepo mode, and path component 'Backend' is not valid")),
    ("r.io/p", Multirepo, Some(""), "v1", Err("cannot publish image '' with tag 'v1': reference 'r.io/p/:v1' is invalid: the image name is part of the repository in multirepo mode, and it has an empty path component")),
    ("account", Multirepo, Some("a/b"), "v1", Err("cannot publish image 'a/b' with tag 'v1': reference 'account/a/b:v1' is invalid: registry docker.io does not support nested repositories")),
    ("r.io/p", Multirepo, Some("api"), "feature/x", Err("cannot publish image 'api' with tag 'feature/x': reference 'r.io/p:feature/x' is invalid: the tag must match")),
    ("r.io/p", Multirepo, Some("api"), "", Err("cannot publish image 'api' with tag '': reference 'r.io/p:' is invalid: the tag must match")),
    ("account/app", Multirepo, Some("api"), "v1", Err("registry docker.io does not support nested repositories")),
];

#[test]
fn references() {
    for (repo, mode, image, tag, want) in REF_CASES {
        let got = image_reference(repo, *mode, *image, tag);
        let show = |r: &ImageRef| format!("{r}|{}", r.image_tag);
        assert_result(&format!("{repo} {mode} {image:?} {tag}"), got, show, *want);
    }
}

#[test]
fn long_references() {
    let (name, tag, repo) = ("n".repeat(100), "t".repeat(28), "p".repeat(250));
    let repo = format!("r.io/{repo}");
    let cases: [(&str, RepoMode, &str, Want); 3] = [
        ("r.io/p", Monorepo, &tag[..27], Ok("128")),
        (
            "r.io/p",
            Monorepo,
            &tag,
            Err("here 129 chars, over 128: use a shorter tag"),
        ),
        (
            &repo,
            Multirepo,
            "v1",
            Err("the repository is 356 chars, over 255"),
        ),
    ];
    for (repo, mode, tag, want) in cases {
        match (image_reference(repo, mode, Some(&name), tag), want) {
            (Ok(r), Ok(len)) => assert_eq!(r.tag.len().to_string(), len),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{e}"),
            (got, want) => panic!("{repo}: got {got:?}, want {want:?}"),
        }
    }
}

type NamesCase = (&'static [Option<&'static str>], Want);
const NAME_CASES: &[NamesCase] = &[
    (&[], Ok("ok")),
    (&[None], Ok("ok")),
    (&[Some("a"), Some("b")], Ok("ok")),
    (&[None, Some("a"), Some("b")], Err("a nameless image (image: ~) cannot be used together with named images (a, b): name it, or keep it as the only image")),
    (&[Some("a"), Some("a")], Err("image 'a' is defined more than once: image names must be unique")),
    (&[None, None], Err("the nameless image is defined more than once: image names must be unique")),
];

#[test]
fn names() {
    for (names, want) in NAME_CASES {
        let names: Vec<Option<String>> = names.iter().map(|n| n.map(String::from)).collect();
        let got = check_names(&names).map(|()| "ok");
        assert_result(&format!("{names:?}"), got, |s| s.to_string(), *want);
    }
}
