//! werf's `slugify -f docker-tag` (what `werf ci-env` applies to branch names), byte for
//! byte: a valid docker tag is kept, anything else is transliterated through werf's
//! character table, cut, and suffixed with werf's legacy murmur3 hash of the original.
//!
//! Knows nothing of registries, image naming, tag strategies or werf.yaml.

/// Longest docker tag.
pub(crate) const DOCKER_TAG_MAX_LEN: usize = 128;

/// Whether `s` is a docker tag: `^[A-Za-z0-9_][A-Za-z0-9_.-]*$` and at most 128 bytes.
/// The empty string is not.
pub(crate) fn is_valid_docker_tag(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    match b.split_first() {
        Some((first, rest)) => {
            b.len() <= DOCKER_TAG_MAX_LEN
                && word(first)
                && rest.iter().all(|c| word(c) || *c == b'.' || *c == b'-')
        }
        None => false,
    }
}

/// werf's `slugify -f docker-tag`. An empty string is returned as it is (as werf does).
pub fn slugify_docker_tag(s: &str) -> String {
    if s.is_empty() || is_valid_docker_tag(s) {
        return s.to_string();
    }
    hashed_slug(s, DOCKER_TAG_MAX_LEN)
}

/// werf's `slug(data, maxSize)`: the slug cut to leave room for `-` and the hash.
fn hashed_slug(s: &str, max_len: usize) -> String {
    let hash = format!("{:x}", murmur3_x86_32(s.as_bytes(), 0));
    let slug = slugify(s);
    if slug.is_empty() {
        return hash;
    }
    // The slug is ASCII, so bytes are chars. A cut ending in '-' stays (werf's `--hash`).
    let keep = slug.len().min(max_len.saturating_sub(hash.len() + 1));
    format!("{}-{}", &slug[..keep], hash)
}

/// Transliterate through the table, with no leading, doubled or trailing `-`.
fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let Some(m) = map_char(c) else { continue };
        if m.is_empty() || (m == "-" && (out.is_empty() || out.ends_with('-'))) {
            continue;
        }
        out.push_str(m);
    }
    if out.ends_with('-') {
        out.pop();
    }
    out
}

const LETTERS: [&str; 26] = [
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s",
    "t", "u", "v", "w", "x", "y", "z",
];
const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const TEN_TO_TWENTY: [&str; 11] = [
    "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
];

/// werf's table (pkg/slug/map.go), grouped by output. Characters absent are dropped.
/// Ranges of letters and digits are handled in `map_char`.
const TABLE: &[(&str, &str)] = &[
    ("&(){}-_[],.;:=+<>~/ ＿～", "-"),
    ("²", "2"),
    ("³", "3"),
    (
        "ÀÁÂÃÄÅàáâãäåĀāĂăĄąǍǎǞǟǠǡǺǻȀȁȂȃȦȧȺɑᴀḀḁẚẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặₐ\u{212B}",
        "a",
    ),
    ("ÆæǢǣǼǽᴁᴂ", "ae"),
    ("Ꜳꜳ", "aa"),
    ("Ꜵꜵ", "ao"),
    ("Ꜷꜷ", "aj"),
    ("Ꜹꜹ", "av"),
    ("ꜺꜻꜼꜽ", "af"),
    ("ßƀƁƄƅɃᴃḂḃḄḅḆḇℬ", "b"),
    ("ÇçĆćĈĉĊċČčƇƈȻȼᴄḈḉℂ℃℄", "c"),
    ("℀", "ac"),
    ("℁", "as"),
    ("℅", "co"),
    ("℆", "cu"),
    ("ÐĎďĐđƉƊɗᴅᴆḊḋḌḍḎḏḐḑḒḓ", "d"),
    ("Ƌƌ", "nd"),
    ("ǄǅǆǱǲǳ", "dz"),
    ("ȸ", "db"),
    (
        "ÈÉÊËèéêëĒēĔĕĖėĘęĚěƐǝȄȅȆȇȨȩɆɇᴇḔḕḖḗḘḙḚḛḜḝẸẹẺẻẼẽẾếỀềỂểỄễỆệₑ℮ℯ",
        "e",
    ),
    ("ƑƒꜰḞḟ℉", "f"),
    ("ĜĝĞğĠġĢģƓǤǥǦǧǴǵɠɡɢḠḡℊ", "g"),
    ("ĤĥĦħȞȟḢḣḤḥḦḧḨḩḪḫẖℋℌℍℎℏ", "h"),
    ("ÌÍÎÏìíîïĨĩĪīĬĭĮįƖƗǏǐȈȉȊȋḬḭḮḯ", "i"),
    ("Ĳĳ", "ij"),
    ("ĴĵǰȷɈɉᴊ", "j"),
    ("ĶķĸƘƙǨǩᴋḰḱḲḳḴḵ\u{212A}", "k"),
    ("İıĹĺĻļĽľĿŀŁłȽȾᴌḶḷḸḹḺḻḼḽ", "l"),
    ("Ǉǈǉ", "lj"),
    ("ɱᴍḾḿṀṁṂṃ", "m"),
    ("ÑñŃńŅņŇňŉŊŋƝƞǸǹȠᴎṄṅṆṇṈṉṊṋℕ", "n"),
    ("Ǌǋǌ", "nj"),
    (
        "ÒÓÔÕÖØðòóôõöøŌōŎŏŐőƟƠơǑǒǪǫǬǭǾǿȌȍȎȏȪȫȬȭȮȯȰȱɵᴏṌṍṎṏṐṑṒṓỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợₒ",
        "o",
    ),
    ("Œœɶ", "oe"),
    ("ƤƥṔṕṖṗ℗ℙ", "p"),
    ("℞", "px"),
    ("ƼƽɊɋℚ", "q"),
    ("ȹ", "qp"),
    ("ŔŕŖŗŘřƦȐȑȒȓɌɍṘṙṚṛṜṝṞṟℛℜℝ℟", "r"),
    ("ŚśŜŝŞşŠšſƧƨƩȘșȿꜱṠṡṢṣṤṥṦṧṨṩ", "s"),
    ("℠", "sm"),
    ("ŢţŤťŦŧƪƫƬƭƮȚțṪṫṬṭṮṯṰṱẗ", "t"),
    ("℡", "tel"),
    ("Þþ", "th"),
    ("™", "tm"),
    (
        "µÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲųƯưƱƲǓǔǕǖǗǘǙǚǛǜȔȕȖȗɄṲṳṴṵṶṷṸṹṺṻỤụỦủỨứỪừỬửỮữỰự",
        "u",
    ),
    ("ɅṼṽṾṿ", "v"),
    ("ŴŵƜɯẀẁẂẃẄẅẆẇẈẉẘ", "w"),
    ("×ẊẋẌẍₓ", "x"),
    ("ÝýÿŶŷŸȲȳɎɏẎẏẙỲỳỴỵỶỷỸỹ", "y"),
    ("ŹźŻżŽžƵƶƷȤȥɀẐẑẒẓẔẕℤ", "z"),
    // Cyrillic, as werf transliterates it (е -> ye, й -> j, х -> h, ц -> c).
    ("Аа", "a"),
    ("Бб", "b"),
    ("Вв", "v"),
    ("Гг", "g"),
    ("Дд", "d"),
    ("Ее", "ye"),
    ("Ёё", "yo"),
    ("Жж", "zh"),
    ("Зз", "z"),
    ("Ии", "i"),
    ("Йй", "j"),
    ("Кк", "k"),
    ("Лл", "l"),
    ("Мм", "m"),
    ("Нн", "n"),
    ("Оо", "o"),
    ("Пп", "p"),
    ("Рр", "r"),
    ("Сс", "s"),
    ("Тт", "t"),
    ("Уу", "u"),
    ("Фф", "f"),
    ("Хх", "h"),
    ("Цц", "c"),
    ("Чч", "ch"),
    ("Шш", "sh"),
    ("Щщ", "shch"),
    ("ЪъЬь", ""),
    ("Ыы", "y"),
    ("Ээ", "e"),
    ("Юю", "yu"),
    ("Яя", "ya"),
];

fn map_char(c: char) -> Option<&'static str> {
    let u = c as u32;
    let letter = |base: u32| LETTERS.get((u - base) as usize).copied();
    match c {
        '0'..='9' => DIGITS.get((u - '0' as u32) as usize).copied(),
        'a'..='z' => letter('a' as u32),
        'A'..='Z' => letter('A' as u32),
        '⒐' => Some("9"),
        '⒑'..='⒛' => TEN_TO_TWENTY.get((u - '⒑' as u32) as usize).copied(),
        '⒜'..='⒵' => letter('⒜' as u32),
        'Ⓐ'..='Ⓩ' => letter('Ⓐ' as u32),
        'ⓐ'..='ⓩ' => letter('ⓐ' as u32),
        '⓪' => Some("0"),
        'Ａ'..='Ｚ' => letter('Ａ' as u32),
        'ａ'..='ｚ' => letter('ａ' as u32),
        _ => TABLE
            .iter()
            .find(|(chars, _)| chars.contains(c))
            .map(|(_, out)| *out),
    }
}

/// MurmurHash3 x86_32 (what werf's `LegacyMurmurHash` uses through spaolacci/murmur3).
fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, b) in tail.iter().enumerate() {
            k |= u32::from(*b) << (8 * i);
        }
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &[(&str, &str)] = &[
        // werf's own vectors.
        (
            "core/feature/ADD_SETTINGS",
            "core-feature-add-settings-df80fdc3",
        ),
        ("Features/MyFeature#169", "features-myfeature169-3167bc8c"),
        ("helo/ehlo", "helo-ehlo-b6f6ab1f"),
        ("da/ta", "da-ta-afa96f8"),
        ("-data", "data-a871d86e"),
        ("branch/one/!@#4.4-3", "branch-one-4-4-3-4fe08955"),
        ("16.04", "16.04"),
        ("My_branch", "My_branch"),
        ("", ""),
        // Kept as they are: valid tags.
        ("_x", "_x"),
        ("v1.2.3-rc.1", "v1.2.3-rc.1"),
        ("A", "A"),
    ];

    #[test]
    fn werf_vectors() {
        for (input, want) in CASES {
            assert_eq!(slugify_docker_tag(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn long_inputs() {
        let x129 = "x".repeat(129);
        let want = format!("{}-8cca70eb", "x".repeat(119));
        let x128 = "x".repeat(128);
        let cases: Vec<(&str, String)> = vec![(&x129, want), (&x128, x128.clone())];
        for (input, want) in &cases {
            let got = slugify_docker_tag(input);
            assert_eq!(&got, want, "len {}", input.len());
            assert!(got.len() <= DOCKER_TAG_MAX_LEN);
        }
    }

    /// Properties of slugs of invalid inputs: shape, hash suffix and idempotence.
    #[test]
    fn slug_properties() {
        let dashes = format!("{}/{}", "a".repeat(118), "b".repeat(20));
        let inputs = [
            "feature/ÄÆÞŒß",
            "Ветка/жщъь",
            "日本語",
            "🙂/🙂",
            "..",
            "a//b",
            "trailing/",
            "-",
            "x y z",
            dashes.as_str(),
        ];
        for input in inputs {
            let got = slugify_docker_tag(input);
            assert!(is_valid_docker_tag(&got), "{input:?} -> {got:?}");
            assert_eq!(slugify_docker_tag(&got), got, "idempotent for {input:?}");
            let hash = format!("{:x}", murmur3_x86_32(input.as_bytes(), 0));
            assert!(got.ends_with(&hash), "{input:?} -> {got:?} lacks {hash}");
            if slugify(input).is_empty() {
                assert_eq!(got, hash, "empty slug gives the bare hash");
            }
        }
    }

    #[test]
    fn transliteration() {
        let cases: &[(&str, &str)] = &[
            ("ÄÆÞŒß", "aaethoeb"),
            ("éøñÿ", "eony"),
            ("жщЖЩхцйе", "zhshchzhshchhcjye"),
            ("съешь", "syesh"),
            ("ёЮя", "yoyuya"),
            ("Ⓐⓩ⒜⒐⒛⓪", "aza920 0"),
            ("ＡＢｃ＿～", "abc"),
            ("\u{212A}\u{212B}™℡", "katmtel"),
            (
                "a&(b){c}[d]e,f.g;h:i=j+k<l>m~n o",
                "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o",
            ),
            ("!\"#$%'*?@\\^`|", ""),
            ("-a--b-", "a-b"),
            ("a-ъ", "a"),
        ];
        for (input, want) in cases {
            let want = want.replace(' ', "");
            assert_eq!(slugify(input), want, "input {input:?}");
        }
    }

    #[test]
    fn quirk_cut_ending_in_dash() {
        // 118 'a', then '/': the 119-char cut ends in '-', and werf yields `--hash`.
        let cases = [(
            format!("{}/{}", "a".repeat(118), "b".repeat(20)),
            "6116317c",
        )];
        for (input, hash) in cases {
            let want = format!("{}--{hash}", "a".repeat(118));
            assert_eq!(slugify_docker_tag(&input), want);
        }
        // werf's own legacy vectors (its generic slug, limited to 48 chars).
        const LEGACY: &[(&str, &str)] = &[
            (
                "postgres-feature-31981-change-delivery-date-del-result",
                "postgres-feature-31981-change-delivery--852739dc",
            ),
            (
                "php_fpm_exporter-monitoring-dev-encrypt-1",
                "php-fpm-exporter-monitoring-dev-encrypt--83286e5",
            ),
        ];
        for (input, want) in LEGACY {
            assert_eq!(hashed_slug(input, 48), *want, "input {input:?}");
        }
    }

    #[test]
    fn table_outputs_are_ascii_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (chars, out) in TABLE {
            assert!(out.is_ascii(), "{chars} -> {out}");
            for c in chars.chars() {
                assert!(seen.insert(c), "{c:?} listed twice");
            }
        }
    }

    #[test]
    fn docker_tag_validity() {
        let long = "a".repeat(129);
        let cases: &[(&str, bool)] = &[
            ("a", true),
            ("_", true),
            ("9.-_", true),
            ("", false),
            (".a", false),
            ("-a", false),
            ("a/b", false),
            ("é", false),
            ("a b", false),
            (long.as_str(), false),
            (&long[..128], true),
        ];
        for (tag, want) in cases {
            assert_eq!(is_valid_docker_tag(tag), *want, "tag {tag:?}");
        }
    }

    #[test]
    fn murmur3_known_values() {
        // Reference values of MurmurHash3_x86_32 with seed 0.
        let cases: &[(&[u8], u32)] = &[
            (b"", 0),
            (b"a", 0x3c25_69b2),
            (b"abc", 0xb3dd_93fa),
            (b"abcd", 0x43ed_676a),
            (b"hello", 0x248b_fa47),
            (b"The quick brown fox jumps over the lazy dog", 0x2e4f_f723),
        ];
        for (data, want) in cases {
            assert_eq!(murmur3_x86_32(data, 0), *want, "data {data:?}");
        }
    }
}
