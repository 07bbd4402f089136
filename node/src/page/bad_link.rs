//! What is wrong with a link that names no lot, in the reader's language.

use ledger_core::gs1::{Gs1Error, LinkError};

use super::{BadLink, Lang};

/// What is wrong with a link, in the reader's language.
pub fn bad_link_words(l: Lang, why: &BadLink) -> String {
    match why {
        BadLink::Source => l
            .tr(
                "链接中的生产者编号不是 64 位十六进制密钥。",
                "The lot's source in the link is not a key of 64 hex digits.",
            )
            .to_owned(),
        BadLink::NoLot => l
            .tr("链接中没有批号。", "The link names no lot.")
            .to_owned(),
        BadLink::Encoding => l
            .tr(
                "链接中有无法识别的字符编码。",
                "The link has characters that are not valid UTF-8.",
            )
            .to_owned(),
        BadLink::Link(e) => link_error_words(l, e),
    }
}

fn link_error_words(l: Lang, e: &LinkError) -> String {
    match e {
        LinkError::Key { source, .. } => match source {
            Gs1Error::NotDigits { value, .. } => format!(
                "{}{value}{}",
                l.tr("商品条码 GTIN “", "The product code (GTIN) “"),
                l.tr("”只能包含数字。", "” must contain only digits.")
            ),
            Gs1Error::Length { value, len, .. } => format!(
                "{}{value}{}{len}{}",
                l.tr("商品条码 GTIN “", "The product code (GTIN) “"),
                l.tr("”有 ", "” has "),
                l.tr(
                    " 位数字，应为 8、12、13 或 14 位。",
                    " digits; it must have 8, 12, 13 or 14."
                )
            ),
            Gs1Error::CheckDigit {
                value, got, want, ..
            } => format!(
                "{}{value}{}{got}{}{want}{}",
                l.tr("商品条码 GTIN “", "The product code (GTIN) “"),
                l.tr("”的校验位是 ", "” ends in check digit "),
                l.tr("，正确应为 ", ", but the correct one is "),
                l.tr("：条码抄错或不是真码。", ": mistyped, or not a real code.")
            ),
            _ => l
                .tr(
                    "商品条码 GTIN 无效。",
                    "The product code (GTIN) is not valid.",
                )
                .to_owned(),
        },
        LinkError::OutOfOrder { .. } => l
            .tr(
                "链接中各部分顺序有误（应为 规格 22、批号 10、序列号 21）。",
                "The parts of the link are out of order (variant 22, lot 10, serial 21).",
            )
            .to_owned(),
        LinkError::DuplicateAi { ai } => format!(
            "{}{ai}{}",
            l.tr("链接中 (", "The link repeats part ("),
            l.tr(") 出现了两次。", ").")
        ),
        LinkError::BadEncoding { .. } => l
            .tr(
                "链接中有无法识别的字符编码。",
                "The link has characters that are not valid percent-encoded UTF-8.",
            )
            .to_owned(),
        LinkError::BadValue { ai, .. } => format!(
            "{}{ai}{}",
            l.tr("链接中 (", "The value of part ("),
            l.tr(") 的值为空或无效。", ") is empty or invalid.")
        ),
        LinkError::TrailingSlash { .. } => l
            .tr(
                "链接末尾多了一个“/”。",
                "The link ends with a '/' it must not have.",
            )
            .to_owned(),
        LinkError::UnexpectedAi { ai, .. } => format!(
            "{}{ai}{}",
            l.tr("链接中不应出现 (", "The link has a part ("),
            l.tr(")。", ") that does not belong after the product code.")
        ),
        _ => l
            .tr(
                "这不是有效的商品链接。",
                "This is not a valid product link.",
            )
            .to_owned(),
    }
}
