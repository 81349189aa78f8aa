//! RFC 3339 timestamps, as the spec's `date-time` fields use them.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Seconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339(secs: u64) -> String {
    OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// Parse an RFC 3339 timestamp into seconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp()).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        assert_eq!(super::rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(super::parse_rfc3339("2027-01-15T08:00:00Z"), Some(1_800_000_000));
        assert_eq!(super::parse_rfc3339("2027-01-15T10:00:00+02:00"), Some(1_800_000_000));
        assert_eq!(super::parse_rfc3339("yesterday"), None);
    }
}
