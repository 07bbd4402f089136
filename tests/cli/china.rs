//! China's compliance-commitment certificate (承诺达标合格证, issue 16)
//! through the real binary, on the demo network: a tea garden sprays a
//! field, picks it too early (flagged) and after the interval, has the
//! leaf tested for what it used, and certifies it; a certificate whose
//! test missed an ingredient is refused; the cooperative blends two
//! certified lots and its certificate names both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Demo;

#[test]
fn sprayed_field_to_certified_blend() {
    let demo = Demo::new();
    let env = &demo.env;
    let garden = demo.key("jiukeng-garden");
    let lin = demo.key("lin-garden");
    let coop = demo.key("cooperative");
    let lab = demo.key("lab");
    let ok = |args: &[&str]| env.ok(args);

    // The garden sprays plot 3 with two active ingredients, 7-day interval.
    ok(&[
        "record",
        "input",
        "--key",
        &garden,
        "--product",
        "10% 吡虫啉·毒死蜱 乳油",
        "--ingredient",
        "吡虫啉 imidacloprid",
        "--ingredient",
        "毒死蜱 chlorpyrifos",
        "--registration",
        "PD20070101",
        "--dose",
        "300g",
        "--field",
        "鸠坑乡 3号地",
        "--interval",
        "7",
        "--time",
        "2026-11-01",
    ]);
    // Picked two days later: accepted, and flagged for the shopper.
    ok(&[
        "record",
        "harvest",
        "--key",
        &garden,
        "--lot",
        "JK-1103",
        "--product",
        "千岛湖茶 鲜叶",
        "--quantity",
        "20kg",
        "--location",
        "鸠坑乡 3号地",
        "--time",
        "2026-11-03",
    ]);
    let early = ok(&["trace", "JK-1103"]);
    assert!(
        early.contains("HARVESTED INSIDE A SAFETY INTERVAL")
            && early.contains("its label sets 7 days")
            && early.contains("2 days after"),
        "{early}"
    );
    let verdict = env.json(&["trace", "JK-1103"]);
    assert_eq!(
        verdict["verdict"]["finding"]["kind"], "safety_interval",
        "{verdict}"
    );

    // Picked after the interval: clean.
    ok(&[
        "record",
        "harvest",
        "--key",
        &garden,
        "--lot",
        "JK-1110",
        "--product",
        "千岛湖茶 鲜叶",
        "--quantity",
        "50kg",
        "--location",
        "鸠坑乡 3号地",
        "--time",
        "2026-11-10",
    ]);
    assert!(ok(&["trace", "JK-1110"]).contains("Verdict: clean"));

    // A lab test for imidacloprid only: a test-based certificate is
    // refused, naming chlorpyrifos, and nothing is signed.
    ok(&[
        "record",
        "inspect",
        "--key",
        &lab,
        "--lot",
        "JK-1110",
        "--test",
        "农药残留 吡虫啉",
        "--verdict",
        "pass",
        "--time",
        "2026-11-11",
    ]);
    let issue = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "certificate",
            "issue",
            "--key",
            &garden,
            "--lot",
            "JK-1110",
            "--quantity",
            "50kg",
            "--basis",
            "commissioned-test",
            "--contact",
            "0571-6500 1234",
            "--time",
            "2026-11-12",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    env.refused(&issue(&[]), "do not test for 毒死蜱 chlorpyrifos");
    // A test for both: certified.
    ok(&[
        "record",
        "inspect",
        "--key",
        &lab,
        "--lot",
        "JK-1110",
        "--test",
        "农药残留 吡虫啉、毒死蜱",
        "--verdict",
        "pass",
        "--time",
        "2026-11-11T12:00:00+08:00",
    ]);
    let args = issue(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cert = env.json(&args);
    assert_eq!(cert["kind"], "certificate");

    // The other garden certifies on quality control; both ship to the
    // cooperative, which blends them.
    ok(&[
        "record",
        "harvest",
        "--key",
        &lin,
        "--lot",
        "LIN-1110",
        "--product",
        "千岛湖茶 鲜叶",
        "--quantity",
        "30kg",
        "--time",
        "2026-11-10",
    ]);
    ok(&[
        "certificate",
        "issue",
        "--key",
        &lin,
        "--lot",
        "LIN-1110",
        "--quantity",
        "30kg",
        "--basis",
        "quality-control",
        "--contact",
        "13800000000",
        "--time",
        "2026-11-12",
    ]);
    for (key, lot, q) in [(&garden, "JK-1110", "50kg"), (&lin, "LIN-1110", "30kg")] {
        let ship = ok(&[
            "--quiet",
            "record",
            "ship",
            "--key",
            key,
            "--lot",
            lot,
            "--quantity",
            q,
            "--to",
            &coop,
            "--time",
            "2026-11-13",
        ]);
        ok(&[
            "record",
            "receive",
            "--key",
            &coop,
            "--shipment",
            ship.trim(),
            "--time",
            "2026-11-14",
        ]);
    }
    ok(&[
        "record",
        "transform",
        "--key",
        &coop,
        "--process",
        "blend 拼配",
        "--input",
        "JK-1110=50kg",
        "--input",
        "LIN-1110=30kg",
        "--output",
        "BLEND-1114=80kg",
        "--product",
        "千岛湖茶 拼配鲜叶",
        "--time",
        "2026-11-14T10:00:00+08:00",
    ]);
    let blend = env.json(&[
        "certificate",
        "issue",
        "--key",
        &coop,
        "--lot",
        "BLEND-1114",
        "--quantity",
        "80kg",
        "--basis",
        "quality-control",
        "--contact",
        "0571-6500 8888",
        "--time",
        "2026-11-15",
    ]);
    let named: Vec<&str> = blend["event"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(named.len(), 2, "{blend}");
    assert!(named.contains(&cert["record"].as_str().unwrap()), "{blend}");

    // The blend's trace shows its certificate and those of its inputs.
    let trace = ok(&["trace", "BLEND-1114"]);
    assert_eq!(
        trace
            .matches("compliance certificate (承诺达标合格证)")
            .count(),
        3,
        "{trace}"
    );
    assert!(
        trace.contains("basis: test by a commissioned lab"),
        "{trace}"
    );
    assert!(trace.contains("from the certificates"), "{trace}");

    // The regulator's list of November: the three certificates, and no
    // shipment by a farm or cooperative of a lot it never certified; the
    // demo's shipments of 2025 were never certified.
    let csv = env.path("certificates.csv");
    let listed = ok(&[
        "certificate",
        "list",
        "--from",
        "2026-11-01",
        "--to",
        "2026-12-01",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(listed.contains("3 certificate(s) issued"), "{listed}");
    assert!(listed.contains("0 shipment(s)"), "{listed}");
    assert!(
        listed.contains("委托检测合格 commissioned test"),
        "{listed}"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.contains("BLEND-1114") && text.contains("千岛湖茶 拼配鲜叶") && text.contains("80 kg"),
        "{text}"
    );

    // The demo's 2025 season shipped fresh leaf and tins of made tea, none
    // with a certificate. Nobody certified a lot of those products, so
    // only the regulator's list of covered products brings the leaf in;
    // made tea falls under food licensing and stays out.
    let season = env.json(&["certificate", "list", "--to", "2026-01-01"]);
    assert_eq!(
        season["shipped_without_certificate"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "{season}"
    );
    let out_of_scope = season["uncertified_out_of_scope"].as_u64().unwrap();
    assert!(out_of_scope >= 4, "{season}");
    let shown = ok(&["certificate", "list", "--to", "2026-01-01"]);
    assert!(
        shown.contains(&format!("{out_of_scope} other uncertified shipment(s)"))
            && shown.contains("--covered WORD"),
        "{shown}"
    );
    let leaf = env.json(&[
        "certificate",
        "list",
        "--to",
        "2026-01-01",
        "--covered",
        "鲜叶",
    ]);
    let flagged = leaf["shipped_without_certificate"].as_array().unwrap();
    assert!(!flagged.is_empty(), "{leaf}");
    for r in flagged {
        let product = r["product"].as_str().unwrap();
        assert!(product.contains("鲜叶"), "only fresh leaf: {leaf}");
        assert_eq!(r["covered_because"], "--covered 鲜叶", "{leaf}");
        // Carriers pass on what they received.
        assert!(
            !r["shipper"].as_str().unwrap().contains("浙冷链物流"),
            "{leaf}"
        );
    }
    assert_eq!(
        leaf["uncertified_out_of_scope"].as_u64().unwrap() + flagged.len() as u64,
        out_of_scope,
        "{leaf}"
    );

    // Once a lot of a product is certified, its uncertified siblings are
    // flagged without a list: a third garden's leaf, shipped bare.
    ok(&[
        "record",
        "harvest",
        "--key",
        &lin,
        "--lot",
        "LIN-1120",
        "--product",
        "千岛湖茶 鲜叶",
        "--quantity",
        "20kg",
        "--location",
        "界首 3号茶园",
        "--time",
        "2026-11-20",
    ]);
    ok(&[
        "record",
        "ship",
        "--key",
        &lin,
        "--lot",
        "LIN-1120",
        "--quantity",
        "20kg",
        "--to",
        &coop,
        "--time",
        "2026-11-21",
    ]);
    let bare = env.json(&["certificate", "list", "--from", "2026-11-01"]);
    let flagged = bare["shipped_without_certificate"].as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{bare}");
    assert_eq!(flagged[0]["lot"]["code"], "LIN-1120", "{bare}");
    assert_eq!(
        flagged[0]["covered_because"], "lots of this product have certificates",
        "{bare}"
    );
    // The cooperative passed the gardens' certified lots on unmixed: those
    // shipments carry the gardens' certificates and are not listed.
}

#[test]
fn certificate_mistakes_are_refused_in_one_line() {
    let demo = Demo::new();
    let env = &demo.env;
    // A cooperative enrolled with its unified social credit code; one
    // mistyped character is refused, naming the check character expected.
    let key = env.path("coop2.key");
    env.ok(&["key", "new", "--out", key.to_str().unwrap(), "--plain"]);
    let authority = demo.key("authority");
    let enroll = |uscc: &str| -> Vec<String> {
        [
            "enroll",
            "--key",
            &authority,
            "--participant",
            key.to_str().unwrap(),
            "--name",
            "淳安县鸠坑乡茶叶专业合作社",
            "--role",
            "processor",
            "--uscc",
            uscc,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    env.malformed(&enroll("93330127MA2B0X1Q6N"), "expected M");
    let ok = enroll("93330127MA2B0X1Q6M");
    let ok: Vec<&str> = ok.iter().map(String::as_str).collect();
    env.ok(&ok);
    // A code for the cooperative enrolled earlier, by the regulator only.
    let coop = demo.key("cooperative");
    env.refused(
        &[
            "identify",
            "--key",
            &coop,
            "--participant",
            &coop,
            "--uscc",
            "91350100M000100Y43",
        ],
        "may not sign identify records",
    );
    env.ok(&[
        "identify",
        "--key",
        &authority,
        "--participant",
        &coop,
        "--uscc",
        "91350100M000100Y43",
    ]);
    let listed = env.ok(&["participants"]);
    assert!(
        listed.contains("统一社会信用代码 91350100M000100Y43"),
        "{listed}"
    );
    assert!(
        listed.contains("淳安县鸠坑乡茶叶专业合作社")
            && listed.contains("统一社会信用代码 93330127MA2B0X1Q6M"),
        "{listed}"
    );
    // The list reads a local ledger or replica, and says how to get one.
    env.refused(
        &["--node", "http://127.0.0.1:9", "certificate", "list"],
        "follow the node with `terroir join --node http://127.0.0.1:9` once and `terroir sync`",
    );
    let shop = demo.key("retailer");
    let garden = demo.key("jiukeng-garden");
    // Not the holder.
    env.refused(
        &[
            "certificate",
            "issue",
            "--key",
            &garden,
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "1kg",
            "--basis",
            "quality-control",
            "--contact",
            "1",
        ],
        "you hold none of lot QDH-PACK-0404",
    );
    // More than the shop holds (17.5 kg).
    env.refused(
        &[
            "certificate",
            "issue",
            "--key",
            &shop,
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "20kg",
            "--basis",
            "quality-control",
            "--contact",
            "1",
        ],
        "you hold only 17.5 kg of lot QDH-PACK-0404",
    );
    // A basis that is none, and an interval no label sets.
    env.malformed(
        &[
            "certificate",
            "issue",
            "--key",
            &shop,
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "1kg",
            "--basis",
            "trust-me",
            "--contact",
            "1",
        ],
        "is no basis",
    );
    env.malformed(
        &[
            "record",
            "input",
            "--key",
            &garden,
            "--product",
            "x",
            "--ingredient",
            "y",
            "--dose",
            "1g",
            "--field",
            "f",
            "--interval",
            "400",
        ],
        "longer than any label sets",
    );
}

/// `tool` on PATH, or a line saying the check that needs it is skipped.
fn tool(name: &str, package: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("skipped: {name} not installed (apt-get install {package})");
    }
    found
}

/// What `pdftotext` reads from `pdf`, without spaces and line breaks
/// (the narrow label wraps lines inside names).
fn pdf_text(pdftotext: &std::path::Path, pdf: &std::path::Path) -> String {
    let out = std::process::Command::new(pdftotext)
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn the_printed_certificate_renders_in_chinese_and_its_qr_opens_the_lot() {
    let demo = Demo::new();
    let env = &demo.env;
    let garden = demo.key("jiukeng-garden");
    env.ok(&[
        "record",
        "harvest",
        "--key",
        &garden,
        "--lot",
        "JK-1120",
        "--product",
        "千岛湖茶 鲜叶",
        "--quantity",
        "12kg",
        "--time",
        "2026-11-20",
    ]);
    env.ok(&[
        "certificate",
        "issue",
        "--key",
        &garden,
        "--lot",
        "JK-1120",
        "--quantity",
        "12kg",
        "--basis",
        "quality-control",
        "--contact",
        "0571-6500 1234",
        "--time",
        "2026-11-20T09:00:00+08:00",
    ]);
    // Without a Chinese font there is nothing to print with: say so.
    let fonts = std::path::Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
    if !fonts.is_file() && std::env::var_os("TERROIR_LABEL_FONT").is_none() {
        eprintln!("skipped: no Chinese font (apt-get install fonts-noto-cjk)");
        return;
    }
    let pdf = env.path("JK-1120.pdf");
    let printed = env.json(&[
        "certificate",
        "print",
        "JK-1120",
        "--out",
        pdf.to_str().unwrap(),
    ]);
    let link = printed["link"].as_str().unwrap().to_owned();
    assert!(link.ends_with("/JK-1120"), "{printed}");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    let small = env.path("JK-1120-60x40.pdf");
    let png = env.path("JK-1120.png");
    for out in [&small, &png] {
        env.ok(&[
            "certificate",
            "print",
            "JK-1120",
            "--out",
            out.to_str().unwrap(),
            "--size",
            "60x40",
        ]);
    }
    // A label for a lot without a certificate, or to a file of no known
    // kind, is refused in one line.
    env.fails_with(
        1,
        &["certificate", "print", "QDH-JK-0401", "--out", "x.pdf"],
        "has no certificate yet",
    );
    env.fails_with(
        1,
        &["certificate", "print", "JK-1120", "--out", "x.jpg"],
        "name the label .pdf or .png",
    );

    // The PDFs' text is text, in one embedded subset of the font, which
    // reads back as the Chinese it says.
    if let (Some(pdftotext), Some(pdffonts)) = (
        tool("pdftotext", "poppler-utils"),
        tool("pdffonts", "poppler-utils"),
    ) {
        for label in [&pdf, &small] {
            let text = pdf_text(&pdftotext, label);
            for said in [
                "承诺达标合格证",
                "千岛湖茶鲜叶",
                "12kg",
                "千岛湖鸠坑茶园",
                "质量安全控制符合要求",
                "2026年11月20日",
            ] {
                assert!(text.contains(said), "{}: {said} in {text}", label.display());
            }
            let out = std::process::Command::new(&pdffonts)
                .arg(label)
                .output()
                .unwrap();
            let listed = String::from_utf8(out.stdout).unwrap();
            // A heading, a rule, then one line a font: name, type,
            // encoding, embedded, subset, ToUnicode, object, generation.
            let fonts: Vec<Vec<&str>> = listed
                .lines()
                .skip(2)
                .map(|l| l.split_whitespace().collect())
                .collect();
            assert_eq!(fonts.len(), 1, "{}: {listed}", label.display());
            let font = &fonts[0];
            assert!(font[0].contains('+'), "a subset's name: {listed}");
            assert_eq!(
                font[font.len() - 5..font.len() - 2],
                ["yes", "yes", "yes"],
                "embedded, a subset, with ToUnicode: {listed}"
            );
        }
    }

    let (Some(pdftoppm), Some(zbarimg)) = (
        tool("pdftoppm", "poppler-utils"),
        tool("zbarimg", "zbar-tools"),
    ) else {
        return;
    };
    // The PDFs render, at A6 and 60 × 40 mm, and their QR codes open the
    // lot's page; so does the package label's picture.
    let render = |label: &std::path::Path, name: &str| {
        let out = std::process::Command::new(&pdftoppm)
            .args(["-r", "150", "-png", "-singlefile"])
            .arg(label)
            .arg(env.path(name))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        env.path(&format!("{name}.png"))
    };
    let rendered = render(&pdf, "rendered");
    let rendered_small = render(&small, "rendered-60x40");
    for image in [&rendered, &rendered_small, &png] {
        let out = std::process::Command::new(&zbarimg)
            .args(["-q", "--raw"])
            .arg(image)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            link,
            "{}",
            image.display()
        );
    }
    // 105 × 148 mm and 60 × 40 mm at 150 dpi (620 × 874 and 354 × 236
    // pixels, give or take the renderer's rounding).
    for (image, (w, h)) in [(&rendered, (620, 874)), (&rendered_small, (354, 236))] {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(image).unwrap()));
        let info = decoder.read_info().unwrap().info().clone();
        assert!(
            info.width.abs_diff(w) <= 1 && info.height.abs_diff(h) <= 1,
            "{}: {} × {}",
            image.display(),
            info.width,
            info.height
        );
    }
}
