//! Typed document attributes: the values front matter can hold.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A calendar date (proleptic Gregorian), as written `YYYY-MM-DD` in front matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, e.g. 2016.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31.
    pub day: u8,
}

impl Date {
    /// Builds a date, checking that the day exists in that month.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD` (exactly four, two and two digits).
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().ok() } else { None }
        };
        let year = i32::try_from(digits(0..4)?).ok()?;
        let month = u8::try_from(digits(5..7)?).ok()?;
        let day = u8::try_from(digits(8..10)?).ok()?;
        Date::new(year, month, day)
    }

    /// The day of a date and time (`2018-03-04T10:30:00`, `2018-05-06 09:00:00Z`,
    /// `2018-03-04T10:30:00+01:00`): front matter written by static-site tools and note apps
    /// dates notes so, and a note's day is what groups it.
    pub fn parse_datetime(s: &str) -> Option<Date> {
        let (day, time) = (s.get(..10)?, s.get(10..)?);
        let time = time.strip_prefix(['T', 't', ' '])?;
        let clock = time.trim_end_matches(['Z', 'z']);
        // hh:mm[:ss[.fff]], then an offset perhaps.
        let (clock, _offset) = match clock.get(5..).and_then(|r| r.find(['+', '-'])) {
            Some(i) => clock.split_at(5 + i),
            None => (clock, ""),
        };
        let b = clock.as_bytes();
        let ok = b.len() >= 5 && b[2] == b':' && b.iter().all(|c| c.is_ascii_digit() || *c == b':' || *c == b'.');
        if !ok {
            return None;
        }
        Date::parse(day)
    }

    /// Days since 1970-01-01 (negative before), after Howard Hinnant's `days_from_civil`.
    pub fn days_since_epoch(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a date: `{s}`")))
    }
}

/// The value of one document attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// A number with a fractional part.
    Float(f64),
    /// A `YYYY-MM-DD` date.
    Date(Date),
    /// Any other text.
    String(String),
    /// `[a, b, c]` or a block of `- item` lines.
    List(Vec<Value>),
}

/// A whole number as a year written alone: four digits.
fn year_alone(y: i64) -> Option<i32> {
    (1000..=9999).contains(&y).then(|| i32::try_from(y).ok()).flatten()
}

impl Value {
    /// The kind of value, for messages and schemas: `string`, `integer`, `float`, `date`, `bool`, `list`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Integer(_) => "integer",
            Value::Float(_) => "float",
            Value::Date(_) => "date",
            Value::String(_) => "string",
            Value::List(_) => "list",
        }
    }

    /// The value as text when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a date when it is one.
    pub fn as_date(&self) -> Option<Date> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }

    /// The year a `date` value stands for: a date's, or a year written alone (`date: 2017`).
    /// What every table and search groups `--by year` by.
    pub fn year(&self) -> Option<i32> {
        match self {
            Value::Date(d) => Some(d.year),
            Value::Integer(y) => year_alone(*y),
            _ => None,
        }
    }

    /// [`Value::year`] of a `date` value as text shows it (`2018-03-04`, `2017`).
    pub fn year_of_text(s: &str) -> Option<i32> {
        Date::parse(s).map(|d| d.year).or_else(|| s.parse().ok().and_then(year_alone))
    }

    /// The value as a group of a table: its text; a list as the set of its items (sorted, and
    /// once each whatever their case, `board; trust`), so that notes with the same items in
    /// another order or case fall in one group.
    pub fn group_label(&self) -> String {
        match self {
            Value::List(items) => {
                let mut seen: Vec<(String, String)> =
                    items.iter().map(Value::to_plain).map(|t| (t.to_lowercase(), t)).collect();
                seen.sort();
                seen.dedup_by(|a, b| a.0 == b.0);
                seen.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join("; ")
            }
            other => other.to_plain(),
        }
    }

    /// The value as one line of text, list items joined by `; ` (for table cells and groups).
    pub fn to_plain(&self) -> String {
        match self {
            Value::List(items) => items.iter().map(Value::to_plain).collect::<Vec<_>>().join("; "),
            other => other.to_string(),
        }
    }

    /// Every scalar in the value, as text: one for a scalar, each item for a list.
    pub fn texts(&self) -> Vec<String> {
        match self {
            Value::List(items) => items.iter().flat_map(Value::texts).collect(),
            other => vec![other.to_string()],
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Date(d) => write!(f, "{d}"),
            Value::String(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_and_reject() {
        assert_eq!(Date::parse("2016-02-29"), Date::new(2016, 2, 29));
        assert!(Date::parse("2015-02-29").is_none());
        assert!(Date::parse("2016-13-01").is_none());
        assert!(Date::parse("16-01-01").is_none());
        assert!(Date::parse("2016-1-011").is_none());
        for dt in ["2018-03-04T10:30:00", "2018-03-04 10:30", "2018-03-04T10:30:00Z", "2018-03-04T10:30:00.5+01:00"] {
            assert_eq!(Date::parse_datetime(dt), Date::new(2018, 3, 4), "{dt}");
        }
        for not in ["2018-03-04", "2018-03-04Tea", "2018-03-04 at noon", "2018-13-04T10:30"] {
            assert_eq!(Date::parse_datetime(not), None, "{not}");
        }
        let list = Value::List(vec![
            Value::String("Trust".into()),
            Value::String("board".into()),
            Value::String("trust".into()),
        ]);
        assert_eq!(list.group_label(), "board; Trust");
        assert_eq!(Value::Integer(2017).year(), Some(2017));
        assert_eq!(Value::Integer(42).year(), None);
    }

    #[test]
    fn epoch_days_round_trip() {
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Date::new(2016, 3, 2).unwrap().days_since_epoch(), 16_862);
        for days in (-719_162..2_900_000).step_by(997) {
            let d = Date::from_days_since_epoch(days);
            assert_eq!(d.days_since_epoch(), days, "{d}");
            assert_eq!(Date::parse(&d.to_string()), Some(d));
        }
    }
}
