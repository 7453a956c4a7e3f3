//! `WWW-Authenticate` parsing (RFC 7235): one or more challenges, each a scheme and
//! `name=value` parameters, values as tokens or quoted strings (which may hold commas, as
//! in `scope="repository:a:pull,push"`). Pure; knows nothing of HTTP clients.

/// One challenge: `Bearer realm="...",service="...",scope="..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lower-cased: `basic`, `bearer`...
    pub scheme: String,
    /// Parameter names lower-cased, values unquoted, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of the parameter `name` (lower case: `realm`, `service`, `scope`,
    /// `error`), if the challenge has it.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the scheme is `Bearer` (tokens from a realm).
    pub fn is_bearer(&self) -> bool {
        self.scheme == "bearer"
    }

    /// Whether the scheme is `Basic` (the credentials with every request).
    pub fn is_basic(&self) -> bool {
        self.scheme == "basic"
    }
}

/// Every challenge in the header values, in order; malformed parts are skipped.
pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for v in values {
        parse_one(v, &mut out);
    }
    out
}

fn parse_one(s: &str, out: &mut Vec<Challenge>) {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let is_sep = |c: char| c == ',' || c == '=' || c.is_whitespace() || c == '"';
    while i < chars.len() {
        while i < chars.len() && (chars[i] == ',' || chars[i].is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && !is_sep(chars[i]) {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        if token.is_empty() {
            // A stray quote or '=': skip it.
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if j < chars.len() && chars[j] == '=' {
            i = j + 1;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            let mut value = String::new();
            if i < chars.len() && chars[i] == '"' {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    value.push(chars[i]);
                    i += 1;
                }
                i += 1; // closing quote
            } else {
                while i < chars.len() && chars[i] != ',' && !chars[i].is_whitespace() {
                    value.push(chars[i]);
                    i += 1;
                }
            }
            if let Some(c) = out.last_mut() {
                c.params.push((token.to_ascii_lowercase(), value));
            }
        } else {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn challenges_table() {
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            (
                r#"Basic realm="werf-push-test""#,
                vec![c("basic", &[("realm", "werf-push-test")])],
            ),
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
                vec![c(
                    "bearer",
                    &[
                        ("realm", "https://auth.docker.io/token"),
                        ("service", "registry.docker.io"),
                        ("scope", "repository:library/nginx:pull,push"),
                    ],
                )],
            ),
            (
                r#"Bearer realm="http://127.0.0.1:1/t",service="reg",scope="repository:a:pull,push",error="insufficient_scope""#,
                vec![c(
                    "bearer",
                    &[
                        ("realm", "http://127.0.0.1:1/t"),
                        ("service", "reg"),
                        ("scope", "repository:a:pull,push"),
                        ("error", "insufficient_scope"),
                    ],
                )],
            ),
            (
                "BEARER Realm = https://x/t , Service=svc",
                vec![c("bearer", &[("realm", "https://x/t"), ("service", "svc")])],
            ),
            (
                r#"Bearer realm="a\"b", Basic realm="r""#,
                vec![
                    c("bearer", &[("realm", "a\"b")]),
                    c("basic", &[("realm", "r")]),
                ],
            ),
            ("Basic", vec![c("basic", &[])]),
            ("", vec![]),
            (r#"realm="orphan""#, vec![]),
            (
                r#"Bearer realm="unterminated"#,
                vec![c("bearer", &[("realm", "unterminated")])],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse([input]), want, "{input}");
        }
    }

    #[test]
    fn several_header_values() {
        let got = parse([r#"Basic realm="a""#, r#"Bearer realm="b""#]);
        assert!(got[0].is_basic() && got[1].is_bearer());
        assert_eq!(got[1].param("realm"), Some("b"));
    }
}
