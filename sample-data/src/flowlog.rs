//! Flow-log records and the text file writer: a header line of field names, then one
//! space-separated record per line, `-` for null, in the flow log's own field order.

use crate::fleet::Iface;

/// A flow-log field this generator can write (a subset of the documented v2-v5 fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fld {
    /// `version`
    Version,
    /// `account-id`
    AccountId,
    /// `interface-id`
    InterfaceId,
    /// `srcaddr`
    SrcAddr,
    /// `dstaddr`
    DstAddr,
    /// `srcport`
    SrcPort,
    /// `dstport`
    DstPort,
    /// `protocol`
    Protocol,
    /// `packets`
    Packets,
    /// `bytes`
    Bytes,
    /// `start`
    Start,
    /// `end`
    End,
    /// `action`
    Action,
    /// `log-status`
    LogStatus,
    /// `vpc-id`
    VpcId,
    /// `subnet-id`
    SubnetId,
    /// `instance-id`
    InstanceId,
    /// `tcp-flags`
    TcpFlags,
    /// `type`
    Type,
    /// `pkt-srcaddr`
    PktSrcAddr,
    /// `pkt-dstaddr`
    PktDstAddr,
    /// `region`
    Region,
    /// `az-id`
    AzId,
    /// `flow-direction`
    FlowDirection,
    /// `traffic-path`
    TrafficPath,
}

impl Fld {
    /// The AWS field name, as in a header line.
    pub fn aws_name(self) -> &'static str {
        match self {
            Self::Version => "version",
            Self::AccountId => "account-id",
            Self::InterfaceId => "interface-id",
            Self::SrcAddr => "srcaddr",
            Self::DstAddr => "dstaddr",
            Self::SrcPort => "srcport",
            Self::DstPort => "dstport",
            Self::Protocol => "protocol",
            Self::Packets => "packets",
            Self::Bytes => "bytes",
            Self::Start => "start",
            Self::End => "end",
            Self::Action => "action",
            Self::LogStatus => "log-status",
            Self::VpcId => "vpc-id",
            Self::SubnetId => "subnet-id",
            Self::InstanceId => "instance-id",
            Self::TcpFlags => "tcp-flags",
            Self::Type => "type",
            Self::PktSrcAddr => "pkt-srcaddr",
            Self::PktDstAddr => "pkt-dstaddr",
            Self::Region => "region",
            Self::AzId => "az-id",
            Self::FlowDirection => "flow-direction",
            Self::TrafficPath => "traffic-path",
        }
    }
}

/// A flow log's record format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFormat {
    /// Short name for reports.
    pub name: &'static str,
    /// Value written in the `version` field.
    pub version: u8,
    /// Fields in order.
    pub fields: &'static [Fld],
}

impl FlowFormat {
    /// The header line (no newline).
    pub fn header(&self) -> String {
        self.fields
            .iter()
            .map(|f| f.aws_name())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The format string as given to `CreateFlowLogs` (`${version} ${account-id} …`).
    pub fn format_string(&self) -> String {
        self.fields
            .iter()
            .map(|f| format!("${{{}}}", f.aws_name()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The default format (version 2).
pub static DEFAULT_V2: FlowFormat = FlowFormat {
    name: "default-v2",
    version: 2,
    fields: &[
        Fld::Version,
        Fld::AccountId,
        Fld::InterfaceId,
        Fld::SrcAddr,
        Fld::DstAddr,
        Fld::SrcPort,
        Fld::DstPort,
        Fld::Protocol,
        Fld::Packets,
        Fld::Bytes,
        Fld::Start,
        Fld::End,
        Fld::Action,
        Fld::LogStatus,
    ],
};

/// A custom format with version 5 fields, in a different order from the default.
pub static CUSTOM_V5: FlowFormat = FlowFormat {
    name: "custom-v5",
    version: 5,
    fields: &[
        Fld::InstanceId,
        Fld::InterfaceId,
        Fld::SrcAddr,
        Fld::DstAddr,
        Fld::SrcPort,
        Fld::DstPort,
        Fld::Protocol,
        Fld::Packets,
        Fld::Bytes,
        Fld::Start,
        Fld::End,
        Fld::Action,
        Fld::LogStatus,
        Fld::VpcId,
        Fld::SubnetId,
        Fld::AccountId,
        Fld::Region,
        Fld::AzId,
        Fld::TcpFlags,
        Fld::Type,
        Fld::PktSrcAddr,
        Fld::PktDstAddr,
        Fld::FlowDirection,
        Fld::TrafficPath,
        Fld::Version,
    ],
};

/// `log-status` of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Data logged normally.
    Ok,
    /// No traffic to or from the interface during the interval.
    NoData,
    /// Some records were skipped during the interval.
    SkipData,
}

/// One flow-log record, as seen on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRecord {
    /// Index of the interface in the fleet.
    pub iface: usize,
    /// Source address.
    pub src: u32,
    /// Destination address.
    pub dst: u32,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// IANA protocol number.
    pub proto: u8,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Start (Unix seconds).
    pub start: i64,
    /// End (Unix seconds).
    pub end: i64,
    /// ACCEPT (true) or REJECT.
    pub accept: bool,
    /// Log status.
    pub status: Status,
    /// OR of TCP flags.
    pub tcp_flags: u8,
    /// Egress (true) or ingress, relative to the interface.
    pub egress: bool,
    /// `traffic-path` (0 = not set; only egress records carry one).
    pub traffic_path: u8,
}

impl FlowRecord {
    /// A NODATA/SKIPDATA record for an interface.
    pub fn status_only(iface: usize, status: Status, start: i64, end: i64) -> Self {
        Self {
            iface,
            src: 0,
            dst: 0,
            sport: 0,
            dport: 0,
            proto: 0,
            packets: 0,
            bytes: 0,
            start,
            end,
            accept: true,
            status,
            tcp_flags: 0,
            egress: false,
            traffic_path: 0,
        }
    }
}

/// Append a decimal integer.
pub fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_ip(buf: &mut Vec<u8>, ip: u32) {
    for (k, shift) in [24u32, 16, 8, 0].into_iter().enumerate() {
        if k > 0 {
            buf.push(b'.');
        }
        push_u64(buf, u64::from((ip >> shift) & 0xff));
    }
}

/// Builds one flow-log object body (uncompressed).
#[derive(Debug)]
pub struct FileBuilder {
    format: &'static FlowFormat,
    buf: Vec<u8>,
    lines: usize,
    records: usize,
}

impl FileBuilder {
    /// A body holding just the header line.
    pub fn new(format: &'static FlowFormat) -> Self {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(format.header().as_bytes());
        buf.push(b'\n');
        Self {
            format,
            buf,
            lines: 1,
            records: 0,
        }
    }

    /// Lines so far, the header included (so the next line is number `lines() + 1`).
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Good records so far.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Append a record seen on `iface`.
    pub fn push(&mut self, r: &FlowRecord, iface: &Iface) {
        let data = r.status == Status::Ok;
        for (k, f) in self.format.fields.iter().enumerate() {
            if k > 0 {
                self.buf.push(b' ');
            }
            let b = &mut self.buf;
            match f {
                Fld::Version => push_u64(b, u64::from(self.format.version)),
                Fld::AccountId => b.extend_from_slice(iface.log_account.as_bytes()),
                Fld::InterfaceId => b.extend_from_slice(iface.eni.as_bytes()),
                Fld::InstanceId => match &iface.instance_id {
                    Some(id) => b.extend_from_slice(id.as_bytes()),
                    None => b.push(b'-'),
                },
                Fld::VpcId => b.extend_from_slice(iface.vpc_id.as_bytes()),
                Fld::SubnetId => b.extend_from_slice(iface.subnet_id.as_bytes()),
                Fld::Region => b.extend_from_slice(iface.region.as_bytes()),
                Fld::AzId => b.extend_from_slice(iface.az_id.as_bytes()),
                Fld::Start => push_u64(b, r.start.max(0) as u64),
                Fld::End => push_u64(b, r.end.max(0) as u64),
                Fld::LogStatus => b.extend_from_slice(match r.status {
                    Status::Ok => b"OK",
                    Status::NoData => b"NODATA",
                    Status::SkipData => b"SKIPDATA",
                }),
                _ if !data => b.push(b'-'),
                Fld::SrcAddr | Fld::PktSrcAddr => push_ip(b, r.src),
                Fld::DstAddr | Fld::PktDstAddr => push_ip(b, r.dst),
                Fld::SrcPort => push_u64(b, u64::from(r.sport)),
                Fld::DstPort => push_u64(b, u64::from(r.dport)),
                Fld::Protocol => push_u64(b, u64::from(r.proto)),
                Fld::Packets => push_u64(b, r.packets),
                Fld::Bytes => push_u64(b, r.bytes),
                Fld::Action => b.extend_from_slice(if r.accept { b"ACCEPT" } else { b"REJECT" }),
                Fld::TcpFlags => push_u64(b, u64::from(r.tcp_flags)),
                Fld::Type => b.extend_from_slice(b"IPv4"),
                Fld::FlowDirection => {
                    b.extend_from_slice(if r.egress { b"egress" } else { b"ingress" })
                }
                Fld::TrafficPath => {
                    if r.traffic_path == 0 {
                        b.push(b'-');
                    } else {
                        push_u64(b, u64::from(r.traffic_path));
                    }
                }
            }
        }
        self.buf.push(b'\n');
        self.lines += 1;
        self.records += 1;
    }

    /// Append a raw line (for malformed-input scenarios); returns its line number.
    pub fn push_raw(&mut self, line: &str) -> usize {
        self.buf.extend_from_slice(line.as_bytes());
        self.buf.push(b'\n');
        self.lines += 1;
        self.lines
    }

    /// The body.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{Fleet, Role, ip};
    use crate::layout::FlowLayout;
    use crate::prng::Rng;

    fn fleet() -> Fleet {
        let mut rng = Rng::new(1);
        let mut f = Fleet::default();
        let mut v = f.add_vpc(
            &mut rng,
            "012345678901",
            "us-east-1",
            0,
            &DEFAULT_V2,
            FlowLayout::Daily,
            0,
        );
        let s = f.add_subnet(&mut rng, &mut v, 1, "use1-az1");
        f.add_iface(&mut rng, &v, s, Role::Web, "web-1", i64::MIN);
        f
    }

    fn rec() -> FlowRecord {
        FlowRecord {
            iface: 0,
            src: ip(198, 51, 100, 7),
            dst: ip(10, 0, 1, 20),
            sport: 50123,
            dport: 443,
            proto: 6,
            packets: 10,
            bytes: 840,
            start: 1_767_657_600,
            end: 1_767_657_660,
            accept: true,
            status: Status::Ok,
            tcp_flags: 3,
            egress: false,
            traffic_path: 0,
        }
    }

    #[test]
    fn default_format_line() {
        let f = fleet();
        let mut b = FileBuilder::new(&DEFAULT_V2);
        b.push(&rec(), &f.ifaces[0]);
        b.push(
            &FlowRecord::status_only(0, Status::NoData, 1, 2),
            &f.ifaces[0],
        );
        let text = String::from_utf8(b.finish()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], crate::DEFAULT_HEADER);
        let eni = &f.ifaces[0].eni;
        assert_eq!(
            lines[1],
            format!(
                "2 012345678901 {eni} 198.51.100.7 10.0.1.20 50123 443 6 10 840 1767657600 1767657660 ACCEPT OK"
            )
        );
        assert_eq!(
            lines[2],
            format!("2 012345678901 {eni} - - - - - - - 1 2 - NODATA")
        );
    }

    #[test]
    fn custom_format_has_its_own_order() {
        let f = fleet();
        let mut b = FileBuilder::new(&CUSTOM_V5);
        b.push(&rec(), &f.ifaces[0]);
        let text = String::from_utf8(b.finish()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("instance-id interface-id srcaddr"));
        assert!(lines[0].ends_with("flow-direction traffic-path version"));
        let cols: Vec<&str> = lines[1].split(' ').collect();
        assert_eq!(cols.len(), CUSTOM_V5.fields.len());
        assert_eq!(cols[22], "ingress");
        assert_eq!(cols[23], "-");
        assert_eq!(cols[24], "5");
        assert!(
            CUSTOM_V5
                .format_string()
                .starts_with("${instance-id} ${interface-id}")
        );
    }
}
