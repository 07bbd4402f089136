//! The GS1 Barcode Syntax Dictionary's rules for AI values, as a Digital
//! Link parser checks them.

use super::{check_digit, is_cset82};

/// The GS1 Barcode Syntax Dictionary (release 2026-01-27,
/// `shared/standards/gs1/gs1-syntax-dictionary.txt`), reduced to what a
/// Digital Link parser needs: first AI, last AI of the range, whether the
/// AI may be a Digital Link data attribute (its `?` flag), and the value's
/// components (`N`: digits, `X`: GS1 character set 82, `Y`: set 39, `Z`:
/// base64url; `6` exactly, `..20` 1 to 20; `[…]` optional; linters after
/// commas, of which `csum`, `yymmd0` and `yymmdd` are checked here).
pub(super) const AI_TABLE: &[(&str, &str, bool, &str)] = &[
    ("00", "00", true, "N18,csum,gcppos2"),
    ("01", "01", true, "N14,csum,gcppos2"),
    ("02", "02", true, "N14,csum,gcppos2"),
    ("03", "03", false, "N14,csum,gcppos2"),
    ("10", "10", true, "X..20"),
    ("11", "11", true, "N6,yymmd0"),
    ("12", "12", true, "N6,yymmd0"),
    ("13", "13", true, "N6,yymmd0"),
    ("15", "15", true, "N6,yymmd0"),
    ("16", "16", true, "N6,yymmd0"),
    ("17", "17", true, "N6,yymmd0"),
    ("20", "20", true, "N2"),
    ("21", "21", false, "X..20"),
    ("22", "22", false, "X..20"),
    ("235", "235", false, "X..28"),
    ("240", "240", true, "X..30"),
    ("241", "241", true, "X..30"),
    ("242", "242", true, "N..6"),
    ("243", "243", true, "X..20"),
    ("250", "250", true, "X..30"),
    ("251", "251", true, "X..30"),
    ("253", "253", true, "N13,csum,gcppos1 [X..17]"),
    ("254", "254", false, "X..20"),
    ("255", "255", true, "N13,csum,gcppos1 [N..12]"),
    ("30", "30", true, "N..8"),
    ("3100", "3105", true, "N6"),
    ("3110", "3115", true, "N6"),
    ("3120", "3125", true, "N6"),
    ("3130", "3135", true, "N6"),
    ("3140", "3145", true, "N6"),
    ("3150", "3155", true, "N6"),
    ("3160", "3165", true, "N6"),
    ("3200", "3205", true, "N6"),
    ("3210", "3215", true, "N6"),
    ("3220", "3225", true, "N6"),
    ("3230", "3235", true, "N6"),
    ("3240", "3245", true, "N6"),
    ("3250", "3255", true, "N6"),
    ("3260", "3265", true, "N6"),
    ("3270", "3275", true, "N6"),
    ("3280", "3285", true, "N6"),
    ("3290", "3295", true, "N6"),
    ("3300", "3305", true, "N6"),
    ("3310", "3315", true, "N6"),
    ("3320", "3325", true, "N6"),
    ("3330", "3335", true, "N6"),
    ("3340", "3345", true, "N6"),
    ("3350", "3355", true, "N6"),
    ("3360", "3365", true, "N6"),
    ("3370", "3375", true, "N6"),
    ("3400", "3405", true, "N6"),
    ("3410", "3415", true, "N6"),
    ("3420", "3425", true, "N6"),
    ("3430", "3435", true, "N6"),
    ("3440", "3445", true, "N6"),
    ("3450", "3455", true, "N6"),
    ("3460", "3465", true, "N6"),
    ("3470", "3475", true, "N6"),
    ("3480", "3485", true, "N6"),
    ("3490", "3495", true, "N6"),
    ("3500", "3505", true, "N6"),
    ("3510", "3515", true, "N6"),
    ("3520", "3525", true, "N6"),
    ("3530", "3535", true, "N6"),
    ("3540", "3545", true, "N6"),
    ("3550", "3555", true, "N6"),
    ("3560", "3565", true, "N6"),
    ("3570", "3575", true, "N6"),
    ("3600", "3605", true, "N6"),
    ("3610", "3615", true, "N6"),
    ("3620", "3625", true, "N6"),
    ("3630", "3635", true, "N6"),
    ("3640", "3645", true, "N6"),
    ("3650", "3655", true, "N6"),
    ("3660", "3665", true, "N6"),
    ("3670", "3675", true, "N6"),
    ("3680", "3685", true, "N6"),
    ("3690", "3695", true, "N6"),
    ("37", "37", true, "N..8"),
    ("3900", "3909", true, "N..15"),
    ("3910", "3919", true, "N3,iso4217 N..15"),
    ("3920", "3929", true, "N..15"),
    ("3930", "3939", true, "N3,iso4217 N..15"),
    ("3940", "3943", true, "N4"),
    ("3950", "3955", true, "N6"),
    ("400", "400", true, "X..30"),
    ("401", "401", true, "X..30,gcppos1"),
    ("402", "402", true, "N17,csum,gcppos1"),
    ("403", "403", true, "X..30"),
    ("410", "410", true, "N13,csum,gcppos1"),
    ("411", "411", true, "N13,csum,gcppos1"),
    ("412", "412", true, "N13,csum,gcppos1"),
    ("413", "413", true, "N13,csum,gcppos1"),
    ("414", "414", true, "N13,csum,gcppos1"),
    ("415", "415", true, "N13,csum,gcppos1"),
    ("416", "416", true, "N13,csum,gcppos1"),
    ("417", "417", true, "N13,csum,gcppos1"),
    ("420", "420", true, "X..20"),
    ("421", "421", true, "N3,iso3166 X..9"),
    ("422", "422", true, "N3,iso3166"),
    (
        "423",
        "423",
        true,
        "N3,iso3166 [N3],iso3166 [N3],iso3166 [N3],iso3166 [N3],iso3166",
    ),
    ("424", "424", true, "N3,iso3166"),
    (
        "425",
        "425",
        true,
        "N3,iso3166 [N3],iso3166 [N3],iso3166 [N3],iso3166 [N3],iso3166",
    ),
    ("426", "426", true, "N3,iso3166"),
    ("427", "427", true, "X..3"),
    ("4300", "4300", true, "X..35,pcenc"),
    ("4301", "4301", true, "X..35,pcenc"),
    ("4302", "4302", true, "X..70,pcenc"),
    ("4303", "4303", true, "X..70,pcenc"),
    ("4304", "4304", true, "X..70,pcenc"),
    ("4305", "4305", true, "X..70,pcenc"),
    ("4306", "4306", true, "X..70,pcenc"),
    ("4307", "4307", true, "X2,iso3166alpha2"),
    ("4308", "4308", true, "X..30"),
    ("4309", "4309", true, "N10,latitude N10,longitude"),
    ("4310", "4310", true, "X..35,pcenc"),
    ("4311", "4311", true, "X..35,pcenc"),
    ("4312", "4312", true, "X..70,pcenc"),
    ("4313", "4313", true, "X..70,pcenc"),
    ("4314", "4314", true, "X..70,pcenc"),
    ("4315", "4315", true, "X..70,pcenc"),
    ("4316", "4316", true, "X..70,pcenc"),
    ("4317", "4317", true, "X2,iso3166alpha2"),
    ("4318", "4318", true, "X..20"),
    ("4319", "4319", true, "X..30"),
    ("4320", "4320", true, "X..35,pcenc"),
    ("4321", "4321", true, "N1,yesno"),
    ("4322", "4322", true, "N1,yesno"),
    ("4323", "4323", true, "N1,yesno"),
    ("4324", "4324", true, "N6,yymmd0 N4,hhmi"),
    ("4325", "4325", true, "N6,yymmd0 N4,hhmi"),
    ("4326", "4326", true, "N6,yymmdd"),
    ("4330", "4330", true, "N6 [X1],hyphen"),
    ("4331", "4331", true, "N6 [X1],hyphen"),
    ("4332", "4332", true, "N6 [X1],hyphen"),
    ("4333", "4333", true, "N6 [X1],hyphen"),
    ("7001", "7001", true, "N13"),
    ("7002", "7002", true, "X..30"),
    ("7003", "7003", true, "N6,yymmdd N4,hhmi"),
    ("7004", "7004", true, "N..4"),
    ("7005", "7005", true, "X..12"),
    ("7006", "7006", true, "N6,yymmdd"),
    ("7007", "7007", true, "N6,yymmdd [N6],yymmdd"),
    ("7008", "7008", true, "X..3"),
    ("7009", "7009", true, "X..10"),
    ("7010", "7010", true, "X..2"),
    ("7011", "7011", true, "N6,yymmdd [N4],hhmi"),
    ("7020", "7020", true, "X..20"),
    ("7021", "7021", true, "X..20"),
    ("7022", "7022", true, "X..20"),
    ("7023", "7023", true, "X..30,gcppos1"),
    ("7030", "7030", true, "N3,iso3166999 X..27"),
    ("7031", "7031", true, "N3,iso3166999 X..27"),
    ("7032", "7032", true, "N3,iso3166999 X..27"),
    ("7033", "7033", true, "N3,iso3166999 X..27"),
    ("7034", "7034", true, "N3,iso3166999 X..27"),
    ("7035", "7035", true, "N3,iso3166999 X..27"),
    ("7036", "7036", true, "N3,iso3166999 X..27"),
    ("7037", "7037", true, "N3,iso3166999 X..27"),
    ("7038", "7038", true, "N3,iso3166999 X..27"),
    ("7039", "7039", true, "N3,iso3166999 X..27"),
    ("7040", "7040", false, "N1 X1 X1 X1,importeridx"),
    ("7041", "7041", false, "X..4,packagetype"),
    ("710", "710", true, "X..20"),
    ("711", "711", true, "X..20"),
    ("712", "712", true, "X..20"),
    ("713", "713", true, "X..20"),
    ("714", "714", true, "X..20"),
    ("715", "715", true, "X..20"),
    ("716", "716", true, "X..20"),
    ("717", "717", true, "X..20"),
    ("7230", "7230", true, "X2 X..28"),
    ("7231", "7231", true, "X2 X..28"),
    ("7232", "7232", true, "X2 X..28"),
    ("7233", "7233", true, "X2 X..28"),
    ("7234", "7234", true, "X2 X..28"),
    ("7235", "7235", true, "X2 X..28"),
    ("7236", "7236", true, "X2 X..28"),
    ("7237", "7237", true, "X2 X..28"),
    ("7238", "7238", true, "X2 X..28"),
    ("7239", "7239", true, "X2 X..28"),
    ("7240", "7240", true, "X..20"),
    ("7241", "7241", true, "N2,mediatype"),
    ("7242", "7242", true, "X..25"),
    ("7250", "7250", true, "N8,yyyymmdd"),
    ("7251", "7251", true, "N8,yyyymmdd N4,hhmi"),
    ("7252", "7252", true, "N1,iso5218"),
    ("7253", "7253", true, "X..40,pcenc"),
    ("7254", "7254", true, "X..40,pcenc"),
    ("7255", "7255", true, "X..10"),
    ("7256", "7256", true, "X..90,pcenc"),
    ("7257", "7257", true, "X..70,pcenc"),
    ("7258", "7258", true, "X3,posinseqslash"),
    ("7259", "7259", true, "X..40,pcenc"),
    (
        "8001",
        "8001",
        true,
        "N4,nonzero N5,nonzero N3,nonzero N1,winding N1",
    ),
    ("8002", "8002", true, "X..20"),
    ("8003", "8003", true, "N1,zero N13,csum,gcppos1 [X..16]"),
    ("8004", "8004", true, "X..30,gcppos1"),
    ("8005", "8005", true, "N6"),
    ("8006", "8006", true, "N14,csum,gcppos2 N4,pieceoftotal"),
    ("8007", "8007", true, "X..34,iban"),
    ("8008", "8008", true, "N6,yymmdd N2,hh [N2],mi [N2],ss"),
    ("8009", "8009", true, "X..50"),
    ("8010", "8010", true, "Y..30,gcppos1"),
    ("8011", "8011", false, "N..12,nozeroprefix"),
    ("8012", "8012", true, "X..20"),
    ("8013", "8013", true, "X..25,csumalpha,gcppos1"),
    ("8014", "8014", false, "X..25,csumalpha,gcppos1,hasnondigit"),
    ("8017", "8017", true, "N18,csum,gcppos1"),
    ("8018", "8018", true, "N18,csum,gcppos1"),
    ("8019", "8019", false, "N..10"),
    ("8020", "8020", false, "X..25"),
    ("8026", "8026", true, "N14,csum,gcppos2 N4,pieceoftotal"),
    ("8030", "8030", true, "Z..90"),
    ("8040", "8040", false, "N15"),
    ("8041", "8041", false, "N15"),
    ("8042", "8042", false, "N32"),
    ("8043", "8043", false, "N18 [N..2]"),
    ("8110", "8110", true, "X..70,couponcode"),
    ("8111", "8111", true, "N4"),
    ("8112", "8112", true, "X..70,couponposoffer"),
    ("8200", "8200", false, "X..70"),
    ("90", "90", true, "X..30"),
    ("91", "99", true, "X..90"),
];

/// The dictionary row of `ai`: whether it may be a data attribute, and its
/// value's format. `None` for a string that is no AI.
pub(super) fn ai_format(ai: &str) -> Option<(bool, &'static str)> {
    AI_TABLE
        .iter()
        .find(|(first, last, ..)| first.len() == ai.len() && *first <= ai && ai <= *last)
        .map(|&(_, _, attribute, spec)| (attribute, spec))
}

/// Why a character-set letter of the dictionary refuses `part`, if it does.
pub(super) fn cset_problem(cset: &str, part: &str) -> Option<&'static str> {
    let (ok, why): (fn(char) -> bool, _) = match cset {
        "N" => (|c| c.is_ascii_digit(), "must contain only digits"),
        "Y" => (
            |c| c.is_ascii_uppercase() || c.is_ascii_digit() || "#-/".contains(c),
            "contains a character outside GS1 character set 39",
        ),
        "Z" => (
            |c| c.is_ascii_alphanumeric() || "-_=".contains(c),
            "contains a character outside the base64url character set",
        ),
        _ => (
            is_cset82,
            "contains a character outside GS1 character set 82",
        ),
    };
    (!part.chars().all(ok)).then_some(why)
}

/// Whether `d` (6 digits) is a date YYMMDD; `day_zero` allows day 00
/// ("end of month", linter `yymmd0`).
pub(super) fn date_ok(d: &[u8], day_zero: bool) -> bool {
    let n = |i: usize| u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0');
    d.len() == 6 && (1..=12).contains(&n(2)) && n(4) <= 31 && (day_zero || n(4) >= 1)
}

/// Why `value` breaks the dictionary format `spec`, or `None`. `value` is
/// not empty.
pub(super) fn format_problem(spec: &str, value: &str) -> Option<&'static str> {
    let mut rest = value;
    for component in spec.split_whitespace() {
        let optional = component.starts_with('[');
        let (kind, linters) = component
            .trim_start_matches('[')
            .split_once(',')
            .map_or((component.trim_start_matches('['), ""), |(k, l)| (k, l));
        let kind = kind.trim_end_matches(']');
        let (cset, len) = kind.split_at(1);
        let (min, max) = match len.strip_prefix("..") {
            Some(max) => (1, max.parse().unwrap_or(usize::MAX)),
            None => {
                let n = len.parse().unwrap_or(0);
                (n, n)
            }
        };
        if rest.is_empty() && optional {
            break;
        }
        if !rest.is_ascii() {
            // Every GS1 character set is ASCII.
            return cset_problem(cset, rest).or(Some("contains a non-ASCII character"));
        }
        if rest.len() < min {
            return Some("is shorter than its format allows");
        }
        let (part, tail) = rest.split_at(rest.len().min(max));
        if let Some(why) = cset_problem(cset, part) {
            return Some(why);
        }
        let bytes = part.as_bytes();
        for linter in linters.split(',') {
            let bad = match linter {
                "csum" => {
                    let (body, last) = bytes.split_at(bytes.len() - 1);
                    check_digit(body) != last[0] - b'0'
                }
                "yymmd0" => !date_ok(bytes, true),
                "yymmdd" => !date_ok(bytes, false),
                _ => false,
            };
            if bad {
                return Some(match linter {
                    "csum" => "has a wrong check digit",
                    "yymmd0" => "is not a date YYMMDD (day 00 meaning the month's end)",
                    _ => "is not a date YYMMDD",
                });
            }
        }
        rest = tail;
    }
    (!rest.is_empty()).then_some("is longer than its format allows")
}
