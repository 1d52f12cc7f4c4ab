//! The indicator-lookup capability's backends. The threat-intelligence store that feeds fill
//! arrives with the snapshot; [`MemoryIndicators`] is the simple in-process implementation
//! used until then and in tests.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::bindings::IndicatorKind;
use super::bindings::articdbm::policy::indicators::IndicatorMatch;

/// Lookups a plugin can make, already scoped to the calling tenant by the host.
pub trait IndicatorStore: Send + Sync + 'static {
    fn address_listed(&self, tenant: &str, addr: IpAddr) -> Option<IndicatorMatch>;
    fn name_listed(&self, tenant: &str, kind: IndicatorKind, name: &str) -> Option<IndicatorMatch>;
    fn sql_pattern_match(&self, tenant: &str, sql: &str) -> Option<IndicatorMatch>;
}

/// No indicators at all.
#[derive(Default)]
pub struct NoIndicators;

impl IndicatorStore for NoIndicators {
    fn address_listed(&self, _: &str, _: IpAddr) -> Option<IndicatorMatch> {
        None
    }
    fn name_listed(&self, _: &str, _: IndicatorKind, _: &str) -> Option<IndicatorMatch> {
        None
    }
    fn sql_pattern_match(&self, _: &str, _: &str) -> Option<IndicatorMatch> {
        None
    }
}

/// Global indicators held in memory: exact addresses in a map, CIDRs scanned, names by kind.
#[derive(Default)]
pub struct MemoryIndicators {
    exact: HashMap<IpAddr, IndicatorMatch>,
    nets: Vec<(IpNet, IndicatorMatch)>,
    names: HashMap<(u8, String), IndicatorMatch>,
    sql: Vec<IndicatorMatch>,
}

impl MemoryIndicators {
    /// Adds an indicator. Addresses may be single IPs or CIDRs; an unparsable address is
    /// returned as an error.
    pub fn add(&mut self, m: IndicatorMatch) -> Result<(), String> {
        match m.kind {
            IndicatorKind::Address => {
                if let Ok(ip) = m.value.parse::<IpAddr>() {
                    self.exact.insert(ip, m);
                } else {
                    let net: IpNet = m
                        .value
                        .parse()
                        .map_err(|e| format!("{:?} is not an address or CIDR: {e}", m.value))?;
                    self.nets.push((net, m));
                }
            }
            IndicatorKind::SqlPattern => self.sql.push(m),
            kind => {
                self.names
                    .insert((kind as u8, m.value.to_ascii_lowercase()), m);
            }
        }
        Ok(())
    }
}

fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

impl IndicatorStore for MemoryIndicators {
    fn address_listed(&self, _tenant: &str, addr: IpAddr) -> Option<IndicatorMatch> {
        let addr = canonical(addr);
        if let Some(m) = self.exact.get(&addr) {
            return Some(m.clone());
        }
        self.nets
            .iter()
            .filter(|(net, _)| net.contains(&addr))
            .max_by_key(|(_, m)| m.confidence)
            .map(|(_, m)| m.clone())
    }

    fn name_listed(
        &self,
        _tenant: &str,
        kind: IndicatorKind,
        name: &str,
    ) -> Option<IndicatorMatch> {
        self.names
            .get(&(kind as u8, name.to_ascii_lowercase()))
            .cloned()
    }

    fn sql_pattern_match(&self, _tenant: &str, sql: &str) -> Option<IndicatorMatch> {
        self.sql
            .iter()
            .find(|m| sql.contains(m.value.as_str()))
            .cloned()
    }
}
