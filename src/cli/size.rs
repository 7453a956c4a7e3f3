//! Byte sizes on the command line: `1048576`, `512KiB`, `16MiB`, `1GiB`, `4M`, `10KB`;
//! and sizes as people read them (`1.5 MiB`). Knows no command.

pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (examples: 4194304, 512KiB, 16MiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{s}' (use B, KiB, MiB or GiB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// A byte count as people read it: `512 B`, `1.5 MiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_table() {
        let cases: [(&str, Option<u64>); 9] = [
            ("1048576", Some(1 << 20)),
            ("512KiB", Some(512 << 10)),
            ("16MiB", Some(16 << 20)),
            ("4M", Some(4 << 20)),
            ("1gib", Some(1 << 30)),
            ("0", Some(0)),
            ("MiB", None),
            ("5 parsecs", None),
            ("99999999999999999999GiB", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_size(input).ok(), want, "{input}");
        }
    }
}
