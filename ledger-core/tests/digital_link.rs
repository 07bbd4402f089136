//! GS1 Digital Link URIs (issue 15): what `DigitalLink::parse` accepts
//! and the typed reason for each refusal. One test per reported defect,
//! then the other primary keys and their qualifiers.

use ledger_core::gs1::{DigitalLink, Gs1Error, LinkError, PrimaryKey};

const GTIN: &str = "09520123456788";
const SSCC: &str = "123456789012345675";
const GLN: &str = "9520123456788";

fn ok(uri: &str) -> DigitalLink {
    DigitalLink::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

fn err(uri: &str) -> LinkError {
    match DigitalLink::parse(uri) {
        Ok(link) => panic!("{uri} was accepted as {link:?}"),
        Err(e) => e,
    }
}

/// The canonical form parses back to the same link.
fn round_trips(link: &DigitalLink) {
    assert_eq!(DigitalLink::parse(&link.to_uri()).as_ref(), Ok(link));
}

#[test]
fn scheme_and_host_in_any_case_are_accepted() {
    let link = ok(&format!("HTTPS://ID.GS1.ORG/01/{GTIN}/10/L1"));
    assert_eq!(link.base, "https://id.gs1.org");
    assert_eq!(link.key, PrimaryKey::Gtin(GTIN.into()));
    assert_eq!(link.lot.as_deref(), Some("L1"));
    // Only scheme and host are case-insensitive; the stem keeps its case.
    let link = ok(&format!("Http://Example.COM/Shop/01/{GTIN}"));
    assert_eq!(link.base, "http://example.com/Shop");
    round_trips(&link);
    assert_eq!(
        err(&format!("FTP://id.gs1.org/01/{GTIN}")),
        LinkError::NotHttp {
            uri: format!("FTP://id.gs1.org/01/{GTIN}")
        }
    );
}

#[test]
fn a_fragment_is_ignored() {
    let plain = ok(&format!("https://id.gs1.org/01/{GTIN}/10/L1?17=260101"));
    for uri in [
        format!("https://id.gs1.org/01/{GTIN}/10/L1?17=260101#top"),
        format!("https://id.gs1.org/01/{GTIN}/10/L1?17=260101#"),
    ] {
        assert_eq!(ok(&uri), plain, "{uri}");
    }
    let link = ok(&format!("https://id.gs1.org/01/{GTIN}#x/10/L1"));
    assert_eq!(link.lot, None);
    assert!(link.attributes.is_empty());
}

#[test]
fn ai_10_is_a_data_attribute_of_an_sscc() {
    let link = ok(&format!("https://id.gs1.org/00/{SSCC}?10=LOT"));
    assert_eq!(link.key, PrimaryKey::Sscc(SSCC.into()));
    assert_eq!(link.lot, None);
    assert_eq!(link.attributes, vec![("10".to_owned(), "LOT".to_owned())]);
    round_trips(&link);
    // For a GTIN it is a key qualifier and belongs in the path.
    assert_eq!(
        err(&format!("https://id.gs1.org/01/{GTIN}?10=LOT")),
        LinkError::QualifierInQuery { ai: "10".into() }
    );
    // A data attribute of an SSCC still has its AI's format.
    assert!(matches!(
        err(&format!("https://id.gs1.org/00/{SSCC}?10=L%20T")),
        LinkError::BadValue { ref ai, .. } if ai == "10"
    ));
}

#[test]
fn the_rightmost_primary_key_is_taken() {
    let link = ok(&format!("https://example.com/products/01/{GTIN}/10/L1"));
    assert_eq!(link.base, "https://example.com/products");
    assert_eq!(link.lot.as_deref(), Some("L1"));
    // A prefix segment that looks like a key is part of the stem.
    let link = ok(&format!("https://example.com/01/shop/01/{GTIN}/21/S1"));
    assert_eq!(link.base, "https://example.com/01/shop");
    assert_eq!(link.key, PrimaryKey::Gtin(GTIN.into()));
    assert_eq!(link.serial.as_deref(), Some("S1"));
    round_trips(&link);
    let link = ok(&format!("https://example.com/00/{SSCC}/01/{GTIN}"));
    assert_eq!(link.base, format!("https://example.com/00/{SSCC}"));
    assert_eq!(link.key, PrimaryKey::Gtin(GTIN.into()));
    round_trips(&link);
    let link = ok(&format!("https://example.com/01/{GTIN}/414/{GLN}/254/7"));
    assert_eq!(link.key, PrimaryKey::Gln(GLN.into()));
    assert_eq!(link.extension.as_deref(), Some("7"));
    // A qualifier value that looks like a key is still a value.
    let link = ok(&format!("https://example.com/01/{GTIN}/10/01/21/00"));
    assert_eq!(link.base, "https://example.com");
    assert_eq!(
        (link.lot.as_deref(), link.serial.as_deref()),
        (Some("01"), Some("00"))
    );
}

#[test]
fn unknown_numeric_query_ais_are_refused() {
    for ai in ["9999", "23", "1", "00000"] {
        assert_eq!(
            err(&format!("https://id.gs1.org/01/{GTIN}?{ai}=x")),
            LinkError::UnknownAi { ai: ai.into() },
            "{ai}"
        );
    }
}

#[test]
fn empty_ai_values_are_refused() {
    for (uri, ai) in [
        (format!("https://id.gs1.org/01/{GTIN}?17="), "17"),
        (format!("https://id.gs1.org/01/{GTIN}?17"), "17"),
        (format!("https://id.gs1.org/00/{SSCC}?10=&17=260101"), "10"),
        (format!("https://id.gs1.org/01/{GTIN}/10//21/S1"), "10"),
        ("https://id.gs1.org/01//10/L1".to_owned(), "01"),
    ] {
        assert_eq!(err(&uri), LinkError::EmptyValue { ai: ai.into() }, "{uri}");
    }
}

#[test]
fn percent_encoded_control_characters_are_refused() {
    for (uri, ai) in [
        (format!("https://id.gs1.org/01/{GTIN}/10/L%00"), "10"),
        (
            format!("https://id.gs1.org/01/{GTIN}/10/L1?17=26%0A0101"),
            "17",
        ),
        (format!("https://id.gs1.org/00/{SSCC}?10=%1F"), "10"),
        (format!("https://id.gs1.org/01/{GTIN}/21/%7F"), "21"),
        (format!("https://id.gs1.org/01/{GTIN}/22/%C2%85"), "22"),
        (
            format!("https://id.gs1.org/01/{GTIN}?linkType=a%00"),
            "linkType",
        ),
        (format!("https://id.gs1.org/01/{GTIN}?a%09b=1"), "a%09b"),
        ("https://id.gs1.org/01/0952012345678%00".to_owned(), "01"),
    ] {
        assert_eq!(
            err(&uri),
            LinkError::ControlCharacter { ai: ai.into() },
            "{uri}"
        );
    }
}

#[test]
fn non_numeric_query_parameters_are_kept_unchecked() {
    let link = ok(&format!(
        "https://id.gs1.org/01/{GTIN}?linkType=gs1:pip&utm_source=qr&utm_source=x&17=260101"
    ));
    assert_eq!(link.attributes.len(), 4);
    assert_eq!(link.attributes[3], ("17".to_owned(), "260101".to_owned()));
}

#[test]
fn sscc_takes_no_qualifiers() {
    let link = ok(&format!("https://id.gs1.org/00/{SSCC}?17=260101&400=PO-1"));
    assert_eq!(link.key, PrimaryKey::Sscc(SSCC.into()));
    round_trips(&link);
    assert_eq!(
        err(&format!("https://id.gs1.org/00/{SSCC}/10/L1")),
        LinkError::UnexpectedAi {
            key: "00",
            ai: "10".into(),
            allowed: "none"
        }
    );
    // AI 21 is no data attribute (no '?' flag in the syntax dictionary).
    assert_eq!(
        err(&format!("https://id.gs1.org/00/{SSCC}?21=S1")),
        LinkError::NotAttribute { ai: "21".into() }
    );
    let mut built = DigitalLink::sscc("https://id.gs1.org", SSCC).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(built.check(), Ok(()));
    built.lot = Some("L1".into());
    assert!(matches!(
        built.check(),
        Err(LinkError::UnexpectedAi { key: "00", .. })
    ));
}

#[test]
fn gln_takes_extension_254() {
    let link = ok(&format!("https://id.gs1.org/414/{GLN}/254/Dock%2F7"));
    assert_eq!(link.key, PrimaryKey::Gln(GLN.into()));
    assert_eq!(link.extension.as_deref(), Some("Dock/7"));
    round_trips(&link);
    let mut built = DigitalLink::gln("https://id.gs1.org", GLN).unwrap_or_else(|e| panic!("{e}"));
    built.extension = Some("Dock/7".into());
    assert_eq!(built, link);
    for (uri, want) in [
        (
            format!("https://id.gs1.org/414/{GLN}/10/L1"),
            LinkError::UnexpectedAi {
                key: "414",
                ai: "10".into(),
                allowed: "254",
            },
        ),
        (
            format!("https://id.gs1.org/414/{GLN}/254/A/254/B"),
            LinkError::DuplicateAi { ai: "254".into() },
        ),
        (
            format!("https://id.gs1.org/414/{GLN}?254=A"),
            LinkError::QualifierInQuery { ai: "254".into() },
        ),
        (
            format!("https://id.gs1.org/01/{GTIN}/254/A"),
            LinkError::UnexpectedAi {
                key: "01",
                ai: "254".into(),
                allowed: "22, 10, 21 (in that order) or 235",
            },
        ),
        (
            format!("https://id.gs1.org/414/{GLN}/254/123456789012345678901"),
            LinkError::BadValue {
                ai: "254".into(),
                value: "123456789012345678901".into(),
                why: "is longer than its format allows",
            },
        ),
    ] {
        assert_eq!(err(&uri), want, "{uri}");
    }
}

#[test]
fn gtin_takes_235_instead_of_22_10_21() {
    let tpx = "T".repeat(28);
    let link = ok(&format!("https://id.gs1.org/01/{GTIN}/235/{tpx}"));
    assert_eq!(link.tpx.as_deref(), Some(tpx.as_str()));
    round_trips(&link);
    assert_eq!(
        err(&format!("https://id.gs1.org/01/{GTIN}/10/L1/235/T")),
        LinkError::Exclusive {
            ai: "235".into(),
            with: "10".into()
        }
    );
    assert_eq!(
        err(&format!("https://id.gs1.org/01/{GTIN}/235/T/21/S")),
        LinkError::Exclusive {
            ai: "21".into(),
            with: "235".into()
        }
    );
    assert!(matches!(
        err(&format!("https://id.gs1.org/01/{GTIN}/235/{tpx}X")),
        LinkError::BadValue { ref ai, .. } if ai == "235"
    ));
    assert_eq!(
        err(&format!("https://id.gs1.org/01/{GTIN}?235=T")),
        LinkError::QualifierInQuery { ai: "235".into() }
    );
}

#[test]
fn qualifiers_out_of_order_are_refused() {
    for (path, ai, after) in [
        ("10/L1/22/C", "22", "10"),
        ("21/S1/10/L1", "10", "21"),
        ("22/C/21/S1/10/L1", "10", "21"),
        ("21/S1/22/C", "22", "21"),
    ] {
        assert_eq!(
            err(&format!("https://id.gs1.org/01/{GTIN}/{path}")),
            LinkError::OutOfOrder {
                ai: ai.into(),
                after: after.into()
            },
            "{path}"
        );
    }
    let all = ok(&format!("https://id.gs1.org/01/{GTIN}/22/C/10/L1/21/S1"));
    round_trips(&all);
}

#[test]
fn wrong_check_digits_are_refused() {
    for (uri, ai, got, want) in [
        ("https://id.gs1.org/01/09520123456780", "01", 0, 8),
        ("https://id.gs1.org/00/123456789012345670", "00", 0, 5),
        ("https://id.gs1.org/414/9520123456780", "414", 0, 8),
    ] {
        assert!(
            matches!(
                err(uri),
                LinkError::Key { ai: a, source: Gs1Error::CheckDigit { got: g, want: w, .. } }
                    if a == ai && g == got && w == want
            ),
            "{uri}: {}",
            err(uri)
        );
    }
    // Check digits of GS1 keys given as data attributes (AI 410, ship to).
    assert_eq!(
        err(&format!("https://id.gs1.org/00/{SSCC}?410=9520123456780")),
        LinkError::BadValue {
            ai: "410".into(),
            value: "9520123456780".into(),
            why: "has a wrong check digit",
        }
    );
    ok(&format!("https://id.gs1.org/00/{SSCC}?410={GLN}"));
}

#[test]
fn attribute_values_follow_the_syntax_dictionary() {
    ok(&format!(
        "https://id.gs1.org/01/{GTIN}?17=260100&7007=250901251001&30=12&3103=001250"
    ));
    for (query, ai) in [
        ("17=261301", "17"),
        ("17=2601011", "17"),
        ("7007=250900", "7007"),
        ("30=12a", "30"),
        ("30=123456789", "30"),
        ("3103=1250", "3103"),
        ("4307=FRA", "4307"),
    ] {
        assert!(
            matches!(err(&format!("https://id.gs1.org/01/{GTIN}?{query}")),
                LinkError::BadValue { ai: ref a, .. } if a == ai),
            "{query}"
        );
    }
}

#[test]
fn every_error_is_one_plain_line_naming_the_ai() {
    let cases = [
        format!("https://id.gs1.org/01/{GTIN}?9999=x"),
        format!("https://id.gs1.org/01/{GTIN}?17="),
        format!("https://id.gs1.org/01/{GTIN}/10/L%00"),
        format!("https://id.gs1.org/00/{SSCC}?21=S"),
        format!("https://id.gs1.org/01/{GTIN}/10/L/235/T"),
        format!("https://id.gs1.org/01/{GTIN}/21/S/10/L"),
        format!("https://id.gs1.org/01/{GTIN}/10/L/10/M"),
        format!("https://id.gs1.org/01/{GTIN}?10=L"),
        format!("https://id.gs1.org/01/{GTIN}/10/%FF"),
        format!("https://id.gs1.org/01/{GTIN}/10/L%20T"),
        format!("https://id.gs1.org/00/{SSCC}/10/L"),
        "https://id.gs1.org/01/09520123456780".to_owned(),
    ];
    for uri in &cases {
        let msg = err(uri).to_string();
        assert!(msg.contains("AI ("), "{uri}: {msg}");
        assert!(!msg.contains('\n') && !msg.contains('{'), "{uri}: {msg}");
    }
    let msg = err(&format!("https://id.gs1.org/01/{GTIN}/10/L%00")).to_string();
    assert_eq!(
        msg,
        "the value of AI (10) contains a control character (such as %00), which a Digital Link may not carry"
    );
    // A URI with a raw control character is shown escaped, on one line.
    let msg = err("https://id.gs1.org/\n").to_string();
    assert!(!msg.contains('\n') && msg.contains("%0A"), "{msg}");
    assert_eq!(
        err(&format!("https://id.gs1.org/01/{GTIN}?9999=x")).to_string(),
        "AI (9999) in the query string is not a GS1 application identifier"
    );
}
