//! The page's two languages: which one a request gets, and every word,
//! date, duration and measurement in it, in human units.
//!
//! Chinese is the default on a network whose genesis names a Chinese
//! language; a `?lang=` query parameter wins over `Accept-Language`, which
//! wins over the network's default. Words live next to their translation
//! (`lang.tr("已召回", "Recalled")`), so a missing one is a compile error,
//! not a blank.

use ledger_core::event::{bare_error_reason, thousandths, Action, SensorKind};
use ledger_core::excursion::ExcursionEvent;
use ledger_core::{EventKind, Genesis, Quantity, Role, Unit};

/// A language the page speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (`zh-CN`).
    Zh,
    /// English (`en`).
    En,
}

impl Lang {
    /// The `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The value of `?lang=` that selects it.
    pub fn param(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch link.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The language's own name, for the switch link.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::Zh => "中文",
            Lang::En => "English",
        }
    }

    /// The Chinese or the English text.
    pub fn tr<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Chooses the language: `?lang=` first, then the first language of
    /// `Accept-Language` that the page speaks, then the network's own.
    pub fn choose(genesis: &Genesis, query: Option<&str>, accept: Option<&str>) -> Lang {
        if let Some(l) = query.and_then(parse) {
            return l;
        }
        if let Some(l) = accept.and_then(from_accept) {
            return l;
        }
        if network_language(genesis).is_some_and(|l| parse(&l) == Some(Lang::Zh)) {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// `2025年4月8日 10:00` / `8 Apr 2025, 10:00`, in the network's zone.
    pub fn datetime(self, ms: u64, genesis: &Genesis) -> String {
        let l = local(ms, genesis);
        match self {
            Lang::Zh => format!(
                "{}年{}月{}日 {:02}:{:02}",
                l.year, l.month, l.day, l.hour, l.minute
            ),
            Lang::En => format!(
                "{} {} {}, {:02}:{:02}",
                l.day,
                MONTHS[(l.month.saturating_sub(1) % 12) as usize],
                l.year,
                l.hour,
                l.minute
            ),
        }
    }

    /// `2025年4月8日` / `8 Apr 2025`.
    pub fn date(self, ms: u64, genesis: &Genesis) -> String {
        let l = local(ms, genesis);
        match self {
            Lang::Zh => format!("{}年{}月{}日", l.year, l.month, l.day),
            Lang::En => format!(
                "{} {} {}",
                l.day,
                MONTHS[(l.month.saturating_sub(1) % 12) as usize],
                l.year
            ),
        }
    }

    /// `10:00`.
    pub fn clock(self, ms: u64, genesis: &Genesis) -> String {
        let l = local(ms, genesis);
        format!("{:02}:{:02}", l.hour, l.minute)
    }

    /// `2 小时 30 分钟` / `2 h 30 min`.
    pub fn duration(self, ms: u64) -> String {
        let minutes = ms / 60_000;
        let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
        let mut parts = Vec::new();
        let (dn, hn, mn) = match self {
            Lang::Zh => (" 天", " 小时", " 分钟"),
            Lang::En => (" d", " h", " min"),
        };
        if d > 0 {
            parts.push(format!("{d}{dn}"));
        }
        if h > 0 {
            parts.push(format!("{h}{hn}"));
        }
        if m > 0 || parts.is_empty() {
            parts.push(format!("{m}{mn}"));
        }
        parts.join(" ")
    }

    /// An age in its largest whole unit: `12 分钟` / `12 minutes`,
    /// `3 小时` / `3 hours`, `2 天` / `2 days`; under a minute
    /// `不到 1 分钟` / `less than a minute`.
    pub fn age(self, ms: u64) -> String {
        let minutes = ms / 60_000;
        let (n, zh, one, many) = if minutes >= 2 * 1440 {
            (minutes / 1440, "天", "day", "days")
        } else if minutes >= 120 {
            (minutes / 60, "小时", "hour", "hours")
        } else {
            (minutes, "分钟", "minute", "minutes")
        };
        match self {
            Lang::Zh if n == 0 => "不到 1 分钟".to_owned(),
            Lang::En if n == 0 => "less than a minute".to_owned(),
            Lang::Zh => format!("{n} {zh}"),
            Lang::En => format!("{n} {}", if n == 1 { one } else { many }),
        }
    }

    /// `47.5 千克` / `47.5 kg`; counts in words people use.
    pub fn quantity(self, q: &Quantity) -> String {
        let shown = q.to_string();
        match (self, q.unit) {
            (Lang::En, Unit::Piece | Unit::Case | Unit::Bag | Unit::Crate) => {
                let word = match (q.unit, q.amount == 1) {
                    (Unit::Piece, true) => "piece",
                    (Unit::Piece, false) => "pieces",
                    (Unit::Case, true) => "case",
                    (Unit::Case, false) => "cases",
                    (Unit::Bag, true) => "bag",
                    (Unit::Bag, false) => "bags",
                    (_, true) => "crate",
                    (_, false) => "crates",
                };
                format!("{} {word}", q.amount)
            }
            (Lang::En, _) => shown,
            (Lang::Zh, unit) => {
                let (number, symbol) = shown.split_once(' ').unwrap_or((&shown, ""));
                let word = match (unit, symbol) {
                    (_, "kg") => "千克",
                    (_, "g") => "克",
                    (_, "l") => "升",
                    (_, "ml") => "毫升",
                    (Unit::Piece, _) => "件",
                    (Unit::Case, _) => "箱",
                    (Unit::Bag, _) => "袋",
                    _ => "筐",
                };
                format!("{number} {word}")
            }
        }
    }

    /// A participant's role in words.
    pub fn role(self, r: Role) -> &'static str {
        match r {
            Role::Farm => self.tr("农场", "farm"),
            Role::Processor => self.tr("加工企业", "processor"),
            Role::Logistics => self.tr("物流", "logistics"),
            Role::Retailer => self.tr("零售商", "retailer"),
            Role::Regulator => self.tr("监管部门", "regulator"),
            Role::Lab => self.tr("检测机构", "laboratory"),
        }
    }

    /// What an event was, as a timeline heading.
    pub fn event(self, k: EventKind) -> &'static str {
        match k {
            EventKind::Harvest => self.tr("采收", "Harvested"),
            EventKind::Transform => self.tr("加工", "Processed"),
            EventKind::Ship => self.tr("发货", "Shipped"),
            EventKind::Receive => self.tr("收货", "Received"),
            EventKind::Observe => self.tr("冷链记录", "Cold-chain readings"),
            EventKind::Inspect => self.tr("检测", "Tested"),
            EventKind::Certify => self.tr("认证", "Certified"),
            EventKind::Recall => self.tr("召回", "Recalled"),
            EventKind::Sell => self.tr("销售", "Sold"),
            EventKind::Enroll => self.tr("登记参与者", "Participant enrolled"),
            EventKind::Revoke => self.tr("吊销密钥", "Key revoked"),
            EventKind::RotateKey => self.tr("更换密钥", "Key changed"),
            EventKind::AssignPrefix => self.tr("分配厂商识别代码", "GS1 company prefix assigned"),
            EventKind::AuthorisePacker => self.tr("授权代工包装", "Contract packer authorised"),
            EventKind::Aggregate => self.tr("装箱 / 组托", "Packing"),
            EventKind::Associate => self.tr("关联设备", "Attached asset"),
            EventKind::Transact => self.tr("业务单据", "Business documents"),
            EventKind::Correct => self.tr("更正声明", "Correction"),
            EventKind::InputUse => self.tr("施用农业投入品", "Input applied"),
            EventKind::Certificate => self.tr("承诺达标合格证", "Compliance certificate"),
            EventKind::Identify => self.tr("登记统一社会信用代码", "Registration code recorded"),
        }
    }

    /// What a packing, attaching or document event did, before the unit,
    /// asset or documents it names.
    pub fn action(self, k: EventKind, a: Action) -> &'static str {
        match (k, a) {
            (EventKind::Aggregate, Action::Add) => self.tr("装入", "Packed into"),
            (EventKind::Aggregate, Action::Observe) => self.tr("清点于", "Counted in"),
            (EventKind::Aggregate, Action::Delete) => self.tr("拆出自", "Unpacked from"),
            (EventKind::Associate, Action::Add) => self.tr("关联到", "Attached to"),
            (EventKind::Associate, Action::Observe) => self.tr("确认关联", "Checked on"),
            (EventKind::Associate, Action::Delete) => self.tr("解除关联", "Detached from"),
            (_, Action::Add) => self.tr("关联单据", "Linked"),
            (_, Action::Observe) => self.tr("确认单据", "Confirmed"),
            (_, Action::Delete) => self.tr("撤销单据", "Unlinked"),
        }
    }

    /// Why a record was declared erroneous: the CBV reasons in words,
    /// anything else as written.
    pub fn error_reason(self, reason: &str) -> &str {
        match bare_error_reason(reason) {
            "did_not_occur" => self.tr("该事件并未发生", "the event did not occur"),
            "incorrect_data" => self.tr("数据有误", "its data were incorrect"),
            other => other,
        }
    }

    /// What a sensor measured.
    pub fn sensor(self, k: SensorKind) -> &'static str {
        match k {
            SensorKind::Temperature => self.tr("温度", "temperature"),
            SensorKind::Humidity => self.tr("湿度", "humidity"),
        }
    }

    /// One excursion event as one line: `Temperature excursion: 40 min
    /// from 12 Apr 2025, 10:20 to 11:00, peak 12.4 °C (allowed 0–8 °C), 5
    /// readings` / `温度超标：持续 40 分钟（2025年4月12日 10:20 至
    /// 11:00），峰值 12.4 °C（允许 0–8 °C），共 5 次读数`. The end shows
    /// only its clock time on the start's date.
    pub fn excursion(self, e: &ExcursionEvent, genesis: &Genesis) -> String {
        let what = match e.kind {
            SensorKind::Temperature => self.tr("温度超标", "Temperature excursion"),
            SensorKind::Humidity => self.tr("湿度超标", "Humidity excursion"),
        };
        let start = self.datetime(e.start, genesis);
        let end = if self.date(e.start, genesis) == self.date(e.end, genesis) {
            self.clock(e.end, genesis)
        } else {
            self.datetime(e.end, genesis)
        };
        let when = match (self, e.readings > 1) {
            (Lang::Zh, true) => {
                format!("持续 {}（{start} 至 {end}）", self.duration(e.duration_ms))
            }
            (Lang::En, true) => format!("{} from {start} to {end}", self.duration(e.duration_ms)),
            (Lang::Zh, false) => start,
            (Lang::En, false) => format!("at {start}"),
        };
        let u = e.kind.unit_symbol();
        let peak = one_decimal(e.peak.value);
        // An excursion breaks a bound, so the range has at least one.
        let allowed = self
            .allowed(e.peak.min, e.peak.max, e.kind)
            .unwrap_or_default();
        match self {
            Lang::Zh => format!(
                "{what}：{when}，峰值 {peak} {u}（允许 {allowed}），共 {} 次读数",
                e.readings
            ),
            Lang::En => format!(
                "{what}: {when}, peak {peak} {u} (allowed {allowed}), {} reading{}",
                e.readings,
                if e.readings == 1 { "" } else { "s" }
            ),
        }
    }
}

/// A value in thousandths with one decimal, rounded half away from zero:
/// `12.4`, `-1.5`, `8.0`.
pub fn one_decimal(v: i64) -> String {
    let tenths = (i128::from(v) + if v < 0 { -50 } else { 50 }) / 100;
    let sign = if tenths < 0 { "-" } else { "" };
    let t = tenths.unsigned_abs();
    format!("{sign}{}.{}", t / 10, t % 10)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Lang {
    /// The allowed range in words: `0–8 °C`, `at most 8 °C`, `at least
    /// −18 °C` (允许 …); `None` when the range is open on both sides.
    pub fn allowed(self, min: i64, max: i64, kind: SensorKind) -> Option<String> {
        let u = kind.unit_symbol();
        Some(match (ledger_core::event::bounds(min, max), self) {
            ((Some(lo), Some(hi)), _) => format!("{}–{} {u}", thousandths(lo), thousandths(hi)),
            ((Some(lo), None), Lang::Zh) => format!("不低于 {} {u}", thousandths(lo)),
            ((Some(lo), None), Lang::En) => format!("at least {} {u}", thousandths(lo)),
            ((None, Some(hi)), Lang::Zh) => format!("不高于 {} {u}", thousandths(hi)),
            ((None, Some(hi)), Lang::En) => format!("at most {} {u}", thousandths(hi)),
            ((None, None), _) => return None,
        })
    }
}

/// `9.6 °C`, `-1.5 °C`, `65 %RH`: a reading in thousandths, in its unit.
pub fn measure(value: i64, kind: SensorKind) -> String {
    format!("{} {}", thousandths(value), kind.unit_symbol())
}

fn parse(tag: &str) -> Option<Lang> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    match primary.as_str() {
        "zh" => Some(Lang::Zh),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The first language of an `Accept-Language` header the page speaks, by
/// quality (RFC 9110 §12.5.4).
fn from_accept(header: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    for item in header.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, |q| {
                q.trim()
                    .parse::<f32>()
                    .map_or(0, |f| (f.clamp(0.0, 1.0) * 1000.0) as u16)
            });
        if let Some(l) = parse(tag) {
            if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
    }
    best.map(|(_, l)| l)
}

/// A local date and time.
struct Local {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

/// The network's language tag from genesis.
fn network_language(genesis: &Genesis) -> Option<String> {
    genesis.profile.language.clone()
}

/// `ms` in the network's time zone.
fn local(ms: u64, genesis: &Genesis) -> Local {
    use chrono::{Datelike, Timelike};
    let t = ledger_core::time::local(ms, genesis.time_zone());
    Local {
        year: t.year(),
        month: t.month(),
        day: t.day(),
        hour: t.hour(),
        minute: t.minute(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_by_quality() {
        assert_eq!(from_accept("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(from_accept("fr, zh-CN;q=0.8, en;q=0.5"), Some(Lang::Zh));
        assert_eq!(from_accept("de, fr"), None);
        assert_eq!(from_accept("zh;q=0, en;q=0.1"), Some(Lang::En));
    }

    #[test]
    fn durations_and_measures_in_words() {
        assert_eq!(Lang::En.duration(2 * 3_600_000 + 30 * 60_000), "2 h 30 min");
        assert_eq!(Lang::Zh.duration(3_600_000), "1 小时");
        assert_eq!(Lang::En.duration(0), "0 min");
        assert_eq!(Lang::En.age(12 * 60_000 + 59_000), "12 minutes");
        assert_eq!(Lang::Zh.age(12 * 60_000), "12 分钟");
        assert_eq!(Lang::En.age(60_000), "1 minute");
        assert_eq!(Lang::En.age(30_000), "less than a minute");
        assert_eq!(Lang::En.age(3 * 3_600_000), "3 hours");
        assert_eq!(Lang::Zh.age(3 * 86_400_000), "3 天");
        assert_eq!(measure(9_600, SensorKind::Temperature), "9.6 °C");
        assert_eq!(measure(-1_500, SensorKind::Temperature), "-1.5 °C");
        let q = Quantity::new(47_500, Unit::Gram);
        assert_eq!(Lang::Zh.quantity(&q), "47.5 千克");
        assert_eq!(Lang::En.quantity(&q), "47.5 kg");
        assert_eq!(Lang::En.quantity(&Quantity::new(1, Unit::Case)), "1 case");
        assert_eq!(one_decimal(12_449), "12.4");
        assert_eq!(one_decimal(-1_550), "-1.6");
        assert_eq!(one_decimal(8_000), "8.0");
    }
}
