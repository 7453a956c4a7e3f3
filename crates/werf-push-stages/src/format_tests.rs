//! Unit tests of `format.rs`: the stages storage's rules, table-driven.
use super::*;

#[test]
fn image_name_spellings_table() {
    // (argument, Ok(annotation, display) or Err(start of message))
    type Want = Result<(&'static str, &'static str), &'static str>;
    let cases: [(&str, Want); 5] = [
        ("~", Ok(("", "~"))),
        ("backend", Ok(("backend", "backend"))),
        ("group/app", Ok(("group/app", "group/app"))),
        ("", Err("the image name is empty")),
        ("Bad", Err("image name 'Bad' is not valid")),
    ];
    for (arg, want) in cases {
        match (ImageName::from_arg(arg), want) {
            (Ok(n), Ok((ann, shown))) => {
                assert_eq!(n.annotation(), ann, "{arg}");
                assert_eq!(n.to_string(), shown, "{arg}");
                assert_eq!(ImageName::from_annotation(ann), Ok(n.clone()), "{arg}");
            }
            (Err(e), Err(w)) => assert!(e.starts_with(w), "{arg}: {e}"),
            (got, want) => panic!("{arg}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(ImageName::nameless().describe(), "the nameless image");
    assert_eq!(ImageName::named("a").unwrap().describe(), "image 'a'");
}

#[test]
fn stage_and_signature_rules_table() {
    let stages = [
        ("from", true),
        ("dockerfile", true),
        ("nope", false),
        ("", false),
    ];
    for (s, ok) in stages {
        assert_eq!(check_stage_name(s).is_ok(), ok, "{s}");
    }
    let long = "a".repeat(129);
    let sigs = [
        ("0123abcdef", true),
        ("ABCDEF", true),
        ("", false),
        ("xyz", false),
        ("ab cd", false),
        (long.as_str(), false),
    ];
    for (s, ok) in sigs {
        assert_eq!(check_signature(s).is_ok(), ok, "{s}");
    }
}

#[test]
fn dockerfile_clash_table() {
    // (stages the image has, new stage, the stage that clashes)
    let cases: [(&[&str], &str, Option<&str>); 5] = [
        (&[], "dockerfile", None),
        (&["from", "install"], "setup", None),
        (&["from"], "dockerfile", Some("from")),
        (&["dockerfile"], "from", Some("dockerfile")),
        (&["dockerfile"], "dockerfile", None),
    ];
    for (have, new, want) in cases {
        assert_eq!(
            dockerfile_clash(have.iter().copied(), new),
            want,
            "{have:?} + {new}"
        );
    }
}

#[test]
fn stage_tag_table() {
    for (sig, want) in [("abc", "image-stage-abc"), ("", "image-stage-")] {
        assert_eq!(stage_tag(sig), want);
    }
    assert_eq!(stage_position("from"), Some(0));
    assert_eq!(stage_position("dockerfile"), Some(13));
    assert_eq!(stage_position("x"), None);
}

#[test]
fn labels_set_and_read() {
    let cases = [
        (r#"{}"#, r#"{"config":{"Labels":{"k":"v"}}}"#),
        (r#"{"config":null}"#, r#"{"config":{"Labels":{"k":"v"}}}"#),
        (
            r#"{"config":{"Env":["A=1"],"Labels":{"x":"y"}}}"#,
            r#"{"config":{"Env":["A=1"],"Labels":{"k":"v","x":"y"}}}"#,
        ),
    ];
    for (input, want) in cases {
        let mut v: Value = serde_json::from_str(input).unwrap();
        set_labels(&mut v, &[("k", "v")]).unwrap();
        assert_eq!(v.to_string(), want, "{input}");
        assert_eq!(label(&v, "k"), Some("v"));
    }
    assert!(set_labels(&mut Value::from(1), &[]).is_err());
}
