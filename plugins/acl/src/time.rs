//! Minimal RFC 3339 timestamps: enough to read `expires_at` in config and to print it back in
//! deny reasons. No time zone database is needed: RFC 3339 carries a numeric offset.

/// Milliseconds since the Unix epoch of an RFC 3339 date-time such as
/// `2026-12-31T00:00:00Z`, `2026-12-31t00:00:00.250+02:00` or `2026-12-31 00:00:00Z`.
///
/// Dates before 1970 are refused (an expiry in the past of the epoch is a config mistake).
/// A leap second (`:60`) counts as `:59.999`.
pub fn parse_rfc3339(text: &str) -> Result<u64, String> {
    let b = text.as_bytes();
    let bad = || format!("{text:?} is not an RFC 3339 date-time like \"2026-12-31T00:00:00Z\"");
    if b.len() < 20 {
        return Err(bad());
    }
    let year = digits(b, 0, 4).ok_or_else(bad)?;
    let month = digits(b, 5, 2).ok_or_else(bad)?;
    let day = digits(b, 8, 2).ok_or_else(bad)?;
    let hour = digits(b, 11, 2).ok_or_else(bad)?;
    let minute = digits(b, 14, 2).ok_or_else(bad)?;
    let second = digits(b, 17, 2).ok_or_else(bad)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(format!("{text:?}: no such date"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("{text:?}: no such time of day"));
    }
    let mut i = 19;
    let mut millis = 0u64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + u64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err(bad());
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_min: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(b, i + 1, 2).ok_or_else(bad)?;
            let om = digits(b, i + 4, 2).ok_or_else(bad)?;
            if oh > 23 || om > 59 {
                return Err(format!("{text:?}: no such UTC offset"));
            }
            let m = (oh * 60 + om) as i64;
            if sign == b'-' { -m } else { m }
        }
        _ => return Err(bad()),
    };
    let (second, millis) = if second == 60 {
        (59, 999)
    } else {
        (second, millis)
    };
    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + (hour as i64) * 3600 + (minute as i64) * 60 + second as i64
        - offset_min * 60;
    if secs < 0 {
        return Err(format!("{text:?} is before 1970"));
    }
    Ok(secs as u64 * 1000 + millis)
}

/// `ms` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (milliseconds dropped).
pub fn format_rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        // `date -u -d 2023-11-14T22:13:20Z +%s` = 1700000000
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(parse_rfc3339("2026-12-31T00:00:00Z"), Ok(1_798_675_200_000));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00.5Z"),
            Ok(1_709_208_000_500)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29t12:00:00.123456z"),
            Ok(1_709_208_000_123)
        );
        assert_eq!(parse_rfc3339("2024-02-29 12:00:00Z"), Ok(1_709_208_000_000));
    }

    #[test]
    fn offsets_move_the_instant() {
        let utc = parse_rfc3339("2026-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-01-01T02:00:00+02:00"), utc);
        assert_eq!(parse_rfc3339("2025-12-31T19:30:00-04:30"), utc);
    }

    #[test]
    fn malformed_and_impossible_dates_are_refused() {
        for bad in [
            "",
            "2026-12-31",
            "2026-12-31T00:00:00",
            "2026-12-31T00:00Z",
            "2026/12/31T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-12-31T24:00:00Z",
            "2026-12-31T00:00:00.Z",
            "2026-12-31T00:00:00+0200",
            "2026-12-31T00:00:00Z trailing",
            "1969-12-31T23:59:59Z",
            "٢٠٢٦-12-31T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn leap_second_and_formatting_round_trip() {
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z"),
            Ok(parse_rfc3339("2016-12-31T23:59:59.999Z").unwrap_or(0))
        );
        for s in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-12-31T00:00:00Z",
            "2100-03-01T06:07:08Z",
        ] {
            assert_eq!(format_rfc3339(parse_rfc3339(s).unwrap_or(1)), s);
        }
    }
}
