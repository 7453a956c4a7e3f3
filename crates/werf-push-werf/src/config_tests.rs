//! Table tests of `werf::config`.
use super::*;
use crate::error::assert_result;

const META: &str = "project: demo\nconfigVersion: 1\n";

/// (name, text, Ok("project|img,img") with ~ for nameless, or Err(message after the
/// "werf.yaml at /w/werf.yaml" prefix))
type Want = Result<&'static str, &'static str>;
const CASES: &[(&str, &str, Want)] = &[
    ("meta only", META, Ok("demo|")),
    ("named", "project: demo\nconfigVersion: 1\n---\nimage: backend\nfrom: alpine\n---\nimage: frontend\n", Ok("demo|backend,frontend")),
    ("nameless", "project: demo\nconfigVersion: 1\n---\nimage: ~\n", Ok("demo|~")),
    ("nameless by null", "project: demo\nconfigVersion: 1\n---\nimage:\n", Ok("demo|~")),
    ("list", "project: demo\nconfigVersion: 1\n---\nimage: [a, b]\n---\nimage:\n  - c\n", Ok("demo|a,b,c")),
    ("artifacts skipped", "project: demo\nconfigVersion: 1\n---\nartifact: lib\n---\nimage: app\n", Ok("demo|app")),
    ("leading separator, comments, CRLF", "# header\r\n---\r\nproject: p-1\r\nconfigVersion: 1\r\n---\r\n# nothing\r\n---\r\nimage: x\r\n", Ok("p-1|x")),
    ("meta not first", "image: a\n---\nproject: demo\nconfigVersion: 1\n", Ok("demo|a")),
    ("bom", "\u{feff}project: demo\nconfigVersion: 1\n", Ok("demo|")),
    ("--- with text is not a separator", "project: demo\nconfigVersion: 1\n--- # images\nimage: a\n", Err(", document 1 (line 3): invalid YAML: this line starts another document: a document separator must be a line that is exactly '---' (no spaces, comments or text after it)")),
    ("template", "project: demo\nconfigVersion: 1\n---\nimage: {{ .Env }}\n", Err(" is a Go template ('{{' on line 4): render it into another directory and keep the stages storage where it is: `werf config render > DIR/werf.yaml`, then `werf-push publish --dir DIR --stages-dir /w/.werf/stages`")),
    ("template in a comment", "# {{ $x := 1 }}\nproject: demo\n", Err(" is a Go template ('{{' on line 1)")),
    ("empty file", "", Err(": no meta document: werf.yaml needs a document with 'project: NAME' and 'configVersion: 1'")),
    ("no meta", "image: a\n", Err(": no meta document")),
    ("two metas", "project: a\nconfigVersion: 1\n---\nproject: b\nconfigVersion: 1\n", Err(", document 2 (line 4): a second meta document (project:): the first is document 1, keep one")),
    ("bad project", "project: My_Project\nconfigVersion: 1\n", Err(", document 1 (line 1): project name 'My_Project' should comply with regex '^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$' and be maximum 50 chars")),
    ("project dash end", "project: demo-\nconfigVersion: 1\n", Err(", document 1 (line 1): project name 'demo-' should comply")),
    ("project too long", "project: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nconfigVersion: 1\n", Err(", document 1 (line 1): project name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' should comply")),
    ("project number", "project: 12\nconfigVersion: 1\n", Err(", document 1 (line 1): project must be a name, got a number")),
    ("no configVersion", "project: demo\n", Err(", document 1 (line 1): the meta document needs 'configVersion: 1'")),
    ("configVersion 2", "project: demo\nconfigVersion: 2\n", Err(", document 1 (line 1): configVersion must be 1, got 2")),
    ("configVersion string", "project: demo\nconfigVersion: \"1\"\n", Err(", document 1 (line 1): configVersion must be 1, got '1'")),
    ("nameless with named", "project: demo\nconfigVersion: 1\n---\nimage: a\n---\nimage: ~\n---\nimage: b\n", Err(", document 3 (line 6): a nameless image (image: ~) cannot be used together with named images (a, b): name it, or keep it as the only image")),
    ("duplicate", "project: demo\nconfigVersion: 1\n---\nimage: a\n---\nimage: [b, a]\n", Err(", document 3 (line 6): image 'a' is already defined in document 2: names must be unique")),
    ("duplicate in a list", "project: demo\nconfigVersion: 1\n---\nimage: [b, b]\n", Err(", document 2 (line 4): image 'b' is already defined in document 2")),
    ("two nameless", "project: demo\nconfigVersion: 1\n---\nimage: ~\n---\nimage: ~\n", Err(", document 3 (line 6): the nameless image (image: ~) is already defined in document 2")),
    ("empty name", "project: demo\nconfigVersion: 1\n---\nimage: \"\"\n", Err(", document 2 (line 4): image name is empty: give a name, or ~ for the nameless image")),
    ("numeric name", "project: demo\nconfigVersion: 1\n---\nimage: 123\n", Err(", document 2 (line 4): image name must be a string, got a number (quote it: image: \"NAME\")")),
    ("null in list", "project: demo\nconfigVersion: 1\n---\nimage: [a, ~]\n", Err(", document 2 (line 4): image name must be a string, got null")),
    ("empty list", "project: demo\nconfigVersion: 1\n---\nimage: []\n", Err(", document 2 (line 4): image: [] lists no names: give at least one")),
    ("map name", "project: demo\nconfigVersion: 1\n---\nimage: {a: b}\n", Err(", document 2 (line 4): image name must be a string, got a mapping")),
    ("image and artifact", "project: demo\nconfigVersion: 1\n---\nimage: a\nartifact: b\n", Err(", document 2 (line 4): a document must hold just one of project:, image: or artifact: (split it with a '---' line)")),
    ("unknown document", "project: demo\nconfigVersion: 1\n---\nfrom: alpine\n", Err(", document 2 (line 4): a document must have project:, image: or artifact:")),
    ("scalar document", "project: demo\nconfigVersion: 1\n---\njust text\n", Err(", document 2 (line 4): a document must be a mapping (project:, image: or artifact: ...), got a string")),
    ("bad yaml", "project: demo\nconfigVersion: 1\n---\nimage: a\n  shell: [\n", Err(", document 2 (line 5): invalid YAML: mapping values are not allowed in this context")),
    ("duplicate key", "project: demo\nconfigVersion: 1\n---\nimage: a\nimage: b\n", Err(", document 2 (line 4): invalid YAML: duplicate entry with key \"image\"")),
];

#[test]
fn parse() {
    let path = Path::new("/w/werf.yaml");
    let show = |cfg: &WerfConfig| {
        let images: Vec<&str> = cfg
            .images
            .iter()
            .map(|i| i.as_deref().unwrap_or("~"))
            .collect();
        format!("{}|{}", cfg.project, images.join(","))
    };
    for (name, text, want) in CASES {
        let want_err = want.err().map(|w| format!("werf.yaml at /w/werf.yaml{w}"));
        let want = want_err.as_deref().map_or(*want, Err);
        assert_result(name, parse_werf_yaml(text, path), show, want);
    }
}

type DirCase = (&'static [(&'static str, &'static [u8])], Want);
/// (files, Ok(project) or Ok("-") for no config, or Err(message start); DIR is the dir)
const DIR_CASES: &[DirCase] = &[
    (&[], Ok("-")),
    (
        &[("werf.yml", b"project: yml\nconfigVersion: 1\n")],
        Ok("yml"),
    ),
    (
        &[
            ("werf.yaml", b"project: a\nconfigVersion: 1\n"),
            ("werf.yml", b"x"),
        ],
        Ok("a"),
    ),
    (
        &[("werf.yaml", b"project: a\n# \xff\n")],
        Err("werf.yaml at DIR/werf.yaml (line 2): is not UTF-8 text"),
    ),
    (&[("werf.yaml/x", b"")], Err("cannot read DIR/werf.yaml: ")),
    (
        &[("werf.yml", b"project: a\n")],
        Err("werf.yaml at DIR/werf.yml, document 1 (line 1): the meta"),
    ),
];

#[test]
fn read_from_dir() {
    for (files, want) in DIR_CASES {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, bytes) in *files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, bytes).expect("write");
        }
        let d = dir.path().display().to_string();
        let want_err = want.err().map(|w| w.replace("DIR", &d));
        let want = want_err.as_deref().map_or(*want, Err);
        let got = read_werf_yaml(dir.path());
        assert_result(
            &format!("{files:?}"),
            got,
            |c| c.as_ref().map_or("-".into(), |c| c.project.clone()),
            want,
        );
    }
}
