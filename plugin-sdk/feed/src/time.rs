//! RFC 3339 / ISO 8601 timestamps as milliseconds since the Unix epoch.

/// Parses `2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.123Z`, `2024-01-02T03:04:05+02:00`,
/// a date alone (`2024-01-02`, midnight UTC) or a space instead of `T`. Times before 1970 or
/// malformed text give `None`.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let s = text.trim().as_bytes();
    if s.len() < 10 {
        return None;
    }
    let num = |b: &[u8]| -> Option<u64> {
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        b.iter().try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    };
    if s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let year = num(&s[0..4])?;
    let month = num(&s[5..7])?;
    let day = num(&s[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || year < 1970 {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    if !(rest[0] == b'T' || rest[0] == b't' || rest[0] == b' ') || rest.len() < 9 {
        return None;
    }
    let hh = num(&rest[1..3])?;
    let mm = num(&rest[4..6])?;
    let ss = num(&rest[7..9])?;
    if rest[3] != b':' || rest[6] != b':' || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    ms += (hh * 3600 + mm * 60 + ss.min(59)) * 1000;
    let mut tail = &rest[9..];
    if let Some(frac) = tail.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let mut millis = 0u64;
        for (i, d) in frac[..digits].iter().take(3).enumerate() {
            millis += u64::from(d - b'0') * [100, 10, 1][i];
        }
        ms += millis;
        tail = &frac[digits..];
    }
    match tail {
        [] | [b'Z'] | [b'z'] => Some(ms),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let off = (num(&[*h1, *h2])? * 60 + num(&[*m1, *m2])?) * 60_000;
            if *sign == b'+' {
                ms.checked_sub(off)
            } else {
                ms.checked_add(off)
            }
        }
        _ => None,
    }
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as u64
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339;

    #[test]
    fn parses_the_forms_feeds_use() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-03-01T00:00:00Z"),
            Some(1_709_251_200_000)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T00:00:00.250Z"),
            Some(1_709_251_200_250)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T02:00:00+02:00"),
            Some(1_709_251_200_000)
        );
        assert_eq!(parse_rfc3339("2024-03-01"), Some(1_709_251_200_000));
        assert_eq!(
            parse_rfc3339("2024-02-29 00:00:00"),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn refuses_malformed_times() {
        for bad in [
            "",
            "2024",
            "2024-13-01",
            "2023-02-29",
            "2024-01-01T25:00:00Z",
            "yesterday",
            "2024-01-01T00:00:00+0200",
            "1969-12-31",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
