//! Timestamps: stored as milliseconds since the Unix epoch, shown as RFC 3339 in UTC.

use crate::Error;

const MS_PER_DAY: i64 = 86_400_000;

/// `2026-11-22T08:40:12.345Z`.
pub fn format_ms(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// Parses RFC 3339 (`2026-11-22T08:40:12Z`, optional fraction, `Z` or `±HH:MM`) or a bare date
/// (`2026-11-22`, meaning its midnight UTC).
pub fn parse_rfc3339(s: &str) -> Result<i64, Error> {
    let bad = || Error::Invalid(format!("{s:?} is not an RFC 3339 timestamp such as 2026-11-22T08:00:00Z"));
    let b = s.as_bytes();
    if b.len() > 40 || b.len() < 10 {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, Error> {
        let part = s.get(r).ok_or_else(bad)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse::<i64>().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return Err(bad());
    }
    let day_ms = days_from_civil(y, mo, d) * MS_PER_DAY;
    if b.len() == 10 {
        return Ok(day_ms);
    }
    if !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') || b.len() < 20 || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || sec > 60 {
        return Err(bad());
    }
    let mut i = 19;
    let mut frac_ms = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        let digits = &s[start..i.min(start + 3)];
        frac_ms = digits.parse::<i64>().map_err(|_| bad())? * 10_i64.pow(3 - digits.len() as u32);
    }
    let offset_ms = match &s[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && tz.as_bytes()[3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3_600_000 + om * 60_000)
        }
        _ => return Err(bad()),
    };
    Ok(day_ms + h * 3_600_000 + mi * 60_000 + sec * 1000 + frac_ms - offset_ms)
}

/// Midnight UTC of the day containing `ms`.
pub fn start_of_day(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY) * MS_PER_DAY
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's algorithms for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_795_336_812_345), "2026-11-22T08:40:12.345Z");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn parses_what_it_formats_and_common_variants() {
        for ms in [0, 1_795_336_812_345, 951_782_400_000, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339(&format_ms(ms)).unwrap(), ms);
        }
        assert_eq!(parse_rfc3339("2026-11-22T08:40:12Z").unwrap(), 1_795_336_812_000);
        assert_eq!(parse_rfc3339("2026-11-22T09:40:12+01:00").unwrap(), 1_795_336_812_000);
        assert_eq!(parse_rfc3339("2026-11-22T08:40:12.3456789Z").unwrap(), 1_795_336_812_345);
        assert_eq!(parse_rfc3339("2026-11-22").unwrap(), 1_795_305_600_000);
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-11-22T25:00:00Z",
            "2026-11-22T08:40:12",
            "2026-11-22T08:40:12.Z",
            "2026-11-22T08:40:12+0100",
            "２０２６-11-22",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn start_of_day_is_midnight_utc() {
        assert_eq!(format_ms(start_of_day(1_795_336_812_345)), "2026-11-22T00:00:00.000Z");
    }
}
